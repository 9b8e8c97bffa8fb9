package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
)

// contactJSON is the expected JSON of a contact.
func contactJSON(phone, name string, email, notes any) map[string]any {
	return map[string]any{
		"id": idRE("contact_"), "phoneNumber": phone, "name": name, "email": email, "notes": notes,
		"createdAt": timeRE, "updatedAt": timeRE,
	}
}

// createContact creates a contact and returns its JSON.
func (e *env) createContact(body any, opts ...reqOpt) map[string]any {
	e.t.Helper()
	return e.do("POST", "/v1/contacts", body, opts...).want(http.StatusCreated).obj()
}

// wantNoContent checks a 204 with an empty body.
func (r *resp) wantNoContent() {
	r.t.Helper()
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		r.t.Fatalf("%s %s: status %d, body %q; want 204 and no body", r.method, r.path, r.Status, r.Body)
	}
}

// contactNames returns the names of a contact list, in order.
func contactNames(t testing.TB, list map[string]any) []string {
	t.Helper()
	var out []string
	for _, c := range list["data"].([]any) {
		out = append(out, c.(map[string]any)["name"].(string))
	}
	return out
}

func TestContacts_CRUD(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)

		// Created with 201, the number normalised; email and notes are
		// always present, null when unset.
		c := e.createContact(map[string]any{"phoneNumber": "+1 (415) 555-0100", "name": "Ada Lovelace"})
		wantObject(t, c, contactJSON("+14155550100", "Ada Lovelace", nil, nil))
		if c["createdAt"] != c["updatedAt"] {
			t.Errorf("createdAt %v != updatedAt %v", c["createdAt"], c["updatedAt"])
		}
		id := c["id"].(string)
		wantObject(t, e.do("GET", "/v1/contacts/"+id, nil).want(200).obj(), c)

		full := e.createContact(map[string]any{"phoneNumber": "442079460958", "name": "Émile <Zola>",
			"email": "emile@example.fr", "notes": "Prefers SMS & calls", "unknownKey": true})
		wantObject(t, full, contactJSON("+442079460958", "Émile <Zola>", "emile@example.fr", "Prefers SMS & calls"))
		e.createContact(map[string]any{"phoneNumber": "+14155550101", "name": "Nulls", "email": nil, "notes": nil})

		// PATCH changes the keys sent only; null clears email and notes.
		got := e.do("PATCH", "/v1/contacts/"+id, map[string]any{"email": "ada@example.com", "notes": "n"}).want(200).obj()
		wantObject(t, got, with(c, "email", "ada@example.com", "notes", "n", "updatedAt", timeRE))
		if got["createdAt"] != c["createdAt"] || got["updatedAt"].(string) < c["updatedAt"].(string) {
			t.Errorf("times after update: %v %v", got["createdAt"], got["updatedAt"])
		}
		got = e.do("PATCH", "/v1/contacts/"+id, map[string]any{"notes": nil, "name": "Ada King", "phoneNumber": "1.415.555.0199"}).want(200).obj()
		wantObject(t, got, with(c, "phoneNumber", "+14155550199", "name", "Ada King", "email", "ada@example.com", "updatedAt", timeRE))
		wantObject(t, e.do("GET", "/v1/contacts/"+id, nil).want(200).obj(), got)
		got = e.do("PATCH", "/v1/contacts/"+id, map[string]any{}).want(200).obj()
		wantObject(t, got, with(c, "phoneNumber", "+14155550199", "name", "Ada King", "email", "ada@example.com", "updatedAt", timeRE))
		got = e.do("PATCH", "/v1/contacts/"+id, map[string]any{"email": nil}).want(200).obj()
		if got["email"] != nil || got["name"] != "Ada King" {
			t.Errorf("after email null: %v", got)
		}

		// DELETE: 204 with no body, then it is gone.
		e.do("DELETE", "/v1/contacts/"+id, nil).wantNoContent()
		e.do("GET", "/v1/contacts/"+id, nil).wantDetail(404, "Contact not found")
		e.do("DELETE", "/v1/contacts/"+id, nil).wantDetail(404, "Contact not found")
		e.do("PATCH", "/v1/contacts/"+id, map[string]any{"name": "x"}).wantDetail(404, "Contact not found")
		e.do("GET", "/v1/contacts/ct_unknown", nil).wantDetail(404, "Contact not found")
		list := e.do("GET", "/v1/contacts", nil).want(200).obj()
		if list["total"] != 2.0 {
			t.Errorf("total after delete = %v", list["total"])
		}

		// Authentication is required.
		e.do("GET", "/v1/contacts", nil, noKey()).wantDetail(401, "Missing API key: send Authorization: Bearer <key>")
		e.do("POST", "/v1/contacts", map[string]any{"phoneNumber": "+14155550102", "name": "x"}, noKey()).want(401)
	})
}

