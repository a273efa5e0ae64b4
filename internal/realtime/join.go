package realtime

import (
	"encoding/json"
	"fmt"
)

// maxPresenceKeyBytes bounds config.presence.key. A channel keeps its key for its whole life,
// tracked or not, so an unbounded one would let a connection hold its message limit in keys
// on every channel.
const maxPresenceKeyBytes = 1024

// joinPayload is what phx_join carries.
type joinPayload struct {
	Config struct {
		Broadcast struct {
			Self bool `json:"self"`
			Ack  bool `json:"ack"`
		} `json:"broadcast"`
		Presence struct {
			Key     string `json:"key"`
			Enabled bool   `json:"enabled"`
		} `json:"presence"`
		PostgresChanges []json.RawMessage `json:"postgres_changes"`
		Private         bool              `json:"private"`
	} `json:"config"`
	AccessToken string `json:"access_token"`
	// UserToken is what older clients sent instead of access_token.
	UserToken string `json:"user_token"`
}

// joinRequest is a phx_join payload read and held to the limits, before anything asks the
// database.
type joinRequest struct {
	payload joinPayload
	// bindings are the postgres_changes entries that are objects, in the client's order;
	// problems[i] is what is wrong with bindings[i] ("" when nothing is so far).
	bindings []*binding
	problems []string
	// echo is the join reply's postgres_changes: each entry with its id.
	echo []map[string]json.RawMessage
	// malformed counts the entries that are not objects (they get no echo and no binding).
	malformed int
}

// decodeJoin reads a join payload. A payload that cannot be accepted at all returns the
// reason of the join's error reply; problems with single bindings do not refuse the join
// (Supabase joins and reports them in a system message) and are kept per binding.
func decodeJoin(data json.RawMessage, maxBindings int) (*joinRequest, string) {
	req := &joinRequest{}
	if err := json.Unmarshal(data, &req.payload); err != nil {
		return nil, "InvalidJoinPayload: " + err.Error()
	}
	cfg := &req.payload.Config
	if len(cfg.PostgresChanges) > maxBindings {
		return nil, fmt.Sprintf("InvalidJoinPayload: too many postgres_changes bindings (%d); a channel may have at most %d",
			len(cfg.PostgresChanges), maxBindings)
	}
	if len(cfg.Presence.Key) > maxPresenceKeyBytes {
		return nil, fmt.Sprintf("InvalidJoinPayload: the presence key is longer than %d bytes", maxPresenceKeyBytes)
	}
	for _, raw := range cfg.PostgresChanges {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
			req.malformed++
			continue
		}
		id := bindingID(fields)
		fields["id"], _ = json.Marshal(id)
		req.echo = append(req.echo, fields)
		b, problem := parseBinding(raw)
		b.id = id
		req.bindings = append(req.bindings, b)
		req.problems = append(req.problems, problem)
	}
	return req, ""
}
