package agentphone_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
)

// The post-call analysis of the CallService, on every backend of
// storetest.Backends.

// fakeAnalyzer answers what its fn returns and records what it was given.
type fakeAnalyzer struct {
	fn func(ctx context.Context, c *agentphone.Call, turns []*agentphone.Turn) (agentphone.CallAnalysis, error)

	mu    sync.Mutex
	calls []analyzed // guarded by mu
	// started receives each call id as its analysis begins, when not nil
	// (buffered by the test).
	started chan string
}

type analyzed struct {
	call  agentphone.Call
	turns []*agentphone.Turn
}

func (f *fakeAnalyzer) Analyze(ctx context.Context, c *agentphone.Call, turns []*agentphone.Turn) (agentphone.CallAnalysis, error) {
	f.mu.Lock()
	f.calls = append(f.calls, analyzed{*c, turns})
	f.mu.Unlock()
	if f.started != nil {
		f.started <- c.ID
	}
	if f.fn == nil {
		return goodAnalysis(), nil
	}
	return f.fn(ctx, c, turns)
}

func (f *fakeAnalyzer) analyzed() []analyzed {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]analyzed(nil), f.calls...)
}

func goodAnalysis() agentphone.CallAnalysis {
	s, sent, ok := "The caller asked where their order is.", agentphone.SentimentNegative, true
	return agentphone.CallAnalysis{Summary: &s, UserSentiment: &sent, CallSuccessful: &ok}
}

// analysisFixture is a CallService over a fresh store of one backend, with
// an account, an agent and its number, and a project webhook (so that
// agent.call_ended deliveries are queued).
type analysisFixture struct {
	svc   *agentphone.CallService
	store agentphone.Store
	acct  *agentphone.Account
	sc    agentphone.Scope
	phone string
}

func newAnalysisFixture(t *testing.T, b storetest.Backend, analyzer agentphone.CallAnalyzer) *analysisFixture {
	t.Helper()
	ctx := t.Context()
	store := b.Open(t)
	f := &analysisFixture{store: store, phone: "+15555550100"}
	f.acct = &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
	must(t, store.CreateAccount(ctx, f.acct))
	f.sc = agentphone.Scope{KeyAccountID: f.acct.ID, AccountID: f.acct.ID}
	agent, err := (&agentphone.AgentService{Store: store, Voices: testCatalog{}}).Create(ctx, f.sc, agentphone.AgentInput{Name: agentphone.Some("Bot")})
	must(t, err)
	n := &agentphone.Number{
		ID: agentphone.NewID(agentphone.PrefixNumber), AccountID: f.acct.ID, PhoneNumber: f.phone, Country: "US",
		Type: agentphone.NumberTypeSMS, AgentID: &agent.ID, Provider: "sandbox", ProviderRef: "r",
		Capabilities: agentphone.Capabilities{SMS: true, Voice: true}, CreatedAt: agentphone.Now(),
	}
	must(t, store.CreateNumber(ctx, n, 0))
	webhooks := &agentphone.WebhookService{Store: store}
	_, err = webhooks.Upsert(ctx, f.sc, nil, agentphone.WebhookInput{URL: agentphone.Some("https://example.com/hook")})
	must(t, err)
	f.svc = &agentphone.CallService{Store: store, Webhooks: webhooks, Analyzer: analyzer}
	t.Cleanup(func() {
		// No analysis outlives the test's store.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.svc.WaitAnalyses(ctx); err != nil {
			t.Errorf("analyses still running at the end: %v", err)
		}
	})
	return f
}

// call routes an inbound call, answers it and stores turns, alternately
// the caller's and the agent's, starting with the caller's.
func (f *analysisFixture) call(t *testing.T, texts ...string) *agentphone.Call {
	t.Helper()
	ctx := t.Context()
	c, _, _, err := f.svc.RouteInbound(ctx, f.phone, "+15551234567", "sip")
	must(t, err)
	must(t, f.svc.Answered(ctx, c.ID))
	for i, text := range texts {
		role := agentphone.RoleUser
		if i%2 == 1 {
			role = agentphone.RoleAgent
		}
		must(t, f.svc.AddTurn(ctx, &agentphone.Turn{CallID: c.ID, Role: role, Text: text}))
	}
	return c
}

// callEnded is the data of an agent.call_ended event.
type callEnded struct {
	CallID         string
	Status         string
	Transcript     []agentphone.TranscriptLine
	Summary        *string
	UserSentiment  *string
	CallSuccessful *bool
}

