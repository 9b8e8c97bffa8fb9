package hosted

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCutClause: the model's text, whatever it is, is cut without loss
// (a clause and the rest hold every non-space character, in order) and
// what is spoken has no markdown emphasis left.
func FuzzCutClause(f *testing.F) {
	for _, s := range []string{"Sure. Let", "Dr. Smith, hello; yes: no — maybe\nnext", "3.5 e.g. J. R. R.", "**bold** [a](b) `c`",
		"…", "a\x00b. c", "\xff\xfe. x"} {
		f.Add(s)
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	f.Fuzz(func(t *testing.T, text string) {
		clause, rest := cutClause(text)
		if squash(clause+rest) != squash(text) {
			t.Fatalf("cutClause(%q) = %q + %q: text lost", text, clause, rest)
		}
		if clause != "" && len(clause) >= len(text)+1 {
			t.Fatalf("clause %q longer than the text %q", clause, text)
		}
		out := speakable(text)
		if utf8.ValidString(text) && strings.Contains(out, "**") {
			t.Fatalf("speakable(%q) = %q: emphasis left", text, out)
		}
	})
}

// FuzzParseAnalysis: any answer of the model gives an analysis or an
// error, never a panic, and a sentiment only of the three.
func FuzzParseAnalysis(f *testing.F) {
	for _, s := range []string{`{"summary":"s","userSentiment":"Neutral","callSuccessful":true}`, `text {"summary": 5} more`,
		`{"user_sentiment":"POSITIVE","call_successful":"yes"}`, `{{{`, `}`, "", `{"summary":"` + strings.Repeat("x", 5000) + `"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, _, err := parseAnalysis(text)
		if err != nil {
			return
		}
		if s := a.UserSentiment; s != nil && *s != "Positive" && *s != "Neutral" && *s != "Negative" {
			t.Fatalf("sentiment %q from %q", *s, text)
		}
	})
}
