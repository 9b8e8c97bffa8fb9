package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/agentphone/agentphone"
)

// Sandbox routes are our additions, not part of the AgentPhone API: they
// stand in for the outside world while developing against a self-hosted
// server. openapi.json tags them "sandbox".

// emitEvent emits an event as if it had happened (default: an inbound SMS)
// and answers the delivery as the delivery log shows it: pending and queued
// for the agent's or the project webhook, or failed at once when neither is
// configured. 404 for an unknown agent.
func (s *Server) emitEvent(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in agentphone.EmitInput
	if err := decode(r, &in, bodyOptional, in.Validate); err != nil {
		return err
	}
	d, err := s.webhooks.EmitSample(r.Context(), sc, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newDeliveryJSON(d))
	return nil
}

// CallSayer injects text into live calls: the conversation engine, which
// takes it as the caller's next utterance, as if recognised from speech,
// and answers it as it answers speech. Say returns agentphone errors:
// not-found when the call is not live on this server, a conflict when it
// cannot take text now.
type CallSayer interface {
	Say(ctx context.Context, callID, text string) error
}

// msgNoEngine is the 501 of say on a server without a conversation engine.
const msgNoEngine = "This server runs no conversation engine: live calls cannot be given text to say"

// sayInput is the body of POST /sandbox/v1/calls/{call_id}/say.
type sayInput struct {
	Text agentphone.Opt[string] `json:"text"`
}

// validate requires a text with something besides white space.
func (in *sayInput) validate() error {
	if err := requiredString(in.Text, "text"); err != nil {
		return err
	}
	if strings.TrimSpace(in.Text.Value) == "" {
		return &agentphone.ValidationError{Fields: []agentphone.FieldError{{
			Loc: []any{"text"}, Msg: "String should have at least 1 character", Type: "string_too_short",
		}}}
	}
	return nil
}

// sayJSON is the answer of say: the call and the text it was given.
type sayJSON struct {
	CallID string `json:"callId"`
	Text   string `json:"text"`
}

// sayOnCall gives a live call of the account text, as if its caller had
// said it, and answers 202 once the conversation engine has taken it: the
// agent's answer follows on the call (and in its transcript). 404 for a
// call the scope does not hold; 409 when the call has ended or is not live
// on this server; 501 without a conversation engine.
func (s *Server) sayOnCall(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	if s.sayer == nil {
		return &statusError{http.StatusNotImplemented, msgNoEngine}
	}
	var in sayInput
	if err := decodeChecked(r, &in, in.validate); err != nil {
		return err
	}
	text := strings.TrimSpace(in.Text.Value)
	ctx := r.Context()
	c, err := s.calls.Get(ctx, sc, r.PathValue("call_id"))
	if err != nil {
		return err
	}
	if c.Ended() {
		return agentphone.Errorf(agentphone.KindConflict, "Call %s has already ended (%s)", c.ID, c.Status)
	}
	switch err := s.sayer.Say(ctx, c.ID, text); {
	case agentphone.ErrorKind(err) == agentphone.KindNotFound:
		// The call is the account's: it is not live here (another process
		// carries it, or it is about to end).
		return agentphone.Errorf(agentphone.KindConflict, "Call %s is not live on this server", c.ID)
	case err != nil:
		return fmt.Errorf("say on call %s: %w", c.ID, err)
	}
	s.writeJSON(w, r, http.StatusAccepted, sayJSON{CallID: c.ID, Text: text})
	return nil
}
