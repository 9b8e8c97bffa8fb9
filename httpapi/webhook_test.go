package httpapi_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
)

var secretRE = regexp.MustCompile(`^whsec_[0-9a-f]{48}$`)

// webhookPaths are the project webhook and an agent's webhook.
func webhookPaths(agentID string) map[string]string {
	return map[string]string{"project": "/v1/webhooks", "agent": "/v1/agents/" + agentID + "/webhook"}
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		agentID := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		for kind, path := range webhookPaths(agentID) {
			t.Run(kind, func(t *testing.T) {
				var owner any
				if kind == "agent" {
					owner = agentID
				}
				// None yet: JSON null with 200.
				if r := e.do("GET", path, nil).want(200); string(r.Body) != "null" {
					t.Fatalf("GET without webhook: %s", r.Body)
				}
				want := map[string]any{
					"id": idRE("wh_"), "url": "https://example.com/hook", "secret": secretRE, "status": "active",
					"contextLimit": 10, "timeout": 30, "createdAt": timeRE, "agentId": owner,
				}
				first := e.do("POST", path, map[string]any{"url": "https://example.com/hook"}).want(200).obj()
				wantObject(t, first, want)
				wantObject(t, e.do("GET", path, nil).want(200).obj(), first)

				// Upsert keeps the id and creation time and rotates the secret.
				second := e.do("POST", path, map[string]any{"url": "http://example.com/v2?a=1&b=2", "contextLimit": 0, "timeout": 120}).want(200).obj()
				wantObject(t, second, with(want, "id", first["id"], "createdAt", first["createdAt"],
					"url", "http://example.com/v2?a=1&b=2", "contextLimit", 0, "timeout", 120))
				if second["secret"] == first["secret"] {
					t.Error("secret not rotated")
				}
				if !strings.Contains(string(e.do("GET", path, nil).want(200).Body), `"url":"http://example.com/v2?a=1&b=2"`) {
					t.Error("URL not written verbatim (HTML escaping?)")
				}
				e.do("POST", path, map[string]any{"url": "https://example.com/h", "contextLimit": 50, "timeout": 5}).want(200)
				e.do("POST", path, map[string]any{"url": "https://example.com/h", "contextLimit": nil, "timeout": nil}).want(200)

				// Validation.
				e.do("POST", path, map[string]any{}).wantErrs(fe("missing", "url"))
				e.do("POST", path, map[string]any{"url": nil}).wantErrs(fe("string_type", "url"))
				e.do("POST", path, map[string]any{"url": ""}).wantErrs(fe("string_too_short", "url"))
				e.do("POST", path, map[string]any{"url": "https://example.com/" + strings.Repeat("a", 2064)}).wantErrs(fe("string_too_long", "url"))
				e.do("POST", path, map[string]any{"url": "ftp://example.com/hook"}).wantErrs(fe("url_scheme", "url"))
				e.do("POST", path, map[string]any{"url": "example.com/hook"}).wantErrs(fe("url_parsing", "url"))
				e.do("POST", path, map[string]any{"url": "https://x.example", "contextLimit": -1, "timeout": 4}).
					wantErrs(fe("greater_than_equal", "contextLimit"), fe("greater_than_equal", "timeout"))
				e.do("POST", path, map[string]any{"url": "https://x.example", "contextLimit": 51, "timeout": 121}).
					wantErrs(fe("less_than_equal", "contextLimit"), fe("less_than_equal", "timeout"))
				e.do("POST", path, map[string]any{"url": "ftp://x.example", "contextLimit": "ten", "timeout": 30.5}).
					wantErrs(fe("url_scheme", "url"), fe("int_type", "contextLimit"), fe("int_from_float", "timeout"))
				e.do("POST", path, map[string]any{"url": 5, "timeout": 3}).
					wantErrs(fe("string_type", "url"), fe("greater_than_equal", "timeout"))
				// The type-error bodies changed nothing.
				got := e.do("GET", path, nil).want(200).obj()
				if got["url"] != "https://example.com/h" || got["contextLimit"] != 10.0 || got["timeout"] != 30.0 {
					t.Errorf("after 422s: %v", got)
				}

				// Delete, then none.
				wantObject(t, e.do("DELETE", path, nil).want(200).obj(), map[string]any{"success": true})
				e.do("DELETE", path, nil).wantDetail(404, "Webhook not found")
				if r := e.do("GET", path, nil).want(200); string(r.Body) != "null" {
					t.Errorf("GET after delete: %s", r.Body)
				}
			})
		}
	})
}

func TestWebhooks_AgentScope(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		agentID := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		project := e.do("POST", "/v1/webhooks", map[string]any{"url": "https://example.com/project"}).want(200).obj()
		agent := e.do("POST", "/v1/agents/"+agentID+"/webhook", map[string]any{"url": "https://example.com/agent"}).want(200).obj()
		if project["id"] == agent["id"] {
			t.Fatal("agent webhook replaced the project webhook")
		}
		wantObject(t, e.do("GET", "/v1/webhooks", nil).want(200).obj(), project)

		for _, m := range []string{"GET", "POST", "DELETE"} {
			e.do(m, "/v1/agents/agt_nope/webhook", map[string]any{"url": "https://example.com"}).wantDetail(404, "Agent not found")
		}
		// Deleting the agent deletes its webhook (decision 9), not the project's.
		e.do("DELETE", "/v1/agents/"+agentID, nil).want(200)
		_, err := e.store.GetWebhook(context.Background(), e.accountID, &agentID)
		if agentphone.ErrorKind(err) != agentphone.KindNotFound {
			t.Errorf("agent webhook after agent delete: %v", err)
		}
		e.do("GET", "/v1/agents/"+agentID+"/webhook", nil).wantDetail(404, "Agent not found")
		wantObject(t, e.do("GET", "/v1/webhooks", nil).want(200).obj(), project)
	})
}
