package agentphone

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func decodeContactInput(t *testing.T, body string) ContactInput {
	t.Helper()
	var in ContactInput
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return in
}

// contactErrs returns the field errors of err as "loc type" strings.
func contactErrs(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T), want a *ValidationError", err, err)
	}
	var out []string
	for _, f := range ve.Fields {
		if len(f.Loc) != 1 || f.Msg == "" {
			t.Errorf("bad field error %+v", f)
		}
		out = append(out, f.Loc[0].(string)+" "+f.Type)
	}
	return out
}

func TestContactInput_Create(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want Contact
	}{
		{`{"phoneNumber":"+1 (415) 555-1234","name":"Ada","email":"ada@example.com","notes":"hi"}`,
			Contact{PhoneNumber: "+14155551234", Name: "Ada", Email: ptrTo("ada@example.com"), Notes: ptrTo("hi")}},
		{`{"phoneNumber":"14155551234","name":" Ada ","email":null,"notes":null,"unknown":1}`,
			Contact{PhoneNumber: "+14155551234", Name: " Ada "}},
		{`{"phoneNumber":"+44 20 7946 0958","name":"Émile","notes":""}`,
			Contact{PhoneNumber: "+442079460958", Name: "Émile", Notes: ptrTo("")}},
	} {
		in := decodeContactInput(t, tc.body)
		var c Contact
		if err := in.apply(&c, true); err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if !reflect.DeepEqual(c, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.body, c, tc.want)
		}
	}
}

func TestContactInput_Errors(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("é", n) } // characters, not bytes
	for _, tc := range []struct {
		body   string
		create bool
		want   []string
	}{
		{`{}`, true, []string{"phoneNumber missing", "name missing"}},
		{`{}`, false, nil},
		{`{"phoneNumber":null,"name":null}`, true, []string{"phoneNumber string_type", "name string_type"}},
		{`{"phoneNumber":null,"name":null,"email":null,"notes":null}`, false, []string{"phoneNumber string_type", "name string_type"}},
		{`{"phoneNumber":"not a number","name":"A"}`, true, []string{"phoneNumber value_error"}},
		{`{"phoneNumber":"+1","name":"A"}`, true, []string{"phoneNumber value_error"}},
		{`{"phoneNumber":"","name":"A"}`, true, []string{"phoneNumber value_error"}},
		{`{"phoneNumber":"+14155551234","name":""}`, true, []string{"name string_too_short"}},
		{`{"name":" \t\n"}`, false, []string{"name string_too_short"}},
		{`{"name":"` + long(200) + `"}`, false, nil},
		{`{"name":"` + long(201) + `"}`, false, []string{"name string_too_long"}},
		{`{"email":"ada"}`, false, []string{"email value_error"}},
		{`{"email":""}`, false, []string{"email value_error"}},
		{`{"email":"@example.com"}`, false, []string{"email value_error"}},
		{`{"email":"ada@"}`, false, []string{"email value_error"}},
		{`{"email":"` + long(310) + `@example.com"}`, false, []string{"email string_too_long"}},
		{`{"email":"` + long(308) + `@example.com"}`, false, nil}, // 320 characters
		{`{"notes":"` + long(10000) + `"}`, false, nil},
		{`{"notes":"` + long(10001) + `"}`, false, []string{"notes string_too_long"}},
		{`{"name":"a\u0000b","notes":"\u0000"}`, false, []string{"name value_error", "notes value_error"}},
		// Every bad field at once, in the input's order.
		{`{"phoneNumber":"x","name":"","email":"x","notes":"` + long(10001) + `"}`, true,
			[]string{"phoneNumber value_error", "name string_too_short", "email value_error", "notes string_too_long"}},
	} {
		in := decodeContactInput(t, tc.body)
		c := Contact{PhoneNumber: "+14155550000", Name: "Before"}
		before := c
		err := in.apply(&c, tc.create)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%.80s: %v", tc.body, err)
			}
			continue
		}
		if got := contactErrs(t, err); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%.80s: errors %q, want %q", tc.body, got, tc.want)
		}
		if !reflect.DeepEqual(c, before) {
			t.Errorf("%.80s: contact changed on error: %+v", tc.body, c)
		}
	}
}

func TestContactInput_Messages(t *testing.T) {
	t.Parallel()
	msgs := func(body string) map[string]string {
		var c Contact
		in := decodeContactInput(t, body)
		var ve *ValidationError
		if !errors.As(in.apply(&c, true), &ve) {
			t.Fatalf("%s: no validation error", body)
		}
		out := map[string]string{}
		for _, f := range ve.Fields {
			out[f.Loc[0].(string)] = f.Msg
		}
		return out
	}
	m := msgs(`{"phoneNumber":"call me","name":"` + strings.Repeat("x", 201) + `","email":"nope","notes":null}`)
	if p := m["phoneNumber"]; !strings.HasPrefix(p, "Value error, phoneNumber is not a valid phone number (") ||
		!strings.Contains(p, "digits") || !strings.Contains(p, "E.164") {
		t.Errorf("phoneNumber message %q should name the problem", p)
	}
	if m["name"] != "String should have at most 200 characters" {
		t.Errorf("name message %q", m["name"])
	}
	if !strings.Contains(m["email"], "'@'") {
		t.Errorf("email message %q", m["email"])
	}
	if p := msgs(`{"phoneNumber":"+999 1234","name":"A"}`)["phoneNumber"]; !strings.Contains(p, "(") || len(p) < 60 {
		t.Errorf("phoneNumber message %q should name the problem", p)
	}
}

