package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

// callValue is an inbound call to number n from from, ringing, not stored.
func callValue(n *agentphone.Number, from string, at time.Time) *agentphone.Call {
	return &agentphone.Call{
		ID: agentphone.NewID(agentphone.PrefixCall), AccountID: n.AccountID, AgentID: n.AgentID,
		NumberID: &n.ID, PhoneNumber: &n.PhoneNumber, From: from, To: n.PhoneNumber,
		Direction: agentphone.DirectionInbound, Type: agentphone.CallTypePSTN, Status: agentphone.CallRinging,
		StartedAt: at, SIPCallID: "sip-" + from,
	}
}

// outboundCallValue is an outbound call from number n to to, queued, not
// stored.
func outboundCallValue(n *agentphone.Number, to string, at time.Time) *agentphone.Call {
	c := callValue(n, n.PhoneNumber, at)
	c.To, c.Direction, c.Status = to, agentphone.DirectionOutbound, agentphone.CallQueued
	return c
}

func newCall(t testing.TB, s agentphone.Store, c *agentphone.Call) *agentphone.Call {
	t.Helper()
	if err := s.CreateCall(t.Context(), c, 0); err != nil {
		t.Fatalf("create call: %v", err)
	}
	return c
}

// finishCall ends c as completed at at, with no event.
func finishCall(t testing.TB, s agentphone.Store, id, status string, at time.Time) *agentphone.Call {
	t.Helper()
	c, finished, err := s.FinishCall(t.Context(), id, func(c *agentphone.Call, _ []*agentphone.Turn, _ *agentphone.Conversation) (*agentphone.Delivery, error) {
		c.Status, c.EndedAt = status, &at
		d := agentphone.CallDuration(c.AnsweredAt, at)
		c.DurationSeconds = &d
		return nil, nil
	})
	if err != nil || !finished {
		t.Fatalf("finish call %s: finished %v, %v", id, finished, err)
	}
	return c
}

func callIDs(cs []*agentphone.Call) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// testCallRoundTrip: every field of a call, its options included, reads
// back equal, by account and by id alone; another account's call is not
// found; an unknown account is not found.
func testCallRoundTrip(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	a := newAgent(t, s, acct.ID, "bot")
	n := numberValue(acct.ID, "+15555550123")
	n.AgentID = &a.ID
	must(t, s.CreateNumber(ctx, n, 0))

	c := outboundCallValue(n, "+15551230000", agentphone.Now())
	c.Options = agentphone.CallOptions{
		InitialGreeting: ptr("Hi <&> there"), Voice: ptr("espeak-en"), SystemPrompt: ptr("Be brief."),
		ModelTier: ptr("max"), Variables: map[string]*string{"name": ptr("Jane"), "none": nil},
		CallScreeningIdentity: ptr("Acme"), CallScreeningPurpose: ptr("Delivery"),
	}
	newCall(t, s, c)
	got, err := s.GetCall(ctx, acct.ID, c.ID)
	must(t, err)
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("GetCall =\n%+v\nwant\n%+v", got, c)
	}
	wantUTC(t, "StartedAt", got.StartedAt)
	got, err = s.FindCall(ctx, c.ID)
	must(t, err)
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("FindCall =\n%+v\nwant\n%+v", got, c)
	}
	// A call with every nullable field set, and no options.
	at := agentphone.Now()
	full := callValue(n, "anonymous", at)
	full.Status, full.AnsweredAt, full.EndedAt = agentphone.CallCompleted, &at, &at
	full.EndReason, full.DurationSeconds = ptr(agentphone.EndCallerHangup), ptr(0)
	full.LastTranscriptSnippet, full.RecordingPath = ptr("bye"), ptr("2025/01/call.wav")
	newCall(t, s, full)
	got, err = s.GetCall(ctx, acct.ID, full.ID)
	must(t, err)
	if !reflect.DeepEqual(got, full) {
		t.Fatalf("GetCall =\n%+v\nwant\n%+v", got, full)
	}

	_, err = s.GetCall(ctx, other.ID, c.ID)
	wantNotFound(t, err, "Call not found")
	_, err = s.FindCall(ctx, "call_nope")
	wantNotFound(t, err, "Call not found")
	stray := callValue(n, "+15551230000", at)
	stray.AccountID = "acct_nope"
	wantNotFound(t, s.CreateCall(ctx, stray, 0), "Account not found")
}

