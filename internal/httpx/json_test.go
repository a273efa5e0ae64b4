package httpx_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/httpx"
)

type signupBody struct {
	Email    string         `json:"email"`
	Password string         `json:"password"`
	Age      int            `json:"age"`
	Data     map[string]any `json:"data"`
	Options  struct {
		Captcha string `json:"captcha_token"`
	} `json:"options"`
}

func jsonRequest(contentType, body string, limit int64) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/signup", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if limit > 0 {
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, limit)
	}
	return r
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		contentType string
		body        string
		limit       int64
		wantStatus  int // 0 = success
		wantMessage string
		wantDetails map[string]any
	}{
		{name: "valid", contentType: "application/json", body: `{"email":"a@b.c","password":"pw","age":3}`},
		{name: "charset parameter", contentType: "application/json;charset=UTF-8", body: `{"email":"a@b.c"}`},
		{name: "json suffix type", contentType: "application/merge-patch+json", body: `{"email":"a@b.c"}`},
		{name: "unknown fields ignored", contentType: "application/json", body: `{"email":"a@b.c","gotrue_meta_security":{"captcha_token":null}}`},
		{name: "surrounding whitespace", contentType: "application/json", body: " \n{\"age\":1}\n "},
		{name: "missing content type", body: `{"email":"a@b.c"}`, wantStatus: http.StatusUnsupportedMediaType},
		{name: "form content type", contentType: "application/x-www-form-urlencoded", body: `email=a`, wantStatus: http.StatusUnsupportedMediaType},
		{name: "garbage content type", contentType: ";;;", body: `{}`, wantStatus: http.StatusUnsupportedMediaType},
		{name: "empty body", contentType: "application/json", body: ``, wantStatus: http.StatusBadRequest, wantMessage: "Request body is empty"},
		{name: "whitespace only", contentType: "application/json", body: "   ", wantStatus: http.StatusBadRequest, wantMessage: "Request body is empty"},
		{
			name: "syntax error", contentType: "application/json", body: `{"email": "a@b.c",}`,
			wantStatus: http.StatusBadRequest, wantMessage: "Request body contains malformed JSON at byte offset 19",
			wantDetails: map[string]any{"offset": int64(19)},
		},
		{name: "truncated", contentType: "application/json", body: `{"email": "a@`, wantStatus: http.StatusBadRequest, wantMessage: "Request body contains truncated JSON"},
		{
			name: "wrong type in field", contentType: "application/json", body: `{"age":"three"}`,
			wantStatus: http.StatusBadRequest, wantMessage: `Request body field "age" has a string where int is expected`,
			wantDetails: map[string]any{"field": "age", "offset": int64(14)},
		},
		{
			name: "wrong top level type", contentType: "application/json", body: `[1,2]`,
			wantStatus: http.StatusBadRequest, wantMessage: "Request body has a array where httpx_test.signupBody is expected at byte offset 1",
			wantDetails: map[string]any{"offset": int64(1)},
		},
		{name: "two values", contentType: "application/json", body: `{"age":1}{"age":2}`, wantStatus: http.StatusBadRequest, wantMessage: "Request body must contain a single JSON value"},
		{name: "trailing garbage", contentType: "application/json", body: `{"age":1} x`, wantStatus: http.StatusBadRequest, wantMessage: "Request body must contain a single JSON value"},
		{name: "over the limit", contentType: "application/json", body: `{"email":"` + strings.Repeat("a", 100) + `"}`, limit: 32, wantStatus: http.StatusRequestEntityTooLarge},
		{name: "trailing data over the limit", contentType: "application/json", body: `{"age":1}` + strings.Repeat(" ", 40) + "1", limit: 32, wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v signupBody
			err := httpx.DecodeJSON(jsonRequest(tt.contentType, tt.body, tt.limit), &v)
			if tt.wantStatus == 0 {
				require.NoError(t, err)
				return
			}
			var appErr *httpx.AppError
			require.True(t, errors.As(err, &appErr), "want an AppError, got %v", err)
			require.Equal(t, tt.wantStatus, appErr.Status)
			if tt.wantMessage != "" {
				require.Equal(t, tt.wantMessage, appErr.Message)
			}
			if tt.wantDetails != nil {
				require.Equal(t, tt.wantDetails, appErr.Details)
			}
		})
	}
}

func TestDecodeJSONFillsValue(t *testing.T) {
	t.Parallel()
	var v signupBody
	body := `{"email":"a@b.c","password":"pw","age":3,"data":{"name":"Ada"},"options":{"captcha_token":"c"}}`
	require.NoError(t, httpx.DecodeJSON(jsonRequest("application/json", body, 0), &v))
	require.Equal(t, "a@b.c", v.Email)
	require.Equal(t, "pw", v.Password)
	require.Equal(t, 3, v.Age)
	require.Equal(t, map[string]any{"name": "Ada"}, v.Data)
	require.Equal(t, "c", v.Options.Captcha)
}

func TestDecodeJSONNoBody(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/signup", nil)
	r.Header.Set("Content-Type", "application/json")
	err := httpx.DecodeJSON(r, &signupBody{})
	require.Equal(t, http.StatusBadRequest, httpx.AsAppError(err).Status)
}

func TestDecodeJSONNonPointerIsServerError(t *testing.T) {
	t.Parallel()
	err := httpx.DecodeJSON(jsonRequest("application/json", `{}`, 0), signupBody{})
	require.Equal(t, http.StatusInternalServerError, httpx.AsAppError(err).Status)
}

func TestDecodeJSONReadFailure(t *testing.T) {
	t.Parallel()
	r := jsonRequest("application/json", "", 0)
	r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"email":`), failingReader{}))
	r.ContentLength = -1
	err := httpx.DecodeJSON(r, &signupBody{})
	appErr := httpx.AsAppError(err)
	require.Equal(t, http.StatusBadRequest, appErr.Status)
	require.Equal(t, "Request body could not be read", appErr.Message)
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	require.NoError(t, httpx.WriteJSON(rec, http.StatusAccepted, map[string]string{"url": "https://x/?a=1&b=<2>"}))
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "{\"url\":\"https://x/?a=1&b=<2>\"}\n", rec.Body.String())

	rec = httptest.NewRecorder()
	err := httpx.WriteJSON(rec, http.StatusOK, map[string]any{"f": func() {}})
	require.Error(t, err)
	require.False(t, rec.Flushed)
	require.Empty(t, rec.Header().Get("Content-Type"), "nothing is sent when encoding fails")
}

// FuzzDecodeJSON checks that no body, content type or size limit makes DecodeJSON panic, that
// every failure is a client error, and that success only happens for a single valid document.
func FuzzDecodeJSON(f *testing.F) {
	f.Add("application/json", []byte(`{"email":"a@b.c","age":1}`), int64(0))
	f.Add("application/json; charset=utf-8", []byte(`{"data":{"a":[1,2,{"b":null}]}}`), int64(16))
	f.Add("text/plain", []byte(`{}`), int64(0))
	f.Fuzz(func(t *testing.T, contentType string, body []byte, limit int64) {
		r := jsonRequest(contentType, string(body), limit)
		var v signupBody
		err := httpx.DecodeJSON(r, &v)
		if err == nil {
			require.True(t, json.Valid(body), "accepted an invalid document: %q", body)
			return
		}
		appErr := httpx.AsAppError(err)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge}, appErr.Status, "%v", err)
	})
}