func TestContacts_Validation(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		post := func(body any) *resp { return e.do("POST", "/v1/contacts", body) }

		post(map[string]any{}).wantErrs(fe("missing", "phoneNumber"), fe("missing", "name"))
		post(nil).wantErrs(fieldErr{`["body"]`, "missing"})
		post(raw("null")).wantErrs(fieldErr{`["body"]`, "missing"})
		post(raw("[]")).wantErrs(fieldErr{`["body"]`, "model_attributes_type"})
		post(raw(`{"name":`)).wantErrs(fieldErr{`["body",8]`, "json_invalid"})
		post(map[string]any{"phoneNumber": nil, "name": nil}).wantErrs(fe("string_type", "phoneNumber"), fe("string_type", "name"))
		post(map[string]any{"phoneNumber": "call me", "name": "A"}).wantErrs(fe("value_error", "phoneNumber"))
		post(map[string]any{"phoneNumber": "+1", "name": "  "}).wantErrs(fe("value_error", "phoneNumber"), fe("string_too_short", "name"))
		post(map[string]any{"phoneNumber": "+14155550100", "name": strings.Repeat("n", 201)}).wantErrs(fe("string_too_long", "name"))
		post(map[string]any{"phoneNumber": "+14155550100", "name": "A", "email": "nope", "notes": strings.Repeat("n", 10001)}).
			wantErrs(fe("value_error", "email"), fe("string_too_long", "notes"))
		post(map[string]any{"phoneNumber": "+14155550100", "name": "A", "email": strings.Repeat("e", 320) + "@x.io"}).
			wantErrs(fe("string_too_long", "email"))
		// Type errors and the domain's own errors come in one 422, in the
		// input's field order.
		r := post(map[string]any{"phoneNumber": 14155550100, "name": "", "email": "x", "notes": 5})
		r.wantErrs(fe("string_type", "phoneNumber"), fe("string_too_short", "name"), fe("value_error", "email"), fe("string_type", "notes"))
		var body struct {
			Detail []struct {
				Loc []any
				Msg string
			}
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, d := range body.Detail {
			order = append(order, d.Loc[1].(string))
		}
		if !slices.Equal(order, []string{"phoneNumber", "name", "email", "notes"}) {
			t.Errorf("422 order %v", order)
		}
		// The messages say what is wrong.
		r = post(map[string]any{"phoneNumber": "+1 415 CALL NOW", "name": strings.Repeat("n", 201)})
		wantObject(t, r.obj(), map[string]any{"detail": []any{
			map[string]any{"loc": []any{"body", "phoneNumber"}, "type": "value_error",
				"msg": "Value error, phoneNumber is not a valid phone number (a phone number has only digits, spaces and - . ( )); use E.164 format, e.g. +14155551234"},
			map[string]any{"loc": []any{"body", "name"}, "type": "string_too_long", "msg": "String should have at most 200 characters"},
		}})
		post(map[string]any{"phoneNumber": "+14155550100", "name": "a\u0000b"}).wantErrs(fe("value_error", "name"))

		// Nothing was stored by the failures.
		if list := e.do("GET", "/v1/contacts", nil).want(200).obj(); list["total"] != 0.0 {
			t.Fatalf("total = %v, want 0", list["total"])
		}

		// PATCH: name and phoneNumber cannot be null; invalid input is a
		// 422 even for an unknown contact (the body is validated first).
		id := e.createContact(map[string]any{"phoneNumber": "+14155550100", "name": "A"})["id"].(string)
		for _, path := range []string{"/v1/contacts/" + id, "/v1/contacts/ct_unknown"} {
			e.do("PATCH", path, map[string]any{"name": nil, "phoneNumber": nil, "email": nil, "notes": nil}).
				wantErrs(fe("string_type", "phoneNumber"), fe("string_type", "name"))
			e.do("PATCH", path, map[string]any{"name": 1, "email": "x"}).wantErrs(fe("string_type", "name"), fe("value_error", "email"))
			e.do("PATCH", path, nil).wantErrs(fieldErr{`["body"]`, "missing"})
		}
		wantObject(t, e.do("GET", "/v1/contacts/"+id, nil).want(200).obj(), contactJSON("+14155550100", "A", nil, nil))

		// Query parameters.
		e.do("GET", "/v1/contacts?limit=0", nil).wantErrs(qe("greater_than_equal", "limit"))
		e.do("GET", "/v1/contacts?limit=201", nil).wantErrs(qe("less_than_equal", "limit"))
		e.do("GET", "/v1/contacts?limit=x&offset=-1", nil).wantErrs(qe("int_parsing", "limit"), qe("greater_than_equal", "offset"))
		e.do("GET", "/v1/contacts?limit=200&offset=0", nil).want(200)
	})
}

