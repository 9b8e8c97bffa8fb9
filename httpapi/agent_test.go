package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/agentphone/agentphone/espeak"
	"github.com/agentphone/agentphone/storetest"
)

// defaultVoice is the first voice of the catalog, the default of new agents.
func defaultVoice(t testing.TB) string {
	vs, err := espeak.Catalog{}.Voices(context.Background())
	if err != nil || len(vs) == 0 {
		t.Fatalf("voices: %v", err)
	}
	return vs[0].ID
}

// defaultAgent is the JSON of an agent created with only a name: every key
// of spec §2.1 with the defaults of §2.7, plus updatedAt.
func defaultAgent(t testing.TB, name string) map[string]any {
	return map[string]any{
		"id": idRE("agt_"), "name": name, "description": nil, "voiceMode": "webhook",
		"enableMessaging": true, "modelTier": "balanced", "systemPrompt": nil, "beginMessage": nil,
		"voice": defaultVoice(t), "transferNumber": nil, "customTools": nil, "voicemailMessage": nil,
		"callScreeningIdentity": nil, "callScreeningPurpose": nil, "sttMode": "fast", "ambientSound": "none",
		"denoisingMode": "noise-cancellation", "maxSilenceMs": 600000, "voiceSpeed": 1.0,
		"interruptionSensitivity": 0.8, "enableBackchannel": true, "language": "en-US",
		"createdAt": timeRE, "numbers": []any{}, "updatedAt": timeRE,
	}
}

// tool is a valid custom tool named name.
func tool(name string) map[string]any {
	return map[string]any{"name": name, "description": "Looks an order up", "url": "https://tools.example.com/" + name}
}

func tools(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = tool(fmt.Sprintf("tool_%d", i))
	}
	return out
}

// fullAgent sets every field of CreateAgentRequest to a non-default value.
func fullAgent() map[string]any {
	return map[string]any{
		"name": "Support Bot", "description": "Answers order questions", "voiceMode": "hosted",
		"enableMessaging": false, "modelTier": "max", "systemPrompt": "You answer questions about orders.",
		"beginMessage": "Hi, this is Acme support.", "voice": "espeak-brian", "transferNumber": "+14155551234",
		"customTools": []any{map[string]any{
			"name": "lookup_order", "description": "Looks an order up", "url": "https://tools.example.com/orders",
			"method": "GET", "headers": map[string]any{"Authorization": "Bearer t"},
			"parameters": map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}},
			"timeoutMs":  5000, "speakDuringExecution": true, "executionMessage": "One moment.",
		}},
		"voicemailMessage": "Call us back.", "callScreeningIdentity": "Acme", "callScreeningPurpose": "Your order",
		"sttMode": "accurate", "ambientSound": "coffee-shop", "denoisingMode": "noise-and-background-speech-cancellation",
		"maxSilenceMs": 30000, "voiceSpeed": 1.25, "interruptionSensitivity": 0.5, "enableBackchannel": false,
		"language": "de-DE",
	}
}

func TestAgents_CreateDefaults(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		got := e.createAgent(map[string]any{"name": "Support Bot"})
		wantObject(t, got, defaultAgent(t, "Support Bot"))
		if got["createdAt"] != got["updatedAt"] {
			t.Errorf("createdAt %v != updatedAt %v", got["createdAt"], got["updatedAt"])
		}
		// Explicit nulls on create mean "use the default" (spec §0.2).
		nulls := map[string]any{"name": "Nulls"}
		for _, k := range []string{"description", "voiceMode", "enableMessaging", "modelTier", "systemPrompt",
			"beginMessage", "voice", "transferNumber", "customTools", "voicemailMessage", "callScreeningIdentity",
			"callScreeningPurpose", "sttMode", "ambientSound", "denoisingMode", "maxSilenceMs", "voiceSpeed",
			"interruptionSensitivity", "enableBackchannel", "language"} {
			nulls[k] = nil
		}
		wantObject(t, e.createAgent(nulls), defaultAgent(t, "Nulls"))
		// Unknown keys are ignored (spec §1.4).
		wantObject(t, e.createAgent(map[string]any{"name": "X", "webhookUrl": "https://x", "voice_id": 5}), defaultAgent(t, "X"))
	})
}

