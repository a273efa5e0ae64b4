package sms_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/goforward/goforward/internal/sms"
	"github.com/stretchr/testify/require"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "twilio-auth-token-0123456789"
)

// fakeTwilio is a Twilio Messages API on loopback: it records each request and answers with
// the status and body the test sets.
type fakeTwilio struct {
	server *httptest.Server

	mu       sync.Mutex
	requests []recordedRequest
	status   int
	body     string
}

type recordedRequest struct {
	method, path, contentType string
	user, password            string
	basicAuth                 bool
	form                      url.Values
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{status: http.StatusCreated, body: `{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","error_code":null,"error_message":null}`}
	f.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(raw))
		user, password, ok := r.BasicAuth()
		f.mu.Lock()
		f.requests = append(f.requests, recordedRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), user, password, ok, form})
		status, body := f.status, f.body
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeTwilio) answer(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func (f *fakeTwilio) recorded() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedRequest(nil), f.requests...)
}

func newTwilio(t *testing.T, baseURL, from string) *sms.Twilio {
	t.Helper()
	tw, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: from, BaseURL: baseURL}, nil)
	require.NoError(t, err)
	return tw
}

func TestTwilioPostsTheMessage(t *testing.T) {
	t.Parallel()
	fake := newFakeTwilio(t)
	tw := newTwilio(t, fake.server.URL, "+15550001111")

	id, err := tw.Send(t.Context(), sms.Message{To: "+1 (555) 123-4567", Body: "Your code is 123456", Kind: "otp"})
	require.NoError(t, err)
	require.Equal(t, "SM0123456789abcdef0123456789abcdef", id)

	reqs := fake.recorded()
	require.Len(t, reqs, 1)
	req := reqs[0]
	require.Equal(t, http.MethodPost, req.method)
	require.Equal(t, "/2010-04-01/Accounts/"+testSID+"/Messages.json", req.path)
	require.Equal(t, "application/x-www-form-urlencoded", req.contentType)
	require.True(t, req.basicAuth)
	require.Equal(t, testSID, req.user)
	require.Equal(t, testToken, req.password)
	require.Equal(t, url.Values{"To": {"+15551234567"}, "From": {"+15550001111"}, "Body": {"Your code is 123456"}}, req.form)
}

func TestTwilioUsesAMessagingService(t *testing.T) {
	t.Parallel()
	fake := newFakeTwilio(t)
	tw := newTwilio(t, fake.server.URL+"/", "MG0123456789abcdef0123456789abcdef")

	_, err := tw.Send(t.Context(), sms.Message{To: "+15551234567", Body: "code 1"})
	require.NoError(t, err)

	req := fake.recorded()[0]
	require.Equal(t, "/2010-04-01/Accounts/"+testSID+"/Messages.json", req.path)
	require.Equal(t, url.Values{"To": {"+15551234567"}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {"code 1"}}, req.form)
}

func TestTwilioErrorsCarryTwilioCodeButNeverTheToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		wantCode int
		wantMsg  string
	}{
		{"invalid number", http.StatusBadRequest,
			`{"code": 21211, "message": "The 'To' number +15551234567 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`,
			21211, "The 'To' number +15551234567 is not a valid phone number."},
		{"bad credentials", http.StatusUnauthorized,
			`{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`,
			20003, "Authenticate"},
		{"an echoing service", http.StatusBadRequest,
			`{"code": 1, "message": "bad token ` + testToken + `"}`,
			1, "bad token [redacted]"},
		{"not JSON", http.StatusBadGateway, `<html>upstream down</html>`, 0, "Bad Gateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeTwilio(t)
			fake.answer(tc.status, tc.body)
			tw := newTwilio(t, fake.server.URL, "+15550001111")

			id, err := tw.Send(t.Context(), sms.Message{To: "+15551234567", Body: "code"})
			require.Error(t, err)
			require.Empty(t, id)
			var twErr *sms.TwilioError
			require.True(t, errors.As(err, &twErr))
			require.Equal(t, tc.status, twErr.StatusCode)
			require.Equal(t, tc.wantCode, twErr.Code)
			require.Equal(t, tc.wantMsg, twErr.Message)
			require.NotContains(t, err.Error(), testToken)
		})
	}
}

