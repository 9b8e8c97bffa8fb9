package agentphone

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
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
	// Outbound messages only: the hand-overs to the carrier made so far,
	// and, while queued, when the send queue is to make the next one.
	SendAttempts  int
	NextAttemptAt *time.Time
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

// ErrDuplicateMessage is returned by Store.ReceiveMessage for a message
// its number already received with the same carrier id (a carrier's
// retry).
var ErrDuplicateMessage = errors.New("message already received")

// MessageService threads messages into conversations and emits their
// events.
type MessageService struct {
	Store    Store
	Webhooks *WebhookService
	// Senders carry outbound messages, by number provider name (Number.Provider).
	Senders map[string]MessageSender
	// SendRetry are the delays before hand-overs 2, 3, … of a message its
	// carrier could not take for a temporary reason (TemporaryError);
	// after the last, the message fails. Nil: no retries.
	SendRetry []time.Duration
	// SendLease is how long a hand-over may take before the send queue
	// takes it for lost with its process and makes it again; it must
	// exceed the carriers' request time-outs. 0: DefaultSendLease.
	SendLease time.Duration
	Logger    *slog.Logger // nil: errors after the response are not logged
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
	// The voice side of the conversation (spec §20.17): read before the
	// transaction, as calls' turns do not wait for texts.
	turns, err := s.Store.ListConversationTurns(ctx, n.AccountID, n.ID, from, limit)
	if err != nil {
		return nil, err
	}
	_, err = s.Store.ReceiveMessage(ctx, m, limit, func(c *Conversation, history []*Message) (*Delivery, error) {
		env := messageEnvelope(m, c, history, turns, limit, contact)
		return s.Webhooks.newDelivery(n.AccountID, n.AgentID, w, env, &m.ID)
	})
	if errors.Is(err, ErrDuplicateMessage) {
		// A carrier's retry: stored (and its webhook queued) the first time.
		s.log().InfoContext(ctx, "inbound message received twice from its carrier; kept once",
			"message_id", m.ID, "provider_ref", *in.ProviderRef)
		return m, nil
	}
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
func messageEnvelope(m *Message, c *Conversation, history []*Message, turns []*Turn, limit int, contact json.RawMessage) Envelope {
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
	return Envelope{
		Event: EventMessage, Channel: m.Channel, Timestamp: JSONTime(m.CreatedAt), AgentID: m.AgentID, Data: data,
		ConversationState: state, RecentHistory: recentHistory(turns, history, limit),
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
// messages, oldest first (spec §20 decision 3).
func (s *MessageService) Conversation(ctx context.Context, sc Scope, id string, messageLimit int) (*Conversation, []*Message, error) {
	c, err := s.Store.GetConversation(ctx, sc.AccountID, id)
	if err != nil {
		return nil, nil, err
	}
	msgs, _, err := s.Store.ListConversationMessages(ctx, sc.AccountID, id, MessageCursor{Limit: messageLimit})
	if err != nil {
		return nil, nil, err
	}
	slices.Reverse(msgs)
	return c, msgs, nil
}

// Thread returns the last limit messages between the account's number
// numberID and participant, oldest first; none when they never wrote.
func (s *MessageService) Thread(ctx context.Context, accountID, numberID, participant string, limit int) ([]*Message, error) {
	c, err := s.Store.FindConversation(ctx, accountID, numberID, participant)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	msgs, _, err := s.Store.ListConversationMessages(ctx, accountID, c.ID, MessageCursor{Limit: limit})
	if err != nil {
		return nil, err
	}
	slices.Reverse(msgs)
	return msgs, nil
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

// CarrierStatus records a status that the carrier of outbound message id
// reported later (a status callback): status is MessageSent,
// MessageDelivered or MessageFailed, with the carrier's reason for failed.
// ref is the carrier's id of the message; a message whose recorded ref is
// another is not touched. Statuses only move forward (queued, sent, then
// delivered or failed), so a late or repeated callback changes nothing.
// Not-found when no outbound message id exists or its ref differs.
func (s *MessageService) CarrierStatus(ctx context.Context, id, ref, status string, reason *string) error {
	switch status {
	case MessageSent, MessageDelivered, MessageFailed:
	default:
		return Errorf(KindBadRequest, "Message status %q is not sent, delivered or failed", status)
	}
	return s.Store.UpdateCarrierStatus(ctx, id, ref, status, reason)
}

// MessageSender hands outbound messages to a carrier. A number's provider
// (Number.Provider) names the sender that carries its messages.
type MessageSender interface {
	// SendMessage sends m from number n. It returns the carrier's id of
	// the message and its status (sent or delivered); an error means the
	// carrier refused it, and its text is the reason shown on the message.
	SendMessage(ctx context.Context, n *Number, m *Message) (SentMessage, error)
}

// TemporaryError is a carrier failure that may pass: rate limiting, an
// outage, a network error. A MessageSender returns one (wrapping the cause)
// when the same message may be accepted later; the message then stays
// queued and is tried again on the send retry schedule. Any other error
// fails the message for good, with the error's text as the reason.
type TemporaryError struct{ Err error }

func (e *TemporaryError) Error() string { return e.Err.Error() }
func (e *TemporaryError) Unwrap() error { return e.Err }

// Temporary wraps err in a *TemporaryError.
func Temporary(err error) error { return &TemporaryError{Err: err} }

// SentMessage is a carrier's answer to SendMessage.
type SentMessage struct {
	ProviderRef string
	Status      string // MessageSent or MessageDelivered
}

// SendInput is the body of POST /v1/messages (spec §4.3, snake_case).
type SendInput struct {
	Body             Opt[string]   `json:"body"`
	ToNumber         Opt[string]   `json:"to_number"`
	Recipients       Opt[[]string] `json:"recipients"`
	AgentID          Opt[string]   `json:"agent_id"`
	NumberID         Opt[string]   `json:"number_id"`
	FromNumber       Opt[string]   `json:"from_number"`
	MediaURLs        Opt[[]string] `json:"media_urls"`
	MediaURL         Opt[string]   `json:"media_url"`
	SendStyle        Opt[string]   `json:"send_style"`
	ReplyToMessageID Opt[string]   `json:"reply_to_message_id"`
}

// sendStyles are the iMessage effects of send_style.
var sendStyles = []string{"celebration", "fireworks", "lasers", "love", "confetti", "balloons", "spotlight", "echo",
	"invisible", "gentle", "loud", "slam"}

// Validate reports every invalid field of in that needs no lookup.
func (in *SendInput) Validate() error {
	var fe fieldErrors
	if !in.Body.Set || in.Body.Null {
		fe.missing("body")
	}
	switch {
	case in.ToNumber.HasValue() && in.Recipients.HasValue():
		fe.add("Value error, give either to_number or recipients, not both", "value_error", "to_number")
	case !in.ToNumber.HasValue() && !in.Recipients.HasValue():
		fe.add("Value error, to_number is required (or recipients for a new group)", "value_error", "to_number")
	case in.ToNumber.HasValue():
		if _, err := NormalizePhone(in.ToNumber.Value); err != nil {
			fe.add(fmt.Sprintf("Value error, to_number %q is not a phone number: %v", in.ToNumber.Value, err),
				"value_error", "to_number")
		}
	}
	if in.MediaURLs.HasValue() && in.MediaURL.HasValue() {
		fe.add("Value error, media_url is deprecated and cannot be combined with media_urls", "value_error", "media_url")
	}
	if in.SendStyle.HasValue() {
		fe.literal(in.SendStyle.Value, sendStyles, "send_style")
	}
	if in.Body.HasValue() || in.MediaURLs.HasValue() || in.MediaURL.HasValue() {
		checkMessageContent(&fe, in.Body.Value, in.media(), "body", "media_urls")
	}
	return fe.err()
}

// media is the attachments of in: media_urls, or the deprecated media_url.
func (in *SendInput) media() []string {
	switch {
	case in.MediaURLs.HasValue():
		return in.MediaURLs.Value
	case in.MediaURL.HasValue():
		return []string{in.MediaURL.Value}
	}
	return []string{}
}

// Sent is the outcome of Send: the message as stored after the carrier's
// answer, and whether reply_to_message_id could not be threaded.
type Sent struct {
	Message               *Message
	ReplyParentUnresolved *bool
}

// Send sends a text (or MMS) from one of the account's numbers: from_number,
// else number_id, else the agent's first number. The message is stored
// queued in its conversation, then handed to the number's carrier after the
// commit, and its status and reason follow the carrier's answer. iMessage
// features (recipients, send_style) answer a clear 4xx on numbers that
// cannot carry them.
func (s *MessageService) Send(ctx context.Context, sc Scope, in SendInput) (*Sent, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	n, err := s.sender(ctx, sc, in)
	if err != nil {
		return nil, err
	}
	switch {
	case in.Recipients.HasValue():
		return nil, iMessageOnly("group messages (recipients)", "an iMessage-capable number", n)
	case in.SendStyle.HasValue():
		return nil, iMessageOnly("message effects (send_style)", "an iMessage-capable number", n)
	}
	to, _ := NormalizePhone(in.ToNumber.Value) // valid: checked by Validate
	if to == n.PhoneNumber {
		return nil, Errorf(KindBadRequest, "A number cannot text itself (%s)", to)
	}
	media := in.media()
	now := Now()
	m := &Message{
		ID: NewID(PrefixMessage), AccountID: sc.AccountID, NumberID: n.ID, AgentID: n.AgentID,
		Direction: DirectionOutbound, From: n.PhoneNumber, To: to, Body: in.Body.Value, MediaURLs: media,
		Channel: ChannelSMS, Status: MessageQueued, CreatedAt: now, UpdatedAt: now,
	}
	// Handed over below; if this process dies first, the send queue does
	// it when the lease ends.
	due := now.Add(s.lease())
	m.NextAttemptAt = &due
	if len(media) > 0 {
		m.Channel = ChannelMMS
	}
	out := &Sent{Message: m}
	if in.ReplyToMessageID.HasValue() {
		id := in.ReplyToMessageID.Value
		m.ReplyToID = &id
		unresolved := true // inline replies need iMessage: sent as a plain message
		out.ReplyParentUnresolved = &unresolved
	}
	if _, err := s.Store.CreateOutboundMessage(ctx, m); err != nil {
		return nil, err
	}
	s.handOver(context.WithoutCancel(ctx), n, m)
	return out, nil
}

// Send queue defaults.
const (
	// DefaultSendLease is MessageService.SendLease's default.
	DefaultSendLease = time.Minute
	// sendBatch is how many due messages the send queue claims at once,
	// and sendWorkers how many it hands over at once.
	sendBatch   = 100
	sendWorkers = 16
	// sendPoll is how often the send queue looks for due messages.
	sendPoll = time.Second
)

// DefaultSendRetry is the usual MessageService.SendRetry: six hand-overs
// over about 43 minutes.
var DefaultSendRetry = []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}

// lease is s.SendLease or its default.
func (s *MessageService) lease() time.Duration { return cmp.Or(s.SendLease, DefaultSendLease) }

// handOver gives stored message m to its number's carrier and records the
// answer: the carrier's id and status; or, for a temporary failure with
// retries left, the time of the next hand-over (the message stays queued);
// or failed with the reason.
func (s *MessageService) handOver(ctx context.Context, n *Number, m *Message) {
	attempt := m.SendAttempts + 1
	var res SentMessage
	var err error
	if sender := s.Senders[n.Provider]; sender == nil {
		err = fmt.Errorf("provider %q of number %s cannot send messages on this server", n.Provider, n.PhoneNumber)
	} else {
		res, err = sender.SendMessage(ctx, n, m)
	}
	var temp *TemporaryError
	if errors.As(err, &temp) && attempt <= len(s.SendRetry) {
		next := Now().Add(s.SendRetry[attempt-1])
		s.log().WarnContext(ctx, "the carrier cannot take a message now; it stays queued", "message_id", m.ID,
			"attempt", attempt, "next_attempt_at", next, "err", err)
		if err := s.Store.RescheduleMessage(ctx, m.ID, attempt, next); err != nil {
			// It is tried again when its lease ends.
			s.log().ErrorContext(ctx, "rescheduling a message failed", "message_id", m.ID, "err", err)
			return
		}
		m.SendAttempts, m.NextAttemptAt = attempt, &next
		return
	}
	status, reason, ref := cmp.Or(res.Status, MessageSent), (*string)(nil), (*string)(nil)
	if err != nil {
		r := err.Error()
		if temp != nil && attempt > 1 {
			r = fmt.Sprintf("%s (gave up after %d attempts)", r, attempt)
		}
		status, reason = MessageFailed, &r
	} else if res.ProviderRef != "" {
		ref = &res.ProviderRef
	}
	if err := s.Store.UpdateMessageStatus(ctx, m.ID, status, attempt, reason, ref); err != nil {
		// The message stays queued and is handed over again when its
		// lease ends.
		s.log().ErrorContext(ctx, "recording a message's status failed", "message_id", m.ID, "err", err)
		return
	}
	m.Status, m.ErrorMessage, m.ProviderRef, m.SendAttempts, m.NextAttemptAt = status, reason, ref, attempt, nil
}

// log is s.Logger, or a logger that discards.
func (s *MessageService) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// RunSendQueue hands queued messages to their carriers when they are due,
// until ctx ends: retries after temporary failures, and first hand-overs
// that never happened because the process that stored the message died
// (after SendLease). Messages that earlier runs left queued were in
// flight in processes now gone: those due by startedAt plus the lease go
// out at once. Only one server process may run the queue of a database at
// a time for that to hold; a second one would resend messages the first
// is handing over at the moment it starts.
func (s *MessageService) RunSendQueue(ctx context.Context, startedAt time.Time) {
	tick := time.NewTicker(sendPoll)
	defer tick.Stop()
	due := startedAt.Add(s.lease() - time.Millisecond)
	for {
		if _, err := s.SendDue(ctx, due); err != nil && ctx.Err() == nil {
			s.log().ErrorContext(ctx, "sending due messages failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		due = Now()
	}
}

// SendDue hands to their carriers the queued messages due by now, up to
// sendWorkers at a time, and returns how many it handed over. Hand-overs
// under way when ctx ends are finished before it returns (cut short, a
// carrier's answer would be lost and the message sent twice); the others
// stay claimed until their lease ends.
func (s *MessageService) SendDue(ctx context.Context, now time.Time) (int, error) {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, sendWorkers)
	work := context.WithoutCancel(ctx)
	total := 0
	for {
		msgs, err := s.Store.ClaimDueMessages(ctx, now, Now().Add(s.lease()), sendBatch)
		if err != nil {
			return total, err
		}
		for _, m := range msgs {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return total, ctx.Err()
			}
			total++
			wg.Go(func() {
				defer func() { <-sem }()
				n, err := s.Store.GetNumber(work, m.AccountID, m.NumberID)
				if err != nil {
					s.log().ErrorContext(work, "reading a queued message's number failed", "message_id", m.ID, "err", err)
					return
				}
				s.handOver(work, n, m)
			})
		}
		if len(msgs) < sendBatch {
			return total, nil
		}
	}
}

// sender returns the number a message is sent from (spec §4.3).
func (s *MessageService) sender(ctx context.Context, sc Scope, in SendInput) (*Number, error) {
	var n *Number
	var err error
	switch {
	case in.FromNumber.HasValue():
		phone, perr := NormalizePhone(in.FromNumber.Value)
		if perr != nil {
			return nil, Errorf(KindBadRequest, "from_number %q is not a phone number: %v", in.FromNumber.Value, perr)
		}
		n, err = s.Store.GetActiveNumberByPhone(ctx, phone)
		if ErrorKind(err) == KindNotFound || (err == nil && n.AccountID != sc.AccountID) {
			return nil, Errorf(KindBadRequest, "from_number %s is not an active number of this account", phone)
		}
	case in.NumberID.HasValue():
		n, err = s.Store.GetNumber(ctx, sc.AccountID, in.NumberID.Value)
		if ErrorKind(err) == KindNotFound {
			return nil, Errorf(KindNotFound, "Number %s not found", in.NumberID.Value)
		}
	case in.AgentID.HasValue():
		a, aerr := s.Store.GetAgent(ctx, sc.AccountID, in.AgentID.Value)
		if aerr != nil {
			return nil, aerr
		}
		for _, an := range a.Numbers {
			if an.Status == NumberActive {
				n, err = s.Store.GetNumber(ctx, sc.AccountID, an.ID)
				break
			}
		}
		if n == nil && err == nil {
			return nil, Errorf(KindBadRequest, "Agent %s has no active number to send from; attach one first", a.ID)
		}
	default:
		return nil, &ValidationError{Fields: []FieldError{{Loc: []any{"from_number"},
			Msg: "Value error, give from_number, number_id or agent_id to choose the sending number", Type: "value_error"}}}
	}
	if err != nil {
		return nil, err
	}
	if n.Status != NumberActive {
		return nil, Errorf(KindBadRequest, "Number %s is released and cannot send messages", n.PhoneNumber)
	}
	if in.AgentID.HasValue() && (n.AgentID == nil || *n.AgentID != in.AgentID.Value) {
		return nil, Errorf(KindBadRequest, "Number %s is not attached to agent %s", n.PhoneNumber, in.AgentID.Value)
	}
	return n, nil
}
