package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
)

// usageEvent is a message (or a lone delivery) placed by the usage tests.
type usageEvent struct {
	at       time.Time
	message  bool
	delivery string // status of its delivery; "" for none
	agentID  *string
}

// setupUsage creates, in e's account, agent Alpha with number n1, number n2
// without agent and released number n3 without messages, and stores
// messages and deliveries relative to now. Returns Alpha's id, the numbers'
// JSON and the events.
func setupUsage(t *testing.T, e *env, now time.Time) (string, []map[string]any, []usageEvent) {
	t.Helper()
	ctx := t.Context()
	alpha := e.createAgent(map[string]any{"name": "Alpha"})["id"].(string)
	n1 := e.createNumber(map[string]any{"agentId": alpha})
	n2 := e.createNumber(map[string]any{})
	n3 := e.createNumber(map[string]any{})
	e.do("DELETE", "/v1/numbers/"+n3["id"].(string), nil).want(200)

	var events []usageEvent
	msg := func(numberJSON map[string]any, inbound bool, at time.Time) {
		n, err := e.store.GetNumber(ctx, e.accountID, numberJSON["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		m := &agentphone.Message{
			ID: agentphone.NewID(agentphone.PrefixMessage), AccountID: n.AccountID, NumberID: n.ID, AgentID: n.AgentID,
			Direction: agentphone.DirectionOutbound, From: n.PhoneNumber, To: "+15551230000", Body: "x",
			MediaURLs: []string{}, Channel: agentphone.ChannelSMS, Status: agentphone.MessageSent, CreatedAt: at, UpdatedAt: at,
		}
		ev := usageEvent{at: at, message: true, agentID: n.AgentID}
		if inbound {
			m.Direction, m.From, m.To, m.Status = agentphone.DirectionInbound, "+15551230000", n.PhoneNumber, agentphone.MessageReceived
			ev.delivery = agentphone.DeliverySuccess
			_, err = e.store.ReceiveMessage(ctx, m, 0, func(*agentphone.Conversation, []*agentphone.Message) (*agentphone.Delivery, error) {
				return &agentphone.Delivery{
					ID: agentphone.NewID(agentphone.PrefixDelivery), AccountID: n.AccountID, AgentID: n.AgentID,
					EventType: agentphone.EventMessage, MessageID: &m.ID, Payload: []byte(`{}`),
					Status: agentphone.DeliverySuccess, CreatedAt: at,
				}, nil
			})
		} else {
			_, err = e.store.CreateOutboundMessage(ctx, m)
		}
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	now = now.Truncate(time.Millisecond)
	// In order of time per number (a message older than its number's
	// latest would be moved forward).
	msg(n1, false, now.Add(-40*24*time.Hour))
	msg(n1, true, now.Add(-3*24*time.Hour))
	msg(n1, true, now.Add(-time.Hour))
	msg(n2, false, now.Add(-10*24*time.Hour))
	msg(n2, true, now.Add(-2*time.Hour))
	failedAt := now.Add(-5 * time.Hour)
	err := e.store.CreateDelivery(ctx, &agentphone.Delivery{
		ID: agentphone.NewID(agentphone.PrefixDelivery), AccountID: e.accountID, EventType: agentphone.EventMessage,
		Payload: []byte(`{}`), Status: agentphone.DeliveryFailed, CreatedAt: failedAt,
	})
	if err != nil {
		t.Fatal(err)
	}
	events = append(events, usageEvent{at: failedAt, delivery: agentphone.DeliveryFailed})
	return alpha, []map[string]any{n1, n2, n3}, events
}

func TestUsage(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, func(o *envOptions) { o.maxNums = 5 })
		now := time.Now().UTC()
		setupUsage(t, e, now)
		monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		wantObject(t, e.do("GET", "/v1/usage", nil).want(200).obj(), map[string]any{
			"plan": map[string]any{"name": "self-hosted", "limits": map[string]any{
				"numbers": 5, "messagesPerMonth": 0, "voiceMinutesPerMonth": 0, "maxCallDurationMinutes": 0, "concurrentCalls": 0,
			}},
			"numbers": map[string]any{"used": 2, "limit": 5, "remaining": 3},
			"stats": map[string]any{
				"totalMessages": 5, "messagesLast24h": 2, "messagesLast7d": 3, "messagesLast30d": 4,
				"totalCalls": 0, "callsLast24h": 0, "callsLast7d": 0, "callsLast30d": 0,
				"totalWebhookDeliveries": 4, "successfulWebhookDeliveries": 3, "failedWebhookDeliveries": 1,
			},
			"periodStart": monthStart.Format(time.RFC3339),
			"periodEnd":   monthStart.AddDate(0, 1, 0).Format(time.RFC3339),
		})
		if s := monthStart.Format(time.RFC3339); s[len(s)-1] != 'Z' || len(s) != len("2025-01-01T00:00:00Z") {
			t.Errorf("periodStart %s", s)
		}

		// Another (sub-)account sees nothing; no cap configured shows 0.
		sub := e.createSub("sub")
		wantObject(t, e.do("GET", "/v1/usage", nil, withSub(sub)).want(200).obj()["stats"].(map[string]any), map[string]any{
			"totalMessages": 0, "messagesLast24h": 0, "messagesLast7d": 0, "messagesLast30d": 0,
			"totalCalls": 0, "callsLast24h": 0, "callsLast7d": 0, "callsLast30d": 0,
			"totalWebhookDeliveries": 0, "successfulWebhookDeliveries": 0, "failedWebhookDeliveries": 0,
		})
		e0 := newEnv(t, b)
		wantObject(t, e0.do("GET", "/v1/usage", nil).want(200).obj()["numbers"].(map[string]any),
			map[string]any{"used": 0, "limit": 0, "remaining": 0})
	})
}