// events returns the data of the account's agent.call_ended events, by
// call id.
func (f *analysisFixture) events(t *testing.T) map[string]callEnded {
	t.Helper()
	ctx := t.Context()
	l, err := f.store.ListDeliveries(ctx, f.acct.ID, agentphone.DeliveryFilter{}, agentphone.Page{Limit: 100})
	must(t, err)
	out := map[string]callEnded{}
	for _, it := range l.Items {
		d, err := f.store.GetDelivery(ctx, f.acct.ID, it.ID)
		must(t, err)
		if d.EventType != agentphone.EventCallEnded {
			continue
		}
		var env struct{ Data callEnded }
		must(t, json.Unmarshal(d.Payload, &env))
		if _, dup := out[env.Data.CallID]; dup {
			t.Fatalf("two agent.call_ended events for call %s", env.Data.CallID)
		}
		out[env.Data.CallID] = env.Data
	}
	return out
}

func (f *analysisFixture) wait(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	must(t, f.svc.WaitAnalyses(ctx))
}

// eachBackend runs fn as a parallel subtest per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	t.Helper()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// TestCallAnalysis_AfterTheEnd: the end is recorded and reported at once
// while the analysis runs; agent.call_ended waits for it and carries it;
// the call shows it once stored. The analyzer sees the ended call and its
// transcript.
func TestCallAnalysis_AfterTheEnd(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		release := make(chan struct{})
		an := &fakeAnalyzer{started: make(chan string, 1), fn: func(ctx context.Context, _ *agentphone.Call, _ []*agentphone.Turn) (agentphone.CallAnalysis, error) {
			select {
			case <-release:
				return goodAnalysis(), nil
			case <-ctx.Done():
				return agentphone.CallAnalysis{}, ctx.Err()
			}
		}}
		f := newAnalysisFixture(t, b, an)
		c := f.call(t, "Where is my order?", "It shipped yesterday.")
		sub, err := f.svc.Subscribe(ctx, f.sc, c.ID)
		must(t, err)
		defer sub.Close()

		ended, err := f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
		must(t, err)
		if !ended.Ended() || ended.Status != agentphone.CallCompleted || !ended.AnalysisPending || ended.Analysis != nil {
			t.Fatalf("finish returned %+v", ended)
		}
		// The analysis is under way and held: the end is known all the same.
		if id := <-an.started; id != c.ID {
			t.Fatalf("analysis of %s", id)
		}
		select {
		case <-sub.Ready():
		default:
			t.Fatal("the subscription did not hear of the end before the analysis")
		}
		if u := sub.Updates(); len(u) != 1 || u[0].Ended == nil || u[0].Ended.Status != agentphone.CallCompleted {
			t.Fatalf("updates %+v", u)
		}
		waited, err := f.svc.Wait(ctx, f.sc, c.ID, time.Minute)
		must(t, err)
		if !waited.Ended() {
			t.Fatal("Wait did not return the ended call")
		}
		got, err := f.svc.Get(ctx, f.sc, c.ID)
		must(t, err)
		if !got.Ended() || !got.AnalysisPending || got.Analysis != nil {
			t.Fatalf("during the analysis: %+v", got)
		}
		if ev := f.events(t); len(ev) != 0 {
			t.Fatalf("agent.call_ended before the analysis: %+v", ev)
		}

		close(release)
		f.wait(t)
		got, err = f.svc.Get(ctx, f.sc, c.ID)
		must(t, err)
		want := goodAnalysis()
		if got.AnalysisPending || got.Analysis == nil || str(got.Analysis.Summary) != *want.Summary ||
			str(got.Analysis.UserSentiment) != agentphone.SentimentNegative || got.Analysis.CallSuccessful == nil || !*got.Analysis.CallSuccessful {
			t.Fatalf("after the analysis: %+v %+v", got, got.Analysis)
		}
		ev, ok := f.events(t)[c.ID]
		if !ok || str(ev.Summary) != *want.Summary || str(ev.UserSentiment) != agentphone.SentimentNegative ||
			ev.CallSuccessful == nil || !*ev.CallSuccessful || ev.Status != agentphone.CallCompleted || len(ev.Transcript) != 2 {
			t.Fatalf("agent.call_ended %+v", ev)
		}
		as := an.analyzed()
		if len(as) != 1 || as[0].call.ID != c.ID || !as[0].call.Ended() || len(as[0].turns) != 2 ||
			as[0].turns[0].Text != "Where is my order?" || as[0].turns[1].Role != agentphone.RoleAgent {
			t.Fatalf("analyzer given %+v", as)
		}
		// Finishing again: no second analysis, no second event.
		_, err = f.svc.Finish(ctx, c.ID, agentphone.CallFailed, agentphone.EndError, nil)
		must(t, err)
		f.wait(t)
		if n := len(an.analyzed()); n != 1 {
			t.Fatalf("%d analyses after a second finish", n)
		}
		f.events(t) // fails on a second event
	})
}

