package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	defaultTwilioBaseURL = "https://api.twilio.com"
	defaultTwilioTimeout = 10 * time.Second
	// maxTwilioResponse bounds how much of a response is read; real ones are a few KB.
	maxTwilioResponse = 1 << 20
)

// TwilioConfig configures the Twilio sender. Any service speaking Twilio's Messages API can be
// used by pointing BaseURL at it.
type TwilioConfig struct {
	// AccountSID identifies the account ("AC…"); required.
	AccountSID string
	// AuthToken is the account's secret; required. It is sent only as the basic-auth password
	// and never appears in logs or errors.
	AuthToken string
	// From is the sender as Twilio takes it (an E.164 number, or an alphanumeric sender id
	// where allowed), or a Messaging Service SID (starting with "MG"), which is then sent as
	// MessagingServiceSid; required.
	From string
	// BaseURL is the API's origin; empty means https://api.twilio.com.
	BaseURL string
	// Timeout bounds each request when NewTwilio builds the HTTP client; 0 means 10s.
	Timeout time.Duration
}

// LogValue keeps the auth token out of structured logs.
func (c TwilioConfig) LogValue() slog.Value {
	token := ""
	if c.AuthToken != "" {
		token = "[redacted]"
	}
	return slog.GroupValue(
		slog.String("account_sid", c.AccountSID), slog.String("auth_token", token),
		slog.String("from", c.From), slog.String("base_url", c.BaseURL), slog.Duration("timeout", c.Timeout),
	)
}

// Twilio sends messages through Twilio's Programmable Messaging API
// (POST /2010-04-01/Accounts/{AccountSid}/Messages.json).
type Twilio struct {
	cfg      TwilioConfig
	endpoint string
	client   *http.Client
}

var _ Sender = (*Twilio)(nil)

// NewTwilio checks cfg and returns a sender using client (nil: a client whose timeout is
// cfg.Timeout).
func NewTwilio(cfg TwilioConfig, client *http.Client) (*Twilio, error) {
	switch {
	case cfg.AccountSID == "":
		return nil, errors.New("sms: twilio account sid is required")
	case cfg.AuthToken == "":
		return nil, errors.New("sms: twilio auth token is required")
	case cfg.From == "":
		return nil, errors.New("sms: twilio from (a phone number or a messaging service sid) is required")
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("sms: twilio timeout %s is negative", cfg.Timeout)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultTwilioBaseURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("sms: twilio base url %q is not an http(s) URL", cfg.BaseURL)
	}
	if base.User != nil {
		return nil, errors.New("sms: twilio base url must not carry credentials")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTwilioTimeout
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	base.Path += "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json"
	return &Twilio{cfg: cfg, endpoint: base.String(), client: client}, nil
}

func isMessagingService(from string) bool {
	return strings.HasPrefix(from, "MG")
}

// twilioMessage is the part of Twilio's Message resource that Send reads.
type twilioMessage struct {
	SID          string          `json:"sid"`
	Status       string          `json:"status"`
	ErrorCode    json.RawMessage `json:"error_code"` // a number, or null
	ErrorMessage string          `json:"error_message"`
}

// Send posts m and returns Twilio's message SID. A non-2xx answer becomes a *TwilioError; a
// message Twilio accepted but already marked failed or undelivered is an error too.
func (t *Twilio) Send(ctx context.Context, m Message) (string, error) {
	to, err := m.validate()
	if err != nil {
		return "", err
	}
	form := url.Values{"To": {to}, "Body": {m.Body}}
	if isMessagingService(t.cfg.From) {
		form.Set("MessagingServiceSid", t.cfg.From)
	} else {
		form.Set("From", t.cfg.From)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("sms: twilio request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)

	resp, err := t.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("sms: twilio send to %s: %w", to, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTwilioResponse))
	if err != nil {
		return "", fmt.Errorf("sms: twilio send to %s: read response: %w", to, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", newTwilioError(resp.StatusCode, body, t.cfg.AuthToken)
	}
	var msg twilioMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		return "", fmt.Errorf("sms: twilio send to %s: decode response: %w", to, err)
	}
	if msg.SID == "" {
		return "", fmt.Errorf("sms: twilio send to %s: response has no message sid", to)
	}
	if msg.Status == "failed" || msg.Status == "undelivered" {
		return msg.SID, fmt.Errorf("sms: twilio message %s to %s is %s: %s (error code %s)", msg.SID, to, msg.Status, msg.ErrorMessage, msg.ErrorCode)
	}
	return msg.SID, nil
}

// TwilioError is Twilio's answer to a refused request.
type TwilioError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is Twilio's error code (21211: invalid 'To' number, 20003: authentication failed,
	// …), or 0 when the body carried none.
	Code int
	// Message is Twilio's explanation.
	Message string
	// MoreInfo links to the error's documentation.
	MoreInfo string
}

// newTwilioError decodes Twilio's {code, message, more_info} body. The token is cut out of
// the message in case a Twilio-compatible service echoes the request.
func newTwilioError(status int, body []byte, token string) *TwilioError {
	e := &TwilioError{StatusCode: status}
	var wire struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
	}
	if json.Unmarshal(body, &wire) == nil {
		e.Code, e.Message, e.MoreInfo = wire.Code, wire.Message, wire.MoreInfo
	}
	e.Message = strings.ReplaceAll(e.Message, token, "[redacted]")
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

func (e *TwilioError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("sms: twilio: HTTP %d: %s", e.StatusCode, e.Message)
	}
	return fmt.Sprintf("sms: twilio: HTTP %d: error %d: %s", e.StatusCode, e.Code, e.Message)
}
