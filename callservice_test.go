package agentphone_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
)

// callFixture is a CallService on SQLite with an account, an agent and its
// number, and a clock the test moves.
type callFixture struct {
	svc    *agentphone.CallService
	store  agentphone.Store
	acct   *agentphone.Account
	agent  *agentphone.Agent
	number *agentphone.Number
	sc     agentphone.Scope

	mu  sync.Mutex
	now time.Time // guarded by mu
}

func newCallFixture(t *testing.T) *callFixture {
	t.Helper()
	ctx := t.Context()
	store := storetest.OpenSQLite(t)
	f := &callFixture{store: store, now: time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)}
	f.acct = &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
	must(t, store.CreateAccount(ctx, f.acct))
	f.sc = agentphone.Scope{KeyAccountID: f.acct.ID, AccountID: f.acct.ID}
	agents := &agentphone.AgentService{Store: store, Voices: testCatalog{}}
	var err error
	f.agent, err = agents.Create(ctx, f.sc, agentphone.AgentInput{Name: agentphone.Some("Bot")})
	must(t, err)
	f.number = &agentphone.Number{
		ID: agentphone.NewID(agentphone.PrefixNumber), AccountID: f.acct.ID, PhoneNumber: "+15555550100", Country: "US",
		Type: agentphone.NumberTypeSMS, AgentID: &f.agent.ID, Provider: "sandbox", ProviderRef: "r",
		Capabilities: agentphone.Capabilities{SMS: true, Voice: true}, CreatedAt: agentphone.Now(),
	}
	must(t, store.CreateNumber(ctx, f.number, 0))
	webhooks := &agentphone.WebhookService{Store: store}
	f.svc = &agentphone.CallService{Store: store, Webhooks: webhooks, Now: f.clock}
	return f
}

func (f *callFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *callFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

type testCatalog struct{}

func (testCatalog) Voices(context.Context) ([]agentphone.Voice, error) {
	return []agentphone.Voice{{ID: "v1", Name: "One"}, {ID: "v2", Name: "Two"}}, nil
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCallDuration(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		answered *time.Time
		ended    time.Time
		want     int
	}{
		{nil, at.Add(time.Hour), 0},
		{&at, at, 0},
		{&at, at.Add(-time.Second), 0},
		{&at, at.Add(time.Microsecond), 1},
		{&at, at.Add(time.Second), 1},
		{&at, at.Add(61500 * time.Millisecond), 62},
	} {
		if got := agentphone.CallDuration(tt.answered, tt.ended); got != tt.want {
			t.Errorf("CallDuration(%v, %v) = %d, want %d", tt.answered, tt.ended, got, tt.want)
		}
	}
}

// TestCallService_RouteInbound: a call to an active number with an agent
// is stored ringing; the refusals are the sentinels the SIP edge maps.
func TestCallService_RouteInbound(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	c, a, n, err := f.svc.RouteInbound(ctx, "1 (555) 555-0100", " +1 555 123 4567 ", "sip-1")
	must(t, err)
	if a.ID != f.agent.ID || n.ID != f.number.ID || c.Status != agentphone.CallRinging || c.From != "+15551234567" ||
		c.To != f.number.PhoneNumber || c.Direction != agentphone.DirectionInbound || c.Type != agentphone.CallTypePSTN ||
		*c.AgentID != a.ID || *c.NumberID != n.ID || !c.StartedAt.Equal(f.clock()) || c.SIPCallID != "sip-1" {
		t.Fatalf("call %+v", c)
	}
	got, err := f.svc.Get(ctx, f.sc, c.ID)
	must(t, err)
	if got.ID != c.ID {
		t.Fatal("not stored")
	}
	// A caller id that is no phone number is kept as given.
	c2, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "anonymous", "sip-2")
	must(t, err)
	if c2.From != "anonymous" {
		t.Errorf("From = %q", c2.From)
	}

	for _, to := range []string{"+15555550199", "not a number"} {
		_, _, _, err = f.svc.RouteInbound(ctx, to, "+15551234567", "sip-x")
		if agentphone.ErrorKind(err) != agentphone.KindNotFound || errors.Is(err, agentphone.ErrNoAgent) {
			t.Errorf("to %q: %v", to, err)
		}
	}
	// Without an agent: ErrNoAgent.
	must(t, f.store.DetachNumber(ctx, f.acct.ID, f.agent.ID, f.number.ID))
	_, _, _, err = f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-3")
	if !errors.Is(err, agentphone.ErrNoAgent) || agentphone.ErrorKind(err) != agentphone.KindUnavailable ||
		!strings.Contains(err.Error(), "+15555550100 has no agent") {
		t.Fatalf("no agent: %v", err)
	}
	_, err = f.store.AttachNumber(ctx, f.acct.ID, f.agent.ID, f.number.ID)
	must(t, err)
	// At the cap: ErrCallLimit.
	f.svc.MaxConcurrentCalls = 2
	_, _, _, err = f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-4")
	if !errors.Is(err, agentphone.ErrCallLimit) || !errors.Is(err, agentphone.ErrConflict) || errors.Is(err, agentphone.ErrNoAgent) {
		t.Fatalf("limit: %v", err)
	}
	_, err = f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
	must(t, err)
	_, _, _, err = f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-5")
	must(t, err)
}