// testCallList: filters by status, direction, type, agent, number and
// search (digits of a phone-like search, or the text as it is), newest
// first with ties by id, paged with a total; other accounts' calls left
// out.
func testCallList(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	a := newAgent(t, s, acct.ID, "bot")
	n1 := numberValue(acct.ID, "+15555550101")
	n1.AgentID = &a.ID
	must(t, s.CreateNumber(ctx, n1, 0))
	n2 := newNumber(t, s, acct.ID, "+15555550102")
	nOther := newNumber(t, s, other.ID, "+15555550199")

	base := agentphone.Now().Add(-time.Hour)
	c1 := newCall(t, s, callValue(n1, "+15551110001", base))                            // inbound ringing
	c2 := newCall(t, s, outboundCallValue(n1, "+15552220002", base.Add(time.Second)))   // outbound queued
	c3 := newCall(t, s, callValue(n2, "anonymous_100%", base.Add(2*time.Second)))       // inbound, no agent
	c4 := newCall(t, s, outboundCallValue(n2, "+15553330003", base.Add(2*time.Second))) // same instant as c3
	web := callValue(n1, "+15551110001", base.Add(3*time.Second))                       // a web call
	web.NumberID, web.PhoneNumber, web.Type, web.Direction = nil, nil, agentphone.CallTypeWeb, agentphone.DirectionWeb
	newCall(t, s, web)
	finishCall(t, s, c1.ID, agentphone.CallCompleted, base.Add(time.Minute))
	finishCall(t, s, c2.ID, agentphone.CallFailed, base.Add(time.Minute))
	newCall(t, s, callValue(nOther, "+15551110001", base))

	tie := []string{c3.ID, c4.ID}
	slices.Sort(tie)
	slices.Reverse(tie)
	all := append(append([]string{web.ID}, tie...), c2.ID, c1.ID)
	for _, tt := range []struct {
		name string
		f    agentphone.CallFilter
		want []string
	}{
		{"all", agentphone.CallFilter{}, all},
		{"completed", agentphone.CallFilter{Status: agentphone.CallCompleted}, []string{c1.ID}},
		{"failed", agentphone.CallFilter{Status: agentphone.CallFailed}, []string{c2.ID}},
		{"in-progress", agentphone.CallFilter{Status: agentphone.CallInProgress}, []string{}},
		{"inbound", agentphone.CallFilter{Direction: agentphone.DirectionInbound}, []string{c3.ID, c1.ID}},
		{"outbound", agentphone.CallFilter{Direction: agentphone.DirectionOutbound}, []string{c4.ID, c2.ID}},
		{"web type", agentphone.CallFilter{Type: agentphone.CallTypeWeb}, []string{web.ID}},
		{"pstn", agentphone.CallFilter{Type: agentphone.CallTypePSTN}, all[1:]},
		{"agent", agentphone.CallFilter{AgentID: a.ID}, []string{web.ID, c2.ID, c1.ID}},
		{"number", agentphone.CallFilter{NumberID: n2.ID}, tie},
		{"search digits", agentphone.CallFilter{Search: "+1 (555) 222"}, []string{c2.ID}},
		{"search own number", agentphone.CallFilter{Search: "5555550102"}, tie},
		{"search text", agentphone.CallFilter{Search: "anonymous_100%"}, []string{c3.ID}},
		{"search wildcard literal", agentphone.CallFilter{Search: "_"}, []string{c3.ID}},
		{"search none", agentphone.CallFilter{Search: "+44"}, []string{}},
		{"combined", agentphone.CallFilter{Direction: agentphone.DirectionInbound, Search: "111"}, []string{c1.ID}},
	} {
		l, err := s.ListCalls(ctx, acct.ID, tt.f, agentphone.Page{Limit: 100})
		must(t, err)
		if got := callIDs(l.Items); !slices.Equal(got, tt.want) || l.Total != len(tt.want) {
			t.Errorf("%s: %v (total %d), want %v", tt.name, got, l.Total, tt.want)
		}
	}
	// Pages.
	var paged []string
	for off := 0; off < len(all); off += 2 {
		p := agentphone.Page{Limit: 2, Offset: off}
		l, err := s.ListCalls(ctx, acct.ID, agentphone.CallFilter{}, p)
		must(t, err)
		if l.Total != len(all) || l.HasMore(p) != (off+2 < len(all)) {
			t.Fatalf("page at %d: total %d, hasMore %v", off, l.Total, l.HasMore(p))
		}
		paged = append(paged, callIDs(l.Items)...)
	}
	if !slices.Equal(paged, all) {
		t.Fatalf("pages %v, want %v", paged, all)
	}
	// Unfinished calls, of every account, oldest first.
	un, err := s.ListUnfinishedCalls(ctx)
	must(t, err)
	if got := callIDs(un); len(got) != 4 || got[0] == c1.ID || got[len(got)-1] != web.ID || slices.Contains(got, c2.ID) {
		t.Fatalf("unfinished calls %v", got)
	}
}

