package httpapi

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/agentphone/agentphone"
)

// errKey renders a FieldError compactly for comparisons: loc|type|msg.
func errKey(f agentphone.FieldError) string {
	b, _ := json.Marshal(f.Loc)
	return string(b) + "|" + f.Type + "|" + f.Msg
}

func errKeys(fs []agentphone.FieldError) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = errKey(f)
	}
	return out
}

func TestDecodeJSON_Values(t *testing.T) {
	t.Parallel()
	body := `{
		"name": "Support Bot \u00e9\n", "description": null, "enableMessaging": false,
		"maxSilenceMs": 20000.0, "voiceSpeed": 1, "interruptionSensitivity": 0.25,
		"unknownKey": {"ignored": [1, 2]},
		"customTools": [{
			"name": "lookup", "description": "d", "url": "https://example.com",
			"headers": {"Authorization": "Bearer x"}, "parameters": {"type": "object"},
			"timeoutMs": 1e3, "speakDuringExecution": true, "executionMessage": null
		}]
	}`
	var in agentphone.AgentInput
	errs, whole := decodeJSON([]byte(body), &in, bodyRequired)
	if len(errs) != 0 || whole {
		t.Fatalf("errors: %v (whole %v)", errKeys(errs), whole)
	}
	want := agentphone.AgentInput{
		Name:                    agentphone.Some("Support Bot é\n"),
		Description:             agentphone.Null[string](),
		EnableMessaging:         agentphone.Some(false),
		MaxSilenceMs:            agentphone.Some(20000),
		VoiceSpeed:              agentphone.Some(1.0),
		InterruptionSensitivity: agentphone.Some(0.25),
		CustomTools: agentphone.Some([]agentphone.CustomToolInput{{
			Name:                 agentphone.Some("lookup"),
			Description:          agentphone.Some("d"),
			URL:                  agentphone.Some("https://example.com"),
			Headers:              agentphone.Some(map[string]string{"Authorization": "Bearer x"}),
			Parameters:           agentphone.Some(json.RawMessage(`{"type": "object"}`)),
			TimeoutMs:            agentphone.Some(1000),
			SpeakDuringExecution: agentphone.Some(true),
			ExecutionMessage:     agentphone.Null[string](),
		}}),
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("decoded\n %+v\nwant\n %+v", in, want)
	}
}

