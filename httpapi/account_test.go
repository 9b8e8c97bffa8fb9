package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/storetest"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		wantUnauthorized := func(r *resp, detail string) {
			t.Helper()
			r.wantDetail(401, detail)
			if got := r.Header.Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("WWW-Authenticate = %q", got)
			}
		}
		wantUnauthorized(e.do("GET", "/v1/agents", nil, noKey()), "Missing API key: send Authorization: Bearer <key>")
		wantUnauthorized(e.do("GET", "/v1/agents", nil, withHeader("Authorization", "Bearer ")), "Missing API key: send Authorization: Bearer <key>")
		wantUnauthorized(e.do("GET", "/v1/agents", nil, withHeader("Authorization", "Basic dXNlcjpwYXNz")), "Invalid Authorization header: send Authorization: Bearer <key>")
		wantUnauthorized(e.do("GET", "/v1/agents", nil, withKey("sk_live_unknown")), "Invalid API key")
		wantUnauthorized(e.do("POST", "/v1/agents", map[string]any{"name": "A"}, noKey()), "Missing API key: send Authorization: Bearer <key>")
		wantUnauthorized(e.do("GET", "/v1/sub-accounts", nil, noKey()), "Missing API key: send Authorization: Bearer <key>")
		e.do("GET", "/v1/agents", nil, withHeader("Authorization", "bearer  "+e.key+" ")).want(200)

		// A revoked key stops working at once.
		key, rec, err := e.accounts.CreateKey(context.Background(), e.accountID, "to revoke")
		if err != nil {
			t.Fatal(err)
		}
		e.do("GET", "/v1/agents", nil, withKey(key)).want(200)
		if _, err := e.store.RevokeAPIKey(context.Background(), rec.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		wantUnauthorized(e.do("GET", "/v1/agents", nil, withKey(key)), "Invalid API key")

		// Health, metrics and the document need no key.
		for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
			e.do("GET", p, nil, noKey()).want(200)
		}
		if r := e.do("GET", "/metrics", nil, noKey()); r.Status != 200 {
			t.Errorf("/metrics: %d", r.Status)
		}
	})
}

