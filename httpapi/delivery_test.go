package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
	"github.com/agentphone/agentphone/webhook"
)

// receiver is a local webhook receiver that records what it is sent and
// answers every delivery with status and answer.
type receiver struct {
	t   testing.TB
	URL string
	got chan received
}

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
}

func newReceiver(t testing.TB, status int, answer string) *receiver {
	t.Helper()
	rc := &receiver{t: t, got: make(chan received, 32)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost {
			status = http.StatusMethodNotAllowed
		}
		rc.got <- received{Header: r.Header.Clone(), Body: body}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + "/hook"
	return rc
}

// next returns the request the receiver got. A test delivery is synchronous,
// so it has arrived by the time the API answered.
func (rc *receiver) next() received {
	rc.t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(5 * time.Second):
		rc.t.Fatal("the receiver got no delivery")
		return received{}
	}
}

// none fails the test if the receiver got anything.
func (rc *receiver) none() {
	rc.t.Helper()
	select {
	case r := <-rc.got:
		rc.t.Fatalf("the receiver got an unexpected delivery: %s", r.Body)
	default:
	}
}

// envelope verifies a delivery as a receiver should (signature with secret,
// headers) and returns its decoded envelope.
func (r received) envelope(t testing.TB, secret, deliveryID string) map[string]any {
	t.Helper()
	if err := webhook.Verify(secret, r.Header, r.Body, time.Now()); err != nil {
		t.Fatalf("signature: %v", err)
	}
	for h, want := range map[string]string{
		"X-Webhook-ID": deliveryID, "X-Webhook-Event": "agent.message", "Content-Type": "application/json",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	var env map[string]any
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("payload: %v: %s", err, r.Body)
	}
	return env
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// wantTestEnvelope checks the sample agent.message of a test delivery
// (spec §15.4, §15.5) and that it names agentID.
func wantTestEnvelope(t testing.TB, env map[string]any, agentID any) map[string]any {
	t.Helper()
	if got, want := sortedKeys(env), []string{"agentId", "channel", "conversationState", "data", "event", "recentHistory", "timestamp"}; !slices.Equal(got, want) {
		t.Fatalf("envelope keys %v, want %v", got, want)
	}
	if env["event"] != "agent.message" || env["channel"] != "sms" || env["conversationState"] != nil ||
		!slices.Equal(env["recentHistory"].([]any), []any{}) {
		t.Errorf("envelope %v", env)
	}
	if env["agentId"] != agentID {
		t.Errorf("agentId = %v, want %v", env["agentId"], agentID)
	}
	if _, err := time.Parse(time.RFC3339, env["timestamp"].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	data := env["data"].(map[string]any)
	want := []string{"contact", "conversationId", "direction", "from", "mediaUrl", "mediaUrls", "message", "messageId", "numberId", "receivedAt", "to"}
	if got := sortedKeys(data); !slices.Equal(got, want) {
		t.Fatalf("data keys %v, want %v", got, want)
	}
	if data["direction"] != "inbound" || data["messageId"] == "" || data["message"] == "" ||
		!slices.Equal(data["mediaUrls"].([]any), []any{}) {
		t.Errorf("data %v", data)
	}
	return data
}

// wantTestResult checks the answer of a test endpoint and returns the
// delivery id.
func wantTestResult(t testing.TB, got map[string]any, ok bool, status any, errMsg any) string {
	t.Helper()
	ms, isNum := got["responseMs"].(float64)
	if !isNum || ms < 0 || ms != float64(int64(ms)) {
		t.Errorf("responseMs = %#v, want a non-negative integer", got["responseMs"])
	}
	wantObject(t, got, map[string]any{
		"success": ok, "httpStatus": status, "errorMessage": errMsg, "deliveryId": idRE("dlv_"),
		"statusCode": status, "responseMs": got["responseMs"],
	})
	return got["deliveryId"].(string)
}

// findDelivery returns the item of list with id, failing when absent.
func findDelivery(t testing.TB, list []any, id string) map[string]any {
	t.Helper()
	for _, it := range list {
		if d := it.(map[string]any); d["id"] == id {
			return d
		}
	}
	t.Fatalf("delivery %s not in %v", id, list)
	return nil
}

var testMsgRE = regexp.MustCompile(`^msg_test_[0-9A-Za-z]+$`)

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func TestWebhookTest_Project(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		first := e.createAgent(map[string]any{"name": "First"})["id"].(string)
		second := e.createAgent(map[string]any{"name": "Second"})["id"].(string)
		num := e.createNumber(map[string]any{"agentId": second})

		e.do("POST", "/v1/webhooks/test", nil).wantDetail(404, "Webhook not found")
		e.do("POST", "/v1/webhooks/test?agentId=agt_nope", nil).wantDetail(404, "Webhook not found")

		rc := newReceiver(t, http.StatusOK, "thanks")
		hook := e.do("POST", "/v1/webhooks", map[string]any{"url": rc.URL}).want(200).obj()
		secret := hook["secret"].(string)

		// No body, as the SDK sends it: the account's first agent.
		id := wantTestResult(t, e.do("POST", "/v1/webhooks/test", nil).want(200).obj(), true, 200, nil)
		data := wantTestEnvelope(t, rc.next().envelope(t, secret, id), first)
		if data["numberId"] != nil {
			t.Errorf("the first agent has no number, numberId = %v", data["numberId"])
		}

		// agentId in the query (the SDK), in the body (the MCP server); the
		// query wins. The payload shows the agent's number.
		for _, c := range []struct {
			name  string
			query string
			body  any
			want  string
		}{
			{"query", "?agentId=" + second, nil, second},
			{"body", "", map[string]any{"agentId": second}, second},
			{"both", "?agentId=" + first, map[string]any{"agentId": second}, first},
			{"null body agentId", "", map[string]any{"agentId": nil}, first},
			{"empty body", "", raw(""), first},
			{"empty object", "", map[string]any{}, first},
			{"blank query", "?agentId=", nil, first},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := e.do("POST", "/v1/webhooks/test"+c.query, c.body)
				r.t = t
				id := wantTestResult(t, r.want(200).obj(), true, 200, nil)
				data := wantTestEnvelope(t, rc.next().envelope(t, secret, id), c.want)
				if c.want == second && (data["numberId"] != num["id"] || data["to"] != num["phoneNumber"]) {
					t.Errorf("data %v does not show the agent's number %v", data, num)
				}
			})
		}

		// Errors: an unknown agent, a bad body. Nothing is sent.
		e.do("POST", "/v1/webhooks/test?agentId=agt_nope", nil).wantDetail(404, "Agent not found")
		e.do("POST", "/v1/webhooks/test", map[string]any{"agentId": "agt_nope"}).wantDetail(404, "Agent not found")
		e.do("POST", "/v1/webhooks/test", map[string]any{"agentId": 5}).wantErrs(fe("string_type", "agentId"))
		e.do("POST", "/v1/webhooks/test", raw("{")).wantErrs(fieldErr{`["body",1]`, "json_invalid"})
		e.do("POST", "/v1/webhooks/test", []int{1}).wantErrs(fieldErr{`["body"]`, "model_attributes_type"})
		rc.none()

		// The first test delivery is in the log, successful.
		log := e.do("GET", "/v1/webhooks/deliveries", nil).want(200).obj()
		if log["total"] != 8.0 {
			t.Fatalf("total %v, want the 8 test deliveries", log["total"])
		}
		got := findDelivery(t, log["items"].([]any), id)
		wantObject(t, got, map[string]any{
			"id": id, "messageId": testMsgRE, "eventType": "agent.message", "channel": "sms",
			"status": "success", "httpStatus": 200, "errorMessage": nil, "responseBody": "thanks", "attemptCount": 1,
			"lastAttemptAt": timeRE, "nextRetryAt": nil, "createdAt": timeRE, "agentId": first,
			"webhookId": hook["id"], "test": true,
		})
		if got["messageId"] != data["messageId"] {
			t.Errorf("messageId %v, payload has %v", got["messageId"], data["messageId"])
		}
	})
}

