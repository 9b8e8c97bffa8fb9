package storetest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

// deliveryValue returns a fresh pending delivery of an SMS message, every
// optional field unset, not stored.
func deliveryValue(accountID string, agentID *string) *agentphone.Delivery {
	return &agentphone.Delivery{
		ID: agentphone.NewID(agentphone.PrefixDelivery), AccountID: accountID, AgentID: agentID,
		EventType: agentphone.EventMessage, Payload: []byte(`{"event":"agent.message","data":{"message":"hi <&>"}}`),
		Status: agentphone.DeliveryPending, CreatedAt: agentphone.Now(),
	}
}

func newDelivery(t testing.TB, s agentphone.Store, d *agentphone.Delivery) *agentphone.Delivery {
	t.Helper()
	if err := s.CreateDelivery(t.Context(), d); err != nil {
		t.Fatalf("create delivery: %v", err)
	}
	return d
}

// withoutPayload is d as lists return it.
func withoutPayload(d *agentphone.Delivery) *agentphone.Delivery {
	c := *d
	c.Payload = nil
	return &c
}

func testDeliveryRoundTrip(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	agent := newAgent(t, s, acct.ID, "bot")

	// Every field set, the payload binary (NUL, invalid UTF-8) and large.
	full := deliveryValue(acct.ID, &agent.ID)
	full.WebhookID = ptr(agentphone.NewID(agentphone.PrefixWebhook))
	full.EventType, full.Channel, full.MessageID = agentphone.EventCallEnded, ptr(agentphone.ChannelVoice), ptr("msg_1")
	full.Payload = make([]byte, 300<<10)
	_, _ = rand.Read(full.Payload)
	full.Payload[0], full.Payload[1], full.Payload[2] = 0, 0xff, 0xfe
	full.Status, full.HTTPStatus = agentphone.DeliveryFailed, ptr(503)
	full.ErrorMessage, full.ResponseBody = ptr("HTTP 503"), ptr("<html>busy ✓ é</html>")
	full.AttemptCount = 6
	full.LastAttemptAt, full.NextRetryAt = ptr(base.Add(time.Hour)), ptr(base.Add(2*time.Hour+time.Microsecond))
	full.Test = true
	full.CreatedAt = base

	// Pointers to zero values stay set.
	empties := deliveryValue(acct.ID, ptr(""))
	empties.WebhookID, empties.Channel, empties.MessageID = ptr(""), ptr(""), ptr("")
	empties.HTTPStatus, empties.ErrorMessage, empties.ResponseBody = ptr(0), ptr(""), ptr("")
	empties.LastAttemptAt = ptr(base)

	// Nothing optional set; the agent is none of the account's (no check).
	bare := deliveryValue(acct.ID, nil)
	bare.Channel = ptr(agentphone.ChannelSMS)
	bare.Payload = []byte("{}")
	nocheck := deliveryValue(acct.ID, ptr("agt_unknown"))

	for name, d := range map[string]*agentphone.Delivery{"full": full, "empties": empties, "bare": bare, "agent unchecked": nocheck} {
		newDelivery(t, s, d)
		got, err := s.GetDelivery(ctx, acct.ID, d.ID)
		must(t, err)
		if !bytes.Equal(got.Payload, d.Payload) {
			t.Errorf("%s: payload of %d bytes read back as %d bytes, or different", name, len(d.Payload), len(got.Payload))
		}
		if !reflect.DeepEqual(withoutPayload(got), withoutPayload(d)) {
			t.Errorf("%s: GetDelivery =\n%+v\nwant\n%+v", name, withoutPayload(got), withoutPayload(d))
		}
		wantUTC(t, name+" CreatedAt", got.CreatedAt)
		if got.LastAttemptAt != nil {
			wantUTC(t, name+" LastAttemptAt", *got.LastAttemptAt)
		}
	}

	// Times in another zone and with nanoseconds come back in UTC, to the
	// microsecond.
	zoned := deliveryValue(acct.ID, nil)
	zoned.CreatedAt = time.Date(2025, 1, 15, 12, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))
	newDelivery(t, s, zoned)
	got, err := s.GetDelivery(ctx, acct.ID, zoned.ID)
	must(t, err)
	if want := time.Date(2025, 1, 15, 10, 30, 0, 123456000, time.UTC); got.CreatedAt != want {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want)
	}

	_, err = s.GetDelivery(ctx, acct.ID, "dlv_unknown")
	wantNotFound(t, err, "Delivery not found")
	wantNotFound(t, s.CreateDelivery(ctx, deliveryValue("acct_unknown", nil)), "Account not found")
}