// countIn counts the events' messages and deliveries in [from, to).
func countIn(events []usageEvent, from, to time.Time) (messages, webhooks int) {
	for _, ev := range events {
		if ev.at.Before(from) || !ev.at.Before(to) {
			continue
		}
		if ev.message {
			messages++
		}
		if ev.delivery != "" {
			webhooks++
		}
	}
	return messages, webhooks
}

func TestUsage_Series(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		now := time.Now().UTC()
		_, _, events := setupUsage(t, e, now)
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		for _, days := range []int{1, 5, 45, 365} {
			got := e.do("GET", fmt.Sprintf("/v1/usage/daily?days=%d", days), nil).want(200).obj()
			want := map[string]any{"days": days}
			var data []any
			for i := days - 1; i >= 0; i-- {
				d := today.AddDate(0, 0, -i)
				m, w := countIn(events, d, d.AddDate(0, 0, 1))
				data = append(data, map[string]any{"date": d.Format("2006-01-02"), "messages": m, "calls": 0, "webhooks": w, "voiceMinutes": 0})
			}
			want["data"] = data
			wantObject(t, got, want)
		}
		// The default: 30 days, which hold 4 of the 5 messages.
		got := e.do("GET", "/v1/usage/daily", nil).want(200).obj()
		data := got["data"].([]any)
		if got["days"] != 30.0 || len(data) != 30 || data[29].(map[string]any)["date"] != today.Format("2006-01-02") {
			t.Fatalf("default daily: %s", got)
		}
		total := 0
		for _, d := range data {
			total += int(d.(map[string]any)["messages"].(float64))
		}
		if m, _ := countIn(events, today.AddDate(0, 0, -29), today.AddDate(0, 0, 1)); total != m || m != 4 {
			t.Errorf("default daily: %d messages, want %d (4)", total, m)
		}

		month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		for _, months := range []int{1, 3, 24} {
			got := e.do("GET", fmt.Sprintf("/v1/usage/monthly?months=%d", months), nil).want(200).obj()
			want := map[string]any{"months": months}
			var data []any
			for i := months - 1; i >= 0; i-- {
				d := month.AddDate(0, -i, 0)
				m, w := countIn(events, d, d.AddDate(0, 1, 0))
				data = append(data, map[string]any{"month": d.Format("2006-01"), "messages": m, "calls": 0, "webhooks": w, "voiceMinutes": 0})
			}
			want["data"] = data
			wantObject(t, got, want)
		}
		got = e.do("GET", "/v1/usage/monthly", nil).want(200).obj()
		if got["months"] != 6.0 || len(got["data"].([]any)) != 6 {
			t.Errorf("default monthly: %s", got)
		}

		e.do("GET", "/v1/usage/daily?days=0", nil).wantErrs(qe("greater_than_equal", "days"))
		e.do("GET", "/v1/usage/daily?days=366", nil).wantErrs(qe("less_than_equal", "days"))
		e.do("GET", "/v1/usage/daily?days=x", nil).wantErrs(qe("int_parsing", "days"))
		e.do("GET", "/v1/usage/monthly?months=0", nil).wantErrs(qe("greater_than_equal", "months"))
		e.do("GET", "/v1/usage/monthly?months=25", nil).wantErrs(qe("less_than_equal", "months"))
		e.do("GET", "/v1/usage/daily", nil, noKey()).want(http.StatusUnauthorized)
	})
}