// TestCallService_Lifecycle: ringing, answer, turns (snippet), events, the
// end with its duration rounded up, finishing twice.
func TestCallService_Lifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	c, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-1")
	must(t, err)
	must(t, f.svc.Ringing(ctx, c.ID)) // inbound calls start ringing: no change
	f.advance(3 * time.Second)
	must(t, f.svc.Answered(ctx, c.ID))
	answered := f.clock()
	f.advance(time.Second)
	tr := &agentphone.Turn{CallID: c.ID, Role: agentphone.RoleAgent, Text: "Hello!"}
	must(t, f.svc.AddTurn(ctx, tr))
	if !strings.HasPrefix(tr.ID, agentphone.PrefixTurn) || !tr.CreatedAt.Equal(f.clock()) || !tr.StartedAt.Equal(tr.CreatedAt) {
		t.Fatalf("turn %+v", tr)
	}
	f.advance(time.Millisecond)
	must(t, f.svc.AddTurn(ctx, &agentphone.Turn{CallID: c.ID, Text: strings.Repeat("é", 150)}))
	err = f.svc.AddTurn(ctx, &agentphone.Turn{CallID: c.ID, Role: "bot", Text: "x"})
	if agentphone.ErrorKind(err) != agentphone.KindBadRequest {
		t.Errorf("bad role: %v", err)
	}
	if err := f.svc.AddTurn(ctx, &agentphone.Turn{CallID: "call_nope", Text: "x"}); agentphone.ErrorKind(err) != agentphone.KindNotFound {
		t.Errorf("unknown call: %v", err)
	}
	turns, err := f.svc.Transcript(ctx, f.sc, c.ID)
	must(t, err)
	if len(turns) != 2 || turns[1].Role != agentphone.RoleUser {
		t.Fatalf("turns %+v", turns)
	}
	got, err := f.svc.Get(ctx, f.sc, c.ID)
	must(t, err)
	if got.Status != agentphone.CallInProgress || !got.AnsweredAt.Equal(answered) ||
		got.LastTranscriptSnippet == nil || len([]rune(*got.LastTranscriptSnippet)) != 100 {
		t.Fatalf("call %+v", got)
	}

	for _, data := range []any{nil, map[string]string{"digit": "5"}, "text", []int{1}} {
		f.advance(time.Millisecond)
		must(t, f.svc.AddEvent(ctx, c.ID, "dtmf", data))
	}
	evs, err := f.svc.Events(ctx, f.sc, c.ID)
	must(t, err)
	var datas []string
	for _, e := range evs {
		datas = append(datas, string(e.Data))
	}
	if strings.Join(datas, " ") != `{} {"digit":"5"} {"value":"text"} {"value":[1]}` {
		t.Errorf("event data %v", datas)
	}
	if err := f.svc.AddEvent(ctx, "call_nope", "x", nil); agentphone.ErrorKind(err) != agentphone.KindNotFound {
		t.Errorf("event of an unknown call: %v", err)
	}

	if _, err := f.svc.Finish(ctx, c.ID, agentphone.CallInProgress, "", nil); agentphone.ErrorKind(err) != agentphone.KindBadRequest {
		t.Errorf("finish in-progress: %v", err)
	}
	f.advance(1500 * time.Millisecond)
	rec := "2025/03/rec.wav"
	done, err := f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndAgentHangup, &rec)
	must(t, err)
	if !done.EndedAt.Equal(f.clock()) || *done.DurationSeconds != 3 || *done.EndReason != agentphone.EndAgentHangup ||
		*done.RecordingPath != rec || done.Status != agentphone.CallCompleted {
		t.Fatalf("finished %+v", done)
	}
	// Again: unchanged, no second event.
	f.advance(time.Hour)
	again, err := f.svc.Finish(ctx, c.ID, agentphone.CallFailed, agentphone.EndError, nil)
	must(t, err)
	if again.Status != agentphone.CallCompleted || !again.EndedAt.Equal(*done.EndedAt) {
		t.Fatalf("finished twice: %+v", again)
	}
	l, err := f.store.ListDeliveries(ctx, f.acct.ID, agentphone.DeliveryFilter{}, agentphone.Page{Limit: 10})
	must(t, err)
	if l.Total != 1 || l.Items[0].EventType != agentphone.EventCallEnded || l.Items[0].Status != agentphone.DeliveryFailed {
		t.Fatalf("deliveries %+v", l.Items)
	}
	// Answered after the end: nothing moves.
	must(t, f.svc.Answered(ctx, c.ID))
	if got, _ := f.svc.Get(ctx, f.sc, c.ID); got.Status != agentphone.CallCompleted {
		t.Fatalf("answered after the end: %+v", got)
	}
	if err := f.svc.Ringing(ctx, "call_nope"); agentphone.ErrorKind(err) != agentphone.KindNotFound {
		t.Errorf("ringing unknown: %v", err)
	}
	// Never answered: 0 seconds.
	c2, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-2")
	must(t, err)
	f.advance(10 * time.Second)
	c2, err = f.svc.Finish(ctx, c2.ID, agentphone.CallCanceled, agentphone.EndCanceled, nil)
	must(t, err)
	if *c2.DurationSeconds != 0 || c2.AnsweredAt != nil {
		t.Fatalf("never answered: %+v", c2)
	}
}