// testDeliveryOutsideText: a receiver's answer with NUL bytes and invalid
// UTF-8 (a body cut inside a character) is stored, on every database, with
// U+FFFD in their place, whether created so or updated.
func testDeliveryOutsideText(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	body := "a\x00b\xffc ✓" + "é"[:1]
	const wantBody = "a\uFFFDb\uFFFDc ✓\uFFFD"
	check := func(what string, id string) {
		t.Helper()
		got, err := s.GetDelivery(ctx, acct.ID, id)
		must(t, err)
		if got.ResponseBody == nil || *got.ResponseBody != wantBody || got.ErrorMessage == nil || *got.ErrorMessage != "bad \uFFFD" {
			t.Errorf("%s: response %q, error %q", what, derefString(got.ResponseBody), derefString(got.ErrorMessage))
		}
	}

	d := deliveryValue(acct.ID, nil)
	d.ResponseBody, d.ErrorMessage = ptr(body), ptr("bad \xfe")
	newDelivery(t, s, d)
	check("created", d.ID)

	d = newDelivery(t, s, deliveryValue(acct.ID, nil))
	d.Record(agentphone.Attempt{Status: 400, Body: []byte(body), Err: errors.New("bad \xfe")}, base, nil)
	must(t, s.UpdateDeliveryAttempt(ctx, d))
	check("updated", d.ID)
}

func derefString(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func testDeliveryUpdate(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	d := newDelivery(t, s, deliveryValue(acct.ID, nil))
	created := *d

	check := func(what string, want *agentphone.Delivery) {
		t.Helper()
		got, err := s.GetDelivery(ctx, acct.ID, d.ID)
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: GetDelivery =\n%+v\nwant\n%+v", what, got, want)
		}
	}

	// A retryable failure, then a success: the fields of the first attempt
	// that the second has not are cleared.
	next := base.Add(time.Minute)
	d.Record(agentphone.Attempt{Status: 502, Body: []byte("bad gateway"), Retryable: true}, base, &next)
	must(t, s.UpdateDeliveryAttempt(ctx, d))
	check("after a failed attempt", d)
	if d.Status != agentphone.DeliveryPending || d.AttemptCount != 1 || d.NextRetryAt == nil || *d.HTTPStatus != 502 {
		t.Fatalf("Record gave %+v", d) // the premise of the test
	}
	d.Record(agentphone.Attempt{Status: 204}, next, nil)
	must(t, s.UpdateDeliveryAttempt(ctx, d))
	check("after a successful attempt", d)
	if d.ErrorMessage != nil || d.ResponseBody != nil || d.NextRetryAt != nil || d.AttemptCount != 2 {
		t.Fatalf("Record gave %+v", d)
	}

	// Only the outcome fields are written.
	changed := *d
	changed.Status, changed.AttemptCount = agentphone.DeliveryFailed, 3
	changed.ErrorMessage = ptr("connection refused")
	changed.EventType, changed.Channel, changed.AgentID, changed.WebhookID = "other", ptr("voice"), ptr("agt_x"), ptr("wh_x")
	changed.MessageID, changed.Payload, changed.Test, changed.CreatedAt = ptr("msg_x"), []byte("changed"), true, base
	must(t, s.UpdateDeliveryAttempt(ctx, &changed))
	want := created
	want.Status, want.HTTPStatus, want.ErrorMessage, want.ResponseBody = changed.Status, changed.HTTPStatus, changed.ErrorMessage, changed.ResponseBody
	want.AttemptCount, want.LastAttemptAt, want.NextRetryAt = changed.AttemptCount, changed.LastAttemptAt, changed.NextRetryAt
	check("after an update of every field", &want)

	unknown := *d
	unknown.ID = "dlv_unknown"
	wantNotFound(t, s.UpdateDeliveryAttempt(ctx, &unknown), "Delivery not found")
}