func TestWebhookTest_Agent(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		agent := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		other := e.createAgent(map[string]any{"name": "B"})["id"].(string)
		path := "/v1/agents/" + agent + "/webhook/test"

		e.do("POST", "/v1/agents/agt_nope/webhook/test", nil).wantDetail(404, "Agent not found")
		// A project webhook is not the agent's.
		project := newReceiver(t, http.StatusOK, "")
		e.do("POST", "/v1/webhooks", map[string]any{"url": project.URL}).want(200)
		e.do("POST", path, nil).wantDetail(404, "Webhook not found")

		// The receiver fails: still a 200 of ours, with its outcome.
		rc := newReceiver(t, http.StatusInternalServerError, "boom")
		hook := e.do("POST", "/v1/agents/"+agent+"/webhook", map[string]any{"url": rc.URL}).want(200).obj()
		id := wantTestResult(t, e.do("POST", path, nil).want(200).obj(), false, 500, "HTTP 500")
		// Signed with the agent webhook's secret; names the agent.
		wantTestEnvelope(t, rc.next().envelope(t, hook["secret"].(string), id), agent)
		project.none()

		// Logged as failed after its one attempt, never retried.
		want := map[string]any{
			"id": id, "messageId": testMsgRE, "eventType": "agent.message", "channel": "sms",
			"status": "failed", "httpStatus": 500, "errorMessage": "HTTP 500", "responseBody": "boom",
			"attemptCount": 1, "lastAttemptAt": timeRE, "nextRetryAt": nil, "createdAt": timeRE,
			"agentId": agent, "webhookId": hook["id"], "test": true,
		}
		log := e.do("GET", "/v1/webhooks/deliveries", nil).want(200).obj()
		wantObject(t, log, map[string]any{"items": log["items"], "total": 1, "offset": 0, "limit": 50})
		wantObject(t, findDelivery(t, log["items"].([]any), id), want)
		agentLog := e.do("GET", "/v1/agents/"+agent+"/webhook/deliveries", nil).want(200)
		var items []map[string]any
		if err := json.Unmarshal(agentLog.Body, &items); err != nil || len(items) != 1 {
			t.Fatalf("agent deliveries: %s", agentLog.Body)
		}
		wantObject(t, items[0], want)
		if r := e.do("GET", "/v1/agents/"+other+"/webhook/deliveries", nil).want(200); string(r.Body) != "[]" {
			t.Errorf("the other agent's deliveries: %s", r.Body)
		}

		// No answer at all: the receiver is gone.
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		e.do("POST", "/v1/agents/"+agent+"/webhook", map[string]any{"url": gone.URL}).want(200)
		r := e.do("POST", path, nil).want(200).obj()
		if msg, _ := r["errorMessage"].(string); msg == "" {
			t.Errorf("no error message: %v", r)
		}
		id = wantTestResult(t, r, false, nil, r["errorMessage"])
		got := findDelivery(t, e.do("GET", "/v1/webhooks/deliveries", nil).want(200).obj()["items"].([]any), id)
		wantObject(t, got, with(want, "id", id, "httpStatus", nil, "errorMessage", r["errorMessage"],
			"responseBody", nil, "webhookId", got["webhookId"]))
	})
}

