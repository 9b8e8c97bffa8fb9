package storetest

import (
	"cmp"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

// outboundValue is an outbound SMS from number n to to, not stored.
func outboundValue(n *agentphone.Number, to, body string, at time.Time) *agentphone.Message {
	m := inboundValue(n, to, body, at)
	m.Direction, m.From, m.To, m.Status = agentphone.DirectionOutbound, n.PhoneNumber, to, agentphone.MessageSent
	return m
}

// usageFixture stores, for testUsage*, messages and deliveries at chosen
// times in account acme, and a few in another account:
//
//	n1 (agent Alpha): out 2025-01-31 23:59:59.999, in 2025-02-01 00:00,
//	                  in 2025-02-01 10:00, out 2025-02-03 12:00
//	n2 (no agent):    in 2025-02-01 05:00, out 2025-02-10 00:00
//	n3 (agent Gone, then deleted; released): in 2024-12-15 08:00
//	n4 (released, no messages)
//
// Every inbound message comes with a successful delivery at its time;
// more deliveries: failed 2025-02-01 23:00, pending 2025-02-02 00:00, a
// successful test 2025-01-20 00:00. The other account has one inbound
// message (and delivery) on 2025-02-01 06:00.
type usageFixture struct {
	acct, other    *agentphone.Account
	alpha          *agentphone.Agent
	n1, n2, n3, n4 *agentphone.Number
}

func utc(y int, m time.Month, d, h, min, sec, ms int) time.Time {
	return time.Date(y, m, d, h, min, sec, ms*int(time.Millisecond), time.UTC)
}

func newUsageFixture(t *testing.T, s *sqlstore.Store) *usageFixture {
	ctx := t.Context()
	f := &usageFixture{acct: newAccount(t, s, nil, "acme"), other: newAccount(t, s, nil, "globex")}
	f.alpha = newAgent(t, s, f.acct.ID, "Alpha")
	gone := newAgent(t, s, f.acct.ID, "Gone")
	base := utc(2024, 11, 1, 0, 0, 0, 0)
	number := func(accountID, phone string, agentID *string, created time.Time) *agentphone.Number {
		n := numberValue(accountID, phone)
		n.AgentID, n.CreatedAt = agentID, created
		must(t, s.CreateNumber(ctx, n, 0))
		return n
	}
	f.n1 = number(f.acct.ID, "+15555550101", &f.alpha.ID, base)
	f.n2 = number(f.acct.ID, "+15555550102", nil, base.Add(time.Second))
	f.n3 = number(f.acct.ID, "+15555550103", &gone.ID, base.Add(2*time.Second))
	f.n4 = number(f.acct.ID, "+15555550104", nil, base.Add(3*time.Second))
	nOther := number(f.other.ID, "+15555550199", nil, base)

	in := func(n *agentphone.Number, at time.Time) {
		m := inboundValue(n, "+15551230000", "hi", at)
		_, err := s.ReceiveMessage(ctx, m, 0, func(*agentphone.Conversation, []*agentphone.Message) (*agentphone.Delivery, error) {
			d := deliveryValue(n.AccountID, n.AgentID)
			d.MessageID, d.Status, d.CreatedAt = &m.ID, agentphone.DeliverySuccess, at
			return d, nil
		})
		must(t, err)
		if !m.CreatedAt.Equal(at) {
			t.Fatalf("message moved from %v to %v", at, m.CreatedAt)
		}
	}
	out := func(n *agentphone.Number, at time.Time) {
		m := outboundValue(n, "+15551230000", "yo", at)
		_, err := s.CreateOutboundMessage(ctx, m)
		must(t, err)
		if !m.CreatedAt.Equal(at) {
			t.Fatalf("message moved from %v to %v", at, m.CreatedAt)
		}
	}
	// Each number's messages in order of time: a message older than the
	// number's latest would be moved forward.
	out(f.n1, utc(2025, 1, 31, 23, 59, 59, 999))
	in(f.n1, utc(2025, 2, 1, 0, 0, 0, 0))
	in(f.n1, utc(2025, 2, 1, 10, 0, 0, 0))
	out(f.n1, utc(2025, 2, 3, 12, 0, 0, 0))
	in(f.n2, utc(2025, 2, 1, 5, 0, 0, 0))
	out(f.n2, utc(2025, 2, 10, 0, 0, 0, 0))
	in(f.n3, utc(2024, 12, 15, 8, 0, 0, 0))
	in(nOther, utc(2025, 2, 1, 6, 0, 0, 0))

	delivery := func(status string, test bool, at time.Time) {
		d := deliveryValue(f.acct.ID, nil)
		d.Status, d.Test, d.CreatedAt = status, test, at
		newDelivery(t, s, d)
	}
	delivery(agentphone.DeliveryFailed, false, utc(2025, 2, 1, 23, 0, 0, 0))
	delivery(agentphone.DeliveryPending, false, utc(2025, 2, 2, 0, 0, 0, 0))
	delivery(agentphone.DeliverySuccess, true, utc(2025, 1, 20, 0, 0, 0, 0))

	_, err := s.DeleteAgent(ctx, f.acct.ID, gone.ID)
	must(t, err)
	_, err = s.ReleaseNumber(ctx, f.acct.ID, f.n3.ID, utc(2025, 1, 1, 0, 0, 0, 0))
	must(t, err)
	_, err = s.ReleaseNumber(ctx, f.acct.ID, f.n4.ID, utc(2025, 1, 1, 0, 0, 0, 0))
	must(t, err)
	return f
}

// testUsageTotals: messages counted all time and since instants, bounds
// inclusive; deliveries by status, tests included; another account's
// rows left out; an empty account has zeros.
func testUsageTotals(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	f := newUsageFixture(t, s)
	got, err := s.CountMessages(ctx, f.acct.ID,
		utc(2025, 1, 31, 23, 59, 59, 999),                 // the first n1 message, included
		utc(2025, 2, 1, 0, 0, 0, 0).Add(-time.Nanosecond), // rounds up to the µs: still after it
		utc(2025, 2, 3, 12, 0, 0, 0),
		utc(2025, 2, 3, 12, 0, 0, 0).Add(time.Microsecond),
		utc(2025, 3, 1, 0, 0, 0, 0))
	must(t, err)
	if want := []int{7, 6, 5, 2, 1, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("CountMessages = %v, want %v", got, want)
	}
	got, err = s.CountMessages(ctx, f.acct.ID)
	must(t, err)
	if want := []int{7}; !reflect.DeepEqual(got, want) {
		t.Errorf("CountMessages() = %v, want %v", got, want)
	}
	byStatus, err := s.CountDeliveriesByStatus(ctx, f.acct.ID)
	must(t, err)
	if want := map[string]int{"success": 5, "failed": 1, "pending": 1}; !reflect.DeepEqual(byStatus, want) {
		t.Errorf("CountDeliveriesByStatus = %v, want %v", byStatus, want)
	}

	empty := newAccount(t, s, nil, "empty")
	got, err = s.CountMessages(ctx, empty.ID, utc(2025, 1, 1, 0, 0, 0, 0))
	must(t, err)
	if want := []int{0, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("CountMessages of an empty account = %v, want %v", got, want)
	}
	byStatus, err = s.CountDeliveriesByStatus(ctx, empty.ID)
	must(t, err)
	if len(byStatus) != 0 {
		t.Errorf("CountDeliveriesByStatus of an empty account = %v", byStatus)
	}
}

// testUsageSeries: messages and deliveries by UTC day and month since an
// instant, oldest first, empty periods left out.
func testUsageSeries(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	f := newUsageFixture(t, s)
	day := func(m time.Month, d int) time.Time { return utc(2025, m, d, 0, 0, 0, 0) }
	for _, tt := range []struct {
		name  string
		unit  agentphone.UsageUnit
		since time.Time
		want  []agentphone.UsageCount
	}{
		{"days", agentphone.UsageDay, day(1, 31), []agentphone.UsageCount{
			{Start: day(1, 31), Messages: 1},
			{Start: day(2, 1), Messages: 3, Webhooks: 4},
			{Start: day(2, 2), Webhooks: 1},
			{Start: day(2, 3), Messages: 1},
			{Start: day(2, 10), Messages: 1},
		}},
		{"days since Feb 1 00:00:00.001", agentphone.UsageDay, day(2, 1).Add(time.Millisecond), []agentphone.UsageCount{
			{Start: day(2, 1), Messages: 2, Webhooks: 3},
			{Start: day(2, 2), Webhooks: 1},
			{Start: day(2, 3), Messages: 1},
			{Start: day(2, 10), Messages: 1},
		}},
		{"months", agentphone.UsageMonth, utc(2024, 12, 1, 0, 0, 0, 0), []agentphone.UsageCount{
			{Start: utc(2024, 12, 1, 0, 0, 0, 0), Messages: 1, Webhooks: 1},
			{Start: day(1, 1), Messages: 1, Webhooks: 1},
			{Start: day(2, 1), Messages: 5, Webhooks: 5},
		}},
		{"none", agentphone.UsageMonth, day(3, 1), []agentphone.UsageCount{}},
	} {
		got, err := s.CountUsage(ctx, f.acct.ID, tt.unit, tt.since)
		must(t, err)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CountUsage %s =\n%+v\nwant\n%+v", tt.name, got, tt.want)
		}
	}
}

