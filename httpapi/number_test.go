package httpapi_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/agentphone/agentphone/storetest"
)

// numberJSON is the expected JSON of an active, unattached sandbox number.
func numberJSON(phone *regexp.Regexp, country string) map[string]any {
	return map[string]any{
		"id": idRE("num_"), "phoneNumber": phone, "country": country, "status": "active", "type": "sms",
		"agentId": nil, "createdAt": timeRE,
		"capabilities": map[string]any{"sms": true, "mms": true, "voice": true, "imessage": false},
		"releasedAt":   nil,
	}
}

func TestNumbers_Create(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		us := regexp.MustCompile(`^\+1[2-9]\d{2}55501\d{2}$`)

		// No body, an empty body, {} and null all mean the defaults (US).
		wantObject(t, e.do("POST", "/v1/numbers", nil).want(200).obj(), numberJSON(us, "US"))
		wantObject(t, e.createNumber(raw("")), numberJSON(us, "US"))
		wantObject(t, e.createNumber(map[string]any{}), numberJSON(us, "US"))
		wantObject(t, e.createNumber(raw("null")), numberJSON(us, "US"))

		// Area code and country.
		wantObject(t, e.createNumber(map[string]any{"areaCode": "212"}), numberJSON(regexp.MustCompile(`^\+121255501\d{2}$`), "US"))
		wantObject(t, e.createNumber(map[string]any{"country": "CA", "areaCode": nil}), numberJSON(regexp.MustCompile(`^\+1(416|604|514|403|613)55501\d{2}$`), "CA"))
		wantObject(t, e.createNumber(map[string]any{"country": "CA", "areaCode": "604"}), numberJSON(regexp.MustCompile(`^\+160455501\d{2}$`), "CA"))
		wantObject(t, e.createNumber(map[string]any{"country": "us"}), numberJSON(us, "US"))
		// An area code with no free number falls back to the country (decision 6).
		wantObject(t, e.createNumber(map[string]any{"areaCode": "999"}), numberJSON(us, "US"))

		// Invalid input.
		e.do("POST", "/v1/numbers", map[string]any{"country": "GB"}).wantErrs(fe("literal_error", "country"))
		e.do("POST", "/v1/numbers", map[string]any{"areaCode": "12"}).wantErrs(fe("string_pattern_mismatch", "areaCode"))
		e.do("POST", "/v1/numbers", map[string]any{"areaCode": "123"}).wantErrs(fe("string_pattern_mismatch", "areaCode"))
		e.do("POST", "/v1/numbers", map[string]any{"areaCode": 415}).wantErrs(fe("string_type", "areaCode"))
		e.do("POST", "/v1/numbers", map[string]any{"country": 1, "areaCode": "1", "agentId": false}).
			wantErrs(fe("string_type", "country"), fe("string_pattern_mismatch", "areaCode"), fe("string_type", "agentId"))
		e.do("POST", "/v1/numbers", raw("[]")).wantErrs(fieldErr{`["body"]`, "model_attributes_type"})
		e.do("POST", "/v1/numbers", raw("{")).wantErrs(fieldErr{`["body",1]`, "json_invalid"})
		e.do("POST", "/v1/numbers", map[string]any{"agentId": "agt_nope"}).wantDetail(404, "Agent not found")

		// Nothing was provisioned by the failures or by the validation of the
		// body with type errors.
		if list := e.do("GET", "/v1/numbers?limit=100", nil).want(200).obj(); list["total"] != 9.0 {
			t.Errorf("total = %v, want 9", list["total"])
		}

		// Attach on create.
		agent := e.createAgent(map[string]any{"name": "A"})
		agentID := agent["id"].(string)
		n := e.createNumber(map[string]any{"agentId": agentID})
		wantObject(t, n, with(numberJSON(us, "US"), "agentId", agentID))
		got := e.do("GET", "/v1/agents/"+agentID, nil).want(200).obj()
		wantObject(t, got, with(agent, "updatedAt", got["updatedAt"], "numbers", []any{
			map[string]any{"id": n["id"], "phoneNumber": n["phoneNumber"], "status": "active", "type": "sms"},
		}))
	})
}

