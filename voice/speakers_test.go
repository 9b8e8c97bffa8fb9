package voice

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitSpeech(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 40)
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Hello. How can I help?", []string{"Hello.", "How can I help?"}},
		{"It costs 3.50 dollars. Okay!", []string{"It costs 3.50 dollars.", "Okay!"}},
		{"Dr. Smith will see you. Bye.", []string{"Dr. Smith will see you.", "Bye."}},
		{"Yes, sure, I can do that", []string{"Yes, sure, I can do that"}},
		{"Wait... what?! Really.", []string{"Wait...", "what?!", "Really."}},
		{"He said \"stop.\" Then left.", []string{"He said \"stop.\"", "Then left."}},
		{"Made in the U.S. by hand.", []string{"Made in the U.S. by hand."}},
		{"email me at a.b@example.com. Thanks", []string{"email me at a.b@example.com.", "Thanks"}},
		{"  ", nil},
		{strings.TrimSpace(long) + ", " + long, []string{strings.TrimSpace(long) + ",", strings.TrimSpace(long)}},
	} {
		if got := splitSpeech(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitSpeech(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzSplitSpeech(f *testing.F) {
	f.Add("Hello. How are you? I'm fine, thanks!")
	f.Add("3.5... U.S.; e.g. a,b")
	f.Fuzz(func(t *testing.T, s string) {
		got := splitSpeech(s)
		// Nothing but whitespace is lost, and order is kept.
		if strings.Join(strings.Fields(strings.Join(got, " ")), " ") != strings.Join(strings.Fields(s), " ") {
			t.Fatalf("splitSpeech(%q) = %q loses text", s, got)
		}
	})
}