// TestCallService_CallEndedEvent: the event carries the whole transcript,
// the contact, the end, and the conversation's metadata.
func TestCallService_CallEndedEvent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	contacts := &agentphone.ContactService{Store: f.store}
	ct, err := contacts.Create(ctx, f.sc, agentphone.ContactInput{PhoneNumber: agentphone.Some("+15551234567"), Name: agentphone.Some("Jane")})
	must(t, err)
	c, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-1")
	must(t, err)
	must(t, f.svc.Answered(ctx, c.ID))
	for i, text := range []string{"Hello", "", "Where is my order?", "It shipped."} {
		role := agentphone.RoleAgent
		if i%2 == 0 {
			role = agentphone.RoleUser
		}
		f.advance(time.Second)
		must(t, f.svc.AddTurn(ctx, &agentphone.Turn{CallID: c.ID, Role: role, Text: text}))
	}
	_, err = f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
	must(t, err)
	l, err := f.store.ListDeliveries(ctx, f.acct.ID, agentphone.DeliveryFilter{}, agentphone.Page{Limit: 10})
	must(t, err)
	d, err := f.store.GetDelivery(ctx, f.acct.ID, l.Items[0].ID)
	must(t, err)
	var env struct {
		Event, Channel    string
		AgentID           *string
		ConversationState json.RawMessage
		RecentHistory     []any
		Data              struct {
			CallID, From, To, Direction, Status string
			NumberID, DisconnectionReason       *string
			DurationSeconds                     int
			Contact                             struct{ ID, Name string }
			Transcript                          []agentphone.TranscriptLine
			Summary, UserSentiment              *string
			CallSuccessful                      *bool
		}
	}
	must(t, json.Unmarshal(d.Payload, &env))
	dt := env.Data
	if env.Event != "agent.call_ended" || env.Channel != "voice" || *env.AgentID != f.agent.ID ||
		string(env.ConversationState) != "null" || env.RecentHistory == nil || len(env.RecentHistory) != 0 ||
		dt.CallID != c.ID || *dt.NumberID != f.number.ID || dt.From != "+15551234567" || dt.To != "+15555550100" ||
		dt.Direction != "inbound" || dt.Status != "completed" || dt.DurationSeconds != 4 ||
		*dt.DisconnectionReason != "caller-hangup" || dt.Contact.ID != ct.ID || dt.Summary != nil || dt.CallSuccessful != nil {
		t.Fatalf("envelope %s", d.Payload)
	}
	want := []agentphone.TranscriptLine{{Role: "user", Content: "Hello"}, {Role: "user", Content: "Where is my order?"}, {Role: "agent", Content: "It shipped."}}
	if len(dt.Transcript) != 3 || dt.Transcript[0] != want[0] || dt.Transcript[1] != want[1] || dt.Transcript[2] != want[2] {
		t.Fatalf("transcript %+v", dt.Transcript)
	}
}