// TestCallAnalysis_Failures: an analyzer that fails, times out (heeding
// its context or not), panics or produces nothing does not lose the
// event: agent.call_ended goes out with nulls and the call is settled.
func TestCallAnalysis_Failures(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name string
		fn   func(ctx context.Context, _ *agentphone.Call, _ []*agentphone.Turn) (agentphone.CallAnalysis, error)
	}{
		{"error", func(context.Context, *agentphone.Call, []*agentphone.Turn) (agentphone.CallAnalysis, error) {
			return goodAnalysis(), errors.New("provider down")
		}},
		{"timeout", func(ctx context.Context, _ *agentphone.Call, _ []*agentphone.Turn) (agentphone.CallAnalysis, error) {
			<-ctx.Done()
			return agentphone.CallAnalysis{}, ctx.Err()
		}},
		{"ignores its context", func(context.Context, *agentphone.Call, []*agentphone.Turn) (agentphone.CallAnalysis, error) {
			<-hang
			return goodAnalysis(), nil
		}},
		{"panic", func(context.Context, *agentphone.Call, []*agentphone.Turn) (agentphone.CallAnalysis, error) {
			panic("boom")
		}},
		{"empty", func(context.Context, *agentphone.Call, []*agentphone.Turn) (agentphone.CallAnalysis, error) {
			return agentphone.CallAnalysis{}, nil
		}},
	}
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				f := newAnalysisFixture(t, b, &fakeAnalyzer{fn: tt.fn})
				f.svc.AnalysisTimeout = 100 * time.Millisecond
				c := f.call(t, "Hello?")
				_, err := f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
				must(t, err)
				f.wait(t)
				got, err := f.svc.Get(ctx, f.sc, c.ID)
				must(t, err)
				if got.AnalysisPending || got.Analysis != nil {
					t.Fatalf("call %+v, analysis %+v", got, got.Analysis)
				}
				ev, ok := f.events(t)[c.ID]
				if !ok || ev.Summary != nil || ev.UserSentiment != nil || ev.CallSuccessful != nil || len(ev.Transcript) != 1 {
					t.Fatalf("agent.call_ended %v %+v", ok, ev)
				}
			})
		}
	})
}

// TestCallAnalysis_NotAnalysed: without an Analyzer, or for a call where
// the caller said nothing, agent.call_ended goes out with the end, with
// nulls, and the analyzer is not asked.
func TestCallAnalysis_NotAnalysed(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		an := &fakeAnalyzer{}
		f := newAnalysisFixture(t, b, an)
		silent := f.call(t, " ", "Hello, anyone there?") // the caller's turn is blank
		empty := f.call(t)
		for _, c := range []*agentphone.Call{silent, empty} {
			ended, err := f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndSilence, nil)
			must(t, err)
			if ended.AnalysisPending {
				t.Fatalf("call %s pending", c.ID)
			}
		}
		// Right after the end, without waiting for analyses.
		ev := f.events(t)
		for _, c := range []*agentphone.Call{silent, empty} {
			if e, ok := ev[c.ID]; !ok || e.Summary != nil || e.UserSentiment != nil || e.CallSuccessful != nil {
				t.Fatalf("call %s: agent.call_ended %v %+v", c.ID, ok, e)
			}
		}
		f.wait(t)
		if n := len(an.analyzed()); n != 0 {
			t.Fatalf("%d analyses of calls where the caller said nothing", n)
		}

		// No Analyzer: today's behaviour.
		f.svc.Analyzer = nil
		c := f.call(t, "Where is my order?")
		ended, err := f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
		must(t, err)
		if ended.AnalysisPending || ended.Analysis != nil {
			t.Fatalf("without an analyzer: %+v", ended)
		}
		if e, ok := f.events(t)[c.ID]; !ok || e.Summary != nil {
			t.Fatalf("without an analyzer: agent.call_ended %v %+v", ok, e)
		}
	})
}

// TestCallAnalysis_NoWebhooks: a CallService without Webhooks still stores
// the analysis; no event is written.
func TestCallAnalysis_NoWebhooks(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		f := newAnalysisFixture(t, b, &fakeAnalyzer{})
		f.svc.Webhooks = nil
		c := f.call(t, "Hi")
		_, err := f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
		must(t, err)
		f.wait(t)
		got, err := f.svc.Get(ctx, f.sc, c.ID)
		must(t, err)
		if got.AnalysisPending || got.Analysis == nil || str(got.Analysis.Summary) != *goodAnalysis().Summary {
			t.Fatalf("call %+v, analysis %+v", got, got.Analysis)
		}
		if ev := f.events(t); len(ev) != 0 {
			t.Fatalf("events without webhooks: %+v", ev)
		}
	})
}