func TestUsage_ByNumber(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		alpha, ns, _ := setupUsage(t, e, time.Now().UTC())
		// Newest first; the released n3 has no messages and is left out.
		got := e.do("GET", "/v1/usage/by-number", nil).want(200).obj()
		wantObject(t, got, map[string]any{"data": []any{
			map[string]any{"numberId": ns[1]["id"], "phoneNumber": ns[1]["phoneNumber"], "country": "US", "status": "active",
				"agentId": nil, "agentName": nil, "messages": 2, "calls": 0},
			map[string]any{"numberId": ns[0]["id"], "phoneNumber": ns[0]["phoneNumber"], "country": "US", "status": "active",
				"agentId": alpha, "agentName": "Alpha", "messages": 3, "calls": 0},
		}})
		// Released with messages: still listed.
		e.do("DELETE", "/v1/numbers/"+ns[1]["id"].(string), nil).want(200)
		data := e.do("GET", "/v1/usage/by-number", nil).want(200).obj()["data"].([]any)
		if len(data) != 2 || data[0].(map[string]any)["status"] != "released" {
			t.Errorf("after release: %v", data)
		}
		wantObject(t, e.do("GET", "/v1/usage/by-number", nil, withSub(e.createSub("s"))).want(200).obj(),
			map[string]any{"data": []any{}})
	})
}

