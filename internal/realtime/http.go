package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/realtime/phoenix"
	"github.com/goforward/goforward/internal/security"
)

// Stable error codes of the REST endpoints.
const (
	codeInvalidJWT    = "invalid_jwt"
	codeBadRequest    = "bad_request"
	codeTooLarge      = "payload_too_large"
	codeForbidden     = "forbidden"
	codePolicies      = "policies_unavailable"
	codeUnavailable   = "broadcast_unavailable"
	codeMediaType     = "unsupported_media_type"
	maxBatchMessages  = 1000
	broadcastAccepted = http.StatusAccepted
)

// renderError writes the error body Supabase Realtime's API uses: {"message": "..."}
// (realtime-js shows "error" or "message" of it).
func renderError(w http.ResponseWriter, r *http.Request, err *httpx.AppError) {
	_ = httpx.WriteJSON(w, err.Status, map[string]string{"message": err.Message})
}

// requireCaller rejects requests whose Bearer token failed verification.
func requireCaller(r *http.Request) error {
	if err := security.AuthErrorFrom(r.Context()); err != nil {
		return httpx.NewError(http.StatusUnauthorized, codeInvalidJWT, "Invalid JWT: "+authErrorText(err)).WithCause(err)
	}
	if _, ok := security.PrincipalFrom(r.Context()); !ok {
		return httpx.NewError(http.StatusUnauthorized, codeInvalidJWT, "No API key found in request")
	}
	return nil
}

func authErrorText(err error) string {
	if errors.Is(err, security.ErrTokenExpired) {
		return "token has expired"
	}
	return "token is invalid"
}

// broadcastMessage is one message of POST /api/broadcast.
type broadcastMessage struct {
	Topic   string          `json:"topic"`
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
	Private bool            `json:"private"`
}

// handleBroadcastBatch is POST /realtime/v1/api/broadcast: server-side (or pre-join)
// broadcasts, {"messages":[{"topic":"room1","event":"x","payload":{...}}]} → 202. Topics are
// given without the "realtime:" prefix.
func (s *Service) handleBroadcastBatch(w http.ResponseWriter, r *http.Request) error {
	if err := requireCaller(r); err != nil {
		return err
	}
	var body struct {
		Messages []broadcastMessage `json:"messages"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	if len(body.Messages) == 0 || len(body.Messages) > maxBatchMessages {
		return httpx.NewError(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("messages must hold between 1 and %d messages", maxBatchMessages))
	}
	keys := make([]string, len(body.Messages))
	for i, m := range body.Messages {
		switch {
		case m.Topic == "" || m.Event == "":
			return httpx.NewError(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("messages[%d] needs a topic and an event", i))
		case int64(len(m.Payload)) > s.cfg.MaxMessageBytes:
			return httpx.NewError(http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("messages[%d] payload exceeds %d bytes", i, s.cfg.MaxMessageBytes))
		}
		key, err := s.broadcastKey(r, m.Topic, m.Private)
		if err != nil {
			return err
		}
		keys[i] = key
	}
	for i, m := range body.Messages {
		env := envelope{Kind: kindBroadcast, Payload: broadcastPayload(m.Event, m.Payload)}
		if err := s.publish(r.Context(), keys[i], env); err != nil {
			return httpx.NewError(http.StatusServiceUnavailable, codeUnavailable, "The broadcast could not be delivered").WithCause(err)
		}
	}
	w.WriteHeader(broadcastAccepted)
	return nil
}

// handleBroadcastOne is POST /realtime/v1/api/broadcast/{topic}/events/{event}, realtime-js's
// httpSend: the body is the payload, JSON or (application/octet-stream) bytes → 202.
func (s *Service) handleBroadcastOne(w http.ResponseWriter, r *http.Request) error {
	if err := requireCaller(r); err != nil {
		return err
	}
	topic, event := r.PathValue("topic"), r.PathValue("event")
	if topic == "" || event == "" {
		return httpx.NewError(http.StatusBadRequest, codeBadRequest, "A topic and an event are required")
	}
	key, err := s.broadcastKey(r, topic, r.URL.Query().Get("private") == "true")
	if err != nil {
		return err
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	env := envelope{Kind: kindBroadcast}
	switch mediaType {
	case "application/octet-stream":
		data, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxMessageBytes+1))
		if err != nil {
			return httpx.AsAppError(err)
		}
		if int64(len(data)) > s.cfg.MaxMessageBytes {
			return httpx.NewError(http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("payload exceeds %d bytes", s.cfg.MaxMessageBytes))
		}
		env.Binary = &phoenix.UserBroadcast{Event: event, Payload: data}
	case "application/json", "":
		var payload json.RawMessage
		if err := httpx.DecodeJSON(withJSONType(r), &payload); err != nil {
			return err
		}
		if int64(len(payload)) > s.cfg.MaxMessageBytes {
			return httpx.NewError(http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("payload exceeds %d bytes", s.cfg.MaxMessageBytes))
		}
		env.Payload = broadcastPayload(event, payload)
	default:
		return httpx.NewError(http.StatusUnsupportedMediaType, codeMediaType, "Content-Type must be application/json or application/octet-stream")
	}
	if err := s.publish(r.Context(), key, env); err != nil {
		return httpx.NewError(http.StatusServiceUnavailable, codeUnavailable, "The broadcast could not be delivered").WithCause(err)
	}
	w.WriteHeader(broadcastAccepted)
	return nil
}

// broadcastKey returns the topic key a REST broadcast goes to. A private topic needs the
// caller (its Bearer token, or the apikey) to pass realtime.messages' INSERT policies for
// broadcasts.
func (s *Service) broadcastKey(r *http.Request, name string, private bool) (string, error) {
	topic := topicPrefix + name
	if !private {
		return topic, nil
	}
	principal, _ := security.PrincipalFrom(r.Context())
	auth, authErr := s.authorize(principal.Token, principal)
	if authErr != nil {
		return "", httpx.NewError(http.StatusUnauthorized, codeInvalidJWT, authErr.Error())
	}
	pol, err := s.policiesFor(r.Context(), name, auth.principal)
	if err != nil {
		return "", httpx.NewError(http.StatusServiceUnavailable, codePolicies, "Realtime was unable to evaluate the channel's policies").WithCause(err)
	}
	if !pol.BroadcastWrite {
		return "", httpx.NewError(http.StatusForbidden, codeForbidden, "You do not have permissions to write to this Channel topic: "+name)
	}
	return privateKeyPrefix + topic, nil
}

// withJSONType lets a body without a Content-Type be read as JSON.
func withJSONType(r *http.Request) *http.Request {
	if r.Header.Get("Content-Type") != "" {
		return r
	}
	r = r.Clone(r.Context())
	r.Header.Set("Content-Type", "application/json")
	return r
}

// broadcastPayload is the payload subscribers receive: {"type":"broadcast","event":...,"payload":...}.
func broadcastPayload(event string, payload json.RawMessage) json.RawMessage {
	if len(payload) == 0 {
		payload = json.RawMessage("{}")
	}
	out, _ := json.Marshal(map[string]any{"type": "broadcast", "event": event, "payload": payload})
	return out
}
