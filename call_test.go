package agentphone

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzCallInput feeds arbitrary JSON through the validation of POST
// /v1/calls: it never panics, rejects only with a *ValidationError, and
// what it accepts has a phone number to call and an agent.
func FuzzCallInput(f *testing.F) {
	f.Add([]byte(`{"agentId":"agt_1","toNumber":"+14155551234","modelTier":"max","variables":{"a":"b","c":null}}`))
	f.Add([]byte(`{"agentId":"","toNumber":"(415) 555-1234","maxWaitSeconds":9,"callScreeningIdentity":"x"}`))
	f.Add([]byte(`{"agentId":null,"toNumber":"+","waitForCompletion":true,"maxWaitSeconds":601}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in CallInput
		if json.Unmarshal(body, &in) != nil {
			return
		}
		err := in.Validate()
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if !in.AgentID.HasValue() || !in.ToNumber.HasValue() {
			t.Fatalf("accepted without agentId or toNumber: %s", body)
		}
		if _, err := NormalizePhone(in.ToNumber.Value); err != nil {
			t.Fatalf("accepted toNumber %q: %v", in.ToNumber.Value, err)
		}
		_ = in.options()
	})
}

// TestCallSubscription_DropsReplayedTurns: a turn reported live that the
// replay already held is dropped once; a changed one passes.
func TestCallSubscription_DropsReplayedTurns(t *testing.T) {
	t.Parallel()
	var h callHub
	sub := h.subscribe("call_1")
	defer sub.Close()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	stored := &Turn{ID: "tr_1", CallID: "call_1", Role: RoleUser, Text: "hi", StartedAt: at, CreatedAt: at}
	sub.Turns = []*Turn{stored}
	sub.replayed = map[string]*Turn{stored.ID: stored}
	same := *stored
	changed := *stored
	resp := "hello"
	changed.Response = &resp
	h.publish("call_1", CallUpdate{Turn: &same})
	h.publish("call_1", CallUpdate{Turn: &changed})
	h.publish("call_2", CallUpdate{Turn: &same}) // another call
	<-sub.Ready()
	got := sub.Updates()
	if len(got) != 1 || got[0].Turn.Response == nil {
		t.Fatalf("updates %+v", got)
	}
	// Seen once live, the same turn again is an update.
	h.publish("call_1", CallUpdate{Turn: &same})
	<-sub.Ready()
	if got := sub.Updates(); len(got) != 1 {
		t.Fatalf("updates %+v", got)
	}
}

func TestCallLimitError(t *testing.T) {
	t.Parallel()
	err := CallLimitError(3)
	if !errors.Is(err, ErrCallLimit) || !errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) ||
		ErrorKind(err) != KindConflict || ErrorMessage(err) != err.Error() {
		t.Fatalf("%v", err)
	}
	err = noAgentError("+15555550100")
	if !errors.Is(err, ErrNoAgent) || errors.Is(err, ErrCallLimit) || ErrorKind(err) != KindUnavailable {
		t.Fatalf("%v", err)
	}
}