func TestNumbers_CountryExhausted(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		// A pool of one area code: 100 numbers, then 409.
		e := newEnv(t, b, func(o *envOptions) { o.areaCodes = map[string][]string{"US": {"415"}, "CA": {"604"}} })
		seen := map[string]bool{}
		for range 100 {
			p := e.createNumber(nil)["phoneNumber"].(string)
			if seen[p] || !strings.HasPrefix(p, "+141555501") {
				t.Fatalf("number %s (seen before: %v)", p, seen[p])
			}
			seen[p] = true
		}
		e.do("POST", "/v1/numbers", nil).wantDetail(409, "No phone numbers available in US")
		// Other accounts share the pool: the second account gets none either.
		_, key := e.newAccount("globex")
		e.do("POST", "/v1/numbers", nil, withKey(key)).wantDetail(409, "No phone numbers available in US")
		e.createNumber(map[string]any{"country": "CA"}, withKey(key))
	})
}

func TestNumbers_Limit(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, func(o *envOptions) { o.maxNums = 2 })
		e.createNumber(nil)
		id := e.createNumber(nil)["id"].(string)
		r := e.do("POST", "/v1/numbers", nil)
		r.want(409)
		if d := r.obj()["detail"].(string); !strings.HasPrefix(d, "Number limit reached") {
			t.Errorf("detail %q", d)
		}
		e.do("DELETE", "/v1/numbers/"+id, nil).want(200)
		e.createNumber(nil)
	})
}

func TestNumbers_ListGetRelease(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		wantObject(t, e.do("GET", "/v1/numbers", nil).want(200).obj(), map[string]any{"data": []any{}, "hasMore": false, "total": 0})
		var nums []map[string]any
		for range 3 {
			nums = append(nums, e.createNumber(nil))
		}
		list := e.do("GET", "/v1/numbers?limit=2", nil).want(200).obj()
		data := list["data"].([]any)
		if len(data) != 2 || list["hasMore"] != true || list["total"] != 3.0 {
			t.Fatalf("list: %v", list)
		}
		wantObject(t, data[0].(map[string]any), nums[2]) // newest first
		e.do("GET", "/v1/numbers?offset=x", nil).wantErrs(qe("int_parsing", "offset"))

		id := nums[1]["id"].(string)
		wantObject(t, e.do("GET", "/v1/numbers/"+id, nil).want(200).obj(), nums[1])
		e.do("GET", "/v1/numbers/num_nope", nil).wantDetail(404, "Phone number not found")

		// Release: the documented body; twice is a 400; the number stays
		// readable by id, leaves the list and cannot be attached.
		rel := e.do("DELETE", "/v1/numbers/"+id, nil).want(200).obj()
		wantObject(t, rel, map[string]any{"success": true, "id": id, "phoneNumber": nums[1]["phoneNumber"], "status": "released"})
		e.do("DELETE", "/v1/numbers/"+id, nil).wantDetail(400, "Phone number "+nums[1]["phoneNumber"].(string)+" is already released")
		got := e.do("GET", "/v1/numbers/"+id, nil).want(200).obj()
		wantObject(t, got, with(nums[1], "status", "released", "releasedAt", timeRE))
		list = e.do("GET", "/v1/numbers", nil).want(200).obj()
		if list["total"] != 2.0 {
			t.Errorf("total after release = %v", list["total"])
		}
		for _, n := range list["data"].([]any) {
			if n.(map[string]any)["id"] == id {
				t.Error("released number still listed")
			}
		}
		agentID := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		e.do("POST", "/v1/agents/"+agentID+"/numbers", map[string]any{"numberId": id}).
			wantDetail(400, "Phone number "+nums[1]["phoneNumber"].(string)+" is released and cannot be attached")
		e.do("DELETE", "/v1/numbers/num_nope", nil).wantDetail(404, "Phone number not found")
	})
}