func testDeliveryIsolation(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acctA := newAccount(t, s, nil, "acme")
	acctB := newAccount(t, s, nil, "globex")
	agentA := newAgent(t, s, acctA.ID, "a")
	dA := newDelivery(t, s, deliveryValue(acctA.ID, &agentA.ID))
	dB := newDelivery(t, s, deliveryValue(acctB.ID, nil))

	_, err := s.GetDelivery(ctx, acctB.ID, dA.ID)
	wantNotFound(t, err, "Delivery not found")
	// B updating A's delivery: not found, and A's row unchanged.
	forged := *dA
	forged.AccountID, forged.Status, forged.AttemptCount = acctB.ID, agentphone.DeliveryFailed, 9
	wantNotFound(t, s.UpdateDeliveryAttempt(ctx, &forged), "Delivery not found")
	got, err := s.GetDelivery(ctx, acctA.ID, dA.ID)
	must(t, err)
	if !reflect.DeepEqual(got, dA) {
		t.Errorf("A's delivery after B's update = %+v, want %+v", got, dA)
	}

	for _, tt := range []struct {
		acct string
		f    agentphone.DeliveryFilter
		want []*agentphone.Delivery
	}{
		{acctA.ID, agentphone.DeliveryFilter{}, []*agentphone.Delivery{withoutPayload(dA)}},
		{acctB.ID, agentphone.DeliveryFilter{}, []*agentphone.Delivery{withoutPayload(dB)}},
		{acctB.ID, agentphone.DeliveryFilter{AgentID: &agentA.ID}, []*agentphone.Delivery{}},
	} {
		l, err := s.ListDeliveries(ctx, tt.acct, tt.f, agentphone.Page{Limit: 50})
		must(t, err)
		if l.Total != len(tt.want) || !reflect.DeepEqual(l.Items, tt.want) {
			t.Errorf("ListDeliveries(%s, %+v) = %d %+v, want %+v", tt.acct, tt.f, l.Total, l.Items, tt.want)
		}
		counts, err := s.CountDeliveries(ctx, tt.acct, nil)
		must(t, err)
		if n := sumCounts(counts); n != 1 {
			t.Errorf("CountDeliveries(%s) counts %d deliveries, want 1", tt.acct, n)
		}
	}
	l, err := s.ListDeliveries(ctx, "acct_unknown", agentphone.DeliveryFilter{}, agentphone.Page{})
	must(t, err)
	if l.Total != 0 || l.Items == nil || len(l.Items) != 0 {
		t.Errorf("unknown account lists %d %#v, want 0 []", l.Total, l.Items)
	}
	counts, err := s.CountDeliveries(ctx, "acct_unknown", nil)
	must(t, err)
	if len(counts) != 0 {
		t.Errorf("unknown account counts %+v", counts)
	}
}

func sumCounts(counts []agentphone.DeliveryCount) int {
	n := 0
	for _, c := range counts {
		n += c.N
	}
	return n
}