// addDelivery stores a delivery of the account created at, as if one
// attempt had ended with status ("success", "failed", or "pending" with a
// retry due).
func (e *env) addDelivery(accountID string, agentID *string, event, status string, at time.Time) *agentphone.Delivery {
	e.t.Helper()
	channel, msg := agentphone.ChannelSMS, agentphone.NewID("msg_")
	d := &agentphone.Delivery{
		ID: agentphone.NewID(agentphone.PrefixDelivery), AccountID: accountID, AgentID: agentID,
		EventType: event, Channel: &channel, MessageID: &msg, Payload: []byte(`{}`),
		Status: agentphone.DeliveryPending, CreatedAt: at,
	}
	attempted := at.Add(time.Second)
	switch status {
	case agentphone.DeliverySuccess:
		d.Record(agentphone.Attempt{Status: 204}, attempted, nil)
	case agentphone.DeliveryFailed:
		d.Record(agentphone.Attempt{Status: 410, Body: []byte("gone")}, attempted, nil)
	case agentphone.DeliveryPending:
		next := at.Add(time.Minute)
		d.Record(agentphone.Attempt{Status: 503, Retryable: true}, attempted, &next)
	}
	if err := e.store.CreateDelivery(context.Background(), d); err != nil {
		e.t.Fatalf("create delivery: %v", err)
	}
	return d
}

