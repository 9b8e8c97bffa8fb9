package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

// The post-call analysis of calls (0010_call_analysis.sql): FinishCall
// writes Analysis and AnalysisPending; SettleCallAnalysis settles a
// pending call once; ListAnalysisPendingCalls finds the pending ones.

// finishPending ends call id completed at at, analysis-pending, with no
// event.
func finishPending(t testing.TB, s agentphone.Store, id string, at time.Time) *agentphone.Call {
	t.Helper()
	c, finished, err := s.FinishCall(t.Context(), id, func(c *agentphone.Call, _ []*agentphone.Turn, _ *agentphone.Conversation) (*agentphone.Delivery, error) {
		c.Status, c.EndedAt, c.DurationSeconds, c.AnalysisPending = agentphone.CallCompleted, &at, ptr(0), true
		return nil, nil
	})
	if err != nil || !finished || !c.AnalysisPending {
		t.Fatalf("finish call %s pending: finished %v, %+v, %v", id, finished, c, err)
	}
	return c
}

// testCallAnalysisRoundTrip: a new call has no analysis and is not
// pending; FinishCall writes both fields, which read back equal by every
// read (texts no database stores as such included); a call's analysis
// may be stored as it is created.
func testCallAnalysisRoundTrip(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	n := newNumber(t, s, acct.ID, "+15555550123")
	c := newCall(t, s, callValue(n, "+15551230000", agentphone.Now()))
	got, err := s.GetCall(ctx, acct.ID, c.ID)
	must(t, err)
	if got.Analysis != nil || got.AnalysisPending {
		t.Fatalf("new call: analysis %+v, pending %v", got.Analysis, got.AnalysisPending)
	}

	a := &agentphone.CallAnalysis{
		Summary:       ptr("Caller asked about order \"ORD-1\" <&>\x00 \xff and ☎."),
		UserSentiment: ptr(agentphone.SentimentNegative), CallSuccessful: ptr(false),
	}
	at := agentphone.Now()
	ended, finished, err := s.FinishCall(ctx, c.ID, func(c *agentphone.Call, _ []*agentphone.Turn, _ *agentphone.Conversation) (*agentphone.Delivery, error) {
		c.Status, c.EndedAt, c.DurationSeconds = agentphone.CallCompleted, &at, ptr(0)
		c.Analysis, c.AnalysisPending = a, true
		return nil, nil
	})
	must(t, err)
	want := &agentphone.CallAnalysis{
		Summary:       ptr("Caller asked about order \"ORD-1\" <&>\x00 \uFFFD and ☎."),
		UserSentiment: a.UserSentiment, CallSuccessful: a.CallSuccessful,
	}
	if !finished || !ended.AnalysisPending || !reflect.DeepEqual(ended.Analysis, want) {
		t.Fatalf("finished %v: analysis %+v, pending %v", finished, ended.Analysis, ended.AnalysisPending)
	}
	byID, err := s.FindCall(ctx, c.ID)
	must(t, err)
	byAcct, err := s.GetCall(ctx, acct.ID, c.ID)
	must(t, err)
	l, err := s.ListCalls(ctx, acct.ID, agentphone.CallFilter{}, agentphone.Page{Limit: 10})
	must(t, err)
	if len(l.Items) != 1 {
		t.Fatalf("list: %d calls", len(l.Items))
	}
	for what, got := range map[string]*agentphone.Call{"find": byID, "get": byAcct, "list": l.Items[0]} {
		if !reflect.DeepEqual(got, ended) {
			t.Errorf("%s: %+v, want %+v", what, got, ended)
		}
	}

	// Partial analyses, as created.
	for _, a := range []*agentphone.CallAnalysis{{}, {UserSentiment: ptr(agentphone.SentimentPositive)}, {CallSuccessful: ptr(true)}} {
		c := callValue(n, "+15551230001", agentphone.Now())
		c.Analysis = a
		newCall(t, s, c)
		got, err := s.FindCall(ctx, c.ID)
		must(t, err)
		if !reflect.DeepEqual(got.Analysis, a) || got.AnalysisPending {
			t.Errorf("created with %+v: read %+v, pending %v", a, got.Analysis, got.AnalysisPending)
		}
	}
}