// testCallAdvance: statuses move forward only; the answer time is set
// with in-progress; an ended call does not move; unknown calls are not
// found.
func testCallAdvance(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	n := newNumber(t, s, acct.ID, "+15555550123")
	c := newCall(t, s, outboundCallValue(n, "+15551230000", agentphone.Now()))
	ringing := []string{agentphone.CallQueued}
	answering := []string{agentphone.CallQueued, agentphone.CallRinging}

	got, moved, err := s.AdvanceCall(ctx, c.ID, agentphone.CallRinging, ringing, nil)
	must(t, err)
	if !moved || got.Status != agentphone.CallRinging || got.AnsweredAt != nil {
		t.Fatalf("ringing: moved %v, %+v", moved, got)
	}
	at := agentphone.Now()
	got, moved, err = s.AdvanceCall(ctx, c.ID, agentphone.CallInProgress, answering, &at)
	must(t, err)
	if !moved || got.Status != agentphone.CallInProgress || got.AnsweredAt == nil || !got.AnsweredAt.Equal(at) {
		t.Fatalf("answered: moved %v, %+v", moved, got)
	}
	// Back to ringing, or answered again: nothing changes.
	got, moved, err = s.AdvanceCall(ctx, c.ID, agentphone.CallRinging, ringing, nil)
	must(t, err)
	if moved || got.Status != agentphone.CallInProgress {
		t.Fatalf("ringing after the answer: moved %v, %+v", moved, got)
	}
	later := at.Add(time.Second)
	got, moved, err = s.AdvanceCall(ctx, c.ID, agentphone.CallInProgress, answering, &later)
	must(t, err)
	if moved || !got.AnsweredAt.Equal(at) {
		t.Fatalf("answered twice: moved %v, %+v", moved, got)
	}
	// An ended call never moves, even from a listed status.
	c2 := newCall(t, s, outboundCallValue(n, "+15551230001", agentphone.Now()))
	finishCall(t, s, c2.ID, agentphone.CallCanceled, agentphone.Now())
	got, moved, err = s.AdvanceCall(ctx, c2.ID, agentphone.CallInProgress, []string{agentphone.CallCanceled}, &at)
	must(t, err)
	if moved || got.Status != agentphone.CallCanceled || got.AnsweredAt != nil {
		t.Fatalf("ended call moved: %v, %+v", moved, got)
	}
	_, _, err = s.AdvanceCall(ctx, "call_nope", agentphone.CallRinging, ringing, nil)
	wantNotFound(t, err, "Call not found")
}

// testConversationTurns: the turns with text of the calls between a
// number and one other party, inbound and outbound, the last limit of
// them, oldest first; other parties', other numbers' and other accounts'
// calls are not theirs.
func testConversationTurns(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	n := newNumber(t, s, acct.ID, "+15555550123")
	n2 := newNumber(t, s, acct.ID, "+15555550124")
	base := agentphone.Now().Add(-time.Hour)
	in := newCall(t, s, callValue(n, "+15551230000", base))
	out := newCall(t, s, outboundCallValue(n, "+15551230000", base.Add(10*time.Minute)))
	otherParty := newCall(t, s, callValue(n, "+15551239999", base))
	otherNumber := newCall(t, s, callValue(n2, "+15551230000", base))
	add := func(c *agentphone.Call, role, text string, at time.Duration) {
		must(t, s.AddTurn(ctx, &agentphone.Turn{ID: agentphone.NewID(agentphone.PrefixTurn), CallID: c.ID, Role: role, Text: text,
			StartedAt: base.Add(at), CreatedAt: agentphone.Now()}, ""))
	}
	add(in, agentphone.RoleAgent, "Hello.", time.Second)
	add(in, agentphone.RoleUser, "Where is my order?", 2*time.Second)
	add(in, agentphone.RoleUser, "", 3*time.Second) // keys only
	add(out, agentphone.RoleAgent, "Your order is ready.", 10*time.Minute)
	add(otherParty, agentphone.RoleUser, "Not theirs.", 5*time.Second)
	add(otherNumber, agentphone.RoleUser, "Not theirs either.", 6*time.Second)
	texts := func(limit int) string {
		t.Helper()
		got, err := s.ListConversationTurns(ctx, acct.ID, n.ID, "+15551230000", limit)
		must(t, err)
		var out []string
		for _, tn := range got {
			out = append(out, tn.Text)
		}
		return strings.Join(out, "|")
	}
	if got := texts(10); got != "Hello.|Where is my order?|Your order is ready." {
		t.Fatalf("turns %q", got)
	}
	if got := texts(2); got != "Where is my order?|Your order is ready." {
		t.Fatalf("last 2 turns %q", got)
	}
	if got := texts(0); got != "" {
		t.Fatalf("limit 0: %q", got)
	}
	if got, err := s.ListConversationTurns(ctx, "acct_other", n.ID, "+15551230000", 10); err != nil || len(got) != 0 {
		t.Fatalf("another account: %v, %v", got, err)
	}
}

