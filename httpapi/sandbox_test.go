package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
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

// fakeSayer stands in for the conversation engine: it records what it is
// given and answers what the test tells it.
type fakeSayer struct {
	mu   sync.Mutex
	said []said // guarded by mu
	err  error  // guarded by mu; returned by Say
}

// said is one Say.
type said struct{ callID, text string }

func (f *fakeSayer) Say(ctx context.Context, callID, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.said = append(f.said, said{callID, text})
	return f.err
}

func (f *fakeSayer) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeSayer) calls() []said {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.said)
}

// TestSandboxSay: text for a live call of the account goes to the
// conversation engine (202); bad text is a 422, another account's or
// sub-account's call a 404, an ended call or one the engine does not
// carry a 409, all without reaching the engine when the server can tell;
// without an engine the route is a 501.
func TestSandboxSay(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		sayer := &fakeSayer{}
		e := newEnv(t, b, func(o *envOptions) { o.sayer = sayer })
		n := e.createNumber(map[string]any{"agentId": e.createAgent(map[string]any{"name": "Bot"})["id"]})
		c := e.inbound(n["phoneNumber"].(string), "+12125550001")
		must(t, e.calls.Answered(t.Context(), c.ID))
		path := "/sandbox/v1/calls/" + c.ID + "/say"

		got := e.do("POST", path, map[string]any{"text": "  Where is my order?\n"}).want(202).obj()
		wantObject(t, got, map[string]any{"callId": c.ID, "text": "Where is my order?"})
		checkSchema(t, e.schemas(), "SayResponse", got)
		if s := sayer.calls(); !slices.Equal(s, []said{{c.ID, "Where is my order?"}}) {
			t.Fatalf("said %v", s)
		}

		// Bad text.
		e.do("POST", path, map[string]any{}).wantErrs(fe("missing", "text"))
		e.do("POST", path, map[string]any{"text": nil}).wantErrs(fe("string_type", "text"))
		e.do("POST", path, map[string]any{"text": 5}).wantErrs(fe("string_type", "text"))
		e.do("POST", path, map[string]any{"text": []string{"hi"}}).wantErrs(fe("string_type", "text"))
		e.do("POST", path, map[string]any{"text": " \t"}).wantErrs(fe("string_too_short", "text"))
		e.do("POST", path, map[string]any{"text": ""}).wantErrs(fe("string_too_short", "text"))
		e.do("POST", path, nil).wantErrs(fieldErr{loc: `["body"]`, typ: "missing"})
		e.do("POST", path, raw(`"hi"`)).wantErrs(fieldErr{loc: `["body"]`, typ: "model_attributes_type"})

		// Calls the scope does not hold.
		e.do("POST", "/sandbox/v1/calls/call_nope/say", map[string]any{"text": "hi"}).wantDetail(404, "Call not found")
		_, otherKey := e.newAccount("globex")
		e.do("POST", path, map[string]any{"text": "hi"}, withKey(otherKey)).wantDetail(404, "Call not found")
		e.do("POST", path, map[string]any{"text": "hi"}, withSub(e.createSub("s"))).wantDetail(404, "Call not found")
		e.do("POST", path, map[string]any{"text": "hi"}, noKey()).want(401)
		if s := sayer.calls(); len(s) != 1 {
			t.Fatalf("the engine was asked for refused requests: %v", s)
		}

		// The engine's refusals: not live here, or not now.
		sayer.fail(agentphone.Errorf(agentphone.KindNotFound, "no such live call"))
		e.do("POST", path, map[string]any{"text": "hi"}).wantDetail(409, "Call "+c.ID+" is not live on this server")
		sayer.fail(agentphone.Errorf(agentphone.KindConflict, "The call is not in progress on this server"))
		e.do("POST", path, map[string]any{"text": "hi"}).wantDetail(409, "The call is not in progress on this server")
		sayer.fail(errors.New("engine exploded"))
		e.do("POST", path, map[string]any{"text": "hi"}).wantDetail(500, "Internal server error")
		if !strings.Contains(e.logs.String(), "engine exploded") {
			t.Errorf("the internal error was not logged: %s", e.logs.String())
		}
		sayer.fail(nil)

		// An ended call: 409 without asking the engine.
		e.finish(c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
		before := len(sayer.calls())
		e.do("POST", path, map[string]any{"text": "hi"}).wantDetail(409, "Call "+c.ID+" has already ended (completed)")
		if len(sayer.calls()) != before {
			t.Fatal("the engine was asked about an ended call")
		}

		// A sub-account's own call, with its header.
		sub := e.createSub("t")
		subAgent := e.createAgent(map[string]any{"name": "Sub bot"}, withSub(sub))["id"]
		subNumber := e.createNumber(map[string]any{"agentId": subAgent}, withSub(sub))
		sc := e.inbound(subNumber["phoneNumber"].(string), "+12125550002")
		e.do("POST", "/sandbox/v1/calls/"+sc.ID+"/say", map[string]any{"text": "hello"}, withSub(sub)).want(202)
		e.do("POST", "/sandbox/v1/calls/"+sc.ID+"/say", map[string]any{"text": "hello"}).wantDetail(404, "Call not found")

		// Without a conversation engine.
		e0 := newEnv(t, b)
		n0 := e0.createNumber(map[string]any{"agentId": e0.createAgent(map[string]any{"name": "Bot"})["id"]})
		c0 := e0.inbound(n0["phoneNumber"].(string), "+12125550003")
		e0.do("POST", "/sandbox/v1/calls/"+c0.ID+"/say", map[string]any{"text": "hi"}).
			wantDetail(501, "This server runs no conversation engine: live calls cannot be given text to say")
	})
}
