package hosted

import "testing"

func TestCutClause(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, clause, rest string }{
		{"Sure", "", "Sure"},
		{"Sure.", "", "Sure."}, // the space after it has not come yet
		{"Sure. Let", "Sure.", "Let"},
		{"Sure! And? More", "Sure! And?", "More"},
		{"It costs 3.5 dollars", "", "It costs 3.5 dollars"},
		{"Dr. Smith is in. Yes", "Dr. Smith is in.", "Yes"},
		{"See e.g. this one", "", "See e.g. this one"},
		{"Yes, sure", "", "Yes, sure"}, // a comma cuts only after minClauseWords words
		{"Your order shipped yesterday, and it", "Your order shipped yesterday,", "and it"},
		{"One line\nnext", "One line", "next"},
		{"J. R. R. Tolkien wrote it", "", "J. R. R. Tolkien wrote it"},
		{"Wait… ok", "Wait…", "ok"},
	}
	for _, tt := range tests {
		c, r := cutClause(tt.in)
		if c != tt.clause || r != tt.rest {
			t.Errorf("cutClause(%q) = %q, %q; want %q, %q", tt.in, c, r, tt.clause, tt.rest)
		}
	}
}

func TestSpeakable(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Plain text, fine.", "Plain text, fine."},
		{"**Bold** and *it* and `code`", "Bold and it and code"},
		{"## Title\n- one\n- two", "Title\none\ntwo"},
		{"See [our site](https://x.test) now", "See our site now"},
	}
	for _, tt := range tests {
		if got := speakable(tt.in); got != tt.want {
			t.Errorf("speakable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
