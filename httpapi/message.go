package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/agentphone/agentphone"
)

// Conversations and messages (spec §4, §5).

func newMessageJSON(m *agentphone.Message) messageJSON {
	ch := m.Channel
	return messageJSON{
		ID: m.ID, From: m.From, To: m.To, Body: m.Body, Direction: m.Direction, Channel: &ch,
		ReceivedAt: timestamp(m.CreatedAt), Status: m.Status, ErrorMessage: m.ErrorMessage,
	}
}

// conversationMessageJSON is MessageInConversation (spec §4.1 b).
type conversationMessageJSON struct {
	ID         string    `json:"id"`
	Body       string    `json:"body"`
	FromNumber string    `json:"fromNumber"`
	ToNumber   string    `json:"toNumber"`
	Direction  string    `json:"direction"`
	SenderID   *string   `json:"senderIdentifier"` // group chats only: always null
	Channel    string    `json:"channel"`
	MediaURL   *string   `json:"mediaUrl"`
	MediaURLs  []string  `json:"mediaUrls"`
	ReceivedAt timestamp `json:"receivedAt"`
	Reactions  []any     `json:"reactions"` // reactions need iMessage: always []
	ReplyTo    any       `json:"replyTo"`   // inline replies need iMessage: always null
	// Our additions, as on messageJSON.
	Status       string  `json:"status"`
	ErrorMessage *string `json:"errorMessage"`
}

func newConversationMessageJSON(m *agentphone.Message) conversationMessageJSON {
	j := conversationMessageJSON{
		ID: m.ID, Body: m.Body, FromNumber: m.From, ToNumber: m.To, Direction: m.Direction, Channel: m.Channel,
		MediaURLs: m.MediaURLs, ReceivedAt: timestamp(m.CreatedAt), Reactions: []any{},
		Status: m.Status, ErrorMessage: m.ErrorMessage,
	}
	if len(m.MediaURLs) > 0 {
		j.MediaURL = &m.MediaURLs[0]
	}
	return j
}

func conversationMessagesJSON(ms []*agentphone.Message) []conversationMessageJSON {
	out := make([]conversationMessageJSON, len(ms))
	for i, m := range ms {
		out[i] = newConversationMessageJSON(m)
	}
	return out
}

// conversationJSON is the conversation summary (spec §5.1); detail (§5.3)
// leaves out lastMessagePreview and adds messages.
type conversationJSON struct {
	ID                 string                     `json:"id"`
	AgentID            *string                    `json:"agentId"`
	PhoneNumberID      string                     `json:"phoneNumberId"`
	PhoneNumber        string                     `json:"phoneNumber"`
	Participant        string                     `json:"participant"`
	IsGroup            bool                       `json:"isGroup"`
	GroupID            *string                    `json:"groupId"`
	GroupName          *string                    `json:"groupName"`
	GroupIconURL       *string                    `json:"groupIconUrl"`
	Participants       any                        `json:"participants"`
	LastMessageAt      timestamp                  `json:"lastMessageAt"`
	LastMessagePreview *string                    `json:"lastMessagePreview,omitempty"`
	MessageCount       int                        `json:"messageCount"`
	Metadata           json.RawMessage            `json:"metadata"`
	CreatedAt          timestamp                  `json:"createdAt"`
	Messages           *[]conversationMessageJSON `json:"messages,omitempty"`
}

func newConversationJSON(c *agentphone.Conversation) conversationJSON {
	meta := c.Metadata
	if meta == nil {
		meta = json.RawMessage("null")
	}
	return conversationJSON{
		ID: c.ID, AgentID: c.AgentID, PhoneNumberID: c.NumberID, PhoneNumber: c.PhoneNumber, Participant: c.Participant,
		LastMessageAt: timestamp(c.LastMessageAt), MessageCount: c.MessageCount, Metadata: meta,
		CreatedAt: timestamp(c.CreatedAt),
	}
}

func conversationSummaryJSON(c *agentphone.Conversation) conversationJSON {
	j := newConversationJSON(c)
	j.LastMessagePreview = &c.LastMessagePreview
	return j
}

func conversationDetailJSON(c *agentphone.Conversation, ms []*agentphone.Message) conversationJSON {
	j := newConversationJSON(c)
	msgs := conversationMessagesJSON(ms)
	j.Messages = &msgs
	return j
}

// The detail's recent messages (spec §5.3).
const (
	defaultConvMessageLimit = 50
	maxConvMessageLimit     = 100
)

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	p, err := pageQuery(r)
	if err != nil {
		return err
	}
	l, err := s.messages.Conversations(r.Context(), sc, nil, p)
	if err != nil {
		return err
	}
	out := make([]conversationJSON, len(l.Items))
	for i, c := range l.Items {
		out[i] = conversationSummaryJSON(c)
	}
	s.writeJSON(w, r, http.StatusOK, offsetList[conversationJSON]{Data: out, HasMore: l.HasMore(p), Total: l.Total})
	return nil
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var qe queryErrors
	limit := qe.intParam(r.URL.Query(), "message_limit", defaultConvMessageLimit, 1, maxConvMessageLimit)
	if err := qe.err(); err != nil {
		return err
	}
	c, msgs, err := s.messages.Conversation(r.Context(), sc, r.PathValue("conversation_id"), limit)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, conversationDetailJSON(c, msgs))
	return nil
}

