package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/agentphone/agentphone/storetest"
	"github.com/agentphone/agentphone/webhook"
)

// startOutbox delivers e's queued deliveries in the background until the
// test ends.
func (e *env) startOutbox(t *testing.T) {
	t.Helper()
	o, err := webhook.NewOutbox(webhook.OutboxConfig{
		Store: e.store, Poster: newPoster(t), Schedule: webhook.Schedule{50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.store.NotifyDeliveries(o.Notify)
	if err := o.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := o.Stop(ctx); err != nil {
			t.Errorf("stop outbox: %v", err)
		}
	})
}

func TestSandboxEmit(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.startOutbox(t)
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)

		// Neither webhook: recorded as undeliverable.
		d := e.do("POST", "/sandbox/v1/webhooks/emit", nil).want(200).obj()
		wantObject(t, d, map[string]any{
			"id": idRE("dlv_"), "messageId": testMsgRE, "eventType": "agent.message", "channel": "sms",
			"status": "failed", "httpStatus": nil, "errorMessage": "No webhook configured for this agent or account",
			"responseBody": nil, "attemptCount": 0, "lastAttemptAt": nil, "nextRetryAt": nil, "createdAt": timeRE,
			"agentId": nil, "webhookId": nil, "test": false,
		})

		rc := newReceiver(t, http.StatusOK, "ok")
		hook := e.do("POST", "/v1/agents/"+agent+"/webhook", map[string]any{"url": rc.URL}).want(200).obj()
		d = e.do("POST", "/sandbox/v1/webhooks/emit", map[string]any{"agentId": agent}).want(200).obj()
		wantObject(t, d, map[string]any{
			"id": idRE("dlv_"), "messageId": testMsgRE, "eventType": "agent.message", "channel": "sms",
			"status": "pending", "httpStatus": nil, "errorMessage": nil,
			"responseBody": nil, "attemptCount": 0, "lastAttemptAt": nil, "nextRetryAt": timeRE, "createdAt": timeRE,
			"agentId": agent, "webhookId": hook["id"], "test": false,
		})
		wantTestEnvelope(t, rc.next().envelope(t, hook["secret"].(string), d["id"].(string)), agent)

		// Own event and data.
		d = e.do("POST", "/sandbox/v1/webhooks/emit", map[string]any{
			"agentId": agent, "event": "agent.call_ended", "channel": "voice", "data": map[string]any{"callId": "call_1"},
		}).want(200).obj()
		r := rc.next()
		if r.Header.Get("X-Webhook-Event") != "agent.call_ended" || r.Header.Get("X-Webhook-ID") != d["id"] {
			t.Fatalf("headers %v", r.Header)
		}

		e.do("POST", "/sandbox/v1/webhooks/emit", map[string]any{"agentId": "agt_nope"}).wantDetail(404, "Agent not found")
		e.do("POST", "/sandbox/v1/webhooks/emit", map[string]any{"event": "agent.nope", "channel": "fax", "data": []int{1}}).
			wantErrs(fe("literal_error", "event"), fe("literal_error", "channel"), fe("dict_type", "data"))
		e.do("POST", "/sandbox/v1/webhooks/emit", nil, noKey()).want(401)
		rc.none()
	})
}