// testCallTurns: turns are listed by when they began, whatever order they
// were stored in; a turn stored again with its id replaces it (its
// creation time kept); the id of another call's turn is a conflict; the
// call's snippet follows the latest text; unknown calls are not found;
// another account sees no turns.
func testCallTurns(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	n := newNumber(t, s, acct.ID, "+15555550123")
	c := newCall(t, s, callValue(n, "+15551230000", agentphone.Now()))
	c2 := newCall(t, s, callValue(n, "+15551230001", agentphone.Now()))
	base := agentphone.Now()
	turn := func(role, text string, started time.Duration) *agentphone.Turn {
		return &agentphone.Turn{
			ID: agentphone.NewID(agentphone.PrefixTurn), CallID: c.ID, Role: role, Text: text,
			StartedAt: base.Add(started), CreatedAt: agentphone.Now(),
		}
	}
	greet := turn(agentphone.RoleAgent, "Hello, how can I help?", 0)
	ask := turn(agentphone.RoleUser, "Where is my order?", 2*time.Second)
	ask.Confidence, ask.DTMF = ptr(0.93), ptr("12#")
	end := base.Add(3 * time.Second)
	ask.EndedAt = &end
	answer := turn(agentphone.RoleAgent, "It shipped.", 4*time.Second)
	answer.Interrupted = true
	// An agent turn of the engine: its latency, one stage missing (the
	// answer failed before synthesis had a first byte, say), fractions of
	// milliseconds kept.
	answer.Latency = &agentphone.TurnLatency{
		EndOfSpeechToTranscriptMs: ptr(212.5), TranscriptToDecisionMs: ptr(0.125), DecisionToFirstByteMs: ptr(340.0),
		FirstAudioToFirstPacketMs: ptr(19.999), TotalMs: ptr(812.375),
	}
	// Stored out of order: the answer before the question.
	must(t, s.AddTurn(ctx, greet, "Hello, how can I help?"))
	must(t, s.AddTurn(ctx, answer, "It shipped."))
	must(t, s.AddTurn(ctx, ask, ""))
	got, err := s.ListTurns(ctx, acct.ID, c.ID)
	must(t, err)
	if !reflect.DeepEqual(got, []*agentphone.Turn{greet, ask, answer}) {
		t.Fatalf("turns %+v", got)
	}
	cc, err := s.GetCall(ctx, acct.ID, c.ID)
	must(t, err)
	if derefString(cc.LastTranscriptSnippet) != "It shipped." {
		t.Fatalf("snippet %q", derefString(cc.LastTranscriptSnippet))
	}
	// Replaced: the response is added; the creation time stays.
	created := ask.CreatedAt
	again := *ask
	again.Response, again.CreatedAt = ptr("Let me check."), agentphone.Now().Add(time.Hour)
	must(t, s.AddTurn(ctx, &again, "Where is my order?"))
	if !again.CreatedAt.Equal(created) {
		t.Errorf("replaced turn's CreatedAt %v, want %v", again.CreatedAt, created)
	}
	got, err = s.ListTurns(ctx, acct.ID, c.ID)
	must(t, err)
	if len(got) != 3 || derefString(got[1].Response) != "Let me check." || !got[1].CreatedAt.Equal(created) {
		t.Fatalf("after replace: %+v", got[1])
	}
	// The latency is replaced with the turn: set on a turn without one,
	// changed, cleared.
	for _, l := range []*agentphone.TurnLatency{
		{TotalMs: ptr(640.0)},
		{EndOfSpeechToTranscriptMs: ptr(1.0), TranscriptToDecisionMs: ptr(2.0), DecisionToFirstByteMs: ptr(3.0),
			FirstByteToFirstAudioMs: ptr(4.0), FirstAudioToFirstPacketMs: ptr(5.0), TotalMs: ptr(15.0)},
		nil,
	} {
		g := *greet
		g.Latency = l
		must(t, s.AddTurn(ctx, &g, ""))
		got, err = s.ListTurns(ctx, acct.ID, c.ID)
		must(t, err)
		if !reflect.DeepEqual(got[0].Latency, l) {
			t.Fatalf("latency %+v after storing %+v", got[0].Latency, l)
		}
	}
	cc, err = s.GetCall(ctx, acct.ID, c.ID)
	must(t, err)
	if derefString(cc.LastTranscriptSnippet) != "Where is my order?" {
		t.Fatalf("snippet %q", derefString(cc.LastTranscriptSnippet))
	}
	// The id of a turn of another call.
	stolen := *greet
	stolen.CallID = c2.ID
	wantErr(t, s.AddTurn(ctx, &stolen, "x"), agentphone.KindConflict, "another call")
	bad := turn(agentphone.RoleUser, "x", 0)
	bad.CallID = "call_nope"
	wantNotFound(t, s.AddTurn(ctx, bad, "x"), "Call not found")
	if got, err := s.ListTurns(ctx, other.ID, c.ID); err != nil || len(got) != 0 {
		t.Fatalf("another account's view: %v, %v", got, err)
	}
	if got, err := s.ListTurns(ctx, acct.ID, c2.ID); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("a call without turns: %#v, %v", got, err)
	}
}

// testFindConversation: a conversation is found by its number and
// participant, within its account only; none is not found.
func testFindConversation(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	n := newNumber(t, s, acct.ID, "+15555550123")
	n2 := newNumber(t, s, acct.ID, "+15555550124")
	conv, _ := receive(t, s, inboundValue(n, "+15551230000", "hi", agentphone.Now()), 0)
	receive(t, s, inboundValue(n2, "+15551230000", "hi", agentphone.Now()), 0)
	_, err := s.SetConversationMetadata(ctx, acct.ID, conv.ID, json.RawMessage(`{"orderId":"ORD-1"}`))
	must(t, err)

	got, err := s.FindConversation(ctx, acct.ID, n.ID, "+15551230000")
	must(t, err)
	if got.ID != conv.ID || got.NumberID != n.ID || string(got.Metadata) != `{"orderId":"ORD-1"}` {
		t.Fatalf("FindConversation = %+v, want %s", got, conv.ID)
	}
	_, err = s.FindConversation(ctx, acct.ID, n.ID, "+15551239999")
	wantNotFound(t, err, "Conversation not found")
	_, err = s.FindConversation(ctx, other.ID, n.ID, "+15551230000")
	wantNotFound(t, err, "Conversation not found")
}