func testDeliveryList(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	agent1 := newAgent(t, s, acct.ID, "one")
	agent2 := newAgent(t, s, acct.ID, "two")
	newDelivery(t, s, deliveryValue(other.ID, &agent1.ID)) // another account's, even with this agent id

	stored := map[string]*agentphone.Delivery{}
	var all []item
	for i := range 25 {
		var agentID *string
		switch i % 3 {
		case 0:
			agentID = &agent1.ID
		case 1:
			agentID = &agent2.ID
		}
		d := deliveryValue(acct.ID, agentID)
		d.CreatedAt = createdAt(i)
		d.MessageID, d.HTTPStatus = ptr(fmt.Sprintf("msg_%d", i)), ptr(200+i)
		newDelivery(t, s, d)
		stored[d.ID] = d
		all = append(all, item{d.ID, d.CreatedAt})
	}

	list := func(f agentphone.DeliveryFilter, p agentphone.Page) ([]string, int) {
		l, err := s.ListDeliveries(ctx, acct.ID, f, p)
		must(t, err)
		var ids []string
		for _, d := range l.Items {
			ids = append(ids, d.ID)
			if d.Payload != nil {
				t.Fatalf("list returned the payload of %s", d.ID)
			}
			if want := withoutPayload(stored[d.ID]); !reflect.DeepEqual(d, want) {
				t.Fatalf("listed %+v, want %+v", d, want)
			}
		}
		return ids, l.Total
	}
	checkPages(t, "ListDeliveries", newestFirst(slices.Clone(all)), func(p agentphone.Page) ([]string, int) {
		return list(agentphone.DeliveryFilter{}, p)
	})

	// Items 11 and 12 are one microsecond apart (see createdAt).
	at12 := createdAt(12)
	for _, tt := range []struct {
		name string
		f    agentphone.DeliveryFilter
	}{
		{"agent", agentphone.DeliveryFilter{AgentID: &agent1.ID}},
		{"since, on an item", agentphone.DeliveryFilter{Since: &at12}},
		// Stored times are whole microseconds: a nanosecond before item
		// 12's instant still leaves out item 11, a microsecond before.
		{"since, a nanosecond before an item", agentphone.DeliveryFilter{Since: ptr(at12.Add(-time.Nanosecond))}},
		{"since, a microsecond before an item", agentphone.DeliveryFilter{Since: ptr(at12.Add(-time.Microsecond))}},
		{"agent and since", agentphone.DeliveryFilter{AgentID: &agent1.ID, Since: &at12}},
		{"unknown agent", agentphone.DeliveryFilter{AgentID: ptr("agt_unknown")}},
		{"since after all", agentphone.DeliveryFilter{Since: ptr(base.Add(time.Hour))}},
	} {
		var match []item
		for _, it := range all {
			d := stored[it.id]
			if (tt.f.AgentID == nil || d.AgentID != nil && *d.AgentID == *tt.f.AgentID) &&
				(tt.f.Since == nil || !d.CreatedAt.Before(*tt.f.Since)) {
				match = append(match, it)
			}
		}
		want := newestFirst(match)
		if tt.f.AgentID != nil && *tt.f.AgentID == agent1.ID && (len(want) == 0 || len(want) == len(all)) {
			t.Fatalf("%s: the filter does not split the items", tt.name)
		}
		ids, total := list(tt.f, agentphone.Page{})
		if total != len(want) || !slices.Equal(ids, want) {
			t.Errorf("%s: %d items (total %d) %v, want %d %v", tt.name, len(ids), total, ids, len(want), want)
		}
		if len(want) > 2 { // one page in the middle
			ids, total := list(tt.f, agentphone.Page{Limit: 2, Offset: 1})
			if total != len(want) || !slices.Equal(ids, want[1:3]) {
				t.Errorf("%s, limit 2 offset 1: %v (total %d), want %v (total %d)", tt.name, ids, total, want[1:3], len(want))
			}
		}
	}
}