// TestCallService_Subscribe: a subscription holds the call and its turns,
// then reports new turns and the end, in order.
func TestCallService_Subscribe(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	c, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-1")
	must(t, err)
	must(t, f.svc.AddTurn(ctx, &agentphone.Turn{CallID: c.ID, Text: "before"}))
	sub, err := f.svc.Subscribe(ctx, f.sc, c.ID)
	must(t, err)
	if sub.Call.ID != c.ID || sub.Call.Ended() || len(sub.Turns) != 1 || sub.Turns[0].Text != "before" {
		t.Fatalf("subscription %+v", sub)
	}
	if n := f.svc.Subscribers(c.ID); n != 1 {
		t.Fatalf("%d subscribers", n)
	}
	must(t, f.svc.AddTurn(ctx, &agentphone.Turn{CallID: c.ID, Text: "during"}))
	_, err = f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
	must(t, err)
	var got []agentphone.CallUpdate
	for len(got) < 2 {
		select {
		case <-sub.Ready():
			got = append(got, sub.Updates()...)
		case <-time.After(5 * time.Second):
			t.Fatalf("updates so far: %+v", got)
		}
	}
	if len(got) != 2 || got[0].Turn == nil || got[0].Turn.Text != "during" || got[1].Ended == nil ||
		got[1].Ended.Status != agentphone.CallCompleted {
		t.Fatalf("updates %+v", got)
	}
	sub.Close()
	sub.Close()
	if n := f.svc.Subscribers(c.ID); n != 0 {
		t.Fatalf("%d subscribers after close", n)
	}
	// An ended call: the subscription shows it ended.
	sub, err = f.svc.Subscribe(ctx, f.sc, c.ID)
	must(t, err)
	defer sub.Close()
	if !sub.Call.Ended() || len(sub.Turns) != 2 {
		t.Fatalf("after the end: %+v", sub)
	}
	other := agentphone.Scope{KeyAccountID: "acct_x", AccountID: "acct_x"}
	if _, err := f.svc.Subscribe(ctx, other, c.ID); agentphone.ErrorKind(err) != agentphone.KindNotFound {
		t.Fatalf("another account: %v", err)
	}
	if n := f.svc.Subscribers(c.ID); n != 1 {
		t.Fatalf("%d subscribers after a refused subscription", n)
	}
}

