package agentphone

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

var testVoices = map[string]bool{"espeak-skylar": true, "espeak-brian": true}

func decodeAgentInput(t *testing.T, body string) AgentInput {
	t.Helper()
	var in AgentInput
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return in
}

func TestAgentInput_CreateDefaults(t *testing.T) {
	t.Parallel()
	a := newAgent("acct_1", "espeak-skylar")
	in := decodeAgentInput(t, `{"name":"Support Bot"}`)
	if err := in.apply(a, true, testVoices, "espeak-skylar"); err != nil {
		t.Fatal(err)
	}
	want := Agent{
		ID: a.ID, AccountID: "acct_1", Name: "Support Bot", VoiceMode: "webhook", EnableMessaging: true,
		ModelTier: "balanced", Voice: "espeak-skylar", STTMode: "fast", AmbientSound: "none",
		DenoisingMode: "noise-cancellation", MaxSilenceMs: 600000, VoiceSpeed: 1.0,
		InterruptionSensitivity: 0.8, EnableBackchannel: true, Language: "en-US",
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Numbers: []AgentNumber{},
	}
	if !reflect.DeepEqual(*a, want) {
		t.Fatalf("agent =\n%+v\nwant\n%+v", *a, want)
	}
}

func TestAgentInput_Patch(t *testing.T) {
	t.Parallel()
	a := newAgent("acct_1", "espeak-skylar")
	full := `{"name":"A","description":"d","voiceSpeed":1.5,"sttMode":"accurate","language":"de-DE",
		"customTools":[{"name":"lookup","description":"find","url":"https://x.test/t"}],"transferNumber":"+1 415 555 1234"}`
	in := decodeAgentInput(t, full)
	if err := in.apply(a, true, testVoices, "espeak-skylar"); err != nil {
		t.Fatal(err)
	}
	if *a.TransferNumber != "+14155551234" {
		t.Errorf("transferNumber = %q, want E.164", *a.TransferNumber)
	}
	// Only sent keys change; null clears nullable fields and resets defaulted
	// ones; customTools null leaves the tools alone.
	in = decodeAgentInput(t, `{"description":null,"voiceSpeed":null,"sttMode":null,"customTools":null,"maxSilenceMs":20000}`)
	if err := in.apply(a, false, testVoices, "espeak-skylar"); err != nil {
		t.Fatal(err)
	}
	switch {
	case a.Description != nil:
		t.Error("description not cleared")
	case a.VoiceSpeed != 1.0 || a.STTMode != "fast":
		t.Errorf("defaults not restored: voiceSpeed %v sttMode %s", a.VoiceSpeed, a.STTMode)
	case a.Language != "de-DE" || a.Name != "A":
		t.Errorf("unsent fields changed: %s %s", a.Language, a.Name)
	case len(a.CustomTools) != 1 || a.CustomTools[0].Method != "POST":
		t.Errorf("customTools = %+v", a.CustomTools)
	case a.MaxSilenceMs != 20000:
		t.Errorf("maxSilenceMs = %d", a.MaxSilenceMs)
	}
	in = decodeAgentInput(t, `{"customTools":[]}`)
	if err := in.apply(a, false, testVoices, "espeak-skylar"); err != nil || a.CustomTools == nil || len(a.CustomTools) != 0 {
		t.Fatalf("customTools [] = %+v, %v; want cleared to []", a.CustomTools, err)
	}
}

func TestAgentInput_HostedToWebhookClearsPrompt(t *testing.T) {
	t.Parallel()
	a := newAgent("acct_1", "espeak-skylar")
	in := decodeAgentInput(t, `{"name":"H","voiceMode":"hosted","systemPrompt":"be nice","beginMessage":"hi"}`)
	if err := in.apply(a, true, testVoices, ""); err != nil {
		t.Fatal(err)
	}
	in = decodeAgentInput(t, `{"voiceMode":"webhook"}`)
	if err := in.apply(a, false, testVoices, ""); err != nil {
		t.Fatal(err)
	}
	if a.SystemPrompt != nil || a.BeginMessage != nil {
		t.Fatalf("prompt %v greeting %v survived the switch to webhook", a.SystemPrompt, a.BeginMessage)
	}
}