func testDeliveryCounts(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	h10 := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	h11 := h10.Add(time.Hour)
	add := func(accountID, event, status string, at time.Time) {
		d := deliveryValue(accountID, nil)
		d.EventType, d.Status, d.CreatedAt = event, status, at
		newDelivery(t, s, d)
	}
	msg, ended := agentphone.EventMessage, agentphone.EventCallEnded
	ok, failed, pending := agentphone.DeliverySuccess, agentphone.DeliveryFailed, agentphone.DeliveryPending
	add(acct.ID, msg, ok, h10.Add(-time.Microsecond)) // 09:59:59.999999, before since
	add(acct.ID, msg, ok, h10)                        // on the hour
	add(acct.ID, msg, ok, h10.Add(30*time.Minute))
	add(acct.ID, msg, ok, h11.Add(-time.Microsecond)) // last instant of 10:00
	add(acct.ID, msg, failed, h10.Add(time.Minute))
	add(acct.ID, ended, ok, h10.Add(time.Second))
	// 12:30 at UTC+02:00 is 10:30 UTC.
	add(acct.ID, ended, ok, time.Date(2025, 1, 15, 12, 30, 0, 0, time.FixedZone("CEST", 2*3600)))
	add(acct.ID, msg, ok, h11) // on the next hour
	add(acct.ID, msg, pending, h11.Add(59*time.Minute))
	add(acct.ID, msg, pending, h11.Add(59*time.Minute))
	add(other.ID, msg, ok, h10.Add(time.Minute)) // another account's

	wantSince := []agentphone.DeliveryCount{ // ordered by hour, event type, status
		{EventType: ended, Status: ok, Hour: h10, N: 2},
		{EventType: msg, Status: failed, Hour: h10, N: 1},
		{EventType: msg, Status: ok, Hour: h10, N: 3},
		{EventType: msg, Status: pending, Hour: h11, N: 2},
		{EventType: msg, Status: ok, Hour: h11, N: 1},
	}
	slices.SortFunc(wantSince, func(a, b agentphone.DeliveryCount) int {
		if c := a.Hour.Compare(b.Hour); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.EventType, b.EventType), cmp.Compare(a.Status, b.Status))
	})
	wantAll := append([]agentphone.DeliveryCount{{EventType: msg, Status: ok, Hour: h10.Add(-time.Hour), N: 1}}, wantSince...)

	for _, tt := range []struct {
		name  string
		since *time.Time
		want  []agentphone.DeliveryCount
	}{
		{"all", nil, wantAll},
		{"since 10:00", &h10, wantSince},
		{"since 10:00 less a nanosecond", ptr(h10.Add(-time.Nanosecond)), wantSince},
		{"since 12:00", ptr(h11.Add(time.Hour)), []agentphone.DeliveryCount{}},
	} {
		got, err := s.CountDeliveries(ctx, acct.ID, tt.since)
		must(t, err)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CountDeliveries %s =\n%+v\nwant\n%+v", tt.name, got, tt.want)
		}
		for _, c := range got {
			if c.Hour.Location() != time.UTC {
				t.Errorf("%s: hour %v not in UTC", tt.name, c.Hour)
			}
		}
	}
}