// testSettleCallAnalysis: a call not pending (under way, or ended without
// an analysis to come) is left alone and settle not called; a pending
// call's settle sees the call, its turns and conversation, its analysis
// and event are stored together and the call is no longer pending, even
// when settle leaves the flag set; settling again changes nothing; an
// error from settle stores nothing; unknown calls are not found.
func testSettleCallAnalysis(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct, n, conv := callerConversation(t, s)
	var err error
	// The deliveries stored so far: the message's.
	deliveries := func() int {
		t.Helper()
		l, err := s.ListDeliveries(ctx, acct.ID, agentphone.DeliveryFilter{}, agentphone.Page{Limit: 10})
		must(t, err)
		return l.Total
	}
	before := deliveries()

	notCalled := func(*agentphone.Call, []*agentphone.Turn, *agentphone.Conversation) (*agentphone.Delivery, error) {
		t.Error("settle called for a call not pending")
		return nil, nil
	}
	live := newCall(t, s, callValue(n, "+15551230000", agentphone.Now()))
	got, settled, err := s.SettleCallAnalysis(ctx, live.ID, notCalled)
	must(t, err)
	if settled || got.ID != live.ID || got.Ended() {
		t.Fatalf("call under way: settled %v, %+v", settled, got)
	}
	plain := finishCall(t, s, newCall(t, s, callValue(n, "+15551230000", agentphone.Now())).ID, agentphone.CallCompleted, agentphone.Now())
	got, settled, err = s.SettleCallAnalysis(ctx, plain.ID, notCalled)
	must(t, err)
	if settled || !reflect.DeepEqual(got, plain) {
		t.Fatalf("call not pending: settled %v, %+v", settled, got)
	}

	c := newCall(t, s, callValue(n, "+15551230000", agentphone.Now()))
	tr := &agentphone.Turn{ID: agentphone.NewID(agentphone.PrefixTurn), CallID: c.ID, Role: agentphone.RoleUser,
		Text: "where is my order?", StartedAt: agentphone.Now(), CreatedAt: agentphone.Now()}
	must(t, s.AddTurn(ctx, tr, tr.Text))
	ended := finishPending(t, s, c.ID, agentphone.Now())

	boom := errors.New("boom")
	_, _, err = s.SettleCallAnalysis(ctx, c.ID, func(c *agentphone.Call, _ []*agentphone.Turn, _ *agentphone.Conversation) (*agentphone.Delivery, error) {
		c.Analysis = &agentphone.CallAnalysis{Summary: ptr("not stored")}
		return deliveryValue(acct.ID, n.AgentID), boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("settle error: %v", err)
	}
	if got, _ := s.FindCall(ctx, c.ID); !reflect.DeepEqual(got, ended) {
		t.Fatalf("aborted settle wrote %+v", got)
	}
	if n := deliveries() - before; n != 0 {
		t.Fatalf("aborted settle stored %d deliveries", n)
	}

	analysis := &agentphone.CallAnalysis{Summary: ptr("Asked about an order."), UserSentiment: ptr(agentphone.SentimentNeutral), CallSuccessful: ptr(true)}
	var d *agentphone.Delivery
	got, settled, err = s.SettleCallAnalysis(ctx, c.ID, func(c *agentphone.Call, turns []*agentphone.Turn, cv *agentphone.Conversation) (*agentphone.Delivery, error) {
		if !c.AnalysisPending || !c.Ended() || c.Status != agentphone.CallCompleted {
			t.Errorf("settle got call %+v", c)
		}
		if len(turns) != 1 || turns[0].Text != "where is my order?" {
			t.Errorf("settle got turns %+v", turns)
		}
		if cv == nil || cv.ID != conv.ID || string(cv.Metadata) != `{"orderId":"ORD-1"}` {
			t.Errorf("settle got conversation %+v", cv)
		}
		c.Analysis = analysis
		c.Status = agentphone.CallFailed // not a field settle writes
		d = deliveryValue(acct.ID, n.AgentID)
		d.EventType = agentphone.EventCallEnded
		return d, nil
	})
	must(t, err)
	want := *ended
	want.Analysis, want.AnalysisPending = analysis, false
	if !settled || !reflect.DeepEqual(got, &want) {
		t.Fatalf("settled %v: %+v, want %+v", settled, got, &want)
	}
	if stored, err := s.GetCall(ctx, acct.ID, c.ID); err != nil || !reflect.DeepEqual(stored, &want) {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	if _, err := s.GetDelivery(ctx, acct.ID, d.ID); err != nil {
		t.Fatalf("the event's delivery: %v", err)
	}
	again, settled, err := s.SettleCallAnalysis(ctx, c.ID, notCalled)
	must(t, err)
	if settled || !reflect.DeepEqual(again, &want) {
		t.Fatalf("second settle: %v, %+v", settled, again)
	}

	// No analysis, no event: pending is cleared all the same.
	c2 := newCall(t, s, callValue(n, "+15559990000", agentphone.Now()))
	finishPending(t, s, c2.ID, agentphone.Now())
	got, settled, err = s.SettleCallAnalysis(ctx, c2.ID, func(c *agentphone.Call, turns []*agentphone.Turn, cv *agentphone.Conversation) (*agentphone.Delivery, error) {
		if cv != nil || turns == nil || len(turns) != 0 {
			t.Errorf("call %s: conversation %+v, turns %#v", c.ID, cv, turns)
		}
		return nil, nil
	})
	must(t, err)
	if !settled || got.AnalysisPending || got.Analysis != nil {
		t.Fatalf("settled %v without analysis: %+v", settled, got)
	}
	if n := deliveries() - before; n != 1 {
		t.Fatalf("%d call deliveries, want 1", n)
	}
	_, _, err = s.SettleCallAnalysis(ctx, "call_nope", notCalled)
	wantNotFound(t, err, "Call not found")
}

// testSettleCallAnalysisRace: of many settles at once, one settles the
// call and stores its event.
func testSettleCallAnalysisRace(t *testing.T, s *sqlstore.Store) {
	acct := newAccount(t, s, nil, "acme")
	n := newNumber(t, s, acct.ID, "+15555550123")
	c := newCall(t, s, callValue(n, "+15551230000", agentphone.Now()))
	finishPending(t, s, c.ID, agentphone.Now())
	onlyOneEndsTheCall(t, s, acct.ID, "settle", func(fn finishFunc) (bool, error) {
		_, settled, err := s.SettleCallAnalysis(t.Context(), c.ID, func(c *agentphone.Call, turns []*agentphone.Turn, conv *agentphone.Conversation) (*agentphone.Delivery, error) {
			c.Analysis = &agentphone.CallAnalysis{Summary: ptr("once")}
			return fn(c, turns, conv)
		})
		return settled, err
	})
}

// testListAnalysisPendingCalls: the pending calls of every account, oldest
// end first; calls under way, ended without analysis, or settled are not
// listed.
func testListAnalysisPendingCalls(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	base := agentphone.Now().Add(-time.Hour)
	var want []string
	var accts []*agentphone.Account
	for i, phone := range []string{"+15555550120", "+15555550121"} {
		acct := newAccount(t, s, nil, "acct"+phone)
		accts = append(accts, acct)
		n := newNumber(t, s, acct.ID, phone)
		newCall(t, s, callValue(n, "+15551230000", base)) // under way
		finishCall(t, s, newCall(t, s, callValue(n, "+15551230000", base)).ID, agentphone.CallCompleted, base.Add(time.Minute))
		// Ends interleaved across the accounts: acme's at 2 and 4 min, globex's at 3 and 5.
		for j := range 2 {
			c := newCall(t, s, callValue(n, "+15551230000", base))
			finishPending(t, s, c.ID, base.Add(time.Duration(2+i+2*j)*time.Minute))
		}
	}
	l, err := s.ListAnalysisPendingCalls(ctx)
	must(t, err)
	if len(l) != 4 {
		t.Fatalf("%d pending calls, want 4", len(l))
	}
	for i, c := range l {
		if !c.AnalysisPending || !c.EndedAt.Equal(base.Add(time.Duration(2+i)*time.Minute)) {
			t.Errorf("pending call %d: pending %v, ended %v", i, c.AnalysisPending, c.EndedAt)
		}
		want = append(want, c.ID)
	}
	if l[0].AccountID != accts[0].ID || l[1].AccountID != accts[1].ID {
		t.Errorf("pending calls not in end order across accounts: %v", callIDs(l))
	}
	_, settled, err := s.SettleCallAnalysis(ctx, want[0], func(*agentphone.Call, []*agentphone.Turn, *agentphone.Conversation) (*agentphone.Delivery, error) {
		return nil, nil
	})
	must(t, err)
	if !settled {
		t.Fatal("not settled")
	}
	l, err = s.ListAnalysisPendingCalls(ctx)
	must(t, err)
	if got := callIDs(l); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("after a settle: %v, want %v", got, want[1:])
	}
}