// deliveryJSON is what the API shows of d.
func deliveryJSON(d *agentphone.Delivery) map[string]any {
	opt := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return ts(*t)
	}
	return map[string]any{
		"id": d.ID, "messageId": d.MessageID, "eventType": d.EventType, "channel": d.Channel, "status": d.Status,
		"httpStatus": d.HTTPStatus, "errorMessage": d.ErrorMessage, "responseBody": d.ResponseBody,
		"attemptCount": d.AttemptCount, "lastAttemptAt": opt(d.LastAttemptAt), "nextRetryAt": opt(d.NextRetryAt),
		"createdAt": ts(d.CreatedAt), "agentId": d.AgentID, "webhookId": d.WebhookID, "test": d.Test,
	}
}

// wantDeliveries checks that items are exactly ds, in order.
func wantDeliveries(t testing.TB, items []any, ds ...*agentphone.Delivery) {
	t.Helper()
	if len(items) != len(ds) {
		var ids []any
		for _, it := range items {
			ids = append(ids, it.(map[string]any)["id"])
		}
		t.Fatalf("%d items %v, want %d", len(items), ids, len(ds))
	}
	for i, d := range ds {
		wantObject(t, items[i].(map[string]any), deliveryJSON(d))
	}
}

// array decodes a bare JSON array body.
func (r *resp) array() []any {
	r.t.Helper()
	var a []any
	if err := json.Unmarshal(r.Body, &a); err != nil || a == nil {
		r.t.Fatalf("%s %s: body is not a JSON array: %s", r.method, r.path, r.Body)
	}
	return a
}

func TestDeliveries_List(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		wantObject(t, e.do("GET", "/v1/webhooks/deliveries", nil).want(200).obj(),
			map[string]any{"items": []any{}, "total": 0, "offset": 0, "limit": 50})

		agent := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		other := e.createAgent(map[string]any{"name": "B"})["id"].(string)
		now := agentphone.Now()
		// Newest first: d[0] is the newest.
		d := []*agentphone.Delivery{
			e.addDelivery(e.accountID, &agent, agentphone.EventMessage, agentphone.DeliveryPending, now.Add(-1*time.Minute)),
			e.addDelivery(e.accountID, nil, agentphone.EventMessage, agentphone.DeliverySuccess, now.Add(-30*time.Minute)),
			e.addDelivery(e.accountID, &other, agentphone.EventCallEnded, agentphone.DeliveryFailed, now.Add(-90*time.Minute)),
			e.addDelivery(e.accountID, &agent, agentphone.EventReaction, agentphone.DeliverySuccess, now.Add(-5*time.Hour)),
			e.addDelivery(e.accountID, &agent, agentphone.EventMessage, agentphone.DeliveryFailed, now.Add(-30*time.Hour)),
			e.addDelivery(e.accountID, &other, agentphone.EventMessage, agentphone.DeliverySuccess, now.Add(-200*time.Hour)),
		}

		list := func(query string) map[string]any {
			t.Helper()
			return e.do("GET", "/v1/webhooks/deliveries"+query, nil).want(200).obj()
		}
		page := func(query string, total, offset, limit int, want ...*agentphone.Delivery) {
			t.Helper()
			l := list(query)
			wantObject(t, l, map[string]any{"items": l["items"], "total": total, "offset": offset, "limit": limit})
			wantDeliveries(t, l["items"].([]any), want...)
		}
		page("", 6, 0, 50, d...)
		page("?limit=2", 6, 0, 2, d[0], d[1])
		page("?limit=2&offset=1", 6, 1, 2, d[1], d[2])
		page("?offset=5", 6, 5, 50, d[5])
		page("?offset=6", 6, 6, 50)
		page("?hours=1", 2, 0, 50, d[0], d[1])
		page("?hours=2&limit=1&offset=1", 3, 1, 1, d[1])
		page("?hours=24", 4, 0, 50, d[:4]...)
		page("?hours=", 6, 0, 50, d...) // hours: null in the SDK
		page("?hours=168", 5, 0, 50, d[:5]...)
		page("?limit=100&hours=168&offset=4", 5, 4, 100, d[4])

		// The agent's deliveries: a bare array of its events only.
		agentPath := "/v1/agents/" + agent + "/webhook/deliveries"
		wantDeliveries(t, e.do("GET", agentPath, nil).want(200).array(), d[0], d[3], d[4])
		wantDeliveries(t, e.do("GET", agentPath+"?limit=2", nil).want(200).array(), d[0], d[3])
		wantDeliveries(t, e.do("GET", agentPath+"?hours=24", nil).want(200).array(), d[0], d[3])
		wantDeliveries(t, e.do("GET", agentPath+"?hours=", nil).want(200).array(), d[0], d[3], d[4])
		wantDeliveries(t, e.do("GET", agentPath+"?hours=1&limit=100", nil).want(200).array(), d[0])
		wantDeliveries(t, e.do("GET", "/v1/agents/"+other+"/webhook/deliveries", nil).want(200).array(), d[2], d[5])
		e.do("GET", "/v1/agents/agt_nope/webhook/deliveries", nil).wantDetail(404, "Agent not found")
		// The log outlives the agent, but its per-agent view does not.
		e.do("DELETE", "/v1/agents/"+other, nil).want(200)
		e.do("GET", "/v1/agents/"+other+"/webhook/deliveries", nil).wantDetail(404, "Agent not found")
		if l := list(""); l["total"] != 6.0 {
			t.Errorf("after deleting an agent: total %v", l["total"])
		}
	})
}