func testDeliveryPrune(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acctA := newAccount(t, s, nil, "acme")
	acctB := newAccount(t, s, nil, "globex")
	cut := base
	add := func(accountID, status string, at time.Time) *agentphone.Delivery {
		d := deliveryValue(accountID, nil)
		d.Status, d.CreatedAt = status, at
		return newDelivery(t, s, d)
	}
	old := cut.Add(-time.Microsecond)
	pruned := []*agentphone.Delivery{
		add(acctA.ID, agentphone.DeliverySuccess, old),
		add(acctA.ID, agentphone.DeliveryFailed, cut.Add(-48*time.Hour)),
		add(acctB.ID, agentphone.DeliverySuccess, old), // every account's
	}
	kept := []*agentphone.Delivery{
		add(acctA.ID, agentphone.DeliveryPending, cut.Add(-48*time.Hour)), // still pending
		add(acctA.ID, agentphone.DeliverySuccess, cut),                    // not before the cut-off
		add(acctA.ID, agentphone.DeliveryFailed, cut.Add(time.Hour)),
		add(acctB.ID, agentphone.DeliveryPending, old),
	}

	n, err := s.PruneDeliveries(ctx, cut)
	must(t, err)
	if n != len(pruned) {
		t.Errorf("PruneDeliveries = %d, want %d", n, len(pruned))
	}
	for _, d := range pruned {
		_, err := s.GetDelivery(ctx, d.AccountID, d.ID)
		wantNotFound(t, err, "Delivery not found")
	}
	for _, d := range kept {
		if _, err := s.GetDelivery(ctx, d.AccountID, d.ID); err != nil {
			t.Errorf("%s delivery created at %v pruned: %v", d.Status, d.CreatedAt, err)
		}
	}
	if n, err := s.PruneDeliveries(ctx, cut); err != nil || n != 0 {
		t.Errorf("pruning again = %d, %v; want 0", n, err)
	}
	// A cut-off a nanosecond after a delivery's stored microsecond prunes it.
	if n, err := s.PruneDeliveries(ctx, cut.Add(time.Nanosecond)); err != nil || n != 1 {
		t.Errorf("pruning at the cut-off plus a nanosecond = %d, %v; want 1", n, err)
	}
}

// testDeliveryOutlivesAgent: the log keeps the deliveries of a deleted
// agent and webhook, with the ids it recorded.
func testDeliveryOutlivesAgent(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	agent := newAgent(t, s, acct.ID, "bot")
	w, err := s.UpsertWebhook(ctx, webhookValue(acct.ID, &agent.ID))
	must(t, err)
	d := deliveryValue(acct.ID, &agent.ID)
	d.WebhookID = &w.ID
	newDelivery(t, s, d)

	_, err = s.DeleteAgent(ctx, acct.ID, agent.ID)
	must(t, err)
	if _, err := s.GetWebhook(ctx, acct.ID, &agent.ID); err == nil {
		t.Fatal("the agent's webhook survived the agent")
	}
	got, err := s.GetDelivery(ctx, acct.ID, d.ID)
	must(t, err)
	if !reflect.DeepEqual(got, d) {
		t.Errorf("after deleting the agent: %+v, want %+v", got, d)
	}
	l, err := s.ListDeliveries(ctx, acct.ID, agentphone.DeliveryFilter{AgentID: &agent.ID}, agentphone.Page{})
	must(t, err)
	if l.Total != 1 || len(l.Items) != 1 || l.Items[0].ID != d.ID {
		t.Errorf("deleted agent's deliveries: %+v", l)
	}
	// And it may still be updated.
	d.Record(agentphone.Attempt{Status: 200}, base, nil)
	must(t, s.UpdateDeliveryAttempt(ctx, d))
}

