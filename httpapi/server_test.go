package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, func(o *envOptions) { o.ready = b.Open(t).Ping })
		wantObject(t, e.do("GET", "/healthz", nil).want(200).obj(), map[string]any{"status": "ok"})
		wantObject(t, e.do("GET", "/readyz", nil).want(200).obj(), map[string]any{"status": "ok"})

		down := newEnv(t, b, func(o *envOptions) {
			o.ready = func(context.Context) error { return errors.New("database: connection refused") }
		})
		wantObject(t, down.do("GET", "/readyz", nil).want(503).obj(), map[string]any{"status": "unavailable", "detail": "database: connection refused"})
		down.do("GET", "/healthz", nil).want(200)
	})
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for _, p := range []string{"/", "/v1", "/v1/nope", "/v2/agents", "/v1/agents/a/b/c"} {
			e.do("GET", p, nil).wantDetail(404, "Not Found")
			e.do("GET", p, nil, noKey()).wantDetail(404, "Not Found")
		}
		r := e.do("PUT", "/v1/agents", map[string]any{"name": "A"})
		r.wantDetail(405, "Method Not Allowed")
		if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Errorf("Allow = %q", allow)
		}
		e.do("POST", "/v1/agents/agt_x", nil).wantDetail(405, "Method Not Allowed")
		e.do("DELETE", "/healthz", nil).wantDetail(405, "Method Not Allowed")
		e.do("PATCH", "/v1/numbers/num_x", nil).wantDetail(405, "Method Not Allowed")
		// HEAD is served by GET routes.
		if r := e.do("HEAD", "/healthz", nil); r.Status != 200 {
			t.Errorf("HEAD /healthz: %d", r.Status)
		}
	})
}

func TestBodies(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		// Over 1 MiB, declared: 413 before anything is read.
		big := `{"name": "A", "description": "` + strings.Repeat("x", 1<<20) + `"}`
		e.do("POST", "/v1/agents", raw(big)).wantDetail(413, "Request body too large: the limit is 1 MiB")
		// Over 1 MiB, streamed without a length: 413 when the cap is hit.
		r := httptest.NewRequest("POST", "/v1/agents", io.MultiReader(strings.NewReader(big)))
		r.ContentLength = -1
		r.Header.Set("Authorization", "Bearer "+e.key)
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, r)
		if w.Code != 413 || !strings.Contains(w.Body.String(), "Request body too large") {
			t.Errorf("chunked big body: %d %s", w.Code, w.Body)
		}
		// Just under the limit is fine.
		ok := `{"name": "A", "description": "` + strings.Repeat("x", 1<<20-40) + `"}`
		e.do("POST", "/v1/agents", raw(ok)).want(200)

		// Malformed JSON, with the position of the error.
		e.do("POST", "/v1/agents", raw(`{"name": }`)).wantErrs(fieldErr{`["body",9]`, "json_invalid"})
		e.do("POST", "/v1/agents", raw(`{"name": "A"`)).wantErrs(fieldErr{`["body",12]`, "json_invalid"})
		e.do("POST", "/v1/webhooks", raw(`xyz`)).wantErrs(fieldErr{`["body",0]`, "json_invalid"})
		e.do("POST", "/v1/agents", raw(`"A"`)).wantErrs(fieldErr{`["body"]`, "model_attributes_type"})
		e.do("POST", "/v1/agents", raw(`{"name": "A"}`), withHeader("Content-Type", "text/plain")).want(200)
		// The exact FastAPI body of a malformed request.
		got := e.do("POST", "/v1/agents", raw(`{"name": }`)).Body
		if want := `{"detail":[{"loc":["body",9],"msg":"JSON decode error","type":"json_invalid"}]}`; string(got) != want {
			t.Errorf("body %s\nwant %s", got, want)
		}
	})
}

// panicCatalog is a voice catalog that panics, to reach the recovery
// middleware through a real route.
type panicCatalog struct{}

func (panicCatalog) Voices(context.Context) ([]agentphone.Voice, error) { panic("catalog exploded") }

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, func(o *envOptions) { o.voices = panicCatalog{} })
		srv := httptest.NewServer(e.srv)
		defer srv.Close()
		get := func(path string) *http.Response {
			t.Helper()
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+e.key)
			req.Header.Set("X-Request-Id", "panic-test-1")
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			return res
		}
		for range 2 {
			res := get("/v1/agents/voices")
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 500 || string(body) != `{"detail":"Internal server error"}` {
				t.Fatalf("panic: %d %s", res.StatusCode, body)
			}
			if res.Header.Get("X-Request-Id") != "panic-test-1" {
				t.Errorf("X-Request-Id = %q", res.Header.Get("X-Request-Id"))
			}
		}
		res := get("/v1/agents")
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("after panics: %d", res.StatusCode)
		}
		rec := findLog(t, e.logs.String(), "panic serving request")
		if rec["request_id"] != "panic-test-1" || rec["panic"] != "catalog exploded" ||
			!strings.Contains(rec["stack"].(string), "panicCatalog") || rec["level"] != "ERROR" {
			t.Errorf("panic log: %v", rec)
		}
	})
}