func TestDeliveries_Validation(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		agent := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		list, agentList, stats := "/v1/webhooks/deliveries", "/v1/agents/"+agent+"/webhook/deliveries", "/v1/webhooks/deliveries/stats"
		for _, path := range []string{list, agentList} {
			e.do("GET", path+"?limit=0", nil).wantErrs(qe("greater_than_equal", "limit"))
			e.do("GET", path+"?limit=101", nil).wantErrs(qe("less_than_equal", "limit"))
			e.do("GET", path+"?limit=ten", nil).wantErrs(qe("int_parsing", "limit"))
			e.do("GET", path+"?hours=0", nil).wantErrs(qe("greater_than_equal", "hours"))
			e.do("GET", path+"?hours=169", nil).wantErrs(qe("less_than_equal", "hours"))
			e.do("GET", path+"?hours=1.5", nil).wantErrs(qe("int_parsing", "hours"))
			e.do("GET", path+"?hours=%20", nil).want(200) // null: the SDK sends "hours=" for hours: null
			e.do("GET", path+"?limit=100&hours=168", nil).want(200)
		}
		e.do("GET", list+"?offset=-1", nil).wantErrs(qe("greater_than_equal", "offset"))
		e.do("GET", list+"?limit=101&offset=-1&hours=0", nil).
			wantErrs(qe("less_than_equal", "limit"), qe("greater_than_equal", "offset"), qe("greater_than_equal", "hours"))
		// 422 before 404, as FastAPI validates before the handler runs.
		e.do("GET", "/v1/agents/agt_nope/webhook/deliveries?limit=0", nil).wantErrs(qe("greater_than_equal", "limit"))

		e.do("GET", stats+"?hours=0", nil).wantErrs(qe("greater_than_equal", "hours"))
		e.do("GET", stats+"?hours=169", nil).wantErrs(qe("less_than_equal", "hours"))
		e.do("GET", stats+"?hours=day", nil).wantErrs(qe("int_parsing", "hours"))
		e.do("GET", stats+"?hours=", nil).wantErrs(qe("int_parsing", "hours")) // not nullable
		e.do("GET", stats+"?hours=1", nil).want(200)
		e.do("GET", stats+"?hours=168", nil).want(200)
	})
}