func TestSubAccounts(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		wantObject(t, e.do("GET", "/v1/sub-accounts", nil).want(200).obj(), map[string]any{"data": []any{}, "hasMore": false, "total": 0})
		acct := idRE("acct_")
		a := e.do("POST", "/v1/sub-accounts", map[string]any{"name": "  Team A  "}).want(200).obj()
		wantObject(t, a, map[string]any{"id": acct, "name": "Team A", "createdAt": timeRE})
		bb := e.do("POST", "/v1/sub-accounts", map[string]any{"name": strings.Repeat("b", 100)}).want(200).obj()

		list := e.do("GET", "/v1/sub-accounts?limit=1", nil).want(200).obj()
		if data := list["data"].([]any); len(data) != 1 || list["hasMore"] != true || list["total"] != 2.0 {
			t.Fatalf("list: %v", list)
		} else {
			wantObject(t, data[0].(map[string]any), bb) // newest first
		}
		e.do("GET", "/v1/sub-accounts?limit=101", nil).wantErrs(qe("less_than_equal", "limit"))

		// Rename.
		path := "/v1/sub-accounts/" + a["id"].(string)
		wantObject(t, e.do("PATCH", path, map[string]any{"name": "Team Alpha"}).want(200).obj(), with(a, "name", "Team Alpha"))
		e.do("PATCH", "/v1/sub-accounts/acct_nope", map[string]any{"name": "x"}).wantDetail(404, "Sub-account not found")

		// Validation.
		for _, p := range []struct{ method, path string }{{"POST", "/v1/sub-accounts"}, {"PATCH", path}} {
			e.do(p.method, p.path, map[string]any{}).wantErrs(fe("missing", "name"))
			e.do(p.method, p.path, map[string]any{"name": nil}).wantErrs(fe("string_type", "name"))
			e.do(p.method, p.path, map[string]any{"name": 5}).wantErrs(fe("string_type", "name"))
			e.do(p.method, p.path, map[string]any{"name": " "}).wantErrs(fe("string_too_short", "name"))
			e.do(p.method, p.path, map[string]any{"name": strings.Repeat("x", 101)}).wantErrs(fe("string_too_long", "name"))
			e.do(p.method, p.path, nil).wantErrs(fieldErr{`["body"]`, "missing"})
		}

		// The header is ignored on these routes, even when unknown.
		e.do("GET", "/v1/sub-accounts", nil, withSub("acct_unknown")).want(200)
		e.do("GET", "/v1/sub-accounts", nil, withSub(a["id"].(string))).want(200)

		// Scoping with X-Sub-Account-Id.
		sub := a["id"].(string)
		agent := e.createAgent(map[string]any{"name": "In sub"}, withSub(sub))
		e.do("GET", "/v1/agents/"+agent["id"].(string), nil, withSub(sub)).want(200)
		e.do("GET", "/v1/agents/"+agent["id"].(string), nil).wantDetail(404, "Agent not found")
		if l := e.do("GET", "/v1/agents", nil).want(200).obj(); l["total"] != 0.0 {
			t.Errorf("master sees the sub-account's agents: %v", l)
		}
		e.do("GET", "/v1/agents", nil, withSub("acct_unknown")).wantDetail(404, "Sub-account not found")

		// A sub-account holding numbers cannot be deleted; then it can.
		n := e.createNumber(nil, withSub(sub))
		e.do("DELETE", path, nil).want(409)
		e.do("DELETE", "/v1/numbers/"+n["id"].(string), nil, withSub(sub)).want(200)
		wantObject(t, e.do("DELETE", path, nil).want(200).obj(), map[string]any{"success": true, "id": sub})
		e.do("DELETE", path, nil).wantDetail(404, "Sub-account not found")
		e.do("GET", "/v1/agents", nil, withSub(sub)).wantDetail(404, "Sub-account not found")
	})
}

