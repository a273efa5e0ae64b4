package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/httpx"
)

func TestAsAppError(t *testing.T) {
	t.Parallel()

	notFound := httpx.NewError(http.StatusNotFound, "not_found", "Nothing here")
	cause := errors.New("disk on fire")

	tooLarge := func() error {
		body := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader("0123456789")), 4)
		_, err := io.ReadAll(body)
		return fmt.Errorf("read upload: %w", err)
	}()

	tests := []struct {
		name        string
		err         error
		wantStatus  int
		wantCode    string
		wantMessage string
	}{
		{"app error as is", notFound, http.StatusNotFound, "not_found", "Nothing here"},
		{"wrapped app error", fmt.Errorf("lookup: %w", notFound), http.StatusNotFound, "not_found", "Nothing here"},
		{"max bytes", tooLarge, http.StatusRequestEntityTooLarge, httpx.CodePayloadTooLarge, "Request body is larger than 4 bytes"},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), httpx.StatusClientClosedRequest, httpx.CodeClientClosedRequest, "Client closed request"},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, httpx.CodeRequestTimeout, "Request timed out"},
		{"anything else", cause, http.StatusInternalServerError, httpx.CodeInternal, "Internal server error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := httpx.AsAppError(tt.err)
			require.NotNil(t, got)
			require.Equal(t, tt.wantStatus, got.Status)
			require.Equal(t, tt.wantCode, got.Code)
			require.Equal(t, tt.wantMessage, got.Message)
		})
	}

	t.Run("nil stays nil", func(t *testing.T) {
		t.Parallel()
		require.Nil(t, httpx.AsAppError(nil))
	})

	t.Run("internal cause is kept for errors.Is but not in the message", func(t *testing.T) {
		t.Parallel()
		got := httpx.AsAppError(cause)
		require.ErrorIs(t, got, cause)
		require.NotContains(t, got.Message, "disk on fire")
		require.Contains(t, got.Error(), "disk on fire")
	})
}

func TestWithCauseCopies(t *testing.T) {
	t.Parallel()

	template := httpx.NewError(http.StatusTooManyRequests, "over_limit", "Slow down")
	template.Header = http.Header{"Retry-After": {"3"}}
	template.Details = map[string]any{"limit": 10}
	cause := errors.New("bucket empty")

	got := template.WithCause(cause)
	got.Header.Set("Retry-After", "9")
	got.Details["limit"] = 99

	require.ErrorIs(t, got, cause)
	require.NotErrorIs(t, template, cause)
	require.Equal(t, "3", template.Header.Get("Retry-After"))
	require.Equal(t, 10, template.Details["limit"])
	require.Equal(t, http.StatusTooManyRequests, got.Status)
	require.Equal(t, "over_limit", got.Code)
}