// TestCallService_Wait: the wait ends with the call, or after its time
// with the call as it is.
func TestCallService_Wait(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	c, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-1")
	must(t, err)
	got, err := f.svc.Wait(ctx, f.sc, c.ID, time.Millisecond)
	must(t, err)
	if got.Ended() {
		t.Fatal("ended after a timed-out wait")
	}
	done := make(chan *agentphone.Call, 1)
	go func() {
		c, err := f.svc.Wait(ctx, f.sc, c.ID, time.Minute)
		if err != nil {
			t.Error(err)
		}
		done <- c
	}()
	_, err = f.svc.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
	must(t, err)
	select {
	case got := <-done:
		if got == nil || !got.Ended() {
			t.Fatalf("wait returned %+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end with the call")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	c2, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-2")
	must(t, err)
	if _, err := f.svc.Wait(cctx, f.sc, c2.ID, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	if _, err := f.svc.Wait(ctx, f.sc, "call_nope", time.Minute); agentphone.ErrorKind(err) != agentphone.KindNotFound {
		t.Fatalf("unknown call: %v", err)
	}
}

// TestCallService_RecoverUnfinished: calls left under way end failed with
// server-stopped, their events emitted; ended calls are left alone.
func TestCallService_RecoverUnfinished(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	var ids []string
	for range 3 {
		c, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip")
		must(t, err)
		ids = append(ids, c.ID)
	}
	_, err := f.svc.Finish(ctx, ids[0], agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
	must(t, err)
	n, err := f.svc.RecoverUnfinished(ctx)
	must(t, err)
	if n != 2 {
		t.Fatalf("recovered %d, want 2", n)
	}
	for i, id := range ids {
		c, err := f.svc.Get(ctx, f.sc, id)
		must(t, err)
		want, reason := agentphone.CallFailed, agentphone.EndServerStopped
		if i == 0 {
			want, reason = agentphone.CallCompleted, agentphone.EndCallerHangup
		}
		if c.Status != want || *c.EndReason != reason {
			t.Errorf("call %d: %s %s", i, c.Status, *c.EndReason)
		}
	}
	l, err := f.store.ListDeliveries(ctx, f.acct.ID, agentphone.DeliveryFilter{}, agentphone.Page{Limit: 10})
	must(t, err)
	if l.Total != 3 {
		t.Fatalf("%d call_ended events, want 3", l.Total)
	}
	if n, err := f.svc.RecoverUnfinished(ctx); n != 0 || err != nil {
		t.Fatalf("second recovery: %d, %v", n, err)
	}
}

// TestCallService_Recording: the account's setting, else the server's.
func TestCallService_Recording(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	for _, tt := range []struct {
		server  bool
		setting agentphone.Opt[bool]
		want    bool
	}{
		{false, agentphone.Opt[bool]{}, false},
		{true, agentphone.Opt[bool]{}, true},
		{true, agentphone.Some(false), false},
		{false, agentphone.Some(true), true},
		{true, agentphone.Null[bool](), true},
	} {
		f.svc.RecordCalls = tt.server
		_, err := f.svc.UpdateSettings(ctx, f.sc, agentphone.SettingsInput{RecordCalls: tt.setting})
		must(t, err)
		got, err := f.svc.Recording(ctx, f.acct.ID)
		must(t, err)
		if got != tt.want {
			t.Errorf("server %v, setting %+v: %v, want %v", tt.server, tt.setting, got, tt.want)
		}
	}
	if _, err := f.svc.Recording(ctx, "acct_nope"); agentphone.ErrorKind(err) != agentphone.KindNotFound {
		t.Errorf("unknown account: %v", err)
	}
}