func TestNumbers_MessagesAndCalls(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		id := e.createNumber(nil)["id"].(string)
		msgs := "/v1/numbers/" + id + "/messages"
		wantObject(t, e.do("GET", msgs, nil).want(200).obj(), map[string]any{"data": []any{}, "hasMore": false})
		e.do("GET", msgs+"?limit=200&before=2025-01-15T10:30:00.000Z&after=2025-01-01T00:00:00%2B01:00", nil).want(200)
		e.do("GET", msgs+"?limit=201&before=yesterday", nil).
			wantErrs(qe("less_than_equal", "limit"), qe("datetime_from_date_parsing", "before"))
		e.do("GET", msgs+"?limit=0&after=2025-99-01", nil).
			wantErrs(qe("greater_than_equal", "limit"), qe("datetime_from_date_parsing", "after"))
		e.do("GET", "/v1/numbers/num_nope/messages", nil).wantDetail(404, "Phone number not found")

		calls := "/v1/numbers/" + id + "/calls"
		wantObject(t, e.do("GET", calls, nil).want(200).obj(), map[string]any{"data": []any{}, "hasMore": false, "total": 0})
		e.do("GET", calls+"?limit=-1", nil).wantErrs(qe("greater_than_equal", "limit"))
		e.do("GET", "/v1/numbers/num_nope/calls", nil).wantDetail(404, "Phone number not found")

		// A released number keeps its history readable.
		e.do("DELETE", "/v1/numbers/"+id, nil).want(200)
		e.do("GET", msgs, nil).want(200)
		e.do("GET", calls, nil).want(200)
	})
}

func TestAgents_AttachDetach(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		a := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		other := e.createAgent(map[string]any{"name": "B"})["id"].(string)
		n := e.createNumber(nil)
		id := n["id"].(string)

		got := e.do("POST", "/v1/agents/"+a+"/numbers", map[string]any{"numberId": id}).want(200).obj()
		agentNumber := map[string]any{"id": id, "phoneNumber": n["phoneNumber"], "status": "active", "type": "sms"}
		wantObject(t, got, map[string]any{"agentId": a, "number": agentNumber})
		if nums := e.do("GET", "/v1/agents/"+a, nil).want(200).obj()["numbers"]; len(nums.([]any)) != 1 {
			t.Errorf("agent numbers = %v", nums)
		}
		if got := e.do("GET", "/v1/numbers/"+id, nil).want(200).obj(); got["agentId"] != a {
			t.Errorf("number agentId = %v", got["agentId"])
		}

		// Another agent cannot take it (decision 5).
		r := e.do("POST", "/v1/agents/"+other+"/numbers", map[string]any{"numberId": id})
		r.want(409)

		// Input and lookups.
		e.do("POST", "/v1/agents/"+a+"/numbers", map[string]any{}).wantErrs(fe("missing", "numberId"))
		e.do("POST", "/v1/agents/"+a+"/numbers", map[string]any{"numberId": nil}).wantErrs(fe("string_type", "numberId"))
		e.do("POST", "/v1/agents/"+a+"/numbers", map[string]any{"numberId": 5}).wantErrs(fe("string_type", "numberId"))
		e.do("POST", "/v1/agents/"+a+"/numbers", nil).wantErrs(fieldErr{`["body"]`, "missing"})
		e.do("POST", "/v1/agents/"+a+"/numbers", map[string]any{"numberId": "num_nope"}).wantDetail(404, "Phone number not found")
		e.do("POST", "/v1/agents/agt_nope/numbers", map[string]any{"numberId": id}).wantDetail(404, "Agent not found")

		// Detach.
		e.do("DELETE", "/v1/agents/"+other+"/numbers/"+id, nil).want(404)
		wantObject(t, e.do("DELETE", "/v1/agents/"+a+"/numbers/"+id, nil).want(200).obj(), map[string]any{"success": true})
		if got := e.do("GET", "/v1/numbers/"+id, nil).want(200).obj(); got["agentId"] != nil {
			t.Errorf("agentId after detach = %v", got["agentId"])
		}
		if nums := e.do("GET", "/v1/agents/"+a, nil).want(200).obj()["numbers"]; len(nums.([]any)) != 0 {
			t.Errorf("agent numbers after detach = %v", nums)
		}
		e.do("DELETE", "/v1/agents/"+a+"/numbers/"+id, nil).want(404)
		e.do("DELETE", "/v1/agents/"+a+"/numbers/num_nope", nil).wantDetail(404, "Phone number not found")

		// Now the other agent may take it; deleting that agent detaches it.
		e.do("POST", "/v1/agents/"+other+"/numbers", map[string]any{"numberId": id}).want(200)
		e.do("DELETE", "/v1/agents/"+other, nil).want(200)
		if got := e.do("GET", "/v1/numbers/"+id, nil).want(200).obj(); got["agentId"] != nil || got["status"] != "active" {
			t.Errorf("number after agent delete: %v", got)
		}
	})
}