// findLog returns the first JSON log record with the message msg.
func findLog(t testing.TB, logs, msg string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			return rec
		}
	}
	t.Fatalf("no log record %q in:\n%s", msg, logs)
	return nil
}

func TestRequestIDAndAccessLog(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		r := e.do("GET", "/v1/agents", nil)
		id := r.Header.Get("X-Request-Id")
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
			t.Errorf("generated X-Request-Id %q", id)
		}
		if other := e.do("GET", "/v1/agents", nil).Header.Get("X-Request-Id"); other == id {
			t.Error("request ids repeat")
		}
		if got := e.do("GET", "/healthz", nil, withHeader("X-Request-Id", "abc-123_x.y:z")).Header.Get("X-Request-Id"); got != "abc-123_x.y:z" {
			t.Errorf("sane incoming id replaced: %q", got)
		}
		for _, bad := range []string{strings.Repeat("a", 129), "two words", "new\nline", "<script>"} {
			if got := e.do("GET", "/healthz", nil, withHeader("X-Request-Id", bad)).Header.Get("X-Request-Id"); got == bad || got == "" {
				t.Errorf("insane incoming id %q kept as %q", bad, got)
			}
		}

		e.do("GET", "/v1/agents/agt_missing", nil, withHeader("X-Request-Id", "log-test-1")).want(404)
		var rec map[string]any
		sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["request_id"] == "log-test-1" && m["msg"] == "http request" {
				rec = m
			}
		}
		if rec == nil {
			t.Fatalf("no access log line for log-test-1:\n%s", e.logs.String())
		}
		want := map[string]any{"method": "GET", "route": "/v1/agents/{agent_id}", "path": "/v1/agents/agt_missing",
			"status": 404.0, "bytes": float64(len(`{"detail":"Agent not found"}`)), "account_id": e.accountID, "level": "INFO"}
		for k, v := range want {
			if rec[k] != v {
				t.Errorf("access log %s = %v, want %v", k, rec[k], v)
			}
		}
		if d, ok := rec["duration"].(float64); !ok || d <= 0 {
			t.Errorf("access log duration = %v", rec["duration"])
		}
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		id := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		for range 3 {
			e.do("GET", "/v1/agents/"+id, nil).want(200)
		}
		e.do("GET", "/v1/agents/agt_nope", nil).want(404)
		e.do("GET", "/nowhere/"+id, nil).want(404)
		e.do("BREW", "/v1/agents", nil)

		r := e.do("GET", "/metrics", nil, noKey())
		if r.Status != 200 {
			t.Fatalf("/metrics: %d", r.Status)
		}
		text := string(r.Body)
		for _, line := range []string{
			`agentphone_http_requests_total{method="GET",route="/v1/agents/{agent_id}",status="200"} 3`,
			`agentphone_http_requests_total{method="GET",route="/v1/agents/{agent_id}",status="404"} 1`,
			`agentphone_http_requests_total{method="POST",route="/v1/agents",status="200"} 1`,
			`agentphone_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
			`agentphone_http_requests_total{method="OTHER",route="unmatched",status="405"} 1`,
			`agentphone_http_request_duration_seconds_count{method="GET",route="/v1/agents/{agent_id}"} 4`,
			`agentphone_http_request_duration_seconds_bucket{method="GET",route="/v1/agents/{agent_id}",le="+Inf"} 4`,
			`agentphone_http_requests_in_flight 1`, // the scrape itself
		} {
			if !strings.Contains(text, line+"\n") {
				t.Errorf("/metrics lacks %s", line)
			}
		}
		if strings.Contains(text, id) {
			t.Error("an id leaked into metric labels")
		}
	})
}

// TestOpenAPISchemas checks the served document against real responses: the
// properties of each response schema are exactly the keys the server emits.
func TestOpenAPISchemas(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		var doc struct {
			Info       struct{ Version string }
			Components struct {
				Schemas map[string]struct {
					Properties map[string]json.RawMessage
					Required   []string
				}
			}
		}
		body := e.do("GET", "/openapi.json", nil, noKey()).want(200).Body
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Info.Version != "test" {
			t.Errorf("info.version = %q", doc.Info.Version)
		}
		agent := e.createAgent(fullAgent())
		agentID := agent["id"].(string)
		num := e.createNumber(map[string]any{"agentId": agentID})
		sub := e.do("POST", "/v1/sub-accounts", map[string]any{"name": "S"}).want(200).obj()
		// One test delivery fills the delivery log and its stats.
		e.do("POST", "/v1/webhooks", map[string]any{"url": newReceiver(t, 200, "ok").URL}).want(200)
		webhookTest := e.do("POST", "/v1/webhooks/test", nil).want(200).obj()
		deliveries := e.do("GET", "/v1/webhooks/deliveries", nil).want(200).obj()
		stats := e.do("GET", "/v1/webhooks/deliveries/stats", nil).want(200).obj()
		allTime := e.do("GET", "/v1/webhooks/deliveries/all-time", nil).want(200).obj()
		objects := map[string]map[string]any{
			"Agent":                    agent,
			"CustomTool":               agent["customTools"].([]any)[0].(map[string]any),
			"AgentNumber":              e.do("GET", "/v1/agents/"+agentID, nil).want(200).obj()["numbers"].([]any)[0].(map[string]any),
			"PhoneNumber":              num,
			"Capabilities":             num["capabilities"].(map[string]any),
			"Webhook":                  e.do("POST", "/v1/webhooks", map[string]any{"url": "https://example.com"}).want(200).obj(),
			"SubAccount":               sub,
			"Voice":                    e.do("GET", "/v1/agents/voices", nil).want(200).obj()["data"].([]any)[0].(map[string]any),
			"AgentListResponse":        e.do("GET", "/v1/agents", nil).want(200).obj(),
			"PhoneNumberListResponse":  e.do("GET", "/v1/numbers", nil).want(200).obj(),
			"SubAccountListResponse":   e.do("GET", "/v1/sub-accounts", nil).want(200).obj(),
			"MessageListResponse":      e.do("GET", "/v1/numbers/"+num["id"].(string)+"/messages", nil).want(200).obj(),
			"CallListResponse":         e.do("GET", "/v1/numbers/"+num["id"].(string)+"/calls", nil).want(200).obj(),
			"AttachNumberResponse":     e.do("POST", "/v1/agents/"+agentID+"/numbers", map[string]any{"numberId": num["id"]}).want(200).obj(),
			"ReleaseNumberResponse":    e.do("DELETE", "/v1/numbers/"+num["id"].(string), nil).want(200).obj(),
			"DeleteAgentResponse":      e.do("DELETE", "/v1/agents/"+agentID, nil).want(200).obj(),
			"DeleteSubAccountResponse": e.do("DELETE", "/v1/sub-accounts/"+sub["id"].(string), nil).want(200).obj(),
			"Success":                  e.do("DELETE", "/v1/webhooks", nil).want(200).obj(),
			"ErrorResponse":            e.do("GET", "/v1/agents/x", nil).obj(),
			"HTTPValidationError":      e.do("POST", "/v1/agents", map[string]any{}).obj(),
		}
		objects["WebhookTestResponse"] = webhookTest
		objects["DeliveryListResponse"] = deliveries
		objects["Delivery"] = deliveries["items"].([]any)[0].(map[string]any)
		objects["DeliveryStatsResponse"] = stats
		objects["DeliveryHourStats"] = stats["byHour"].([]any)[0].(map[string]any)
		objects["AllTimeDeliveryStatsResponse"] = allTime
		for name, obj := range objects {
			s, ok := doc.Components.Schemas[name]
			if !ok {
				t.Errorf("schema %s missing", name)
				continue
			}
			for k := range obj {
				if _, ok := s.Properties[k]; !ok {
					t.Errorf("%s: key %q is emitted but not documented", name, k)
				}
			}
			for k := range s.Properties {
				if _, ok := obj[k]; !ok {
					t.Errorf("%s: key %q is documented but not emitted", name, k)
				}
			}
			if len(s.Required) != len(s.Properties) {
				t.Errorf("%s: every emitted key should be required", name)
			}
		}
		// The request schemas list the keys the input types decode.
		for schema, keys := range map[string][]string{
			"CreateAgentRequest": keysOf(fullAgent()), "UpdateAgentRequest": keysOf(fullAgent()),
			"CustomToolParam":    keysOf(fullAgent()["customTools"].([]any)[0].(map[string]any)),
			"WebhookTestRequest": {"agentId"},
		} {
			s := doc.Components.Schemas[schema]
			if len(s.Properties) != len(keys) {
				t.Errorf("%s: %d properties, want %d", schema, len(s.Properties), len(keys))
			}
			for _, k := range keys {
				if _, ok := s.Properties[k]; !ok {
					t.Errorf("%s lacks %s", schema, k)
				}
			}
		}
		if !bytes.Contains(body, []byte(`"HTTPBearer"`)) || !bytes.Contains(body, []byte(`"X-Sub-Account-Id"`)) {
			t.Error("security scheme or sub-account header missing")
		}
	})
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