func TestContactInput_Patch(t *testing.T) {
	t.Parallel()
	c := Contact{ID: "contact_1", AccountID: "acct_1", PhoneNumber: "+14155550000", Name: "Ada",
		Email: ptrTo("ada@example.com"), Notes: ptrTo("n")}
	// Only the keys sent change.
	in := decodeContactInput(t, `{"name":"Ada L."}`)
	if err := in.apply(&c, false); err != nil {
		t.Fatal(err)
	}
	want := Contact{ID: "contact_1", AccountID: "acct_1", PhoneNumber: "+14155550000", Name: "Ada L.",
		Email: ptrTo("ada@example.com"), Notes: ptrTo("n")}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	// null clears email and notes; a new number is normalised.
	in = decodeContactInput(t, `{"email":null,"notes":null,"phoneNumber":"1-415-555-0001"}`)
	if err := in.apply(&c, false); err != nil {
		t.Fatal(err)
	}
	want.Email, want.Notes, want.PhoneNumber = nil, nil, "+14155550001"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v, want %+v", c, want)
	}
}

// TestContactService_UpdateValidatesFirst: invalid input is refused before
// the store is asked (FastAPI answers 422 before its handler can 404).
func TestContactService_UpdateValidatesFirst(t *testing.T) {
	t.Parallel()
	s := &ContactService{} // no store: touching it would panic
	in := decodeContactInput(t, `{"name":null}`)
	_, err := s.Update(t.Context(), Scope{AccountID: "acct_1"}, "contact_unknown", in)
	if got := contactErrs(t, err); !reflect.DeepEqual(got, []string{"name string_type"}) {
		t.Errorf("errors %q", got)
	}
	_, err = s.Create(t.Context(), Scope{AccountID: "acct_1"}, decodeContactInput(t, `{}`))
	if got := contactErrs(t, err); !reflect.DeepEqual(got, []string{"phoneNumber missing", "name missing"}) {
		t.Errorf("errors %q", got)
	}
}

func TestContactExistsError(t *testing.T) {
	t.Parallel()
	err := ContactExistsError("+15551234567")
	if ErrorKind(err) != KindConflict || ErrorMessage(err) != "A contact with phone number +15551234567 already exists" ||
		!errors.Is(err, ErrConflict) {
		t.Errorf("ContactExistsError = %v (kind %d)", err, ErrorKind(err))
	}
	if id := NewID(PrefixContact); !strings.HasPrefix(id, "contact_") || len(id) != len("contact_")+22 {
		t.Errorf("contact id %q", id)
	}
}

// FuzzContactInput feeds arbitrary JSON through contact validation: it
// never panics; what it refuses leaves the contact unchanged; what it
// accepts is storable: an E.164 number that normalises to itself, a name
// that is not blank and at most 200 characters, text without NUL.
func FuzzContactInput(f *testing.F) {
	f.Add([]byte(`{"phoneNumber":"+1 (415) 555-1234","name":"Ada","email":"a@b","notes":"n"}`))
	f.Add([]byte(`{"phoneNumber":null,"name":null,"email":null,"notes":null}`))
	f.Add([]byte(`{"phoneNumber":"+0","name":" ","email":"@","notes":"\u0000"}`))
	f.Add([]byte(`{"phoneNumber":"44 20 7946 0958","name":"\u00c9mile"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in ContactInput
		if json.Unmarshal(body, &in) != nil {
			return
		}
		for _, create := range []bool{true, false} {
			c := Contact{ID: "contact_1", PhoneNumber: "+14155550000", Name: "Before"}
			before := c
			if err := in.apply(&c, create); err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) || len(ve.Fields) == 0 || !reflect.DeepEqual(c, before) {
					t.Fatalf("err %T %v, or contact changed on error", err, err)
				}
				continue
			}
			if again, err := NormalizePhone(c.PhoneNumber); err != nil || again != c.PhoneNumber {
				t.Fatalf("accepted phone %q normalises to %q, %v", c.PhoneNumber, again, err)
			}
			if strings.TrimSpace(c.Name) == "" || utf8.RuneCountInString(c.Name) > MaxContactNameLen {
				t.Fatalf("accepted name %q", c.Name)
			}
			for _, s := range []*string{&c.Name, c.Email, c.Notes} {
				if s != nil && (strings.ContainsRune(*s, 0) || !utf8.ValidString(*s)) {
					t.Fatalf("accepted text %q", *s)
				}
			}
			if c.Email != nil && (!strings.Contains(*c.Email, "@") || utf8.RuneCountInString(*c.Email) > MaxContactEmailLen) {
				t.Fatalf("accepted email %q", *c.Email)
			}
			if c.Notes != nil && utf8.RuneCountInString(*c.Notes) > MaxContactNotesLen {
				t.Fatalf("accepted notes of %d characters", utf8.RuneCountInString(*c.Notes))
			}
		}
	})
}

func ptrTo[T any](v T) *T { return &v }
