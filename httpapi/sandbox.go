package httpapi

import (
	"net/http"

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