func TestContacts_Conflict(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		const detail = "A contact with phone number +14155550100 already exists"
		e.createContact(map[string]any{"phoneNumber": "+14155550100", "name": "A"})
		// The same number written otherwise is the same number.
		e.do("POST", "/v1/contacts", map[string]any{"phoneNumber": "1 (415) 555-0100", "name": "B"}).wantDetail(409, detail)
		other := e.createContact(map[string]any{"phoneNumber": "+14155550101", "name": "B"})
		e.do("PATCH", "/v1/contacts/"+other["id"].(string), map[string]any{"phoneNumber": "+1-415-555-0100", "name": "changed"}).
			wantDetail(409, detail)
		wantObject(t, e.do("GET", "/v1/contacts/"+other["id"].(string), nil).want(200).obj(), other)
		// Its own number is no conflict.
		e.do("PATCH", "/v1/contacts/"+other["id"].(string), map[string]any{"phoneNumber": "+14155550101"}).want(200)

		// Another account, and a sub-account, may have the same number.
		_, keyB := e.newAccount("globex")
		e.createContact(map[string]any{"phoneNumber": "+14155550100", "name": "A at B"}, withKey(keyB))
		sub := e.createSub("eu")
		e.createContact(map[string]any{"phoneNumber": "+14155550100", "name": "A in sub"}, withSub(sub))
	})
}

