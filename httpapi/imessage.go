package httpapi

import (
	"net/http"

	"github.com/agentphone/agentphone"
)

// iMessage-only routes (spec §4.4, §5.6–5.8, §6.4, §7). No number of this
// server carries iMessage yet: each answers a 400 naming the feature, the
// number and its provider (after 404s and 422s, as usual), never a silent
// success. See agentphone/imessage.go.

// reactionInput is the body of POST /v1/messages/{id}/reactions.
type reactionInput struct {
	Reaction agentphone.Opt[string] `json:"reaction"`
}

func (in *reactionInput) validate() error { return requiredString(in.Reaction, "reaction") }

func (s *Server) reactToMessage(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in reactionInput
	if err := decodeChecked(r, &in, in.validate); err != nil {
		return err
	}
	return s.messages.React(r.Context(), sc, r.PathValue("message_id"), in.Reaction.Value)
}

func (s *Server) sendTyping(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.messages.ConversationFeature(r.Context(), sc, r.PathValue("conversation_id"), "Typing indicators")
}

// backgroundInput is the body of POST /v1/conversations/{id}/background.
type backgroundInput struct {
	ImageURL agentphone.Opt[string] `json:"image_url"`
}

func (in *backgroundInput) validate() error { return requiredString(in.ImageURL, "image_url") }

func (s *Server) setBackground(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in backgroundInput
	if err := decodeChecked(r, &in, in.validate); err != nil {
		return err
	}
	return s.messages.ConversationFeature(r.Context(), sc, r.PathValue("conversation_id"), "Chat backgrounds")
}

func (s *Server) deleteBackground(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.messages.ConversationFeature(r.Context(), sc, r.PathValue("conversation_id"), "Chat backgrounds")
}

// contactCardInput is the body of PUT /v1/numbers/{id}/contact-card.
type contactCardInput struct {
	FirstName   agentphone.Opt[string] `json:"firstName"`
	LastName    agentphone.Opt[string] `json:"lastName"`
	DisplayName agentphone.Opt[string] `json:"displayName"`
	AvatarURL   agentphone.Opt[string] `json:"avatarUrl"`
}

func (s *Server) getContactCard(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.messages.NumberFeature(r.Context(), sc, r.PathValue("number_id"), "Contact cards")
}

func (s *Server) putContactCard(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in contactCardInput
	if err := decode(r, &in, bodyOptional, nil); err != nil {
		return err
	}
	return s.messages.NumberFeature(r.Context(), sc, r.PathValue("number_id"), "Contact cards")
}

func (s *Server) deleteContactCard(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.messages.NumberFeature(r.Context(), sc, r.PathValue("number_id"), "Contact cards")
}

func (s *Server) contactCapabilities(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	q := r.URL.Query()
	if !q.Has("phone_number") {
		return &validationError{[]agentphone.FieldError{{Loc: []any{"query", "phone_number"}, Msg: "Field required", Type: "missing"}}}
	}
	phone, err := agentphone.NormalizePhone(q.Get("phone_number"))
	if err != nil {
		return &validationError{[]agentphone.FieldError{{Loc: []any{"query", "phone_number"},
			Msg: "Value error, not a phone number: " + err.Error(), Type: "value_error"}}}
	}
	return s.messages.CheckCapabilities(r.Context(), sc, phone)
}
