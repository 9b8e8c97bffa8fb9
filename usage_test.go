package agentphone_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
)

func TestPeriodBounds(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	tokyo := time.FixedZone("JST", 9*3600)
	utc := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	for _, tt := range []struct {
		period     string
		now        time.Time
		loc        *time.Location
		start, end time.Time
	}{
		// Wednesday 2025-03-12 in UTC: the week of Monday 10th.
		{"week", utc(2025, 3, 12, 15), time.UTC, utc(2025, 3, 10, 0), utc(2025, 3, 17, 0)},
		// A Monday at midnight starts its own week; a Sunday ends the previous.
		{"week", utc(2025, 3, 10, 0), time.UTC, utc(2025, 3, 10, 0), utc(2025, 3, 17, 0)},
		{"week", utc(2025, 3, 16, 23), time.UTC, utc(2025, 3, 10, 0), utc(2025, 3, 17, 0)},
		// New York's week of 10 March 2025 started before the switch to
		// daylight time (9 March, 02:00): 10 March 00:00 EDT is 04:00 UTC.
		{"week", utc(2025, 3, 12, 15), ny, utc(2025, 3, 10, 4), utc(2025, 3, 17, 4)},
		// Monday 01:00 UTC is still Sunday in New York.
		{"week", utc(2025, 3, 17, 1), ny, utc(2025, 3, 10, 4), utc(2025, 3, 17, 4)},
		{"month", utc(2025, 3, 12, 15), time.UTC, utc(2025, 3, 1, 0), utc(2025, 4, 1, 0)},
		// March in New York starts in standard time and ends in daylight time.
		{"month", utc(2025, 3, 12, 15), ny, utc(2025, 3, 1, 5), utc(2025, 4, 1, 4)},
		// 31 March 20:00 UTC is already April in Tokyo.
		{"month", utc(2025, 3, 31, 20), tokyo, utc(2025, 3, 31, 15), utc(2025, 4, 30, 15)},
		{"year", utc(2025, 3, 12, 15), time.UTC, utc(2025, 1, 1, 0), utc(2026, 1, 1, 0)},
		{"year", utc(2025, 12, 31, 20), tokyo, utc(2025, 12, 31, 15), utc(2026, 12, 31, 15)},
	} {
		start, end := agentphone.PeriodBounds(tt.period, tt.now, tt.loc)
		if !start.Equal(tt.start) || !end.Equal(tt.end) || start.Location() != time.UTC || end.Location() != time.UTC {
			t.Errorf("PeriodBounds(%s, %v, %v) = %v, %v; want %v, %v", tt.period, tt.now, tt.loc, start, end, tt.start, tt.end)
		}
	}
}

// TestUsageService runs the service on SQLite at a fixed time: series fill
// the days and months without usage, the summary counts windows back from
// now and bounds the current UTC month, the number limit and what remains.
func TestUsageService(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := storetest.OpenSQLite(t)
	acct := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
	if err := store.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	n := &agentphone.Number{
		ID: agentphone.NewID(agentphone.PrefixNumber), AccountID: acct.ID, PhoneNumber: "+15555550100",
		Country: "US", Type: agentphone.NumberTypeSMS, Provider: "sandbox", ProviderRef: "r", CreatedAt: agentphone.Now(),
	}
	if err := store.CreateNumber(ctx, n, 0); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{
		time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC),  // 46 days ago, January
		time.Date(2025, 2, 28, 23, 0, 0, 0, time.UTC), // 2 days ago
		now.Add(-time.Hour),                           // today
		now.Add(-30 * time.Minute),                    // today
	} {
		m := &agentphone.Message{
			ID: agentphone.NewID(agentphone.PrefixMessage), AccountID: acct.ID, NumberID: n.ID,
			Direction: agentphone.DirectionOutbound, From: n.PhoneNumber, To: "+15551230000", Body: "x",
			MediaURLs: []string{}, Channel: agentphone.ChannelSMS, Status: agentphone.MessageSent, CreatedAt: at, UpdatedAt: at,
		}
		if _, err := store.CreateOutboundMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []struct {
		status string
		test   bool
		at     time.Time
	}{
		{agentphone.DeliverySuccess, false, now.Add(-2 * time.Hour)},
		{agentphone.DeliveryFailed, false, time.Date(2025, 2, 28, 1, 0, 0, 0, time.UTC)},
		{agentphone.DeliverySuccess, true, now.Add(-3 * time.Hour)},
		{agentphone.DeliveryPending, false, now.Add(-time.Minute)},
	} {
		err := store.CreateDelivery(ctx, &agentphone.Delivery{
			ID: agentphone.NewID(agentphone.PrefixDelivery), AccountID: acct.ID, EventType: agentphone.EventMessage,
			Payload: []byte(`{}`), Status: d.status, Test: d.test, CreatedAt: d.at,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	svc := &agentphone.UsageService{Store: store, MaxNumbersPerAccount: 3, Now: func() time.Time { return now }}
	sc := agentphone.Scope{KeyAccountID: acct.ID, AccountID: acct.ID}
	day := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, time.UTC) }

	daily, err := svc.Daily(ctx, sc, 4)
	if err != nil {
		t.Fatal(err)
	}
	wantDaily := []agentphone.UsagePeriod{
		{Start: day(2, 27)},
		{Start: day(2, 28), Messages: 1, Webhooks: 1},
		{Start: day(3, 1)},
		{Start: day(3, 2), Messages: 2, Webhooks: 3},
	}
	if !reflect.DeepEqual(daily, wantDaily) {
		t.Errorf("Daily =\n%+v\nwant\n%+v", daily, wantDaily)
	}
	monthly, err := svc.Monthly(ctx, sc, 4)
	if err != nil {
		t.Fatal(err)
	}
	wantMonthly := []agentphone.UsagePeriod{
		{Start: time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC)},
		{Start: day(1, 1), Messages: 1},
		{Start: day(2, 1), Messages: 1, Webhooks: 1},
		{Start: day(3, 1), Messages: 2, Webhooks: 3},
	}
	if !reflect.DeepEqual(monthly, wantMonthly) {
		t.Errorf("Monthly =\n%+v\nwant\n%+v", monthly, wantMonthly)
	}

	sum, err := svc.Summary(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	want := &agentphone.UsageSummary{
		PlanName: "self-hosted", Limits: agentphone.UsageLimits{Numbers: 3},
		NumbersUsed: 1, NumbersLimit: 3, NumbersRemaining: 2,
		TotalMessages: 4, MessagesLast24h: 2, MessagesLast7d: 3, MessagesLast30d: 3,
		TotalWebhookDeliveries: 4, SuccessfulWebhookDeliveries: 2, FailedWebhookDeliveries: 1,
		PeriodStart: day(3, 1), PeriodEnd: day(4, 1),
	}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("Summary =\n%+v\nwant\n%+v", sum, want)
	}
	// No cap: limit and remaining 0.
	svc.MaxNumbersPerAccount = 0
	sum, err = svc.Summary(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if sum.NumbersLimit != 0 || sum.NumbersRemaining != 0 || sum.Limits.Numbers != 0 || sum.NumbersUsed != 1 {
		t.Errorf("Summary without a cap: %+v", sum)
	}
}