// testCallEvents: the event log keeps each event's data, oldest first;
// unknown calls are not found; another account sees nothing.
func testCallEvents(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	n := newNumber(t, s, acct.ID, "+15555550123")
	c := newCall(t, s, callValue(n, "+15551230000", agentphone.Now()))
	base := agentphone.Now()
	var want []*agentphone.CallEvent
	for i, typ := range []string{"answered", "dtmf", "hangup"} {
		e := &agentphone.CallEvent{
			ID: agentphone.NewID(agentphone.PrefixCallEvent), CallID: c.ID, Type: typ,
			Data: json.RawMessage(fmt.Sprintf(`{"i":%d,"s":"<&>"}`, i)), At: base.Add(time.Duration(2-i) * -time.Second),
		}
		must(t, s.AddCallEvent(ctx, e))
		want = append(want, e)
	}
	got, err := s.ListCallEvents(ctx, acct.ID, c.ID)
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events %+v", got)
	}
	wantNotFound(t, s.AddCallEvent(ctx, &agentphone.CallEvent{ID: agentphone.NewID(agentphone.PrefixCallEvent),
		CallID: "call_nope", Type: "x", Data: json.RawMessage(`{}`), At: base}), "Call not found")
	if got, err := s.ListCallEvents(ctx, other.ID, c.ID); err != nil || len(got) != 0 {
		t.Fatalf("another account's view: %v, %v", got, err)
	}
}

// callerConversation makes an account with an agent's number
// +15555550123 and its conversation with +15551230000 (one text, metadata
// {"orderId":"ORD-1"}): what a call between them finds.
func callerConversation(t *testing.T, s *sqlstore.Store) (*agentphone.Account, *agentphone.Number, *agentphone.Conversation) {
	t.Helper()
	acct := newAccount(t, s, nil, "acme")
	a := newAgent(t, s, acct.ID, "bot")
	n := numberValue(acct.ID, "+15555550123")
	n.AgentID = &a.ID
	must(t, s.CreateNumber(t.Context(), n, 0))
	conv, _ := receive(t, s, inboundValue(n, "+15551230000", "hi", agentphone.Now()), 0)
	_, err := s.SetConversationMetadata(t.Context(), acct.ID, conv.ID, json.RawMessage(`{"orderId":"ORD-1"}`))
	must(t, err)
	return acct, n, conv
}