func TestAgentInput_Invalid(t *testing.T) {
	t.Parallel()
	tools := make([]string, 21)
	for i := range tools {
		tools[i] = `{"name":"t` + string(rune('a'+i)) + `","description":"d","url":"https://x.test"}`
	}
	tests := []struct {
		name string
		body string
		want []string // "loc:type" of every expected error, in order
	}{
		{"MissingName", `{}`, []string{"name:missing"}},
		{"EmptyName", `{"name":" "}`, []string{"name:string_too_short"}},
		{"Enums", `{"name":"a","voiceMode":"x","modelTier":"x","sttMode":"x","ambientSound":"x","denoisingMode":"x","language":"en-us"}`,
			[]string{"voiceMode:literal_error", "modelTier:literal_error", "sttMode:literal_error", "ambientSound:literal_error", "denoisingMode:literal_error", "language:literal_error"}},
		{"RangesLow", `{"name":"a","maxSilenceMs":9999,"voiceSpeed":0.49,"interruptionSensitivity":-0.01}`,
			[]string{"maxSilenceMs:greater_than_equal", "voiceSpeed:greater_than_equal", "interruptionSensitivity:greater_than_equal"}},
		{"RangesHigh", `{"name":"a","maxSilenceMs":3600001,"voiceSpeed":2.01,"interruptionSensitivity":1.01}`,
			[]string{"maxSilenceMs:less_than_equal", "voiceSpeed:less_than_equal", "interruptionSensitivity:less_than_equal"}},
		{"Lengths", `{"name":"a","voicemailMessage":"` + strings.Repeat("x", 1001) + `","callScreeningIdentity":"` + strings.Repeat("x", 101) + `","callScreeningPurpose":"` + strings.Repeat("x", 301) + `"}`,
			[]string{"voicemailMessage:string_too_long", "callScreeningIdentity:string_too_long", "callScreeningPurpose:string_too_long"}},
		{"Voice", `{"name":"a","voice":"11labs-Nobody"}`, []string{"voice:value_error"}},
		{"TransferNumber", `{"name":"a","transferNumber":"call me"}`, []string{"transferNumber:value_error"}},
		{"HostedNeedsPrompt", `{"name":"a","voiceMode":"hosted"}`, []string{"systemPrompt:value_error"}},
		{"TooManyTools", `{"name":"a","customTools":[` + strings.Join(tools, ",") + `]}`, []string{"customTools:too_long"}},
		{"ToolFields", `{"name":"a","customTools":[{"name":"bad name","url":"http://example.com","method":"PUT","timeoutMs":999,"parameters":[1]},{"name":"end_call","description":"d","url":"https://x"},{"name":"ok","description":"d","url":"https://x"},{"name":"ok","description":"d","url":"https://x"}]}`,
			[]string{"customTools.0.name:string_pattern_mismatch", "customTools.0.description:missing", "customTools.0.url:value_error", "customTools.0.method:literal_error", "customTools.0.parameters:dict_type", "customTools.0.timeoutMs:greater_than_equal", "customTools.1.name:value_error", "customTools.3.name:value_error"}},
		{"ToolSchemas", `{"name":"a","customTools":[` + strings.Join([]string{
			schemaTool("t0", `{"type":5}`),
			schemaTool("t1", `{"properties":[]}`),
			schemaTool("t2", `{"$ref":"https://schemas.example.com/a.json"}`),
			schemaTool("t3", `{"type":"string"}`),
			schemaTool("t4", `"object"`),
			schemaTool("t5", `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
			schemaTool("t6", `{"$ref":"#/$defs/missing"}`),
			schemaTool("t7", `{"properties":{"code":{"type":"string","pattern":"(("}}}`),
		}, ",") + `]}`,
			[]string{"customTools.0.parameters:value_error", "customTools.1.parameters:value_error", "customTools.2.parameters:value_error",
				"customTools.3.parameters:value_error", "customTools.4.parameters:dict_type", "customTools.6.parameters:value_error", "customTools.7.parameters:value_error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAgent("acct_1", "espeak-skylar")
			before := *a
			in := decodeAgentInput(t, tt.body)
			err := in.apply(a, true, testVoices, "espeak-skylar")
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			var got []string
			for _, f := range ve.Fields {
				parts := make([]string, len(f.Loc))
				for i, l := range f.Loc {
					parts[i] = strings.Trim(strings.ReplaceAll(toString(l), " ", ""), "\"")
				}
				got = append(got, strings.Join(parts, ".")+":"+f.Type)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors =\n%v\nwant\n%v", got, tt.want)
			}
			if !reflect.DeepEqual(*a, before) {
				t.Fatal("an invalid input changed the agent")
			}
		})
	}
}

func schemaTool(name, params string) string {
	return `{"name":"` + name + `","description":"d","url":"https://x.test/t","parameters":` + params + `}`
}

// applyToolParameters validates one tool with the given parameters and
// returns the field errors at its parameters.
func applyToolParameters(t *testing.T, params string) []FieldError {
	t.Helper()
	a := newAgent("acct_1", "espeak-skylar")
	in := decodeAgentInput(t, `{"name":"a","customTools":[`+schemaTool("t", params)+`]}`)
	err := in.apply(a, true, testVoices, "espeak-skylar")
	if err == nil {
		return nil
	}
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	for _, f := range ve.Fields {
		if !reflect.DeepEqual(f.Loc, []any{"customTools", 0, "parameters"}) {
			t.Fatalf("unexpected error at %v: %s", f.Loc, f.Msg)
		}
	}
	return ve.Fields
}

func TestToolParametersSchema(t *testing.T) {
	t.Parallel()
	// A schema file on disk: the library's default loader would read it.
	file := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(file, []byte(`{"type":"object"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		params string
		want   []string // substrings of the message; nil: valid
	}{
		{`{}`, nil},
		{`{"type":"object","properties":{"n":{"type":"integer","minimum":1}},"required":["n"],"additionalProperties":false}`, nil},
		{`{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"d":{"type":"string"}},"properties":{"d":{"$ref":"#/definitions/d"}}}`, nil},
		{`{"$defs":{"d":{"type":"string"}},"properties":{"d":{"$ref":"#/$defs/d"}}}`, nil},
		{`{"type":5}`, []string{"Value error, parameters is not a valid JSON Schema", "'/type'", "want array"}},
		{`{"properties":[]}`, []string{"not a valid JSON Schema", "'/properties': got array, want object"}},
		{`{"required":"city"}`, []string{"'/required': got string, want array"}},
		{`{"type":"array"}`, []string{"top-level type must be 'object'"}},
		{`{"type":["object","null"]}`, []string{"top-level type must be 'object'"}},
		{`{"$ref":"https://schemas.example.com/a.json"}`, []string{"external schema (https://schemas.example.com/a.json)"}},
		{`{"$schema":"https://schemas.example.com/meta"}`, []string{"external schema"}},
		{`{"$ref":"other.json"}`, []string{"external schema (other.json)"}},
		{`{"$ref":"file://` + file + `"}`, []string{"external schema (file://"}},
		{`{"$ref":"#/$defs/nope"}`, []string{"not a valid JSON Schema", "#/$defs/nope"}},
	}
	for _, tt := range tests {
		fields := applyToolParameters(t, tt.params)
		if tt.want == nil {
			if fields != nil {
				t.Errorf("%s: errors %+v, want none", tt.params, fields)
			}
			continue
		}
		if len(fields) != 1 || fields[0].Type != "value_error" {
			t.Errorf("%s: errors %+v, want one value_error", tt.params, fields)
			continue
		}
		msg := fields[0].Msg
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q does not contain %q", tt.params, msg, w)
			}
		}
		if strings.Contains(msg, "mem://") || len(msg) > 350 {
			t.Errorf("%s: message %q leaks the internal URL or is too long", tt.params, msg)
		}
	}
}

// A schema referencing a live server is refused without a request to it.
func TestToolParametersSchema_NoNetwork(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/schema+json")
		io.WriteString(w, `{"type":"object"}`)
	}))
	defer srv.Close()
	for _, params := range []string{
		`{"$ref":"` + srv.URL + `/s.json"}`,
		`{"properties":{"a":{"$ref":"` + srv.URL + `/s.json#/x"}}}`,
		`{"$schema":"` + srv.URL + `/meta"}`,
		`{"$id":"` + srv.URL + `/root.json","$ref":"other.json"}`,
	} {
		fields := applyToolParameters(t, params)
		if len(fields) != 1 || !strings.Contains(fields[0].Msg, "external schema") {
			t.Errorf("%s: errors %+v, want the external schema refused", params, fields)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the schema server got %d requests, want 0", n)
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestToolURL(t *testing.T) {
	t.Parallel()
	for u, ok := range map[string]bool{
		"https://api.example.com/tool": true, "http://localhost:3000/t": true, "http://127.0.0.1/t": true,
		"http://[::1]:80/t": true, "http://example.com/t": false, "ftp://x/y": false, "/relative": false,
	} {
		if got := checkToolURL(u) == ""; got != ok {
			t.Errorf("checkToolURL(%q) ok = %v, want %v", u, got, ok)
		}
	}
}