func TestAgents_CreateEveryField(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		in := fullAgent()
		want := with(in, "id", idRE("agt_"), "createdAt", timeRE, "updatedAt", timeRE, "numbers", []any{})
		want["customTools"] = []any{with(in["customTools"].([]any)[0].(map[string]any))}
		got := e.createAgent(in)
		wantObject(t, got, want)
		wantObject(t, e.do("GET", "/v1/agents/"+got["id"].(string), nil).want(200).obj(), want)

		// A tool with only the required keys is stored with the defaults.
		got = e.createAgent(map[string]any{"name": "T", "customTools": []any{tool("a")}})
		wantObject(t, got["customTools"].([]any)[0].(map[string]any), with(tool("a"),
			"method", "POST", "headers", nil, "parameters", nil, "timeoutMs", nil,
			"speakDuringExecution", nil, "executionMessage", nil))

		// voiceSpeed is a JSON number: integers are accepted and echoed.
		got = e.createAgent(map[string]any{"name": "S", "voiceSpeed": 2, "maxSilenceMs": 20000.0})
		if got["voiceSpeed"] != 2.0 || got["maxSilenceMs"] != 20000.0 {
			t.Errorf("voiceSpeed %v maxSilenceMs %v", got["voiceSpeed"], got["maxSilenceMs"])
		}
	})
}

