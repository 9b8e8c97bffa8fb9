package agentphone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Webhook is where an account's (AgentID nil) or an agent's events are sent.
type Webhook struct {
	ID           string
	AccountID    string
	AgentID      *string
	URL          string
	Secret       string
	Status       string
	ContextLimit int // recent messages put in recentHistory, 0–50
	Timeout      int // seconds a voice webhook may take to start answering, 5–120
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Webhook defaults and limits (spec §9.3).
const (
	WebhookActive              = "active"
	DefaultWebhookContextLimit = 10
	DefaultWebhookTimeout      = 30
	MaxWebhookURLLength        = 2083
)

// WebhookInput is the body of webhook create-or-update.
type WebhookInput struct {
	URL          Opt[string] `json:"url"`
	ContextLimit Opt[int]    `json:"contextLimit"`
	Timeout      Opt[int]    `json:"timeout"`
}

// Validate reports every invalid field of in.
func (in *WebhookInput) Validate() error {
	var fe fieldErrors
	switch {
	case !in.URL.Set:
		fe.missing("url")
	case in.URL.Null:
		fe.add("Input should be a valid string", "string_type", "url")
	default:
		u := in.URL.Value
		fe.strLen(u, 1, MaxWebhookURLLength, "url")
		if p, err := url.Parse(u); u != "" && (err != nil || p.Host == "") {
			fe.add("Input should be a valid URL, relative URL without a base", "url_parsing", "url")
		} else if u != "" && p.Scheme != "http" && p.Scheme != "https" {
			fe.add("URL scheme should be 'http' or 'https'", "url_scheme", "url")
		}
	}
	if in.ContextLimit.HasValue() {
		fe.intRange(in.ContextLimit.Value, 0, 50, "contextLimit")
	}
	if in.Timeout.HasValue() {
		fe.intRange(in.Timeout.Value, 5, 120, "timeout")
	}
	return fe.err()
}

// NewWebhookSecret returns a fresh signing secret.
func NewWebhookSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // see randomBase62
	}
	return "whsec_" + hex.EncodeToString(b)
}

// WebhookService configures project and agent webhooks, reads their
// delivery log and sends test deliveries.
type WebhookService struct {
	Store  Store
	Poster Poster // sends test deliveries
}

// Get returns the webhook of the account (agentID nil) or of an agent, or
// (nil, nil) when none is configured. Returns not-found for an unknown agent.
func (s *WebhookService) Get(ctx context.Context, sc Scope, agentID *string) (*Webhook, error) {
	if err := s.checkAgent(ctx, sc, agentID); err != nil {
		return nil, err
	}
	w, err := s.Store.GetWebhook(ctx, sc.AccountID, agentID)
	if ErrorKind(err) == KindNotFound {
		return nil, nil
	}
	return w, err
}

// Upsert creates or updates the webhook with a new secret; the old secret
// stops working at once.
func (s *WebhookService) Upsert(ctx context.Context, sc Scope, agentID *string, in WebhookInput) (*Webhook, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkAgent(ctx, sc, agentID); err != nil {
		return nil, err
	}
	now := Now()
	w := &Webhook{
		ID: NewID(PrefixWebhook), AccountID: sc.AccountID, AgentID: agentID,
		URL: strings.TrimSpace(in.URL.Value), Secret: NewWebhookSecret(), Status: WebhookActive,
		ContextLimit: DefaultWebhookContextLimit, Timeout: DefaultWebhookTimeout,
		CreatedAt: now, UpdatedAt: now,
	}
	if in.ContextLimit.HasValue() {
		w.ContextLimit = in.ContextLimit.Value
	}
	if in.Timeout.HasValue() {
		w.Timeout = in.Timeout.Value
	}
	return s.Store.UpsertWebhook(ctx, w)
}

// Delete removes the webhook. Returns not-found when none is configured.
func (s *WebhookService) Delete(ctx context.Context, sc Scope, agentID *string) error {
	if err := s.checkAgent(ctx, sc, agentID); err != nil {
		return err
	}
	return s.Store.DeleteWebhook(ctx, sc.AccountID, agentID)
}

func (s *WebhookService) checkAgent(ctx context.Context, sc Scope, agentID *string) error {
	if agentID == nil {
		return nil
	}
	_, err := s.Store.GetAgent(ctx, sc.AccountID, *agentID)
	return err
}

