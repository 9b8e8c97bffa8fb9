package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/webhook"
)

// WebhookResponder answers caller turns through the developer's webhook
// (voiceMode webhook, spec §16): each turn is a signed agent.message on
// the voice channel, posted to the agent's webhook (else the project's)
// on one HTTP request, and the reply — one JSON object, or NDJSON lines
// spoken as they arrive — is read as it streams. The webhook's timeout
// bounds the wait for the first reply line, MaxStream the whole reply
// (spec §20.19). Each turn is logged in the delivery log with its outcome,
// never retried (§20.18).
type WebhookResponder struct {
	Webhooks WebhookTargets
	Calls    ConversationStates
	Sender   *webhook.Sender
	Log      *slog.Logger // nil: discard
	// Now tells the time of the event; nil = time.Now.
	Now func() time.Time
}

// MaxStream bounds a whole streamed reply (spec §20.19).
const MaxStream = 120 * time.Second

// WebhookTargets finds where an agent's events go and logs voice turns
// (agentphone.WebhookService).
type WebhookTargets interface {
	Target(ctx context.Context, accountID string, agentID *string) (*agentphone.Webhook, error)
	LogVoiceTurn(ctx context.Context, w *agentphone.Webhook, id string, payload []byte, a agentphone.Attempt, at time.Time) error
}

// ConversationStates gives what a call's voice turns carry of its
// conversation: the conversationState and the last limit texts
// (agentphone.CallService).
type ConversationStates interface {
	ConversationContext(ctx context.Context, c *agentphone.Call, limit int) (json.RawMessage, []*agentphone.Message, error)
}

var _ Responder = (*WebhookResponder)(nil)

// Respond implements Responder.
func (w *WebhookResponder) Respond(ctx context.Context, t TurnRequest) (ReplyStream, error) {
	hook, err := w.Webhooks.Target(ctx, t.Call.AccountID, &t.Agent.ID)
	if err != nil {
		return nil, fmt.Errorf("finding the agent's webhook: %w", err)
	}
	if hook == nil {
		return nil, fmt.Errorf("no webhook is configured for agent %s or its account: the caller's turn has nowhere to go (POST /v1/webhooks or /v1/agents/%s/webhook)", t.Agent.ID, t.Agent.ID)
	}
	var state json.RawMessage
	var texts []*agentphone.Message
	if w.Calls != nil {
		if state, texts, err = w.Calls.ConversationContext(ctx, t.Call, hook.ContextLimit); err != nil {
			w.log().Warn("reading the call's conversation failed", "call_id", t.Call.ID, "err", err)
		}
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	at := now()
	env := agentphone.VoiceTurnEnvelope(t.Call, t.Transcript, t.Confidence, t.DTMF, t.History, texts, hook.ContextLimit, state, at)
	body, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("voice turn: %w", err)
	}
	id := agentphone.NewID(agentphone.PrefixDelivery)
	timeout := time.Duration(hook.Timeout) * time.Second
	sctx, cancel := context.WithTimeout(ctx, MaxStream)
	rs, err := w.Sender.Turn(sctx, webhook.Request{URL: hook.URL, Secret: hook.Secret, ID: id, Event: env.Event, Body: body}, timeout)
	a := agentphone.Attempt{Err: err}
	if rs != nil {
		a.Status, a.Duration = rs.Status, rs.FirstByte.Sub(rs.Start)
	}
	var te *webhook.TurnError
	if errors.As(err, &te) {
		a.Status, a.Body = te.Status, te.Body
		if te.Status != 0 {
			a.Err = nil // the status tells
		}
	}
	go func() { // the delivery log must not hold up the caller's answer
		if lerr := w.Webhooks.LogVoiceTurn(context.WithoutCancel(ctx), hook, id, body, a, at); lerr != nil {
			w.log().Error("logging a voice turn's delivery failed", "call_id", t.Call.ID, "err", lerr)
		}
	}()
	if err != nil {
		cancel()
		return nil, err
	}
	r := &webhookReplies{rs: rs, cancel: cancel}
	if timeout > 0 { // the first line must come within the webhook's timeout
		r.firstLine = time.AfterFunc(max(timeout-time.Since(rs.Start), 0), func() {
			r.mu.Lock()
			r.timedOut = true
			r.mu.Unlock()
			_ = rs.Close()
		})
		r.timeout = timeout
	}
	return r, nil
}

func (w *WebhookResponder) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}

// webhookReplies reads a webhook's reply stream as Replies.
type webhookReplies struct {
	rs        *webhook.ReplyStream
	cancel    context.CancelFunc
	invalid   int         // problems of rs.Invalid already passed on
	firstLine *time.Timer // closes the stream when no line came in time
	timeout   time.Duration

	mu       sync.Mutex
	timedOut bool
}

func (r *webhookReplies) Next() (Reply, error) {
	wr, err := r.rs.Next()
	if r.firstLine != nil {
		r.firstLine.Stop()
	}
	r.mu.Lock()
	timedOut := r.timedOut
	r.mu.Unlock()
	if err != nil && timedOut {
		err = fmt.Errorf("webhook: no reply line within %s", r.timeout)
	}
	out := Reply{Text: wr.Text, Interim: wr.Interim, Hangup: wr.Hangup, Transfer: wr.Transfer, Digits: wr.Digits,
		FirstByte: r.rs.FirstByte}
	if n := len(r.rs.Invalid); n > r.invalid {
		out.Problems = append(out.Problems, r.rs.Invalid[r.invalid:n]...)
		r.invalid = n
	}
	if err != nil && len(out.Problems) > 0 {
		// Problems found at the end still reach the call's log; the error
		// comes with the next call (the stream's end is sticky).
		return Reply{Problems: out.Problems, FirstByte: out.FirstByte, Interim: true}, nil
	}
	return out, err
}

func (r *webhookReplies) Close() error {
	if r.firstLine != nil {
		r.firstLine.Stop()
	}
	err := r.rs.Close()
	r.cancel()
	return err
}