func TestDeliveries_Stats(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		zero := map[string]any{"total": 0, "success": 0, "failed": 0, "pending": 0, "successRate": 0, "byEventType": map[string]any{}, "byHour": []any{}}
		wantObject(t, e.do("GET", "/v1/webhooks/deliveries/stats", nil).want(200).obj(), zero)
		wantObject(t, e.do("GET", "/v1/webhooks/deliveries/all-time", nil).want(200).obj(),
			map[string]any{"total": 0, "success": 0, "failed": 0, "successRate": 0})

		agent := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		// Whole hours (UTC) a few hours back, so that the buckets are known.
		h2 := agentphone.Now().Truncate(time.Hour).Add(-2 * time.Hour)
		h5 := h2.Add(-3 * time.Hour)
		h48 := h2.Add(-46 * time.Hour)
		add := func(event, status string, at time.Time) {
			e.addDelivery(e.accountID, &agent, event, status, at)
		}
		add(agentphone.EventMessage, agentphone.DeliverySuccess, h2.Add(time.Minute))
		add(agentphone.EventMessage, agentphone.DeliverySuccess, h2.Add(59*time.Minute))
		add(agentphone.EventMessage, agentphone.DeliveryFailed, h2.Add(30*time.Minute))
		add(agentphone.EventCallEnded, agentphone.DeliveryPending, h2.Add(10*time.Minute))
		add(agentphone.EventMessage, agentphone.DeliverySuccess, h5)
		add(agentphone.EventReaction, agentphone.DeliverySuccess, h5.Add(20*time.Minute))
		add(agentphone.EventMessage, agentphone.DeliveryFailed, h48)
		add(agentphone.EventMessage, agentphone.DeliveryFailed, h48.Add(time.Second))
		// Another account's deliveries count for it only.
		otherID, otherKey := e.newAccount("globex")
		e.addDelivery(otherID, nil, agentphone.EventMessage, agentphone.DeliverySuccess, h2)

		// Default window: the last 24 hours.
		day := map[string]any{
			"total": 6, "success": 4, "failed": 1, "pending": 1, "successRate": 80,
			"byEventType": map[string]any{
				"agent.message":    map[string]any{"success": 3, "failed": 1},
				"agent.call_ended": map[string]any{"pending": 1},
				"agent.reaction":   map[string]any{"success": 1},
			},
			"byHour": []any{
				map[string]any{"hour": ts(h5), "total": 2, "success": 2, "failed": 0, "pending": 0},
				map[string]any{"hour": ts(h2), "total": 4, "success": 2, "failed": 1, "pending": 1},
			},
		}
		wantObject(t, e.do("GET", "/v1/webhooks/deliveries/stats", nil).want(200).obj(), day)
		wantObject(t, e.do("GET", "/v1/webhooks/deliveries/stats?hours=24", nil).want(200).obj(), day)
		wantObject(t, e.do("GET", "/v1/webhooks/deliveries/stats?hours=4", nil).want(200).obj(), map[string]any{
			"total": 4, "success": 2, "failed": 1, "pending": 1, "successRate": 200.0 / 3,
			"byEventType": map[string]any{
				"agent.message":    map[string]any{"success": 2, "failed": 1},
				"agent.call_ended": map[string]any{"pending": 1},
			},
			"byHour": day["byHour"].([]any)[1:],
		})
		wantObject(t, e.do("GET", "/v1/webhooks/deliveries/stats?hours=168", nil).want(200).obj(), map[string]any{
			"total": 8, "success": 4, "failed": 3, "pending": 1, "successRate": 400.0 / 7,
			"byEventType": map[string]any{
				"agent.message":    map[string]any{"success": 3, "failed": 3},
				"agent.call_ended": map[string]any{"pending": 1},
				"agent.reaction":   map[string]any{"success": 1},
			},
			"byHour": append([]any{map[string]any{"hour": ts(h48), "total": 2, "success": 0, "failed": 2, "pending": 0}},
				day["byHour"].([]any)...),
		})

		// All time: a delivery older than any window counts too.
		e.addDelivery(e.accountID, nil, agentphone.EventMessage, agentphone.DeliverySuccess, h2.Add(-400*time.Hour))
		wantObject(t, e.do("GET", "/v1/webhooks/deliveries/all-time", nil).want(200).obj(),
			map[string]any{"total": 9, "success": 5, "failed": 3, "successRate": 500.0 / 8})
		wantObject(t, e.do("GET", "/v1/webhooks/deliveries/all-time", nil, withKey(otherKey)).want(200).obj(),
			map[string]any{"total": 1, "success": 1, "failed": 0, "successRate": 100})
	})
}