// Deliveries lists the account's deliveries, newest first.
func (s *WebhookService) Deliveries(ctx context.Context, sc Scope, f DeliveryFilter, p Page) (List[*Delivery], error) {
	if err := s.checkAgent(ctx, sc, f.AgentID); err != nil {
		return List[*Delivery]{}, err
	}
	return s.Store.ListDeliveries(ctx, sc.AccountID, f, p)
}

// Stats summarises the account's deliveries created at or after since (all
// of them when since is nil).
func (s *WebhookService) Stats(ctx context.Context, sc Scope, since *time.Time) (DeliveryStats, error) {
	counts, err := s.Store.CountDeliveries(ctx, sc.AccountID, since)
	if err != nil {
		return DeliveryStats{}, err
	}
	return Stats(counts), nil
}

// Test sends a sample agent.message (SMS) to the project webhook (agentID
// nil) or to an agent's webhook, once and synchronously, records it in the
// delivery log and returns it with the attempt's outcome. The sample names
// payloadAgentID, else the agent whose webhook it is, else the account's
// first agent. Not-found when no such webhook is configured.
func (s *WebhookService) Test(ctx context.Context, sc Scope, agentID, payloadAgentID *string) (*Delivery, Attempt, error) {
	w, err := s.Get(ctx, sc, agentID)
	if err != nil {
		return nil, Attempt{}, err
	}
	if w == nil {
		return nil, Attempt{}, Errorf(KindNotFound, "Webhook not found")
	}
	var agent *Agent
	switch {
	case payloadAgentID != nil:
		if agent, err = s.Store.GetAgent(ctx, sc.AccountID, *payloadAgentID); err != nil {
			return nil, Attempt{}, err
		}
	case agentID != nil:
		if agent, err = s.Store.GetAgent(ctx, sc.AccountID, *agentID); err != nil {
			return nil, Attempt{}, err
		}
	default:
		if agent, err = s.firstAgent(ctx, sc); err != nil {
			return nil, Attempt{}, err
		}
	}
	now := Now()
	data := SampleMessageData(agent, now)
	env := Envelope{
		Event: EventMessage, Channel: ChannelSMS, Timestamp: JSONTime(now), Data: data,
		ConversationState: json.RawMessage("null"), RecentHistory: []HistoryItem{},
	}
	if agent != nil {
		env.AgentID = &agent.ID
	}
	payload, err := json.Marshal(env)
	if err != nil {
		return nil, Attempt{}, fmt.Errorf("test delivery: %w", err)
	}
	channel := ChannelSMS
	d := &Delivery{
		ID: NewID(PrefixDelivery), AccountID: sc.AccountID, AgentID: env.AgentID, WebhookID: &w.ID,
		EventType: EventMessage, Channel: &channel, MessageID: &data.MessageID, Payload: payload,
		Status: DeliveryPending, Test: true, CreatedAt: now,
	}
	if err := s.Store.CreateDelivery(ctx, d); err != nil {
		return nil, Attempt{}, err
	}
	a := s.Poster.Post(ctx, w, d)
	d.Record(a, Now(), nil) // test deliveries are never retried
	// Record the outcome even when the caller has gone away meanwhile.
	if err := s.Store.UpdateDeliveryAttempt(context.WithoutCancel(ctx), d); err != nil {
		return nil, Attempt{}, err
	}
	return d, a, nil
}

// SampleMessageData returns the data of a sample inbound SMS, received at
// now on agent's first number when it has one (agent may be nil), as test
// deliveries send it.
func SampleMessageData(agent *Agent, now time.Time) *MessageData {
	data := &MessageData{
		MessageID: "msg_test_" + randomBase62(8), From: "+15555550100", To: "+15555550199",
		Message: "This is a test delivery from agentphone.", MediaURLs: []string{},
		Direction: "inbound", ReceivedAt: JSONTime(now), Contact: json.RawMessage("null"),
	}
	if agent != nil && len(agent.Numbers) > 0 {
		data.NumberID, data.To = &agent.Numbers[0].ID, agent.Numbers[0].PhoneNumber
	}
	return data
}

// firstAgent returns the account's oldest agent, or nil when it has none.
func (s *WebhookService) firstAgent(ctx context.Context, sc Scope) (*Agent, error) {
	l, err := s.Store.ListAgents(ctx, sc.AccountID, Page{Limit: 1})
	if err != nil || l.Total <= 1 {
		if len(l.Items) == 0 {
			return nil, err
		}
		return l.Items[0], err
	}
	l, err = s.Store.ListAgents(ctx, sc.AccountID, Page{Limit: 1, Offset: l.Total - 1})
	if err != nil || len(l.Items) == 0 {
		return nil, err
	}
	return l.Items[0], nil
}