func TestContacts_List(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		empty := e.do("GET", "/v1/contacts", nil).want(200).obj()
		wantObject(t, empty, map[string]any{"data": []any{}, "hasMore": false, "total": 0})

		var created []string // names, oldest first
		for i := range 55 {
			name := fmt.Sprintf("Contact %02d", i)
			e.createContact(map[string]any{"phoneNumber": fmt.Sprintf("+1415555%04d", i), "name": name})
			created = append(created, name)
		}
		newest := slices.Clone(created)
		slices.Reverse(newest) // created one after the other: newest first

		// Default page: 50.
		list := e.do("GET", "/v1/contacts", nil).want(200).obj()
		if got := contactNames(t, list); !slices.Equal(got, newest[:50]) || list["hasMore"] != true || list["total"] != 55.0 {
			t.Fatalf("default page: %v, hasMore %v, total %v", got, list["hasMore"], list["total"])
		}
		for _, item := range list["data"].([]any) {
			wantObject(t, item.(map[string]any), contactJSON(item.(map[string]any)["phoneNumber"].(string), item.(map[string]any)["name"].(string), nil, nil))
		}
		list = e.do("GET", "/v1/contacts?limit=10&offset=50", nil).want(200).obj()
		if got := contactNames(t, list); !slices.Equal(got, newest[50:]) || list["hasMore"] != false || list["total"] != 55.0 {
			t.Errorf("last page: %v, hasMore %v, total %v", got, list["hasMore"], list["total"])
		}
		list = e.do("GET", "/v1/contacts?limit=200", nil).want(200).obj()
		if got := contactNames(t, list); !slices.Equal(got, newest) || list["hasMore"] != false {
			t.Errorf("limit 200: %d items, hasMore %v", len(got), list["hasMore"])
		}
		list = e.do("GET", "/v1/contacts?offset=100", nil).want(200).obj()
		wantObject(t, list, map[string]any{"data": []any{}, "hasMore": false, "total": 55})

		// Search: name (any case of ASCII letters) or phone number; total
		// counts the matches; LIKE metacharacters match literally.
		e.createContact(map[string]any{"phoneNumber": "+442079460958", "name": "100% Émile_Zola"})
		search := func(q string, query ...string) map[string]any {
			t.Helper()
			v := url.Values{"search": {q}}
			for i := 0; i < len(query); i += 2 {
				v.Set(query[i], query[i+1])
			}
			return e.do("GET", "/v1/contacts?"+v.Encode(), nil).want(200).obj()
		}
		for q, want := range map[string][]string{
			"contact 5":       {"Contact 54", "Contact 53", "Contact 52", "Contact 51", "Contact 50"},
			"CONTACT 0":       {"Contact 09", "Contact 08", "Contact 07", "Contact 06", "Contact 05", "Contact 04", "Contact 03", "Contact 02", "Contact 01", "Contact 00"},
			"%":               {"100% Émile_Zola"},
			"_":               {"100% Émile_Zola"},
			"Émile_ZOLA":      {"100% Émile_Zola"},
			"émile_zola":      nil, // only ASCII letters fold, on every database
			"+44 20":          {"100% Émile_Zola"},
			"(415) 555-0042":  {"Contact 42"},
			"  +14155550007 ": {"Contact 07"},
			"nobody":          nil,
		} {
			list := search(q)
			if got := contactNames(t, list); !slices.Equal(got, want) || list["total"] != float64(len(want)) {
				t.Errorf("search %q: %q, total %v; want %q", q, got, list["total"], want)
			}
		}
		// A raw '+' in the query string is a space once decoded.
		list = e.do("GET", "/v1/contacts?search=+14155550007", nil).want(200).obj()
		if got := contactNames(t, list); !slices.Equal(got, []string{"Contact 07"}) {
			t.Errorf("raw +: %q", got)
		}
		list = search("contact", "limit", "5", "offset", "50")
		if got := contactNames(t, list); !slices.Equal(got, newest[50:]) || list["total"] != 55.0 || list["hasMore"] != false {
			t.Errorf("searched page: %q, total %v", got, list["total"])
		}
		list = search("contact", "limit", "5")
		if list["hasMore"] != true || list["total"] != 55.0 {
			t.Errorf("searched first page: hasMore %v, total %v", list["hasMore"], list["total"])
		}
		// Empty or blank: no filter. Bytes no database stores: no match.
		if list := search(" "); list["total"] != 56.0 {
			t.Errorf("blank search: total %v", list["total"])
		}
		if list := e.do("GET", "/v1/contacts?search=", nil).want(200).obj(); list["total"] != 56.0 {
			t.Errorf("empty search: total %v", list["total"])
		}
		for _, q := range []string{"%00", "%FF", "a%00b"} {
			if list := e.do("GET", "/v1/contacts?search="+q, nil).want(200).obj(); list["total"] != 0.0 {
				t.Errorf("search %s: total %v", q, list["total"])
			}
		}
	})
}

