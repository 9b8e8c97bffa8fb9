package agentphone

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// MsgNoWebhook is the errorMessage of a delivery recorded for an event that
// had nowhere to go.
const MsgNoWebhook = "No webhook configured for this agent or account"

// Emit records the event env of the account and hands it to the outbox for
// delivery (spec §15.1): to the agent's webhook when agentID names an agent
// with one, else to the project webhook. The delivery is stored pending,
// due now, and queued in the same transaction (see Store.CreateDelivery);
// its id is the X-Webhook-ID of every attempt. With no webhook configured
// the event is recorded as a failed delivery with no attempt, so that the
// delivery log shows it, and nothing is queued. messageID, when set, is the
// message the event is about (the log's messageId).
//
// Returns not-found for an unknown agent.
func (s *WebhookService) Emit(ctx context.Context, accountID string, agentID *string, env Envelope, messageID *string) (*Delivery, error) {
	if agentID != nil {
		if _, err := s.Store.GetAgent(ctx, accountID, *agentID); err != nil {
			return nil, err
		}
	}
	return s.emit(ctx, accountID, agentID, env, messageID)
}

// emit is Emit for an agent known to exist (or none).
func (s *WebhookService) emit(ctx context.Context, accountID string, agentID *string, env Envelope, messageID *string) (*Delivery, error) {
	w, err := s.route(ctx, accountID, agentID)
	if err != nil {
		return nil, err
	}
	d, err := s.newDelivery(accountID, agentID, w, env, messageID)
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateDelivery(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// newDelivery returns the delivery of event env to webhook w (nil: none is
// configured, and the delivery is recorded as failed), not stored.
func (s *WebhookService) newDelivery(accountID string, agentID *string, w *Webhook, env Envelope, messageID *string) (*Delivery, error) {
	payload, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("emit %s: %w", env.Event, err)
	}
	now := Now()
	d := &Delivery{
		ID: NewID(PrefixDelivery), AccountID: accountID, AgentID: agentID, EventType: env.Event,
		MessageID: messageID, Payload: payload, Status: DeliveryPending, NextRetryAt: &now, CreatedAt: now,
	}
	if env.Channel != "" {
		ch := env.Channel
		d.Channel = &ch
	}
	if w == nil {
		msg := MsgNoWebhook
		d.Status, d.NextRetryAt, d.ErrorMessage = DeliveryFailed, nil, &msg
	} else {
		d.WebhookID = &w.ID
	}
	return d, nil
}

// Target returns the webhook an event of the account's agent goes to: the
// agent's own webhook when agentID names an agent that has one, else the
// project webhook; nil (and no error) when neither is configured. agentID
// nil asks for the project webhook. The conversation engine posts a voice
// turn (spec §16) to it synchronously, as the outbox posts other events.
func (s *WebhookService) Target(ctx context.Context, accountID string, agentID *string) (*Webhook, error) {
	return s.route(ctx, accountID, agentID)
}

// route returns the webhook an event of the account's agent (agentID nil:
// of no agent) goes to, or nil when none is configured.
func (s *WebhookService) route(ctx context.Context, accountID string, agentID *string) (*Webhook, error) {
	if agentID != nil {
		w, err := s.Store.GetWebhook(ctx, accountID, agentID)
		if ErrorKind(err) != KindNotFound {
			return w, err
		}
	}
	w, err := s.Store.GetWebhook(ctx, accountID, nil)
	if ErrorKind(err) == KindNotFound {
		return nil, nil
	}
	return w, err
}

// EmitInput is the body of POST /sandbox/v1/webhooks/emit, which emits an
// event by hand (our addition, not part of the AgentPhone API).
type EmitInput struct {
	AgentID Opt[string]          `json:"agentId"`
	Event   Opt[string]          `json:"event"`   // default agent.message
	Channel Opt[string]          `json:"channel"` // default sms
	Data    Opt[json.RawMessage] `json:"data"`    // a JSON object; default a sample SMS
}

var (
	eventTypes = []string{EventMessage, EventCallEnded, EventReaction}
	channels   = []string{ChannelSMS, ChannelMMS, ChannelIMessage, ChannelVoice}
)

// Validate reports every invalid field of in.
func (in *EmitInput) Validate() error {
	var fe fieldErrors
	if in.Event.HasValue() {
		fe.literal(in.Event.Value, eventTypes, "event")
	}
	if in.Channel.HasValue() {
		fe.literal(in.Channel.Value, channels, "channel")
	}
	if in.Data.HasValue() {
		if v := bytes.TrimSpace(in.Data.Value); len(v) == 0 || v[0] != '{' {
			fe.add("Input should be a valid dictionary", "dict_type", "data")
		}
	}
	return fe.err()
}

// EmitSample emits the event of in for the scope's account, as Emit does;
// a missing data is a sample SMS (as test deliveries send) on the agent's
// first number. Not-found for an unknown agent.
func (s *WebhookService) EmitSample(ctx context.Context, sc Scope, in EmitInput) (*Delivery, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var agent *Agent
	if in.AgentID.HasValue() {
		var err error
		if agent, err = s.Store.GetAgent(ctx, sc.AccountID, in.AgentID.Value); err != nil {
			return nil, err
		}
	}
	now := Now()
	env := Envelope{Event: EventMessage, Channel: ChannelSMS, Timestamp: JSONTime(now), ConversationState: json.RawMessage("null"),
		RecentHistory: []HistoryItem{}}
	if in.Event.HasValue() {
		env.Event = in.Event.Value
	}
	if in.Channel.HasValue() {
		env.Channel = in.Channel.Value
	}
	var messageID *string
	if in.Data.HasValue() {
		env.Data = in.Data.Value
	} else {
		data := SampleMessageData(agent, now)
		env.Data, messageID = data, &data.MessageID
	}
	if agent != nil {
		env.AgentID = &agent.ID
	}
	return s.emit(ctx, sc.AccountID, env.AgentID, env, messageID)
}

// LogVoiceTurn records a voice turn (a synchronous agent.message on the
// voice channel, spec §16) in the delivery log with its outcome a, at at:
// voice turns are never queued or retried (a late answer cannot help the
// live call), but the log shows them like any delivery. id is the
// X-Webhook-ID it was sent with.
func (s *WebhookService) LogVoiceTurn(ctx context.Context, w *Webhook, id string, payload []byte, a Attempt, at time.Time) error {
	channel := ChannelVoice
	d := &Delivery{
		ID: id, AccountID: w.AccountID, AgentID: w.AgentID, WebhookID: &w.ID, EventType: EventMessage,
		Channel: &channel, Payload: payload, Status: DeliveryPending, CreatedAt: at,
	}
	d.Record(a, at, nil) // final: success or failed
	return s.Store.CreateDelivery(ctx, d)
}