// TestAgents_Validation covers every rule of agent input, each bound just
// inside (accepted) and just outside (422 at the right loc).
func TestAgents_Validation(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n) }
	hosted := func(kv ...any) map[string]any {
		return with(map[string]any{"name": "H", "voiceMode": "hosted", "systemPrompt": "Be nice."}, kv...)
	}
	ok := []map[string]any{
		{"name": "a"},
		{"name": "A", "voiceMode": "webhook"}, {"name": "A", "voiceMode": "hosted", "systemPrompt": "p"},
		{"name": "A", "modelTier": "turbo"}, {"name": "A", "modelTier": "balanced"}, {"name": "A", "modelTier": "max"},
		{"name": "A", "sttMode": "fast"}, {"name": "A", "sttMode": "accurate"},
		{"name": "A", "ambientSound": "none"}, {"name": "A", "ambientSound": "office"},
		{"name": "A", "ambientSound": "coffee-shop"}, {"name": "A", "ambientSound": "outdoor"},
		{"name": "A", "denoisingMode": "noise-cancellation"},
		{"name": "A", "denoisingMode": "noise-and-background-speech-cancellation"},
		{"name": "A", "language": "en-US"}, {"name": "A", "language": "es-419"}, {"name": "A", "language": "yue-CN"},
		{"name": "A", "maxSilenceMs": 10000}, {"name": "A", "maxSilenceMs": 3600000},
		{"name": "A", "voiceSpeed": 0.5}, {"name": "A", "voiceSpeed": 2.0},
		{"name": "A", "interruptionSensitivity": 0}, {"name": "A", "interruptionSensitivity": 1},
		{"name": "A", "voicemailMessage": long(1000)}, {"name": "A", "callScreeningIdentity": long(100)},
		{"name": "A", "callScreeningPurpose": long(300)},
		{"name": "A", "transferNumber": "+1 (415) 555-1234"}, {"name": "A", "voice": "espeak-olivia"},
		{"name": "A", "customTools": tools(20)}, {"name": "A", "customTools": []any{}},
		hosted("customTools", []any{with(tool("a"), "name", long(64))}),
		hosted("customTools", []any{with(tool("a"), "name", "Az09_-")}),
		hosted("customTools", []any{with(tool("a"), "url", "http://localhost:8080/x")}),
		hosted("customTools", []any{with(tool("a"), "url", "http://127.0.0.1/x")}),
		hosted("customTools", []any{with(tool("a"), "method", "GET")}),
		hosted("customTools", []any{with(tool("a"), "timeoutMs", 1000)}),
		hosted("customTools", []any{with(tool("a"), "timeoutMs", 120000)}),
		hosted("customTools", []any{with(tool("a"), "executionMessage", long(500))}),
		hosted("customTools", []any{with(tool("a"), "description", long(1024))}),
	}
	tests := []struct {
		name string
		body any
		want []fieldErr
	}{
		// Required name.
		{"NameMissing", map[string]any{"voiceMode": "webhook"}, []fieldErr{fe("missing", "name")}},
		{"NameNull", map[string]any{"name": nil}, []fieldErr{fe("string_type", "name")}},
		{"NameEmpty", map[string]any{"name": ""}, []fieldErr{fe("string_too_short", "name")}},
		{"NameBlank", map[string]any{"name": "   "}, []fieldErr{fe("string_too_short", "name")}},
		// Enumerations.
		{"VoiceMode", map[string]any{"name": "A", "voiceMode": "sip"}, []fieldErr{fe("literal_error", "voiceMode")}},
		{"ModelTier", map[string]any{"name": "A", "modelTier": "fast"}, []fieldErr{fe("literal_error", "modelTier")}},
		{"STTMode", map[string]any{"name": "A", "sttMode": "slow"}, []fieldErr{fe("literal_error", "sttMode")}},
		{"AmbientSound", map[string]any{"name": "A", "ambientSound": "beach"}, []fieldErr{fe("literal_error", "ambientSound")}},
		{"DenoisingMode", map[string]any{"name": "A", "denoisingMode": "none"}, []fieldErr{fe("literal_error", "denoisingMode")}},
		{"Language", map[string]any{"name": "A", "language": "en-us"}, []fieldErr{fe("literal_error", "language")}},
		{"LanguageUnknown", map[string]any{"name": "A", "language": "xx-XX"}, []fieldErr{fe("literal_error", "language")}},
		// Ranges, just outside.
		{"MaxSilenceLow", map[string]any{"name": "A", "maxSilenceMs": 9999}, []fieldErr{fe("greater_than_equal", "maxSilenceMs")}},
		{"MaxSilenceHigh", map[string]any{"name": "A", "maxSilenceMs": 3600001}, []fieldErr{fe("less_than_equal", "maxSilenceMs")}},
		{"VoiceSpeedLow", map[string]any{"name": "A", "voiceSpeed": 0.49}, []fieldErr{fe("greater_than_equal", "voiceSpeed")}},
		{"VoiceSpeedHigh", map[string]any{"name": "A", "voiceSpeed": 2.01}, []fieldErr{fe("less_than_equal", "voiceSpeed")}},
		{"InterruptionLow", map[string]any{"name": "A", "interruptionSensitivity": -0.01}, []fieldErr{fe("greater_than_equal", "interruptionSensitivity")}},
		{"InterruptionHigh", map[string]any{"name": "A", "interruptionSensitivity": 1.01}, []fieldErr{fe("less_than_equal", "interruptionSensitivity")}},
		{"VoicemailLong", map[string]any{"name": "A", "voicemailMessage": long(1001)}, []fieldErr{fe("string_too_long", "voicemailMessage")}},
		{"ScreeningIdentityLong", map[string]any{"name": "A", "callScreeningIdentity": long(101)}, []fieldErr{fe("string_too_long", "callScreeningIdentity")}},
		{"ScreeningPurposeLong", map[string]any{"name": "A", "callScreeningPurpose": long(301)}, []fieldErr{fe("string_too_long", "callScreeningPurpose")}},
		// JSON types.
		{"TypeName", map[string]any{"name": 5}, []fieldErr{fe("string_type", "name")}},
		{"TypeDescription", map[string]any{"name": "A", "description": []any{}}, []fieldErr{fe("string_type", "description")}},
		{"TypeVoiceMode", map[string]any{"name": "A", "voiceMode": 1}, []fieldErr{fe("string_type", "voiceMode")}},
		{"TypeEnableMessaging", map[string]any{"name": "A", "enableMessaging": "yes"}, []fieldErr{fe("bool_type", "enableMessaging")}},
		{"TypeEnableBackchannel", map[string]any{"name": "A", "enableBackchannel": 1}, []fieldErr{fe("bool_type", "enableBackchannel")}},
		{"TypeMaxSilence", map[string]any{"name": "A", "maxSilenceMs": "20000"}, []fieldErr{fe("int_type", "maxSilenceMs")}},
		{"TypeMaxSilenceFraction", map[string]any{"name": "A", "maxSilenceMs": 20000.5}, []fieldErr{fe("int_from_float", "maxSilenceMs")}},
		{"TypeVoiceSpeed", map[string]any{"name": "A", "voiceSpeed": "1.0"}, []fieldErr{fe("float_type", "voiceSpeed")}},
		{"TypeInterruption", map[string]any{"name": "A", "interruptionSensitivity": true}, []fieldErr{fe("float_type", "interruptionSensitivity")}},
		{"TypeLanguage", map[string]any{"name": "A", "language": 5}, []fieldErr{fe("string_type", "language")}},
		// NUL cannot be stored on PostgreSQL: refused on every database.
		{"NULInName", map[string]any{"name": "x\x00y"}, []fieldErr{fe("value_error", "name")}},
		{"NULInToolHeader", hosted("customTools", []any{with(tool("a"), "headers", map[string]any{"X-N": "a\x00"})}),
			[]fieldErr{fe("value_error", "customTools", 0, "headers", "X-N")}},
		{"TypeCustomTools", map[string]any{"name": "A", "customTools": map[string]any{}}, []fieldErr{fe("list_type", "customTools")}},
		{"TypeCustomToolItem", map[string]any{"name": "A", "customTools": []any{tool("a"), "b"}}, []fieldErr{fe("model_type", "customTools", 1)}},
		{"TypeToolURL", hosted("customTools", []any{tool("a"), tool("b"), tool("c"), with(tool("d"), "url", 5)}),
			[]fieldErr{fe("string_type", "customTools", 3, "url")}},
		{"TypeToolHeaders", hosted("customTools", []any{with(tool("a"), "headers", []any{"x"})}), []fieldErr{fe("dict_type", "customTools", 0, "headers")}},
		{"TypeToolHeaderValue", hosted("customTools", []any{with(tool("a"), "headers", map[string]any{"X-N": 1})}),
			[]fieldErr{fe("string_type", "customTools", 0, "headers", "X-N")}},
		{"TypeToolTimeout", hosted("customTools", []any{with(tool("a"), "timeoutMs", "5s")}), []fieldErr{fe("int_type", "customTools", 0, "timeoutMs")}},
		{"TypeToolSpeak", hosted("customTools", []any{with(tool("a"), "speakDuringExecution", "no")}), []fieldErr{fe("bool_type", "customTools", 0, "speakDuringExecution")}},
		// Custom tools.
		{"ToolsTooMany", map[string]any{"name": "A", "customTools": tools(21)}, []fieldErr{fe("too_long", "customTools")}},
		{"ToolNamePattern", hosted("customTools", []any{with(tool("a"), "name", "look up!")}), []fieldErr{fe("string_pattern_mismatch", "customTools", 0, "name")}},
		{"ToolNameLong", hosted("customTools", []any{with(tool("a"), "name", long(65))}), []fieldErr{fe("string_too_long", "customTools", 0, "name")}},
		{"ToolNameEmpty", hosted("customTools", []any{with(tool("a"), "name", "")}), []fieldErr{fe("string_too_short", "customTools", 0, "name")}},
		{"ToolNameReserved", hosted("customTools", []any{tool("end_call")}), []fieldErr{fe("value_error", "customTools", 0, "name")}},
		{"ToolNameDuplicate", hosted("customTools", []any{tool("a"), tool("b"), tool("a")}), []fieldErr{fe("value_error", "customTools", 2, "name")}},
		{"ToolRequired", hosted("customTools", []any{map[string]any{}}), []fieldErr{
			fe("missing", "customTools", 0, "name"), fe("missing", "customTools", 0, "description"), fe("missing", "customTools", 0, "url")}},
		{"ToolURLScheme", hosted("customTools", []any{with(tool("a"), "url", "ftp://tools.example.com/a")}), []fieldErr{fe("value_error", "customTools", 0, "url")}},
		{"ToolURLPlainHTTP", hosted("customTools", []any{with(tool("a"), "url", "http://tools.example.com/a")}), []fieldErr{fe("value_error", "customTools", 0, "url")}},
		{"ToolURLRelative", hosted("customTools", []any{with(tool("a"), "url", "/a")}), []fieldErr{fe("value_error", "customTools", 0, "url")}},
		{"ToolMethod", hosted("customTools", []any{with(tool("a"), "method", "PUT")}), []fieldErr{fe("literal_error", "customTools", 0, "method")}},
		{"ToolTimeoutLow", hosted("customTools", []any{with(tool("a"), "timeoutMs", 999)}), []fieldErr{fe("greater_than_equal", "customTools", 0, "timeoutMs")}},
		{"ToolTimeoutHigh", hosted("customTools", []any{with(tool("a"), "timeoutMs", 120001)}), []fieldErr{fe("less_than_equal", "customTools", 0, "timeoutMs")}},
		{"ToolExecutionMessageLong", hosted("customTools", []any{with(tool("a"), "executionMessage", long(501))}), []fieldErr{fe("string_too_long", "customTools", 0, "executionMessage")}},
		{"ToolDescriptionLong", hosted("customTools", []any{with(tool("a"), "description", long(1025))}), []fieldErr{fe("string_too_long", "customTools", 0, "description")}},
		{"ToolParameters", hosted("customTools", []any{with(tool("a"), "parameters", 5)}), []fieldErr{fe("dict_type", "customTools", 0, "parameters")}},
		// Cross-field and catalog rules.
		{"HostedWithoutPrompt", map[string]any{"name": "A", "voiceMode": "hosted"}, []fieldErr{fe("value_error", "systemPrompt")}},
		{"HostedBlankPrompt", map[string]any{"name": "A", "voiceMode": "hosted", "systemPrompt": " "}, []fieldErr{fe("value_error", "systemPrompt")}},
		{"UnknownVoice", map[string]any{"name": "A", "voice": "11labs-Brian"}, []fieldErr{fe("value_error", "voice")}},
		{"TransferNumber", map[string]any{"name": "A", "transferNumber": "call me"}, []fieldErr{fe("value_error", "transferNumber")}},
		{"TransferNumberShort", map[string]any{"name": "A", "transferNumber": "+1415"}, []fieldErr{fe("value_error", "transferNumber")}},
		// Every bad field at once: JSON types and domain rules in one 422.
		{"EveryBadField", map[string]any{
			"name": 5, "voiceMode": "hosted", "modelTier": "ultra", "voice": "nope", "transferNumber": "x",
			"maxSilenceMs": 1, "voiceSpeed": "fast", "interruptionSensitivity": 2, "enableBackchannel": "y",
			"language": "klingon", "sttMode": 3, "customTools": []any{with(tool("end_call"), "timeoutMs", 1), 7},
		}, []fieldErr{
			fe("string_type", "name"), fe("literal_error", "modelTier"), fe("value_error", "systemPrompt"),
			fe("value_error", "voice"), fe("value_error", "transferNumber"), fe("greater_than_equal", "maxSilenceMs"),
			fe("float_type", "voiceSpeed"), fe("less_than_equal", "interruptionSensitivity"),
			fe("bool_type", "enableBackchannel"), fe("literal_error", "language"), fe("string_type", "sttMode"),
			fe("value_error", "customTools", 0, "name"), fe("greater_than_equal", "customTools", 0, "timeoutMs"),
			fe("model_type", "customTools", 1),
		}},
		// Bodies.
		{"NoBody", nil, []fieldErr{{`["body"]`, "missing"}}},
		{"NotAnObject", raw(`["name"]`), []fieldErr{{`["body"]`, "model_attributes_type"}}},
		{"MalformedJSON", raw(`{"name": "A",}`), []fieldErr{{`["body",13]`, "json_invalid"}}},
	}
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for i, body := range ok {
			if r := e.do("POST", "/v1/agents", body); r.Status != 200 {
				t.Errorf("ok[%d] %v: status %d: %s", i, body, r.Status, r.Body)
			}
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do("POST", "/v1/agents", tt.body)
				r.t = t
				r.wantErrs(tt.want...)
			})
		}
		// Nothing invalid was stored, not even the valid fields of bodies
		// with type errors.
		list := e.do("GET", "/v1/agents?limit=100", nil).want(200).obj()
		if list["total"] != float64(len(ok)) {
			t.Errorf("total = %v, want %d", list["total"], len(ok))
		}
	})
}