func TestDecodeJSON_TypeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"String", `{"name": 5}`, []string{`["body","name"]|string_type|Input should be a valid string`}},
		{"StringFromBool", `{"voiceMode": true}`, []string{`["body","voiceMode"]|string_type|Input should be a valid string`}},
		{"Bool", `{"enableMessaging": "true"}`, []string{`["body","enableMessaging"]|bool_type|Input should be a valid boolean`}},
		{"BoolFromInt", `{"enableBackchannel": 1}`, []string{`["body","enableBackchannel"]|bool_type|Input should be a valid boolean`}},
		{"Int", `{"maxSilenceMs": "20000"}`, []string{`["body","maxSilenceMs"]|int_type|Input should be a valid integer`}},
		{"IntFromFraction", `{"maxSilenceMs": 20000.5}`, []string{`["body","maxSilenceMs"]|int_from_float|Input should be a valid integer, got a number with a fractional part`}},
		{"IntFromBool", `{"maxSilenceMs": false}`, []string{`["body","maxSilenceMs"]|int_type|Input should be a valid integer`}},
		{"Float", `{"voiceSpeed": "1.0"}`, []string{`["body","voiceSpeed"]|float_type|Input should be a valid number`}},
		{"FloatFromObject", `{"interruptionSensitivity": {}}`, []string{`["body","interruptionSensitivity"]|float_type|Input should be a valid number`}},
		{"List", `{"customTools": {"name": "x"}}`, []string{`["body","customTools"]|list_type|Input should be a valid list`}},
		{"ListItem", `{"customTools": [{"name": "a", "description": "d", "url": "https://x"}, 3]}`,
			[]string{`["body","customTools",1]|model_type|Input should be a valid dictionary or instance of CustomToolParam`}},
		{"NestedField", `{"customTools": [{}, {}, {}, {"url": 7}]}`, []string{`["body","customTools",3,"url"]|string_type|Input should be a valid string`}},
		{"Dict", `{"customTools": [{"headers": ["a"]}]}`, []string{`["body","customTools",0,"headers"]|dict_type|Input should be a valid dictionary`}},
		{"DictValue", `{"customTools": [{"headers": {"b": "ok", "a": 1}}]}`, []string{`["body","customTools",0,"headers","a"]|string_type|Input should be a valid string`}},
		{"Every", `{"name": 1, "voiceMode": 2, "maxSilenceMs": 1.5, "voiceSpeed": "x", "language": null, "enableBackchannel": "no"}`, []string{
			`["body","name"]|string_type|Input should be a valid string`,
			`["body","voiceMode"]|string_type|Input should be a valid string`,
			`["body","maxSilenceMs"]|int_from_float|Input should be a valid integer, got a number with a fractional part`,
			`["body","voiceSpeed"]|float_type|Input should be a valid number`,
			`["body","enableBackchannel"]|bool_type|Input should be a valid boolean`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var in agentphone.AgentInput
			errs, whole := decodeJSON([]byte(tt.body), &in, bodyRequired)
			if whole {
				t.Fatal("whole body reported unusable")
			}
			if got := errKeys(errs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDecodeJSON_WrongTypeLeavesFieldUnset(t *testing.T) {
	t.Parallel()
	var in agentphone.AgentInput
	decodeJSON([]byte(`{"name": 5, "customTools": [{"url": 1, "name": "ok"}]}`), &in, bodyRequired)
	if in.Name.Set {
		t.Errorf("name = %+v, want unset", in.Name)
	}
	tools := in.CustomTools.Value
	if !in.CustomTools.Set || len(tools) != 1 || tools[0].URL.Set || tools[0].Name.Value != "ok" {
		t.Errorf("customTools = %+v, want one tool with name ok and url unset", in.CustomTools)
	}
}

func TestDecodeJSON_Numbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want int
	}{
		{"5", 5}, {"-5", -5}, {"5.0", 5}, {"1e3", 1000}, {"-0", 0},
		{"99999999999999999999", math.MaxInt}, {"-1e30", math.MinInt}, {"1e400", math.MaxInt},
	}
	for _, tt := range tests {
		var in agentphone.WebhookInput
		errs, _ := decodeJSON([]byte(`{"timeout": `+tt.raw+`}`), &in, bodyRequired)
		if len(errs) != 0 || in.Timeout.Value != tt.want {
			t.Errorf("timeout %s: got %d, errors %v; want %d", tt.raw, in.Timeout.Value, errKeys(errs), tt.want)
		}
	}
	var in agentphone.AgentInput
	if errs, _ := decodeJSON([]byte(`{"voiceSpeed": 1e400}`), &in, bodyRequired); len(errs) != 0 || !math.IsInf(in.VoiceSpeed.Value, 1) {
		t.Errorf("voiceSpeed 1e400: got %v, errors %v; want +Inf for the range check", in.VoiceSpeed.Value, errKeys(errs))
	}
}

func TestDecodeJSON_RawValue(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{`5`, `"s"`, `[1, {"a": null}]`, `{"type": "object"}`, `true`} {
		var in agentphone.CustomToolInput
		errs, _ := decodeJSON([]byte(`{"parameters": `+raw+`}`), &in, bodyRequired)
		if len(errs) != 0 || !in.Parameters.HasValue() || string(in.Parameters.Value) != raw {
			t.Errorf("parameters %s: got %+v, errors %v", raw, in.Parameters, errKeys(errs))
		}
	}
	var in agentphone.CustomToolInput
	decodeJSON([]byte(`{"parameters": null}`), &in, bodyRequired)
	if !in.Parameters.Set || !in.Parameters.Null {
		t.Errorf("parameters null: got %+v", in.Parameters)
	}
}

func TestDecodeJSON_Body(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		kind bodyKind
		want []string // nil: no error
	}{
		{"EmptyRequired", "", bodyRequired, []string{`["body"]|missing|Field required`}},
		{"BlankRequired", " \n", bodyRequired, []string{`["body"]|missing|Field required`}},
		{"NullRequired", "null", bodyRequired, []string{`["body"]|missing|Field required`}},
		{"EmptyOptional", "", bodyOptional, nil},
		{"NullOptional", "null", bodyOptional, nil},
		{"EmptyObject", "{}", bodyRequired, nil},
		{"Array", `[{"name": "x"}]`, bodyRequired, []string{`["body"]|model_attributes_type|Input should be a valid dictionary or object to extract fields from`}},
		{"String", `"x"`, bodyOptional, []string{`["body"]|model_attributes_type|Input should be a valid dictionary or object to extract fields from`}},
		{"Invalid", `{"name":}`, bodyRequired, []string{`["body",8]|json_invalid|JSON decode error`}},
		{"Truncated", `{"name":`, bodyRequired, []string{`["body",8]|json_invalid|JSON decode error`}},
		{"TrailingData", `{"name": "x"} y`, bodyRequired, []string{`["body",14]|json_invalid|JSON decode error`}},
		{"TrailingComma", `{"name": "x",}`, bodyRequired, []string{`["body",13]|json_invalid|JSON decode error`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var in agentphone.AgentInput
			errs, whole := decodeJSON([]byte(tt.body), &in, tt.kind)
			if got := errKeys(errs); !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && tt.want == nil) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
			if whole != (tt.want != nil) {
				t.Errorf("whole = %v", whole)
			}
		})
	}
}

