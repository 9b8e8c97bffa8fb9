package httpapi

import (
	"net/http"

	"github.com/agentphone/agentphone"
)

// agentJSON is the Agent object (spec §2.1), keys in the spec's order, plus
// our updatedAt.
type agentJSON struct {
	ID                      string                  `json:"id"`
	Name                    string                  `json:"name"`
	Description             *string                 `json:"description"`
	VoiceMode               string                  `json:"voiceMode"`
	EnableMessaging         bool                    `json:"enableMessaging"`
	ModelTier               string                  `json:"modelTier"`
	SystemPrompt            *string                 `json:"systemPrompt"`
	BeginMessage            *string                 `json:"beginMessage"`
	Voice                   string                  `json:"voice"`
	TransferNumber          *string                 `json:"transferNumber"`
	CustomTools             []agentphone.CustomTool `json:"customTools"` // null until tools are set; echoed as stored (spec §2.3)
	VoicemailMessage        *string                 `json:"voicemailMessage"`
	CallScreeningIdentity   *string                 `json:"callScreeningIdentity"`
	CallScreeningPurpose    *string                 `json:"callScreeningPurpose"`
	STTMode                 string                  `json:"sttMode"`
	AmbientSound            string                  `json:"ambientSound"`
	DenoisingMode           string                  `json:"denoisingMode"`
	MaxSilenceMs            int                     `json:"maxSilenceMs"`
	VoiceSpeed              float64                 `json:"voiceSpeed"`
	InterruptionSensitivity float64                 `json:"interruptionSensitivity"`
	EnableBackchannel       bool                    `json:"enableBackchannel"`
	Language                string                  `json:"language"`
	CreatedAt               timestamp               `json:"createdAt"`
	Numbers                 []agentNumberJSON       `json:"numbers"` // never null
	UpdatedAt               timestamp               `json:"updatedAt"`
}

// agentNumberJSON is a number as listed on its agent (spec §2.2).
type agentNumberJSON struct {
	ID          string `json:"id"`
	PhoneNumber string `json:"phoneNumber"`
	Status      string `json:"status"`
	Type        string `json:"type"`
}

func newAgentJSON(a *agentphone.Agent) agentJSON {
	out := agentJSON{
		ID: a.ID, Name: a.Name, Description: a.Description, VoiceMode: a.VoiceMode,
		EnableMessaging: a.EnableMessaging, ModelTier: a.ModelTier, SystemPrompt: a.SystemPrompt,
		BeginMessage: a.BeginMessage, Voice: a.Voice, TransferNumber: a.TransferNumber,
		VoicemailMessage: a.VoicemailMessage, CallScreeningIdentity: a.CallScreeningIdentity,
		CallScreeningPurpose: a.CallScreeningPurpose, STTMode: a.STTMode, AmbientSound: a.AmbientSound,
		DenoisingMode: a.DenoisingMode, MaxSilenceMs: a.MaxSilenceMs, VoiceSpeed: a.VoiceSpeed,
		InterruptionSensitivity: a.InterruptionSensitivity, EnableBackchannel: a.EnableBackchannel,
		Language: a.Language, CreatedAt: timestamp(a.CreatedAt), UpdatedAt: timestamp(a.UpdatedAt),
		Numbers: make([]agentNumberJSON, len(a.Numbers)),
	}
	if a.CustomTools != nil {
		out.CustomTools = make([]agentphone.CustomTool, len(a.CustomTools))
		for i, t := range a.CustomTools {
			if len(t.Parameters) == 0 {
				t.Parameters = nil // null, not an invalid empty value
			}
			out.CustomTools[i] = t
		}
	}
	for i, n := range a.Numbers {
		out.Numbers[i] = agentNumberJSON(n)
	}
	return out
}

// deleteAgentJSON is DeleteAgentResponse (spec §2.10).
type deleteAgentJSON struct {
	Success bool   `json:"success"`
	ID      string `json:"id"`
	Name    string `json:"name"`
}

// attachNumberInput is AttachNumberRequest (spec §2.11).
type attachNumberInput struct {
	NumberID agentphone.Opt[string] `json:"numberId"`
}

// attachNumberJSON is AttachNumberResponse (spec §2.11).
type attachNumberJSON struct {
	AgentID string          `json:"agentId"`
	Number  agentNumberJSON `json:"number"`
}