func TestAgents_Patch(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		created := e.createAgent(fullAgent())
		path := "/v1/agents/" + created["id"].(string)
		base := without(created, "updatedAt")

		// Only sent keys change.
		got := e.do("PATCH", path, map[string]any{"description": "New", "voiceSpeed": 0.75}).want(200).obj()
		wantObject(t, without(got, "updatedAt"), with(base, "description", "New", "voiceSpeed", 0.75))
		if got["updatedAt"] == created["updatedAt"] || got["createdAt"] != created["createdAt"] {
			t.Errorf("createdAt %v → %v, updatedAt %v → %v", created["createdAt"], got["createdAt"], created["updatedAt"], got["updatedAt"])
		}
		base = with(base, "description", "New", "voiceSpeed", 0.75)

		// An empty body changes nothing.
		wantObject(t, without(e.do("PATCH", path, map[string]any{}).want(200).obj(), "updatedAt"), base)

		// null clears nullable fields and resets defaulted ones (decision 4);
		// customTools null is the same as omitted.
		nulls := map[string]any{}
		for _, k := range []string{"description", "enableMessaging", "modelTier", "beginMessage", "voice",
			"transferNumber", "customTools", "voicemailMessage", "callScreeningIdentity", "callScreeningPurpose",
			"sttMode", "ambientSound", "denoisingMode", "maxSilenceMs", "voiceSpeed", "interruptionSensitivity",
			"enableBackchannel", "language"} {
			nulls[k] = nil
		}
		got = e.do("PATCH", path, nulls).want(200).obj()
		def := defaultAgent(t, "Support Bot")
		want := with(def, "id", created["id"], "createdAt", created["createdAt"], "voiceMode", "hosted",
			"systemPrompt", created["systemPrompt"], "customTools", created["customTools"])
		wantObject(t, got, want)
		base = without(got, "updatedAt")

		// [] clears the tools.
		got = e.do("PATCH", path, map[string]any{"customTools": []any{}}).want(200).obj()
		wantObject(t, without(got, "updatedAt"), with(base, "customTools", []any{}))

		// Back to webhook mode clears the hosted prompt (spec §2.9);
		// hosted again needs a prompt.
		got = e.do("PATCH", path, map[string]any{"voiceMode": "webhook"}).want(200).obj()
		if got["systemPrompt"] != nil || got["voiceMode"] != "webhook" {
			t.Errorf("after webhook: voiceMode %v systemPrompt %v", got["voiceMode"], got["systemPrompt"])
		}
		e.do("PATCH", path, map[string]any{"voiceMode": "hosted"}).wantErrs(fe("value_error", "systemPrompt"))
		e.do("PATCH", path, map[string]any{"voiceMode": "hosted", "systemPrompt": "p"}).want(200)
		e.do("PATCH", path, map[string]any{"systemPrompt": nil}).wantErrs(fe("value_error", "systemPrompt"))

		// name may be changed but not emptied.
		e.do("PATCH", path, map[string]any{"name": ""}).wantErrs(fe("string_too_short", "name"))
		if got = e.do("PATCH", path, map[string]any{"name": "Renamed"}).want(200).obj(); got["name"] != "Renamed" {
			t.Errorf("name = %v", got["name"])
		}

		// A 422 changes nothing, even when valid fields came with a type
		// error (the domain only validated them).
		before := e.do("GET", path, nil).want(200).obj()
		e.do("PATCH", path, map[string]any{"description": "Changed", "voiceSpeed": 1.5, "maxSilenceMs": "x", "sttMode": "slow"}).
			wantErrs(fe("int_type", "maxSilenceMs"), fe("literal_error", "sttMode"))
		e.do("PATCH", path, map[string]any{"description": "Changed", "voiceSpeed": 9}).
			wantErrs(fe("less_than_equal", "voiceSpeed"))
		wantObject(t, e.do("GET", path, nil).want(200).obj(), before)

		// Unknown agents.
		e.do("PATCH", "/v1/agents/agt_unknown", map[string]any{"name": "x"}).wantDetail(404, "Agent not found")
		// A type error is reported before the agent is looked up, as FastAPI does.
		e.do("PATCH", "/v1/agents/agt_unknown", map[string]any{"name": 5}).wantErrs(fe("string_type", "name"))
		e.do("PATCH", path, nil).wantErrs(fieldErr{`["body"]`, "missing"})
	})
}

