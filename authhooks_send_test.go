package goforward_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward"
)

// TestSendAndMFAHooks: OnSendEmail and OnSendSMS replace the mailer and the SMS provider
// (the codes they receive are the ones that verify), a refusal is GoTrue's error shape, and
// an OnMFAVerificationAttempt handler rejects a verification with the right code, ending the
// user's sessions.
func TestSendAndMFAHooks(t *testing.T) {
	logs := &syncBuffer{}
	app, _ := newApp(t, logs, func(c *goforward.Config) {
		c.Auth.MailerAutoconfirm = "false"
		c.Auth.PhoneAutoconfirm = "false"
	})
	var (
		mu        sync.Mutex
		mails     []*goforward.SendEmailEvent
		texts     []*goforward.SendSMSEvent
		attempts  []bool
		rejectMFA bool
	)
	app.OnSendEmail().BindFunc(func(e *goforward.SendEmailEvent) error {
		if e.To == "full@example.com" {
			return &goforward.AuthHookError{Status: http.StatusTooManyRequests, Message: "The outbox is full"}
		}
		mu.Lock()
		mails = append(mails, e)
		mu.Unlock()
		return e.Next()
	})
	app.OnSendSMS().BindFunc(func(e *goforward.SendSMSEvent) error {
		mu.Lock()
		texts = append(texts, e)
		mu.Unlock()
		return e.Next()
	})
	app.OnMFAVerificationAttempt().BindFunc(func(e *goforward.MFAVerificationEvent) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, e.Valid)
		if rejectMFA {
			e.Reject, e.Message = true, "Too many second factors today"
		}
		return e.Next()
	})
	r := start(t, app, logs)
	headers := map[string]string{"apikey": r.anonKey, "X-Supabase-Api-Version": "2024-01-01"}

	status, body, _ := call(t, "POST", r.url+"/auth/v1/signup", headers, `{"email":"full@example.com","password":"a-long-password"}`)
	require.Equal(t, http.StatusTooManyRequests, status, body)
	require.Equal(t, "The outbox is full", body["message"])

	status, body, _ = call(t, "POST", r.url+"/auth/v1/signup", headers, `{"email":"ada@example.com","password":"a-long-password"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Len(t, mails, 1)
	mail := mails[0]
	require.Equal(t, "ada@example.com", mail.To)
	require.Equal(t, "signup", mail.ActionType)
	require.NotEmpty(t, mail.UserID)
	require.Contains(t, mail.ConfirmationURL, mail.TokenHash)
	require.Contains(t, mail.HTML+mail.Text, mail.ConfirmationURL[:20])
	status, session, _ := call(t, "POST", r.url+"/auth/v1/verify", headers, `{"type":"signup","email":"ada@example.com","token":"`+mail.Token+`"}`)
	require.Equal(t, http.StatusOK, status, "the hook's code is the real one: %v", session)
	require.NotContains(t, logs.String(), "mail not sent (log mailer)", "the mailer sent nothing")

	status, body, _ = call(t, "POST", r.url+"/auth/v1/otp", headers, `{"phone":"+15551234567"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Len(t, texts, 1)
	require.Equal(t, "+15551234567", texts[0].To)
	require.Contains(t, texts[0].Body, texts[0].OTP)
	status, body, _ = call(t, "POST", r.url+"/auth/v1/verify", headers, `{"type":"sms","phone":"+15551234567","token":"`+texts[0].OTP+`"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.NotContains(t, logs.String(), "sms not sent (log sender)", "the SMS provider sent nothing")

	// MFA: a wrong code continues as usual; the right one, rejected by the hook, signs out.
	user := map[string]string{"apikey": r.anonKey, "X-Supabase-Api-Version": "2024-01-01", "Authorization": "Bearer " + session["access_token"].(string)}
	status, factor, _ := call(t, "POST", r.url+"/auth/v1/factors", user, `{"factor_type":"totp","friendly_name":"phone"}`)
	require.Equal(t, http.StatusOK, status, factor)
	factorID := factor["id"].(string)
	secret := factor["totp"].(map[string]any)["secret"].(string)
	challenge := func() string {
		status, ch, _ := call(t, "POST", r.url+"/auth/v1/factors/"+factorID+"/challenge", user, `{}`)
		require.Equal(t, http.StatusOK, status, ch)
		return ch["id"].(string)
	}
	status, body, _ = call(t, "POST", r.url+"/auth/v1/factors/"+factorID+"/verify", user, `{"challenge_id":"`+challenge()+`","code":"000000"}`)
	require.Equal(t, http.StatusUnprocessableEntity, status, body)
	mu.Lock()
	rejectMFA = true
	mu.Unlock()
	code, err := totp.GenerateCode(secret, time.Now())
	require.NoError(t, err)
	status, body, _ = call(t, "POST", r.url+"/auth/v1/factors/"+factorID+"/verify", user, `{"challenge_id":"`+challenge()+`","code":"`+code+`"}`)
	require.Equal(t, http.StatusForbidden, status, body)
	require.Equal(t, map[string]any{"code": "mfa_verification_rejected", "message": "Too many second factors today"}, body)
	require.Equal(t, []bool{false, true}, attempts)
	status, body, _ = call(t, "POST", r.url+"/auth/v1/token?grant_type=refresh_token", headers, `{"refresh_token":"`+session["refresh_token"].(string)+`"}`)
	require.NotEqual(t, http.StatusOK, status, "the rejection ended the session: %v", body)
	require.True(t, strings.HasPrefix(body["code"].(string), "refresh_token") || body["code"] == "session_not_found", "%v", body)
}