// agentConversationJSON is an item of GET /v1/agents/{id}/conversations
// (spec §2.13).
type agentConversationJSON struct {
	ID                 string    `json:"id"`
	AgentID            *string   `json:"agentId"`
	PhoneNumberID      string    `json:"phoneNumberId"`
	PhoneNumber        string    `json:"phoneNumber"`
	Participant        string    `json:"participant"`
	LastMessageAt      timestamp `json:"lastMessageAt"`
	LastMessagePreview string    `json:"lastMessagePreview"`
	MessageCount       int       `json:"messageCount"`
	CreatedAt          timestamp `json:"createdAt"`
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	p, err := pageQuery(r)
	if err != nil {
		return err
	}
	l, err := s.agents.List(r.Context(), sc, p)
	if err != nil {
		return err
	}
	out := offsetList[agentJSON]{Data: make([]agentJSON, len(l.Items)), HasMore: l.HasMore(p), Total: l.Total}
	for i, a := range l.Items {
		out.Data[i] = newAgentJSON(a)
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in agentphone.AgentInput
	err := decode(r, &in, bodyRequired, func() error {
		return s.agents.Validate(r.Context(), sc, "", in)
	})
	if err != nil {
		return err
	}
	a, err := s.agents.Create(r.Context(), sc, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newAgentJSON(a))
	return nil
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	a, err := s.agents.Get(r.Context(), sc, r.PathValue("agent_id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newAgentJSON(a))
	return nil
}

func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	id := r.PathValue("agent_id")
	var in agentphone.AgentInput
	err := decode(r, &in, bodyRequired, func() error {
		return s.agents.Validate(r.Context(), sc, id, in)
	})
	if err != nil {
		return err
	}
	a, err := s.agents.Update(r.Context(), sc, id, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newAgentJSON(a))
	return nil
}

func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	a, err := s.agents.Delete(r.Context(), sc, r.PathValue("agent_id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, deleteAgentJSON{Success: true, ID: a.ID, Name: a.Name})
	return nil
}

func (s *Server) attachNumber(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in attachNumberInput
	if err := decode(r, &in, bodyRequired, nil); err != nil {
		return err
	}
	switch {
	case !in.NumberID.Set:
		return &validationError{[]agentphone.FieldError{{Loc: []any{"body", "numberId"}, Msg: "Field required", Type: "missing"}}}
	case in.NumberID.Null:
		return &validationError{[]agentphone.FieldError{{Loc: []any{"body", "numberId"}, Msg: "Input should be a valid string", Type: "string_type"}}}
	}
	agentID := r.PathValue("agent_id")
	n, err := s.agents.AttachNumber(r.Context(), sc, agentID, in.NumberID.Value)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, attachNumberJSON{
		AgentID: agentID,
		Number:  agentNumberJSON{ID: n.ID, PhoneNumber: n.PhoneNumber, Status: n.Status, Type: n.Type},
	})
	return nil
}

func (s *Server) detachNumber(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	if err := s.agents.DetachNumber(r.Context(), sc, r.PathValue("agent_id"), r.PathValue("number_id")); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, success)
	return nil
}

// listAgentConversations lists the conversations of an agent's numbers,
// most recent activity first (spec §2.13).
func (s *Server) listAgentConversations(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	p, err := s.agentPage(r, sc)
	if err != nil {
		return err
	}
	agentID := r.PathValue("agent_id")
	l, err := s.messages.Conversations(r.Context(), sc, &agentID, p)
	if err != nil {
		return err
	}
	out := make([]agentConversationJSON, len(l.Items))
	for i, c := range l.Items {
		out[i] = agentConversationJSON{
			ID: c.ID, AgentID: c.AgentID, PhoneNumberID: c.NumberID, PhoneNumber: c.PhoneNumber,
			Participant: c.Participant, LastMessageAt: timestamp(c.LastMessageAt),
			LastMessagePreview: c.LastMessagePreview, MessageCount: c.MessageCount, CreatedAt: timestamp(c.CreatedAt),
		}
	}
	s.writeJSON(w, r, http.StatusOK, offsetList[agentConversationJSON]{Data: out, HasMore: l.HasMore(p), Total: l.Total})
	return nil
}

// agentPage validates the page of an agent's sub-list (422 first, as FastAPI
// validates before the handler runs) and checks that the agent exists.
func (s *Server) agentPage(r *http.Request, sc agentphone.Scope) (agentphone.Page, error) {
	p, err := pageQuery(r)
	if err != nil {
		return p, err
	}
	_, err = s.agents.Get(r.Context(), sc, r.PathValue("agent_id"))
	return p, err
}