func TestAgents_ListGetDelete(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		wantObject(t, e.do("GET", "/v1/agents", nil).want(200).obj(), map[string]any{"data": []any{}, "hasMore": false, "total": 0})
		var ids []string
		for i := range 3 {
			ids = append(ids, e.createAgent(map[string]any{"name": fmt.Sprintf("A%d", i)})["id"].(string))
		}
		list := e.do("GET", "/v1/agents?limit=2", nil).want(200).obj()
		data := list["data"].([]any)
		if len(data) != 2 || list["hasMore"] != true || list["total"] != 3.0 {
			t.Fatalf("limit=2: %v", list)
		}
		// Newest first (decision 3); list items are full agents.
		if data[0].(map[string]any)["id"] != ids[2] || data[1].(map[string]any)["id"] != ids[1] {
			t.Errorf("order: %v, created %v", data, ids)
		}
		wantObject(t, data[0].(map[string]any), with(defaultAgent(t, "A2"), "id", ids[2]))
		list = e.do("GET", "/v1/agents?limit=2&offset=2", nil).want(200).obj()
		if data = list["data"].([]any); len(data) != 1 || list["hasMore"] != false || data[0].(map[string]any)["id"] != ids[0] {
			t.Errorf("offset=2: %v", list)
		}
		e.do("GET", "/v1/agents?limit=0&offset=-1", nil).wantErrs(qe("greater_than_equal", "limit"), qe("greater_than_equal", "offset"))
		e.do("GET", "/v1/agents?limit=101", nil).wantErrs(qe("less_than_equal", "limit"))
		e.do("GET", "/v1/agents?limit=ten", nil).wantErrs(qe("int_parsing", "limit"))
		e.do("GET", "/v1/agents?limit=100&offset=0", nil).want(200)

		got := e.do("GET", "/v1/agents/"+ids[1], nil).want(200).obj()
		wantObject(t, got, with(defaultAgent(t, "A1"), "id", ids[1]))
		e.do("GET", "/v1/agents/agt_nope", nil).wantDetail(404, "Agent not found")

		del := e.do("DELETE", "/v1/agents/"+ids[1], nil).want(200).obj()
		wantObject(t, del, map[string]any{"success": true, "id": ids[1], "name": "A1"})
		e.do("GET", "/v1/agents/"+ids[1], nil).wantDetail(404, "Agent not found")
		e.do("DELETE", "/v1/agents/"+ids[1], nil).wantDetail(404, "Agent not found")
		if list = e.do("GET", "/v1/agents", nil).want(200).obj(); list["total"] != 2.0 {
			t.Errorf("total after delete = %v", list["total"])
		}
	})
}