// testUsageByNumber: active numbers and released ones with messages,
// newest first, with agent and message count; other accounts' left out.
func testUsageByNumber(t *testing.T, s *sqlstore.Store) {
	f := newUsageFixture(t, s)
	got, err := s.UsageByNumber(t.Context(), f.acct.ID)
	must(t, err)
	want := []agentphone.NumberUsage{
		{NumberID: f.n3.ID, PhoneNumber: f.n3.PhoneNumber, Country: "US", Status: agentphone.NumberReleased, Messages: 1},
		{NumberID: f.n2.ID, PhoneNumber: f.n2.PhoneNumber, Country: "US", Status: agentphone.NumberActive, Messages: 2},
		{NumberID: f.n1.ID, PhoneNumber: f.n1.PhoneNumber, Country: "US", Status: agentphone.NumberActive,
			AgentID: &f.alpha.ID, AgentName: ptr("Alpha"), Messages: 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UsageByNumber =\n%+v\nwant\n%+v", got, want)
	}
	empty := newAccount(t, s, nil, "empty")
	got, err = s.UsageByNumber(t.Context(), empty.ID)
	must(t, err)
	if got == nil || len(got) != 0 {
		t.Errorf("UsageByNumber of an empty account = %#v, want []", got)
	}
}

// testUsageByAgent: messages in [from, to) by agent; those of no agent or
// of a deleted agent in the nil item.
func testUsageByAgent(t *testing.T, s *sqlstore.Store) {
	f := newUsageFixture(t, s)
	for _, tt := range []struct {
		name     string
		from, to time.Time
		want     []agentphone.AgentUsage
	}{
		{"Feb 1 to Feb 3 12:00", utc(2025, 2, 1, 0, 0, 0, 0), utc(2025, 2, 3, 12, 0, 0, 0), []agentphone.AgentUsage{
			{AgentID: &f.alpha.ID, AgentName: "Alpha", Messages: 2},
			{Messages: 1},
		}},
		{"December", utc(2024, 12, 1, 0, 0, 0, 0), utc(2025, 1, 1, 0, 0, 0, 0), []agentphone.AgentUsage{{Messages: 1}}},
		{"all", utc(2000, 1, 1, 0, 0, 0, 0), utc(2100, 1, 1, 0, 0, 0, 0), []agentphone.AgentUsage{
			{AgentID: &f.alpha.ID, AgentName: "Alpha", Messages: 4},
			{Messages: 3},
		}},
		{"none", utc(2025, 3, 1, 0, 0, 0, 0), utc(2025, 4, 1, 0, 0, 0, 0), []agentphone.AgentUsage{}},
	} {
		got, err := s.CountMessagesByAgent(t.Context(), f.acct.ID, tt.from, tt.to)
		must(t, err)
		slices.SortFunc(got, func(a, b agentphone.AgentUsage) int { return cmp.Compare(b.Messages, a.Messages) })
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CountMessagesByAgent %s =\n%+v\nwant\n%+v", tt.name, got, tt.want)
		}
	}
}