// testDeliveryGoesWithAccount: deleting a sub-account deletes its
// deliveries, and only its.
func testDeliveryGoesWithAccount(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	top := newAccount(t, s, nil, "acme")
	sub := newAccount(t, s, top, "eu")
	agent := newAgent(t, s, sub.ID, "bot")
	gone := []*agentphone.Delivery{
		newDelivery(t, s, deliveryValue(sub.ID, &agent.ID)),
		newDelivery(t, s, deliveryValue(sub.ID, nil)),
	}
	kept := newDelivery(t, s, deliveryValue(top.ID, nil))

	_, err := s.DeleteSubAccount(ctx, top.ID, sub.ID)
	must(t, err)
	for _, d := range gone {
		_, err := s.GetDelivery(ctx, sub.ID, d.ID)
		wantNotFound(t, err, "Delivery not found")
	}
	var n int
	must(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM webhook_deliveries WHERE account_id = $1`, sub.ID).Scan(&n))
	if n != 0 {
		t.Errorf("%d deliveries of the deleted sub-account remain", n)
	}
	if _, err := s.GetDelivery(ctx, top.ID, kept.ID); err != nil {
		t.Errorf("parent's delivery gone: %v", err)
	}
}

// testDeliveryQueue: the delivery log is the outbox's queue. CreateDelivery
// notifies pending deliveries that are not tests, after the commit, with
// their due time; ClaimDeliveries hands out due ones, the earliest due
// first when not all fit (in any order among themselves), each once per
// lease; RecordDeliveries applies an outcome only at the attempt
// count it was claimed with; NextDeliveryDue follows.
func testDeliveryQueue(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	type note struct {
		due     time.Time
		visible bool // the delivery was readable (committed) when notified
	}
	var notes []note
	var notifying *agentphone.Delivery
	s.NotifyDeliveries(func(due time.Time) {
		_, err := s.GetDelivery(context.Background(), acct.ID, notifying.ID)
		notes = append(notes, note{due, err == nil})
	})
	defer s.NotifyDeliveries(nil)
	create := func(d *agentphone.Delivery) *agentphone.Delivery {
		notifying = d
		return newDelivery(t, s, d)
	}

	if _, ok, err := s.NextDeliveryDue(ctx); err != nil || ok {
		t.Fatalf("NextDeliveryDue of an empty queue: ok %v, %v", ok, err)
	}
	base := agentphone.Now().Add(-time.Minute)
	first := deliveryValue(acct.ID, nil)
	first.CreatedAt = base
	create(first)
	second := deliveryValue(acct.ID, nil)
	second.CreatedAt = base.Add(time.Second)
	create(second)
	later := deliveryValue(acct.ID, nil) // a retry due in an hour
	later.AttemptCount = 1
	next := base.Add(time.Hour)
	later.NextRetryAt = &next
	create(later)
	test := deliveryValue(acct.ID, nil)
	test.Test = true
	create(test)
	done := deliveryValue(acct.ID, nil)
	done.Status = agentphone.DeliveryFailed
	create(done)
	want := []note{{first.CreatedAt, true}, {second.CreatedAt, true}, {next, true}}
	if !reflect.DeepEqual(notes, want) {
		t.Fatalf("notified %+v, want %+v (pending, non-test, after commit)", notes, want)
	}
	if due, ok, err := s.NextDeliveryDue(ctx); err != nil || !ok || !due.Equal(first.CreatedAt) {
		t.Fatalf("NextDeliveryDue = %v, %v, %v; want %v", due, ok, err, first.CreatedAt)
	}

	// Earliest first, up to the limit; the payload comes along.
	now := agentphone.Now()
	lease := now.Add(time.Minute)
	got, err := s.ClaimDeliveries(ctx, now, lease, 1)
	must(t, err)
	if len(got) != 1 || got[0].ID != first.ID || !bytes.Equal(got[0].Payload, first.Payload) {
		t.Fatalf("claimed %+v, want %s with its payload", got, first.ID)
	}
	got, err = s.ClaimDeliveries(ctx, now, lease, 10)
	must(t, err)
	if len(got) != 1 || got[0].ID != second.ID {
		t.Fatalf("second claim %+v, want only %s (the rest are claimed, not due, tests or finished)", got, second.ID)
	}
	// Claimed deliveries are due again at their lease's end.
	if due, ok, err := s.NextDeliveryDue(ctx); err != nil || !ok || !due.Equal(lease) {
		t.Fatalf("NextDeliveryDue after claims = %v, %v, %v; want the lease's end %v", due, ok, err, lease)
	}
	got, err = s.ClaimDeliveries(ctx, lease, lease.Add(time.Hour), 10)
	must(t, err)
	if ids := deliveryIDs(got); !sameSet(ids, []string{first.ID, second.ID}) {
		t.Fatalf("claimed after the lease %v, want both again", ids)
	}

	// first: attempted, to be retried. second: its outcome claimed at
	// attempt count 1 is stale. later: put back unattempted, due at once.
	at := lease.Add(time.Second)
	retry := at.Add(time.Minute)
	f := *first
	f.Record(agentphone.Attempt{Status: 503, Retryable: true}, at, &retry)
	sc := *second
	sc.Record(agentphone.Attempt{Status: 200}, at, nil)
	stale, err := s.RecordDeliveries(ctx, []agentphone.DeliveryUpdate{
		{Delivery: &f, ClaimedAttempts: 0, DueAt: &retry},
		{Delivery: &sc, ClaimedAttempts: 1},
		{Delivery: later, ClaimedAttempts: 1, DueAt: &at},
	})
	must(t, err)
	if stale != 1 {
		t.Errorf("RecordDeliveries: %d stale, want 1", stale)
	}
	if d, err := s.GetDelivery(ctx, acct.ID, first.ID); err != nil || d.AttemptCount != 1 || d.Status != agentphone.DeliveryPending ||
		derefInt(d.HTTPStatus) != 503 || d.NextRetryAt == nil || !d.NextRetryAt.Equal(retry) {
		t.Errorf("first after its attempt: %+v, %v", d, err)
	}
	if d, err := s.GetDelivery(ctx, acct.ID, second.ID); err != nil || d.AttemptCount != 0 || d.Status != agentphone.DeliveryPending {
		t.Errorf("second after a stale outcome: %+v, %v; want unchanged", d, err)
	}
	got, err = s.ClaimDeliveries(ctx, at, at.Add(time.Hour), 10)
	must(t, err)
	if ids := deliveryIDs(got); !slices.Equal(ids, []string{later.ID}) {
		t.Fatalf("claimed %v, want %s, put back due at once", ids, later.ID)
	}
	got, err = s.ClaimDeliveries(ctx, retry, retry.Add(time.Minute), 10)
	must(t, err)
	if ids := deliveryIDs(got); !slices.Equal(ids, []string{first.ID}) {
		t.Fatalf("claimed at the retry %v, want %s", ids, first.ID)
	}
	// Finished: never claimed again.
	f2 := *got[0]
	f2.Record(agentphone.Attempt{Status: 200}, retry, nil)
	stale, err = s.RecordDeliveries(ctx, []agentphone.DeliveryUpdate{{Delivery: &f2, ClaimedAttempts: 1}})
	must(t, err)
	if stale != 0 {
		t.Errorf("RecordDeliveries: %d stale, want 0", stale)
	}
	got, err = s.ClaimDeliveries(ctx, retry.Add(time.Hour), retry.Add(2*time.Hour), 10)
	must(t, err)
	if ids := deliveryIDs(got); slices.Contains(ids, first.ID) || slices.Contains(ids, test.ID) || slices.Contains(ids, done.ID) {
		t.Fatalf("claimed %v: finished or test deliveries among them", ids)
	}
}

// testDeliveryClaimRace: claims running at once hand out each due delivery
// once.
func testDeliveryClaimRace(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	const n = 200
	for range n {
		newDelivery(t, s, deliveryValue(acct.ID, nil))
	}
	now := agentphone.Now()
	claimed := make(chan []*agentphone.Delivery, 8)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var mine []*agentphone.Delivery
			for {
				got, err := s.ClaimDeliveries(ctx, now, now.Add(time.Hour), 7)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					claimed <- mine
					return
				}
				mine = append(mine, got...)
			}
		}()
	}
	seen := map[string]int{}
	for range 8 {
		select {
		case err := <-errs:
			t.Fatal(err)
		case mine := <-claimed:
			for _, d := range mine {
				seen[d.ID]++
			}
		}
	}
	if len(seen) != n {
		t.Errorf("%d deliveries claimed, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("delivery %s claimed %d times", id, k)
		}
	}
}

func deliveryIDs(ds []*agentphone.Delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