// TestTenantIsolation: nothing of one tenant is visible or changeable from
// another, whether another top-level account or a sibling sub-account; every
// attempt is a 404, as if the object did not exist.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		_, keyB := e.newAccount("globex")
		sub1 := e.createSub("one")
		sub2 := e.createSub("two")
		subB := e.createSub("globex sub", withKey(keyB))

		// A foreign or unknown sub-account id is not found (decision 21).
		e.do("GET", "/v1/agents", nil, withSub(subB)).wantDetail(404, "Sub-account not found")
		e.do("GET", "/v1/agents", nil, withKey(keyB), withSub(sub1)).wantDetail(404, "Sub-account not found")
		e.do("GET", "/v1/agents", nil, withKey(keyB), withSub(e.accountID)).wantDetail(404, "Sub-account not found")
		e.do("DELETE", "/v1/sub-accounts/"+sub1, nil, withKey(keyB)).wantDetail(404, "Sub-account not found")
		e.do("PATCH", "/v1/sub-accounts/"+sub1, map[string]any{"name": "x"}, withKey(keyB)).wantDetail(404, "Sub-account not found")

		type tenant struct {
			name string
			opts []reqOpt
		}
		owners := []tenant{{"master", nil}, {"sub1", []reqOpt{withSub(sub1)}}}
		intruders := map[string][]tenant{
			"master": {{"accountB", []reqOpt{withKey(keyB)}}, {"sub1", []reqOpt{withSub(sub1)}}, {"subB", []reqOpt{withKey(keyB), withSub(subB)}}},
			"sub1":   {{"master", nil}, {"sub2", []reqOpt{withSub(sub2)}}, {"accountB", []reqOpt{withKey(keyB)}}},
		}
		for _, owner := range owners {
			agent := e.createAgent(map[string]any{"name": "Secret"}, owner.opts...)["id"].(string)
			num := e.createNumber(nil, owner.opts...)["id"].(string)
			hook := "https://" + owner.name + ".example.com/hook"
			e.do("POST", "/v1/webhooks", map[string]any{"url": hook}, owner.opts...).want(200)
			e.do("POST", "/v1/agents/"+agent+"/webhook", map[string]any{"url": hook + "/agent"}, owner.opts...).want(200)

			for _, in := range intruders[owner.name] {
				t.Run(owner.name+"/"+in.name, func(t *testing.T) {
					do := func(method, path string, body any) *resp {
						r := e.do(method, path, body, in.opts...)
						r.t = t
						return r
					}
					do("GET", "/v1/agents/"+agent, nil).wantDetail(404, "Agent not found")
					do("PATCH", "/v1/agents/"+agent, map[string]any{"name": "Mine"}).wantDetail(404, "Agent not found")
					do("GET", "/v1/agents/"+agent+"/calls", nil).wantDetail(404, "Agent not found")
					do("GET", "/v1/agents/"+agent+"/conversations", nil).wantDetail(404, "Agent not found")
					do("GET", "/v1/agents/"+agent+"/webhook", nil).wantDetail(404, "Agent not found")
					do("POST", "/v1/agents/"+agent+"/webhook", map[string]any{"url": "https://evil.example.com"}).wantDetail(404, "Agent not found")
					do("DELETE", "/v1/agents/"+agent+"/webhook", nil).wantDetail(404, "Agent not found")
					do("DELETE", "/v1/agents/"+agent+"/numbers/"+num, nil).wantDetail(404, "Agent not found")
					do("DELETE", "/v1/agents/"+agent, nil).wantDetail(404, "Agent not found")
					do("GET", "/v1/numbers/"+num, nil).wantDetail(404, "Phone number not found")
					do("GET", "/v1/numbers/"+num+"/messages", nil).wantDetail(404, "Phone number not found")
					do("GET", "/v1/numbers/"+num+"/calls", nil).wantDetail(404, "Phone number not found")
					do("DELETE", "/v1/numbers/"+num, nil).wantDetail(404, "Phone number not found")
					do("POST", "/v1/numbers", map[string]any{"agentId": agent}).wantDetail(404, "Agent not found")
					// The intruder's own agent cannot take the number.
					mine := do("POST", "/v1/agents", map[string]any{"name": "Mine"}).want(200).obj()["id"].(string)
					do("POST", "/v1/agents/"+mine+"/numbers", map[string]any{"numberId": num}).wantDetail(404, "Phone number not found")
					// Lists show only the intruder's own objects.
					for _, l := range []string{"/v1/agents?limit=100", "/v1/numbers?limit=100"} {
						for _, item := range do("GET", l, nil).want(200).obj()["data"].([]any) {
							if id := item.(map[string]any)["id"]; id == agent || id == num {
								t.Errorf("%s lists %v", l, id)
							}
						}
					}
					if wh := do("GET", "/v1/webhooks", nil).want(200); strings.Contains(string(wh.Body), hook) {
						t.Errorf("project webhook leaked: %s", wh.Body)
					}
					do("DELETE", "/v1/agents/"+mine, nil).want(200)
				})
			}
			// The owner still has everything, unchanged.
			got := e.do("GET", "/v1/agents/"+agent, nil, owner.opts...).want(200).obj()
			if got["name"] != "Secret" {
				t.Errorf("%s: agent changed: %v", owner.name, got)
			}
			e.do("GET", "/v1/numbers/"+num, nil, owner.opts...).want(200)
			e.do("GET", "/v1/agents/"+agent+"/webhook", nil, owner.opts...).want(200)
			if wh := e.do("GET", "/v1/webhooks", nil, owner.opts...).want(200).obj(); wh["url"] != hook {
				t.Errorf("%s: webhook changed: %v", owner.name, wh)
			}
		}
	})
}