func TestUsage_ByAgent(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		now := time.Now().UTC()
		alpha, _, events := setupUsage(t, e, now)
		for _, tt := range []struct{ query, period, tz string }{
			{"period=week", "week", "UTC"},
			{"period=month&tz=", "month", "UTC"},
			{"period=year&tz=UTC", "year", "UTC"},
			{"period=month&tz=Asia/Tokyo", "month", "Asia/Tokyo"},
			{"period=week&tz=America/New_York", "week", "America/New_York"},
		} {
			loc, err := time.LoadLocation(tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			start, end := agentphone.PeriodBounds(tt.period, time.Now(), loc)
			// Independently: the period starts at local midnight.
			if l := start.In(loc); l.Hour() != 0 || l.Minute() != 0 ||
				(tt.period != "week" && l.Day() != 1) || (tt.period == "week" && l.Weekday() != time.Monday) {
				t.Fatalf("%s: start %v", tt.query, l)
			}
			var alphaN, unassigned int
			for _, ev := range events {
				if !ev.message || ev.at.Before(start) || !ev.at.Before(end) {
					continue
				}
				if ev.agentID != nil {
					alphaN++
				} else {
					unassigned++
				}
			}
			type item = map[string]any
			var items []item
			if alphaN > 0 {
				items = append(items, item{"agentId": alpha, "agentName": "Alpha", "messages": alphaN, "calls": 0, "totalSeconds": 0, "isOrphan": false})
			}
			if unassigned > 0 {
				items = append(items, item{"agentId": nil, "agentName": "Unassigned", "messages": unassigned, "calls": 0, "totalSeconds": 0, "isOrphan": false})
			}
			// Alpha, the only agent, then the Unassigned bucket last.
			data := []any{}
			for _, it := range items {
				data = append(data, it)
			}
			wantObject(t, e.do("GET", "/v1/usage/by-agent?"+tt.query, nil).want(200).obj(), map[string]any{
				"data": data, "period": tt.period,
				"periodStart": start.UTC().Format(time.RFC3339), "periodEnd": end.UTC().Format(time.RFC3339),
			})
		}
		// The last hour's messages are in every period containing now...
		// unless now is within the first hours of a period: check the year,
		// whose first two hours are rare enough to accept.
		got := e.do("GET", "/v1/usage/by-agent?period=year", nil).want(200).obj()
		if len(got["data"].([]any)) == 0 && now.YearDay() > 1 {
			t.Errorf("year: no data: %v", got)
		}

		e.do("GET", "/v1/usage/by-agent", nil).wantErrs(qe("missing", "period"))
		e.do("GET", "/v1/usage/by-agent?period=day", nil).wantErrs(qe("literal_error", "period"))
		e.do("GET", "/v1/usage/by-agent?period=week&tz=Mars/Base", nil).wantErrs(qe("value_error", "tz"))
		e.do("GET", "/v1/usage/by-agent?period=week&tz=Local", nil).wantErrs(qe("value_error", "tz"))
		e.do("GET", "/v1/usage/by-agent?tz=Nowhere", nil).wantErrs(qe("missing", "period"), qe("value_error", "tz"))
		body := e.do("GET", "/v1/usage/by-agent?period=week&tz=Mars/Base", nil).Body
		var ve struct {
			Detail []struct{ Msg string }
		}
		if json.Unmarshal(body, &ve) != nil || len(ve.Detail) != 1 || ve.Detail[0].Msg != "Value error, Unknown time zone: Mars/Base" {
			t.Errorf("tz error: %s", body)
		}
	})
}

// TestUsage_OpenAPI: the documented usage schemas list exactly the keys
// the server emits, all required.
func TestUsage_OpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Backend{Name: "sqlite", Open: storetest.OpenSQLite})
	setupUsage(t, e, time.Now().UTC())
	schemas := e.schemas()
	check := func(name string, obj map[string]any) {
		t.Helper()
		checkSchema(t, schemas, name, obj)
	}
	first := func(o map[string]any) map[string]any { return o["data"].([]any)[0].(map[string]any) }
	u := e.do("GET", "/v1/usage", nil).want(200).obj()
	check("UsageResponse", u)
	check("UsagePlan", u["plan"].(map[string]any))
	check("UsagePlanLimits", u["plan"].(map[string]any)["limits"].(map[string]any))
	check("UsageNumbers", u["numbers"].(map[string]any))
	check("UsageStats", u["stats"].(map[string]any))
	d := e.do("GET", "/v1/usage/daily", nil).want(200).obj()
	check("DailyUsageResponse", d)
	check("DailyUsageItem", first(d))
	m := e.do("GET", "/v1/usage/monthly", nil).want(200).obj()
	check("MonthlyUsageResponse", m)
	check("MonthlyUsageItem", first(m))
	n := e.do("GET", "/v1/usage/by-number", nil).want(200).obj()
	check("UsageByNumberResponse", n)
	check("NumberUsageItem", first(n))
	a := e.do("GET", "/v1/usage/by-agent?period=year", nil).want(200).obj()
	check("UsageByAgentResponse", a)
	if len(a["data"].([]any)) > 0 {
		check("AgentUsageItem", first(a))
	}
}