func TestTwilioReportsAMessageTwilioAlreadyFailed(t *testing.T) {
	t.Parallel()
	fake := newFakeTwilio(t)
	fake.answer(http.StatusCreated, `{"sid":"SMfailed","status":"failed","error_code":30006,"error_message":"Landline or unreachable carrier"}`)
	tw := newTwilio(t, fake.server.URL, "+15550001111")

	id, err := tw.Send(t.Context(), sms.Message{To: "+15551234567", Body: "code"})
	require.ErrorContains(t, err, "Landline or unreachable carrier")
	require.ErrorContains(t, err, "30006")
	require.Equal(t, "SMfailed", id)
}

func TestTwilioRejectsAnAnswerWithoutSID(t *testing.T) {
	t.Parallel()
	fake := newFakeTwilio(t)
	fake.answer(http.StatusCreated, `{"status":"queued"}`)
	tw := newTwilio(t, fake.server.URL, "+15550001111")

	_, err := tw.Send(t.Context(), sms.Message{To: "+15551234567", Body: "code"})
	require.ErrorContains(t, err, "no message sid")
}

func TestTwilioRejectsInvalidMessagesWithoutARequest(t *testing.T) {
	t.Parallel()
	fake := newFakeTwilio(t)
	tw := newTwilio(t, fake.server.URL, "+15550001111")

	for _, m := range []sms.Message{
		{To: "not a phone", Body: "code"},
		{To: "+15551234567", Body: "  "},
	} {
		_, err := tw.Send(t.Context(), m)
		require.ErrorIs(t, err, sms.ErrInvalidMessage)
	}
	require.Empty(t, fake.recorded())
}

func TestTwilioHonoursTheContext(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	testDone := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // lets the server notice the client hanging up
		close(entered)
		select { // hangs until the client gives up
		case <-r.Context().Done():
		case <-testDone:
		}
	}))
	t.Cleanup(server.Close)
	t.Cleanup(func() { close(testDone) }) // runs first
	tw, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: "+15550001111", BaseURL: server.URL, Timeout: time.Hour}, nil)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := tw.Send(ctx, sms.Message{To: "+15551234567", Body: "code"})
		done <- err
	}()
	<-entered
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestTwilioUsesTheGivenClient(t *testing.T) {
	t.Parallel()
	fake := newFakeTwilio(t)
	var used bool
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	tw, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: "+15550001111", BaseURL: fake.server.URL}, client)
	require.NoError(t, err)

	_, err = tw.Send(t.Context(), sms.Message{To: "+15551234567", Body: "code"})
	require.NoError(t, err)
	require.True(t, used)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewTwilioRejectsBadConfig(t *testing.T) {
	t.Parallel()
	valid := sms.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: "+15550001111"}
	for _, tc := range []struct {
		name   string
		mutate func(*sms.TwilioConfig)
		want   string
	}{
		{"no account sid", func(c *sms.TwilioConfig) { c.AccountSID = "" }, "account sid"},
		{"no auth token", func(c *sms.TwilioConfig) { c.AuthToken = "" }, "auth token"},
		{"no from", func(c *sms.TwilioConfig) { c.From = "" }, "from"},
		{"not a URL", func(c *sms.TwilioConfig) { c.BaseURL = "api.twilio.com" }, "base url"},
		{"credentials in the URL", func(c *sms.TwilioConfig) { c.BaseURL = "https://" + testSID + ":" + testToken + "@api.twilio.com" }, "credentials"},
		{"negative timeout", func(c *sms.TwilioConfig) { c.Timeout = -time.Second }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.mutate(&cfg)
			_, err := sms.NewTwilio(cfg, nil)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), testToken)
		})
	}
}

func TestTwilioConfigLogValueHidesTheToken(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("sms", "config", sms.TwilioConfig{AccountSID: testSID, AuthToken: testToken})
	require.NotContains(t, buf.String(), testToken)
	require.Contains(t, buf.String(), testSID)
}