// TestDeliveries_TenantIsolation: another account or a sub-account sees
// none of the deliveries and cannot send a test to a webhook not its own.
func TestDeliveries_TenantIsolation(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		_, keyB := e.newAccount("globex")
		sub := e.createSub("team")
		agent := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		rc := newReceiver(t, http.StatusOK, "")
		e.do("POST", "/v1/webhooks", map[string]any{"url": rc.URL}).want(200)
		e.do("POST", "/v1/agents/"+agent+"/webhook", map[string]any{"url": rc.URL + "/agent"}).want(200)
		e.do("POST", "/v1/webhooks/test", nil).want(200)
		rc.next()
		e.do("POST", "/v1/agents/"+agent+"/webhook/test", nil).want(200)
		rc.next()
		e.addDelivery(e.accountID, &agent, agentphone.EventMessage, agentphone.DeliveryFailed, agentphone.Now())

		for name, opts := range map[string][]reqOpt{"accountB": {withKey(keyB)}, "sub": {withSub(sub)}} {
			t.Run(name, func(t *testing.T) {
				do := func(method, path string, body any) *resp {
					r := e.do(method, path, body, opts...)
					r.t = t
					return r
				}
				wantObject(t, do("GET", "/v1/webhooks/deliveries?hours=1", nil).want(200).obj(),
					map[string]any{"items": []any{}, "total": 0, "offset": 0, "limit": 50})
				wantObject(t, do("GET", "/v1/webhooks/deliveries/stats", nil).want(200).obj(), map[string]any{
					"total": 0, "success": 0, "failed": 0, "pending": 0, "successRate": 0, "byEventType": map[string]any{}, "byHour": []any{},
				})
				wantObject(t, do("GET", "/v1/webhooks/deliveries/all-time", nil).want(200).obj(),
					map[string]any{"total": 0, "success": 0, "failed": 0, "successRate": 0})
				do("GET", "/v1/agents/"+agent+"/webhook/deliveries", nil).wantDetail(404, "Agent not found")
				do("POST", "/v1/agents/"+agent+"/webhook/test", nil).wantDetail(404, "Agent not found")
				do("POST", "/v1/webhooks/test", nil).wantDetail(404, "Webhook not found")
				do("POST", "/v1/webhooks/test?agentId="+agent, nil).wantDetail(404, "Webhook not found")

				// With a webhook of its own, it still cannot name A's agent.
				own := newReceiver(t, http.StatusOK, "")
				hook := do("POST", "/v1/webhooks", map[string]any{"url": own.URL}).want(200).obj()
				do("POST", "/v1/webhooks/test?agentId="+agent, nil).wantDetail(404, "Agent not found")
				do("POST", "/v1/webhooks/test", map[string]any{"agentId": agent}).wantDetail(404, "Agent not found")
				// Its own test names no agent: it has none.
				id := wantTestResult(t, do("POST", "/v1/webhooks/test", nil).want(200).obj(), true, 200, nil)
				wantTestEnvelope(t, own.next().envelope(t, hook["secret"].(string), id), nil)
				l := do("GET", "/v1/webhooks/deliveries", nil).want(200).obj()
				if l["total"] != 1.0 || findDelivery(t, l["items"].([]any), id)["agentId"] != nil {
					t.Errorf("own deliveries: %v", l)
				}
				own.none()
			})
		}
		rc.none()
		// The owner's log is unchanged: its 3 deliveries.
		if l := e.do("GET", "/v1/webhooks/deliveries", nil).want(200).obj(); l["total"] != 3.0 {
			t.Errorf("owner's log: %v", l)
		}
	})
}
