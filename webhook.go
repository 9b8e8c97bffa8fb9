package agentphone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// WebhookService configures project and agent webhooks.
type WebhookService struct {
	Store Store
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