// testFinishCall: the finish sees the call, its turns and the
// conversation with its other party; the end and the event's delivery are
// stored together; finishing again changes nothing and does not call
// finish; an error from finish stores nothing; unknown calls are not
// found.
func testFinishCall(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct, n, conv := callerConversation(t, s)
	var err error

	c := newCall(t, s, callValue(n, "+15551230000", agentphone.Now()))
	answered := agentphone.Now()
	_, _, err = s.AdvanceCall(ctx, c.ID, agentphone.CallInProgress, []string{agentphone.CallRinging}, &answered)
	must(t, err)
	tr := &agentphone.Turn{ID: agentphone.NewID(agentphone.PrefixTurn), CallID: c.ID, Role: agentphone.RoleUser,
		Text: "hello", StartedAt: agentphone.Now(), CreatedAt: agentphone.Now()}
	must(t, s.AddTurn(ctx, tr, "hello"))

	boom := errors.New("boom")
	_, _, err = s.FinishCall(ctx, c.ID, func(c *agentphone.Call, _ []*agentphone.Turn, _ *agentphone.Conversation) (*agentphone.Delivery, error) {
		c.Status = agentphone.CallFailed
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("finish error: %v", err)
	}
	if got, _ := s.GetCall(ctx, acct.ID, c.ID); got.Ended() || got.Status != agentphone.CallInProgress {
		t.Fatalf("aborted finish wrote %+v", got)
	}

	ended := answered.Add(61500 * time.Millisecond)
	var d *agentphone.Delivery
	got, finished, err := s.FinishCall(ctx, c.ID, func(c *agentphone.Call, turns []*agentphone.Turn, cv *agentphone.Conversation) (*agentphone.Delivery, error) {
		if c.Status != agentphone.CallInProgress || c.AnsweredAt == nil || !c.AnsweredAt.Equal(answered) {
			t.Errorf("finish got call %+v", c)
		}
		if len(turns) != 1 || turns[0].Text != "hello" {
			t.Errorf("finish got turns %+v", turns)
		}
		if cv == nil || cv.ID != conv.ID || string(cv.Metadata) != `{"orderId":"ORD-1"}` {
			t.Errorf("finish got conversation %+v", cv)
		}
		c.Status, c.EndReason, c.EndedAt, c.RecordingPath = agentphone.CallCompleted, ptr(agentphone.EndCallerHangup), &ended, ptr("r.wav")
		dur := agentphone.CallDuration(c.AnsweredAt, ended)
		c.DurationSeconds = &dur
		c.LastTranscriptSnippet = ptr("not written") // not an end field
		d = deliveryValue(acct.ID, n.AgentID)
		d.EventType = agentphone.EventCallEnded
		return d, nil
	})
	must(t, err)
	if !finished || got.Status != agentphone.CallCompleted || *got.DurationSeconds != 62 {
		t.Fatalf("finished %v, %+v", finished, got)
	}
	stored, err := s.GetCall(ctx, acct.ID, c.ID)
	must(t, err)
	if stored.Status != agentphone.CallCompleted || !stored.EndedAt.Equal(ended) || *stored.DurationSeconds != 62 ||
		derefString(stored.EndReason) != agentphone.EndCallerHangup || derefString(stored.RecordingPath) != "r.wav" ||
		derefString(stored.LastTranscriptSnippet) != "hello" {
		t.Fatalf("stored %+v", stored)
	}
	if _, err := s.GetDelivery(ctx, acct.ID, d.ID); err != nil {
		t.Fatalf("the event's delivery: %v", err)
	}
	// Again: the call as it is; finish not called.
	again, finished, err := s.FinishCall(ctx, c.ID, func(*agentphone.Call, []*agentphone.Turn, *agentphone.Conversation) (*agentphone.Delivery, error) {
		t.Error("finish called for an ended call")
		return nil, nil
	})
	must(t, err)
	if finished || !reflect.DeepEqual(again, stored) {
		t.Fatalf("second finish: %v, %+v", finished, again)
	}
	// A call with no conversation, and one with no number.
	web := callValue(n, "+15559990000", agentphone.Now())
	web.NumberID, web.PhoneNumber, web.Type, web.Direction = nil, nil, agentphone.CallTypeWeb, agentphone.DirectionWeb
	for _, c := range []*agentphone.Call{newCall(t, s, callValue(n, "+15559990000", agentphone.Now())), newCall(t, s, web)} {
		_, _, err := s.FinishCall(ctx, c.ID, func(c *agentphone.Call, turns []*agentphone.Turn, cv *agentphone.Conversation) (*agentphone.Delivery, error) {
			if cv != nil || turns == nil || len(turns) != 0 {
				t.Errorf("call %s: conversation %+v, turns %#v", c.ID, cv, turns)
			}
			now := agentphone.Now()
			c.Status, c.EndedAt, c.DurationSeconds = agentphone.CallNoAnswer, &now, ptr(0)
			return nil, nil
		})
		must(t, err)
	}
	_, _, err = s.FinishCall(ctx, "call_nope", nil)
	wantNotFound(t, err, "Call not found")
}

// testFinishCallRace: of many finishes at once, one ends the call and
// stores its event.
func testFinishCallRace(t *testing.T, s *sqlstore.Store) {
	acct := newAccount(t, s, nil, "acme")
	n := newNumber(t, s, acct.ID, "+15555550123")
	c := newCall(t, s, callValue(n, "+15551230000", agentphone.Now()))
	onlyOneEndsTheCall(t, s, acct.ID, "finish", func(fn finishFunc) (bool, error) {
		_, finished, err := s.FinishCall(t.Context(), c.ID, func(c *agentphone.Call, turns []*agentphone.Turn, conv *agentphone.Conversation) (*agentphone.Delivery, error) {
			now := agentphone.Now()
			c.Status, c.EndedAt, c.DurationSeconds = agentphone.CallCompleted, &now, ptr(0)
			return fn(c, turns, conv)
		})
		return finished, err
	})
}

// finishFunc is what FinishCall and SettleCallAnalysis call in their
// transaction.
type finishFunc = func(c *agentphone.Call, turns []*agentphone.Turn, conv *agentphone.Conversation) (*agentphone.Delivery, error)

// onlyOneEndsTheCall runs op from ten goroutines at once, each giving the
// store a finishFunc that returns an agent.call_ended delivery of account
// acct: exactly one op must win, the finishFunc must run once, and one
// delivery must be stored.
func onlyOneEndsTheCall(t *testing.T, s *sqlstore.Store, acct, what string, op func(fn finishFunc) (bool, error)) {
	t.Helper()
	const workers = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, calls := 0, 0
	fn := func(*agentphone.Call, []*agentphone.Turn, *agentphone.Conversation) (*agentphone.Delivery, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		d := deliveryValue(acct, nil)
		d.EventType = agentphone.EventCallEnded
		return d, nil
	}
	for range workers {
		wg.Go(func() {
			won, err := op(fn)
			if err != nil {
				t.Error(err)
			}
			if won {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	l, err := s.ListDeliveries(t.Context(), acct, agentphone.DeliveryFilter{}, agentphone.Page{Limit: 100})
	must(t, err)
	if wins != 1 || calls != 1 || l.Total != 1 {
		t.Fatalf("%d %ses won, the function was called %d times, %d deliveries; want 1 each", wins, what, calls, l.Total)
	}
}

// testCallLimit: of concurrent creates under a cap, exactly the cap pass;
// the others are ErrCallLimit conflicts; ended calls do not count; a
// sub-account has its own count.
func testCallLimit(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	sub := newAccount(t, s, acct, "sub")
	n := newNumber(t, s, acct.ID, "+15555550123")
	nSub := newNumber(t, s, sub.ID, "+15555550124")
	const workers, limit = 12, 3
	errs := make([]error, workers)
	ids := make([]string, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			c := callValue(n, fmt.Sprintf("+155512300%02d", i), agentphone.Now())
			ids[i] = c.ID
			errs[i] = s.CreateCall(ctx, c, limit)
		})
	}
	wg.Wait()
	var ok []string
	for i, err := range errs {
		if err == nil {
			ok = append(ok, ids[i])
			continue
		}
		wantErr(t, err, agentphone.KindConflict, "at most 3 calls")
		if !errors.Is(err, agentphone.ErrCallLimit) || !errors.Is(err, agentphone.ErrConflict) {
			t.Fatalf("errors.Is(%v, ErrCallLimit / ErrConflict) = false", err)
		}
	}
	if len(ok) != limit {
		t.Fatalf("%d of %d concurrent creates passed, want %d", len(ok), workers, limit)
	}
	// The sub-account has its own count.
	must(t, s.CreateCall(ctx, callValue(nSub, "+15551239999", agentphone.Now()), limit))
	// Full; an ended call makes room; no cap is no cap.
	err := s.CreateCall(ctx, callValue(n, "+15551238888", agentphone.Now()), limit)
	wantErr(t, err, agentphone.KindConflict, "Concurrent call limit")
	finishCall(t, s, ok[0], agentphone.CallCompleted, agentphone.Now())
	must(t, s.CreateCall(ctx, callValue(n, "+15551238888", agentphone.Now()), limit))
	must(t, s.CreateCall(ctx, callValue(n, "+15551237777", agentphone.Now()), 0))
}

// testCallsOutliveAgentAndNumber: deleting the agent nulls the call's
// agent; releasing the number keeps the call and its number; the calls go
// with a deleted sub-account.
func testCallsOutliveAgentAndNumber(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	a := newAgent(t, s, acct.ID, "bot")
	n := numberValue(acct.ID, "+15555550123")
	n.AgentID = &a.ID
	must(t, s.CreateNumber(ctx, n, 0))
	c := newCall(t, s, callValue(n, "+15551230000", agentphone.Now()))
	must(t, s.AddTurn(ctx, &agentphone.Turn{ID: agentphone.NewID(agentphone.PrefixTurn), CallID: c.ID, Role: agentphone.RoleUser,
		Text: "hi", StartedAt: agentphone.Now(), CreatedAt: agentphone.Now()}, "hi"))
	_, err := s.DeleteAgent(ctx, acct.ID, a.ID)
	must(t, err)
	_, err = s.ReleaseNumber(ctx, acct.ID, n.ID, agentphone.Now())
	must(t, err)
	got, err := s.GetCall(ctx, acct.ID, c.ID)
	must(t, err)
	if got.AgentID != nil || derefString(got.NumberID) != n.ID || derefString(got.PhoneNumber) != n.PhoneNumber {
		t.Fatalf("call after agent deletion and release: %+v", got)
	}
	l, err := s.ListCalls(ctx, acct.ID, agentphone.CallFilter{NumberID: n.ID}, agentphone.Page{Limit: 10})
	must(t, err)
	if l.Total != 1 {
		t.Fatalf("the released number's calls: %d", l.Total)
	}
	if turns, err := s.ListTurns(ctx, acct.ID, c.ID); err != nil || len(turns) != 1 {
		t.Fatalf("turns %v, %v", turns, err)
	}

	sub := newAccount(t, s, acct, "sub")
	ns := newNumber(t, s, sub.ID, "+15555550124")
	cs := newCall(t, s, callValue(ns, "+15551230000", agentphone.Now()))
	must(t, s.AddCallEvent(ctx, &agentphone.CallEvent{ID: agentphone.NewID(agentphone.PrefixCallEvent), CallID: cs.ID,
		Type: "x", Data: json.RawMessage(`{}`), At: agentphone.Now()}))
	_, err = s.ReleaseNumber(ctx, sub.ID, ns.ID, agentphone.Now())
	must(t, err)
	_, err = s.DeleteSubAccount(ctx, acct.ID, sub.ID)
	must(t, err)
	_, err = s.FindCall(ctx, cs.ID)
	wantNotFound(t, err, "Call not found")
}

// testAccountSettings: the recording setting is null until set, then a
// value, then null again; unknown accounts are not found.
func testAccountSettings(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	sub := newAccount(t, s, acct, "sub")
	st, err := s.GetAccountSettings(ctx, acct.ID)
	must(t, err)
	if st.RecordCalls != nil {
		t.Fatalf("new account records: %v", *st.RecordCalls)
	}
	for _, v := range []*bool{ptr(true), ptr(false), nil} {
		st, err := s.SetRecordCalls(ctx, acct.ID, v)
		must(t, err)
		got, err := s.GetAccountSettings(ctx, acct.ID)
		must(t, err)
		if !reflect.DeepEqual(st, got) || !reflect.DeepEqual(got.RecordCalls, v) {
			t.Fatalf("set %v: returned %+v, read %+v", v, st, got)
		}
	}
	_, err = s.SetRecordCalls(ctx, sub.ID, ptr(true))
	must(t, err)
	if st, _ := s.GetAccountSettings(ctx, acct.ID); st.RecordCalls != nil {
		t.Fatal("a sub-account's setting changed its parent's")
	}
	_, err = s.GetAccountSettings(ctx, "acct_nope")
	wantNotFound(t, err, "Account not found")
	_, err = s.SetRecordCalls(ctx, "acct_nope", nil)
	wantNotFound(t, err, "Account not found")
}

// testUsageCalls: calls are counted by when they started, with voice
// minutes rounded up per call; by number (a released number with calls
// is listed); by agent, completed calls only, with their seconds.
func testUsageCalls(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	a := newAgent(t, s, acct.ID, "Alpha")
	base := utc(2024, 11, 1, 0, 0, 0, 0)
	n1 := numberValue(acct.ID, "+15555550101")
	n1.AgentID, n1.CreatedAt = &a.ID, base
	must(t, s.CreateNumber(ctx, n1, 0))
	n2 := numberValue(acct.ID, "+15555550102")
	n2.CreatedAt = base.Add(time.Second)
	must(t, s.CreateNumber(ctx, n2, 0))
	nOther := newNumber(t, s, other.ID, "+15555550199")

	call := func(n *agentphone.Number, status string, start time.Time, seconds int) {
		c := newCall(t, s, callValue(n, "+15551230000", start))
		if seconds > 0 {
			_, _, err := s.AdvanceCall(ctx, c.ID, agentphone.CallInProgress, []string{agentphone.CallRinging}, &start)
			must(t, err)
		}
		finishCall(t, s, c.ID, status, start.Add(time.Duration(seconds)*time.Second))
	}
	call(n1, agentphone.CallCompleted, utc(2025, 1, 31, 23, 59, 0, 0), 61)     // 2 minutes
	call(n1, agentphone.CallCompleted, utc(2025, 2, 1, 10, 0, 0, 0), 60)       // 1 minute
	call(n1, agentphone.CallFailed, utc(2025, 2, 1, 11, 0, 0, 0), 0)           // 0
	call(n2, agentphone.CallCompleted, utc(2025, 2, 3, 12, 0, 0, 0), 1)        // 1 minute, no agent
	call(nOther, agentphone.CallCompleted, utc(2025, 2, 1, 0, 0, 0, 0), 10)    // another account
	newCall(t, s, callValue(n2, "+15551230000", utc(2025, 2, 3, 13, 0, 0, 0))) // under way

	got, err := s.CountCalls(ctx, acct.ID, utc(2025, 2, 1, 0, 0, 0, 0), utc(2025, 2, 3, 12, 0, 0, 0), utc(2025, 3, 1, 0, 0, 0, 0))
	must(t, err)
	if want := []int{5, 4, 2, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("CountCalls = %v, want %v", got, want)
	}
	day := func(m time.Month, d int) time.Time { return utc(2025, m, d, 0, 0, 0, 0) }
	series, err := s.CountUsage(ctx, acct.ID, agentphone.UsageDay, day(1, 1))
	must(t, err)
	if want := []agentphone.UsageCount{
		{Start: day(1, 31), Calls: 1, VoiceMinutes: 2},
		{Start: day(2, 1), Calls: 2, VoiceMinutes: 1},
		{Start: day(2, 3), Calls: 2, VoiceMinutes: 1},
	}; !reflect.DeepEqual(series, want) {
		t.Errorf("CountUsage days =\n%+v\nwant\n%+v", series, want)
	}
	series, err = s.CountUsage(ctx, acct.ID, agentphone.UsageMonth, day(1, 1))
	must(t, err)
	if want := []agentphone.UsageCount{
		{Start: day(1, 1), Calls: 1, VoiceMinutes: 2},
		{Start: day(2, 1), Calls: 4, VoiceMinutes: 2},
	}; !reflect.DeepEqual(series, want) {
		t.Errorf("CountUsage months =\n%+v\nwant\n%+v", series, want)
	}

	_, err = s.ReleaseNumber(ctx, acct.ID, n2.ID, agentphone.Now())
	must(t, err)
	byNumber, err := s.UsageByNumber(ctx, acct.ID)
	must(t, err)
	if want := []agentphone.NumberUsage{
		{NumberID: n2.ID, PhoneNumber: n2.PhoneNumber, Country: "US", Status: agentphone.NumberReleased, Calls: 2},
		{NumberID: n1.ID, PhoneNumber: n1.PhoneNumber, Country: "US", Status: agentphone.NumberActive,
			AgentID: &a.ID, AgentName: ptr("Alpha"), Calls: 3},
	}; !reflect.DeepEqual(byNumber, want) {
		t.Errorf("UsageByNumber =\n%+v\nwant\n%+v", byNumber, want)
	}

	byAgent, err := s.CountCallsByAgent(ctx, acct.ID, day(2, 1), day(3, 1))
	must(t, err)
	slices.SortFunc(byAgent, func(x, y agentphone.AgentUsage) int { return len(derefString(y.AgentID)) - len(derefString(x.AgentID)) })
	if want := []agentphone.AgentUsage{
		{AgentID: &a.ID, AgentName: "Alpha", Calls: 1, TotalSeconds: 60},
		{Calls: 1, TotalSeconds: 1},
	}; !reflect.DeepEqual(byAgent, want) {
		t.Errorf("CountCallsByAgent =\n%+v\nwant\n%+v", byAgent, want)
	}
	byAgent, err = s.CountCallsByAgent(ctx, acct.ID, day(3, 1), day(4, 1))
	must(t, err)
	if byAgent == nil || len(byAgent) != 0 {
		t.Errorf("CountCallsByAgent of March = %#v, want []", byAgent)
	}
}