// TestContacts_SubAccounts: X-Sub-Account-Id scopes contacts like every
// resource; one (sub-)account never sees another's.
func TestContacts_SubAccounts(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		sub := e.createSub("eu")
		_, keyB := e.newAccount("globex")
		inSub := e.createContact(map[string]any{"phoneNumber": "+14155550100", "name": "In sub"}, withSub(sub))
		inMaster := e.createContact(map[string]any{"phoneNumber": "+14155550100", "name": "In master"})
		subID, masterID := inSub["id"].(string), inMaster["id"].(string)

		wantObject(t, e.do("GET", "/v1/contacts/"+subID, nil, withSub(sub)).want(200).obj(), inSub)
		for name, opts := range map[string][]reqOpt{"master": nil, "accountB": {withKey(keyB)}} {
			t.Run("sub's contact from "+name, func(t *testing.T) {
				e.do("GET", "/v1/contacts/"+subID, nil, opts...).wantDetail(404, "Contact not found")
				e.do("PATCH", "/v1/contacts/"+subID, map[string]any{"name": "pwned"}, opts...).wantDetail(404, "Contact not found")
				e.do("DELETE", "/v1/contacts/"+subID, nil, opts...).wantDetail(404, "Contact not found")
			})
		}
		for name, opts := range map[string][]reqOpt{"sub": {withSub(sub)}, "accountB": {withKey(keyB)}} {
			t.Run("master's contact from "+name, func(t *testing.T) {
				e.do("GET", "/v1/contacts/"+masterID, nil, opts...).wantDetail(404, "Contact not found")
				e.do("DELETE", "/v1/contacts/"+masterID, nil, opts...).wantDetail(404, "Contact not found")
			})
		}
		list := e.do("GET", "/v1/contacts", nil, withSub(sub)).want(200).obj()
		if got := contactNames(t, list); !slices.Equal(got, []string{"In sub"}) || list["total"] != 1.0 {
			t.Errorf("sub lists %q", got)
		}
		list = e.do("GET", "/v1/contacts?search=in", nil).want(200).obj()
		if got := contactNames(t, list); !slices.Equal(got, []string{"In master"}) {
			t.Errorf("master finds %q", got)
		}
		if list := e.do("GET", "/v1/contacts", nil, withKey(keyB)).want(200).obj(); list["total"] != 0.0 {
			t.Errorf("account B lists %v", list["total"])
		}
		// A sub-account that is not the key's: 404 on every route.
		e.do("GET", "/v1/contacts", nil, withKey(keyB), withSub(sub)).wantDetail(404, "Sub-account not found")
		e.do("POST", "/v1/contacts", map[string]any{"phoneNumber": "+14155550101", "name": "x"}, withKey(keyB), withSub(sub)).
			wantDetail(404, "Sub-account not found")
		e.do("GET", "/v1/contacts/"+subID, nil, withSub("acct_unknown")).wantDetail(404, "Sub-account not found")

		// Changes in the sub-account stay there; deleting it deletes them.
		e.do("PATCH", "/v1/contacts/"+subID, map[string]any{"email": "s@eu.example"}, withSub(sub)).want(200)
		wantObject(t, e.do("GET", "/v1/contacts/"+masterID, nil).want(200).obj(), inMaster)
		e.do("DELETE", "/v1/sub-accounts/"+sub, nil).want(200)
		var n int
		if err := e.store.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM contacts WHERE account_id = $1`, sub).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d contacts of the deleted sub-account remain", n)
		}
		e.do("GET", "/v1/contacts/"+masterID, nil).want(200)
	})
}

// TestContacts_OpenAPI: the documented contact schemas list exactly the
// keys the server emits and the keys ContactInput decodes.
func TestContacts_OpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Backend{Name: "sqlite", Open: storetest.OpenSQLite})
	schemas := e.schemas()
	c := e.createContact(map[string]any{"phoneNumber": "+14155550100", "name": "A"})
	checkSchema(t, schemas, "Contact", c)
	checkSchema(t, schemas, "ContactListResponse", e.do("GET", "/v1/contacts", nil).want(200).obj())
	var inputKeys []string
	in := reflect.TypeFor[agentphone.ContactInput]()
	for i := range in.NumField() {
		inputKeys = append(inputKeys, strings.Split(in.Field(i).Tag.Get("json"), ",")[0])
	}
	sort.Strings(inputKeys)
	for _, name := range []string{"CreateContactRequest", "UpdateContactRequest"} {
		if documented := sortedKeys(schemas[name].Properties); !slices.Equal(inputKeys, documented) {
			t.Errorf("%s documents %v, ContactInput decodes %v", name, documented, inputKeys)
		}
	}
}
