package agentphone

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Message directions and statuses. An outbound message is queued, then
// sent, delivered or failed as its provider reports; an inbound one is
// received.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"

	MessageQueued    = "queued"
	MessageSent      = "sent"
	MessageDelivered = "delivered"
	MessageFailed    = "failed"
	MessageReceived  = "received"
)

// Id prefixes of messaging.
const (
	PrefixMessage      = "msg_"
	PrefixConversation = "conv_"
)

// MaxMediaURLs bounds the attachments of one message (spec §4.3).
const MaxMediaURLs = 20

// Message is one text (or MMS) sent or received on one of the account's
// numbers, in its conversation.
type Message struct {
	ID             string
	AccountID      string
	ConversationID string
	NumberID       string
	AgentID        *string // the number's agent when the message was stored
	Direction      string
	From, To       string
	Body           string
	MediaURLs      []string // never nil
	Channel        string   // sms or mms
	Status         string
	ErrorMessage   *string // why it failed
	ProviderRef    *string // the carrier's id of it
	ReplyToID      *string // reply_to_message_id, as sent
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Conversation is the thread between one of the account's numbers and one
// other party. Its Metadata is free-form state of the developer's, sent in
// webhooks as conversationState.
type Conversation struct {
	ID                 string
	AccountID          string
	NumberID           string
	AgentID            *string
	PhoneNumber        string          // the number's
	Participant        string          // the other party
	Metadata           json.RawMessage // a JSON object; nil when none
	LastMessageAt      time.Time
	LastMessagePreview string
	MessageCount       int
	CreatedAt          time.Time
}

// MessageCursor bounds a message list by time (spec §4.2, §5.5).
type MessageCursor struct {
	Limit  int
	Before time.Time // zero: no bound; else only messages created before it
	After  time.Time // zero: no bound; else only messages created after it
}

// previewLen bounds lastMessagePreview, in runes.
const previewLen = 100

// Preview is the lastMessagePreview of a message with body and media.
func Preview(body string, media []string) string {
	p := strings.TrimSpace(body)
	if p == "" && len(media) > 0 {
		p = "[media]"
	}
	if utf8.RuneCountInString(p) > previewLen {
		r := []rune(p)
		p = string(r[:previewLen-1]) + "…"
	}
	return p
}

// InboundInput is a message that arrived on a number, as a carrier (or the
// sandbox) hands it over.
type InboundInput struct {
	From        string
	Body        string
	MediaURLs   []string
	ProviderRef *string
}

// MessageService threads messages into conversations and emits their
// events.
type MessageService struct {
	Store    Store
	Webhooks *WebhookService
}

// Receive stores a message that arrived on number n from in.From, in its
// conversation, and, in the same transaction, the agent.message event that
// carries it to the agent's (or the project) webhook with the
// conversation's recent history and metadata. It returns the stored
// message. Bad input is a validation error naming the field; a released
// number is a bad request.
func (s *MessageService) Receive(ctx context.Context, n *Number, in InboundInput) (*Message, error) {
	if n.Status != NumberActive {
		return nil, Errorf(KindBadRequest, "Number %s is released and cannot receive messages", n.PhoneNumber)
	}
	var fe fieldErrors
	from, err := NormalizePhone(in.From)
	if err != nil {
		fe.add(fmt.Sprintf("Value error, from: %v", err), "value_error", "from")
	}
	checkMessageContent(&fe, in.Body, in.MediaURLs, "body", "media_urls")
	if err := fe.err(); err != nil {
		return nil, err
	}
	media := in.MediaURLs
	if media == nil {
		media = []string{}
	}
	now := Now()
	m := &Message{
		ID: NewID(PrefixMessage), AccountID: n.AccountID, NumberID: n.ID, AgentID: n.AgentID,
		Direction: DirectionInbound, From: from, To: n.PhoneNumber, Body: in.Body, MediaURLs: media,
		Channel: ChannelSMS, Status: MessageReceived, ProviderRef: in.ProviderRef, CreatedAt: now, UpdatedAt: now,
	}
	if len(media) > 0 {
		m.Channel = ChannelMMS
	}
	w, err := s.Webhooks.route(ctx, n.AccountID, n.AgentID)
	if err != nil {
		return nil, err
	}
	limit := 0
	if w != nil {
		limit = w.ContextLimit
	}
	contact, err := s.contactJSON(ctx, n.AccountID, from)
	if err != nil {
		return nil, err
	}
	_, err = s.Store.ReceiveMessage(ctx, m, limit, func(c *Conversation, history []*Message) (*Delivery, error) {
		env := messageEnvelope(m, c, history, contact)
		return s.Webhooks.newDelivery(n.AccountID, n.AgentID, w, env, &m.ID)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// contactJSON returns the contact of the account with phone number phone
// as the webhook's data.contact, or JSON null.
func (s *MessageService) contactJSON(ctx context.Context, accountID, phone string) (json.RawMessage, error) {
	c, err := s.Store.GetContactByPhone(ctx, accountID, phone)
	if err != nil || c == nil {
		return json.RawMessage("null"), err
	}
	b, err := json.Marshal(ContactRef{ID: c.ID, Name: c.Name, Email: c.Email, PhoneNumber: c.PhoneNumber})
	if err != nil {
		return nil, fmt.Errorf("contact: %w", err)
	}
	return b, nil
}

// ContactRef is a contact as webhooks show it (spec §15.5 data.contact).
type ContactRef struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Email       *string `json:"email"`
	PhoneNumber string  `json:"phoneNumber"`
}

// messageEnvelope is the agent.message event of inbound message m.
func messageEnvelope(m *Message, c *Conversation, history []*Message, contact json.RawMessage) Envelope {
	data := &MessageData{
		MessageID: m.ID, ConversationID: &c.ID, NumberID: &m.NumberID, From: m.From, To: m.To,
		Contact: contact, Message: m.Body, MediaURLs: m.MediaURLs, Direction: m.Direction, ReceivedAt: JSONTime(m.CreatedAt),
	}
	if len(m.MediaURLs) > 0 {
		data.MediaURL = &m.MediaURLs[0]
	}
	state := c.Metadata
	if state == nil {
		state = json.RawMessage("null")
	}
	items := make([]HistoryItem, 0, len(history))
	for _, h := range history {
		id := h.ID
		items = append(items, HistoryItem{MessageID: &id, Content: h.Body, Direction: h.Direction, Channel: h.Channel, At: JSONTime(h.CreatedAt)})
	}
	return Envelope{
		Event: EventMessage, Channel: m.Channel, Timestamp: JSONTime(m.CreatedAt), AgentID: m.AgentID, Data: data,
		ConversationState: state, RecentHistory: items,
	}
}

// checkMessageContent adds the errors of a message's body and media: one
// of them is needed, at most MaxMediaURLs public HTTPS URLs.
func checkMessageContent(fe *fieldErrors, body string, media []string, bodyField, mediaField string) {
	if strings.TrimSpace(body) == "" && len(media) == 0 {
		fe.add("Value error, a message needs a body or media", "value_error", bodyField)
	}
	if len(media) > MaxMediaURLs {
		fe.add(fmt.Sprintf("List should have at most %d items after validation, not %d", MaxMediaURLs, len(media)),
			"too_long", mediaField)
	}
	for i, u := range media {
		p, err := url.Parse(u)
		if err != nil || p.Scheme != "https" || p.Host == "" {
			fe.add("Value error, media URLs must be public https:// URLs", "value_error", mediaField, i)
		}
	}
}

// NumberMessages lists the messages of one of the account's numbers
// (released ones included), newest first within the cursor. Not-found for
// a number of another account.
func (s *MessageService) NumberMessages(ctx context.Context, sc Scope, numberID string, c MessageCursor) ([]*Message, bool, error) {
	if _, err := s.Store.GetNumber(ctx, sc.AccountID, numberID); err != nil {
		return nil, false, err
	}
	return s.Store.ListNumberMessages(ctx, sc.AccountID, numberID, c)
}

// Conversations lists the account's conversations, or an agent's
// (not-found for an unknown agent), most recent activity first.
func (s *MessageService) Conversations(ctx context.Context, sc Scope, agentID *string, p Page) (List[*Conversation], error) {
	if agentID != nil {
		if _, err := s.Store.GetAgent(ctx, sc.AccountID, *agentID); err != nil {
			return List[*Conversation]{}, err
		}
	}
	return s.Store.ListConversations(ctx, sc.AccountID, agentID, p)
}

// Conversation returns a conversation with its latest messageLimit
// messages, newest first.
func (s *MessageService) Conversation(ctx context.Context, sc Scope, id string, messageLimit int) (*Conversation, []*Message, error) {
	c, err := s.Store.GetConversation(ctx, sc.AccountID, id)
	if err != nil {
		return nil, nil, err
	}
	msgs, _, err := s.Store.ListConversationMessages(ctx, sc.AccountID, id, MessageCursor{Limit: messageLimit})
	if err != nil {
		return nil, nil, err
	}
	return c, msgs, nil
}

// ConversationMessages lists a conversation's messages within the cursor.
func (s *MessageService) ConversationMessages(ctx context.Context, sc Scope, id string, c MessageCursor) ([]*Message, bool, error) {
	if _, err := s.Store.GetConversation(ctx, sc.AccountID, id); err != nil {
		return nil, false, err
	}
	return s.Store.ListConversationMessages(ctx, sc.AccountID, id, c)
}

// ConversationInput is the body of PATCH /v1/conversations/{id} (spec
// §5.4): only present keys change.
type ConversationInput struct {
	Metadata  Opt[json.RawMessage] `json:"metadata"`
	GroupName Opt[string]          `json:"group_name"` // iMessage groups only: ignored for 1:1 chats
}

// Validate reports the fields of in that are invalid: metadata must be a
// JSON object or null.
func (in *ConversationInput) Validate() error {
	var fe fieldErrors
	if in.Metadata.HasValue() {
		v := strings.TrimSpace(string(in.Metadata.Value))
		if v == "" || v[0] != '{' {
			fe.add("Input should be a valid dictionary", "dict_type", "metadata")
		}
	}
	return fe.err()
}

// UpdateConversation applies in to a conversation: metadata replaced
// entirely (null clears it); group_name is ignored, this deployment having
// no group chats.
func (s *MessageService) UpdateConversation(ctx context.Context, sc Scope, id string, in ConversationInput) (*Conversation, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if !in.Metadata.Set {
		return s.Store.GetConversation(ctx, sc.AccountID, id)
	}
	var meta json.RawMessage
	if in.Metadata.HasValue() {
		meta = in.Metadata.Value
	}
	return s.Store.SetConversationMetadata(ctx, sc.AccountID, id, meta)
}

// ReceiveSandbox stores a message "from" a phone to one of the account's
// sandbox numbers, as Receive does (POST /sandbox/v1/numbers/{id}/inbound,
// agentphone sms simulate). Not-found for a number of another account.
func (s *MessageService) ReceiveSandbox(ctx context.Context, sc Scope, numberID string, in InboundInput) (*Message, error) {
	n, err := s.Store.GetNumber(ctx, sc.AccountID, numberID)
	if err != nil {
		return nil, err
	}
	return s.Receive(ctx, n, in)
}

// ReceiveAt stores a message that arrived for phone number to (any
// format), on whichever account's active number it is, as Receive does:
// what carriers' inbound routes and `agentphone sms simulate` call.
// Not-found when no active number is to.
func (s *MessageService) ReceiveAt(ctx context.Context, to string, in InboundInput) (*Message, error) {
	phone, err := NormalizePhone(to)
	if err != nil {
		return nil, Errorf(KindBadRequest, "Destination %q is not a phone number: %v", to, err)
	}
	n, err := s.Store.GetActiveNumberByPhone(ctx, phone)
	if err != nil {
		if ErrorKind(err) == KindNotFound {
			return nil, Errorf(KindNotFound, "No active number %s on this server", phone)
		}
		return nil, err
	}
	return s.Receive(ctx, n, in)
}
