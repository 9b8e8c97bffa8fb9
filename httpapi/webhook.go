package httpapi

import (
	"net/http"

	"github.com/agentphone/agentphone"
)

// webhookJSON is the Webhook object (spec §9.1) plus our agentId (null for
// the project webhook).
type webhookJSON struct {
	ID           string    `json:"id"`
	URL          string    `json:"url"`
	Secret       string    `json:"secret"`
	Status       string    `json:"status"`
	ContextLimit int       `json:"contextLimit"`
	Timeout      int       `json:"timeout"`
	CreatedAt    timestamp `json:"createdAt"`
	AgentID      *string   `json:"agentId"`
}

// newWebhookJSON returns nil (JSON null) for no webhook (spec §9.2).
func newWebhookJSON(wh *agentphone.Webhook) *webhookJSON {
	if wh == nil {
		return nil
	}
	return &webhookJSON{
		ID: wh.ID, URL: wh.URL, Secret: wh.Secret, Status: wh.Status, ContextLimit: wh.ContextLimit,
		Timeout: wh.Timeout, CreatedAt: timestamp(wh.CreatedAt), AgentID: wh.AgentID,
	}
}

// The project webhook (spec §9.2–9.4) and the agent webhook (§10.1–10.3)
// share their handlers; agentID is nil for the project webhook.

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.serveGetWebhook(w, r, sc, nil)
}

func (s *Server) upsertWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.serveUpsertWebhook(w, r, sc, nil)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.serveDeleteWebhook(w, r, sc, nil)
}

func (s *Server) getAgentWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.serveGetWebhook(w, r, sc, agentParam(r))
}

func (s *Server) upsertAgentWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.serveUpsertWebhook(w, r, sc, agentParam(r))
}

func (s *Server) deleteAgentWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.serveDeleteWebhook(w, r, sc, agentParam(r))
}

func agentParam(r *http.Request) *string {
	id := r.PathValue("agent_id")
	return &id
}

func (s *Server) serveGetWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope, agentID *string) error {
	wh, err := s.webhooks.Get(r.Context(), sc, agentID)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newWebhookJSON(wh))
	return nil
}

func (s *Server) serveUpsertWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope, agentID *string) error {
	var in agentphone.WebhookInput
	err := decode(r, &in, bodyRequired, in.Validate)
	if err != nil {
		return err
	}
	wh, err := s.webhooks.Upsert(r.Context(), sc, agentID, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newWebhookJSON(wh))
	return nil
}

func (s *Server) serveDeleteWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope, agentID *string) error {
	if err := s.webhooks.Delete(r.Context(), sc, agentID); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, success)
	return nil
}
