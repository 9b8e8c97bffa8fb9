package agentphone

import (
	"encoding/json"
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