func (s *Server) updateConversation(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in agentphone.ConversationInput
	if err := decode(r, &in, bodyRequired, in.Validate); err != nil {
		return err
	}
	c, err := s.messages.UpdateConversation(r.Context(), sc, r.PathValue("conversation_id"), in)
	if err != nil {
		return err
	}
	_, msgs, err := s.messages.Conversation(r.Context(), sc, c.ID, defaultConvMessageLimit)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, conversationDetailJSON(c, msgs))
	return nil
}

func (s *Server) listConversationMessages(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	q, err := parseMessageQuery(r)
	if err != nil {
		return err
	}
	msgs, more, err := s.messages.ConversationMessages(r.Context(), sc, r.PathValue("conversation_id"), q.cursor())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, cursorList[conversationMessageJSON]{Data: conversationMessagesJSON(msgs), HasMore: more})
	return nil
}

func (q messageQuery) cursor() agentphone.MessageCursor {
	return agentphone.MessageCursor{Limit: q.Limit, Before: q.Before, After: q.After}
}

// sandboxInboundInput is the body of POST /sandbox/v1/numbers/{id}/inbound.
type sandboxInboundInput struct {
	From      agentphone.Opt[string]   `json:"from"`
	Body      agentphone.Opt[string]   `json:"body"`
	MediaURLs agentphone.Opt[[]string] `json:"media_urls"`
}

func (in *sandboxInboundInput) validate() error { return requiredString(in.From, "from") }

// requiredString checks a required string of a body whose rules live in
// httpapi rather than in a domain Validate: 422 "missing" when absent,
// "string_type" when null.
func requiredString(o agentphone.Opt[string], name string) error {
	switch {
	case !o.Set:
		return &agentphone.ValidationError{Fields: []agentphone.FieldError{{Loc: []any{name}, Msg: "Field required", Type: "missing"}}}
	case o.Null:
		return &agentphone.ValidationError{Fields: []agentphone.FieldError{{Loc: []any{name}, Msg: "Input should be a valid string", Type: "string_type"}}}
	}
	return nil
}

// decodeChecked decodes r's required body into dst as decode does, then
// applies check to what decoded (decode runs check only to merge its errors
// with type errors).
func decodeChecked(r *http.Request, dst any, check func() error) error {
	if err := decode(r, dst, bodyRequired, check); err != nil {
		return err
	}
	return check()
}

// sandboxMessageJSON is a message as the sandbox routes answer it.
type sandboxMessageJSON struct {
	conversationMessageJSON
	ConversationID string `json:"conversationId"`
	NumberID       string `json:"numberId"`
}

// receiveSandboxMessage stores a message to one of the account's numbers as
// if a phone had texted it, and posts agent.message to the webhook.
func (s *Server) receiveSandboxMessage(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in sandboxInboundInput
	if err := decodeChecked(r, &in, in.validate); err != nil {
		return err
	}
	m, err := s.messages.ReceiveSandbox(r.Context(), sc, r.PathValue("number_id"), agentphone.InboundInput{
		From: in.From.Value, Body: in.Body.Value, MediaURLs: in.MediaURLs.Value,
	})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, sandboxMessageJSON{
		conversationMessageJSON: newConversationMessageJSON(m), ConversationID: m.ConversationID,
		NumberID: m.NumberID,
	})
	return nil
}

// sendMessageJSON is SendMessageResponse (spec §4.3, snake_case).
type sendMessageJSON struct {
	ID                    string   `json:"id"`
	Status                string   `json:"status"`
	Channel               string   `json:"channel"`
	FromNumber            string   `json:"from_number"`
	ToNumber              string   `json:"to_number"`
	ConversationID        string   `json:"conversation_id"`
	MediaURLs             []string `json:"media_urls"`
	ReplyToMessageID      *string  `json:"reply_to_message_id"`
	ReplyParentUnresolved *bool    `json:"reply_parent_unresolved"`
	ErrorMessage          *string  `json:"error_message"` // ours: why the carrier refused it, when status is failed
}

// sendMessage sends a text from one of the account's numbers (spec §4.3).
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in agentphone.SendInput
	if err := decode(r, &in, bodyRequired, in.Validate); err != nil {
		return err
	}
	sent, err := s.messages.Send(r.Context(), sc, in)
	if err != nil {
		return err
	}
	m := sent.Message
	s.writeJSON(w, r, http.StatusOK, sendMessageJSON{
		ID: m.ID, Status: m.Status, Channel: m.Channel, FromNumber: m.From, ToNumber: m.To,
		ConversationID: m.ConversationID, MediaURLs: m.MediaURLs, ReplyToMessageID: m.ReplyToID,
		ReplyParentUnresolved: sent.ReplyParentUnresolved, ErrorMessage: m.ErrorMessage,
	})
	return nil
}
