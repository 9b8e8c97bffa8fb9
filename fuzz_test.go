package agentphone

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzAgentInput feeds arbitrary JSON through agent validation: it must never
// panic, and an input it rejects must leave the agent unchanged.
func FuzzAgentInput(f *testing.F) {
	f.Add([]byte(`{"name":"a","voiceSpeed":1.5,"customTools":[{"name":"x","description":"d","url":"https://h/p","parameters":{"type":"object"}}]}`))
	f.Add([]byte(`{"name":null,"transferNumber":"+999","language":"xx","maxSilenceMs":-1}`))
	f.Add([]byte(`{"voiceMode":"hosted","systemPrompt":"","customTools":[{},{"name":"end_call"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in AgentInput
		if json.Unmarshal(body, &in) != nil {
			return
		}
		for _, create := range []bool{true, false} {
			a := newAgent("acct", "espeak-skylar")
			before := a.Name
			if err := in.apply(a, create, testVoices, "espeak-skylar"); err != nil {
				if _, ok := err.(*ValidationError); !ok || a.Name != before {
					t.Fatalf("err %T %v, or agent changed on error", err, err)
				}
			}
		}
	})
}

// FuzzNormalizePhone: never panics; what it accepts is stable E.164.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+14155551234", "1 (415) 555-1234", "+", "+0", "++1", "+44 20 7946 0958"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizePhone(s)
		if err != nil {
			return
		}
		again, err := NormalizePhone(got)
		if err != nil || again != got || got[0] != '+' {
			t.Fatalf("NormalizePhone(%q) = %q, then %q, %v", s, got, again, err)
		}
	})
}

// FuzzMessageInputs feeds arbitrary JSON through the validation of the
// messaging bodies (POST /v1/messages, PATCH /v1/conversations/{id}) and
// arbitrary text through the inbound checks: they must never panic, and
// what Validate accepts must have a body or media and, when to_number is
// given, a normalisable one.
func FuzzMessageInputs(f *testing.F) {
	f.Add([]byte(`{"agent_id":"agt_1","to_number":"(415) 555-0199","body":"hi","media_urls":["https://a.example/x.png"]}`))
	f.Add([]byte(`{"body":"","media_url":"http://x","media_urls":null,"send_style":"slam","recipients":["+1","+2"]}`))
	f.Add([]byte(`{"metadata":{"a":[1,{"b":null}]},"group_name":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in SendInput
		if json.Unmarshal(body, &in) == nil && in.Validate() == nil {
			if _, err := NormalizePhone(in.ToNumber.Value); in.ToNumber.HasValue() && err != nil {
				t.Fatalf("accepted to_number %q: %v", in.ToNumber.Value, err)
			}
			if len(in.media()) == 0 && len(strings.TrimSpace(in.Body.Value)) == 0 {
				t.Fatalf("accepted a message with neither body nor media: %s", body)
			}
		}
		var conv ConversationInput
		if json.Unmarshal(body, &conv) == nil {
			_ = conv.Validate()
		}
		var fe fieldErrors
		checkMessageContent(&fe, string(body), []string{string(body)}, "body", "media_urls")
		_, _ = NormalizePhone(string(body))
		_ = Preview(string(body), nil)
	})
}