// TestCallAnalysis_WaitAnalyses: WaitAnalyses returns ctx's error while an
// analysis runs, and nil once it is done.
func TestCallAnalysis_WaitAnalyses(t *testing.T) {
	t.Parallel()
	b := storetest.Backend{Name: "sqlite", Open: storetest.OpenSQLite}
	release := make(chan struct{})
	an := &fakeAnalyzer{started: make(chan string, 1), fn: func(context.Context, *agentphone.Call, []*agentphone.Turn) (agentphone.CallAnalysis, error) {
		<-release
		return goodAnalysis(), nil
	}}
	f := newAnalysisFixture(t, b, an)
	ctx := t.Context()
	must(t, f.svc.WaitAnalyses(ctx)) // none under way
	c := f.call(t, "Hi")
	_, err := f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
	must(t, err)
	<-an.started
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.svc.WaitAnalyses(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with an analysis under way: %v", err)
	}
	close(release)
	f.wait(t)
	if got, _ := f.svc.Get(ctx, f.sc, c.ID); got.AnalysisPending {
		t.Fatal("still pending after WaitAnalyses")
	}
}

// TestCallAnalysis_Recover: the calls a previous run left pending are
// settled at start: without an Analyzer at once with nulls; with one,
// analysed in the background, each once however often recovery runs.
// Calls left under way are ended and analysed too.
func TestCallAnalysis_Recover(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		f := newAnalysisFixture(t, b, nil)
		// A previous run ended these calls, pending, and died before
		// analysing them.
		leave := func(texts ...string) *agentphone.Call {
			c := f.call(t, texts...)
			at := agentphone.Now()
			_, finished, err := f.store.FinishCall(ctx, c.ID, func(c *agentphone.Call, _ []*agentphone.Turn, _ *agentphone.Conversation) (*agentphone.Delivery, error) {
				c.Status, c.EndedAt, c.DurationSeconds, c.AnalysisPending = agentphone.CallCompleted, &at, new(int), true
				return nil, nil
			})
			if err != nil || !finished {
				t.Fatalf("leave pending: %v %v", finished, err)
			}
			return c
		}

		// Without an Analyzer: settled at once with nulls.
		p1 := leave("Hi", "Hello")
		n, err := f.svc.RecoverUnfinished(ctx)
		must(t, err)
		if n != 0 {
			t.Fatalf("%d calls ended; none was under way", n)
		}
		if e, ok := f.events(t)[p1.ID]; !ok || e.Summary != nil || len(e.Transcript) != 2 {
			t.Fatalf("recovered without analyzer: agent.call_ended %v %+v", ok, e)
		}
		if got, _ := f.svc.Get(ctx, f.sc, p1.ID); got.AnalysisPending {
			t.Fatal("still pending after recovery")
		}

		// With one: analysed, once, though recovery runs twice while it is
		// under way; a call left under way is ended and analysed.
		release := make(chan struct{})
		an := &fakeAnalyzer{started: make(chan string, 2), fn: func(context.Context, *agentphone.Call, []*agentphone.Turn) (agentphone.CallAnalysis, error) {
			<-release
			return goodAnalysis(), nil
		}}
		f.svc.Analyzer = an
		p2 := leave("Where is my order?")
		live := f.call(t, "Are you there?")
		n, err = f.svc.RecoverUnfinished(ctx)
		must(t, err)
		if n != 1 {
			t.Fatalf("%d calls ended, want 1", n)
		}
		started := map[string]bool{<-an.started: true, <-an.started: true}
		if !started[p2.ID] || !started[live.ID] {
			t.Fatalf("analyses started: %v", started)
		}
		if _, err := f.svc.RecoverUnfinished(ctx); err != nil {
			t.Fatal(err)
		}
		close(release)
		f.wait(t)
		if n := len(an.analyzed()); n != 2 {
			t.Fatalf("%d analyses, want 2", n)
		}
		ev := f.events(t)
		for _, c := range []*agentphone.Call{p2, live} {
			if e, ok := ev[c.ID]; !ok || str(e.Summary) != *goodAnalysis().Summary {
				t.Fatalf("call %s: agent.call_ended %v %+v", c.ID, ok, e)
			}
		}
		if ev[live.ID].Status != agentphone.CallFailed {
			t.Fatalf("call left under way: %+v", ev[live.ID])
		}
		if l, err := f.store.ListAnalysisPendingCalls(ctx); err != nil || len(l) != 0 {
			t.Fatalf("pending after recovery: %d, %v", len(l), err)
		}
	})
}