func TestAgents_SubLists(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		id := e.createAgent(map[string]any{"name": "A"})["id"].(string)
		for _, sub := range []string{"conversations", "calls"} {
			path := "/v1/agents/" + id + "/" + sub
			wantObject(t, e.do("GET", path, nil).want(200).obj(), map[string]any{"data": []any{}, "hasMore": false, "total": 0})
			e.do("GET", path+"?limit=50&offset=10", nil).want(200)
			e.do("GET", path+"?limit=101", nil).wantErrs(qe("less_than_equal", "limit"))
			e.do("GET", "/v1/agents/agt_nope/"+sub, nil).wantDetail(404, "Agent not found")
		}
	})
}

func TestVoices(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		got := e.do("GET", "/v1/agents/voices", nil).want(200).obj()
		vs, _ := espeak.Catalog{}.Voices(context.Background())
		data := got["data"].([]any)
		if len(got) != 1 || len(data) != len(vs) {
			t.Fatalf("voices: %s", e.do("GET", "/v1/agents/voices", nil).Body)
		}
		for i, v := range vs {
			wantObject(t, data[i].(map[string]any), map[string]any{
				"voice_id": v.ID, "voice_name": v.Name, "provider": v.Provider, "gender": v.Gender,
				"accent": v.Accent, "language": v.Language, "preview_audio_url": v.PreviewAudioURL,
			})
		}
		// The literal route wins over /v1/agents/{agent_id}, and every voice
		// listed is accepted by agents.
		for _, v := range vs {
			e.createAgent(map[string]any{"name": "V", "voice": v.ID})
		}
	})
}