func TestMergeFieldErrors(t *testing.T) {
	t.Parallel()
	fe := func(typ string, loc ...any) agentphone.FieldError {
		return agentphone.FieldError{Loc: loc, Type: typ}
	}
	typeErrs := []agentphone.FieldError{
		fe("float_type", "body", "voiceSpeed"),
		fe("model_type", "body", "customTools", 1),
		fe("string_type", "body", "name"),
	}
	domainErrs := []agentphone.FieldError{
		fe("missing", "body", "name"),                                   // the field is unset for the domain: dropped
		fe("missing", "body", "customTools", 1, "url"),                  // below a type error: dropped
		fe("string_pattern_mismatch", "body", "customTools", 0, "name"), // kept
		fe("literal_error", "body", "language"),                         // kept
		fe("literal_error", "body", "voiceMode"),                        // kept
	}
	got := mergeFieldErrors(typeErrs, domainErrs, reflect.TypeFor[agentphone.AgentInput]())
	want := []string{
		`["body","name"]|string_type|`,
		`["body","voiceMode"]|literal_error|`,
		`["body","customTools",1]|model_type|`,
		`["body","customTools",0,"name"]|string_pattern_mismatch|`,
		`["body","voiceSpeed"]|float_type|`,
		`["body","language"]|literal_error|`,
	}
	if keys := errKeys(got); !reflect.DeepEqual(keys, want) {
		t.Errorf("merged\n got %q\nwant %q", keys, want)
	}
}

// TestInputTypes decodes every request body type once, so that a field of
// an unsupported type fails here rather than at start.
func TestInputTypes(t *testing.T) {
	t.Parallel()
	for _, typ := range inputTypes {
		p := planFor(typ)
		if len(p.fields) == 0 {
			t.Errorf("%v: no fields", typ)
		}
		v := reflect.New(typ)
		if errs, _ := decodeJSON([]byte(`{}`), v.Interface(), bodyRequired); len(errs) != 0 {
			t.Errorf("%v: %v", typ, errKeys(errs))
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{}`, ``, `null`, `[]`, `"x"`, `{"name": "a"}`, `{"name": 5, "voiceSpeed": "x"}`,
		`{"customTools": [{"name": "a", "headers": {"k": 1}, "parameters": {"x": [1]}}, 3, null]}`,
		`{"maxSilenceMs": 1e400, "interruptionSensitivity": -1e400}`, `{"url": "https://x", "timeout": 5.5}`,
		`{"country": ["US"], "areaCode": {}, "agentId": true}`, `{"name":`, "{\"name\": \"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	targets := []func() any{
		func() any { return new(agentphone.AgentInput) },
		func() any { return new(agentphone.WebhookInput) },
		func() any { return new(agentphone.NumberInput) },
		func() any { return new(agentphone.SubAccountInput) },
		func() any { return new(attachNumberInput) },
		func() any { return new(webhookTestInput) },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newInput := range targets {
			for _, kind := range []bodyKind{bodyRequired, bodyOptional} {
				dst := newInput()
				errs, whole := decodeJSON(body, dst, kind)
				if whole && len(errs) != 1 {
					t.Fatalf("whole body error with %d errors", len(errs))
				}
				for _, e := range errs {
					if len(e.Loc) == 0 || e.Loc[0] != "body" || e.Msg == "" || e.Type == "" {
						t.Fatalf("bad error %#v for %q", e, body)
					}
				}
				if len(errs) == 0 && json.Valid(body) && !strings.HasPrefix(strings.TrimSpace(string(body)), "{") &&
					!(kind == bodyOptional && strings.TrimSpace(string(body)) == "null") {
					t.Fatalf("accepted a non-object body %q", body)
				}
			}
		}
	})
}
