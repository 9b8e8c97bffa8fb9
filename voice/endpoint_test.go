package voice_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/agentphone/agentphone/voice"
)

// TestEndpointer_Reasons: each rule, and the texts that must not trigger
// it, with and without the agent's question.
func TestEndpointer_Reasons(t *testing.T) {
	t.Parallel()
	const (
		short      = voice.EndpointShort
		def        = voice.EndpointDefault
		empty      = voice.EndpointEmpty
		complete   = voice.EndpointComplete
		unfinished = voice.EndpointUnfinished
		digits     = voice.EndpointDigits
		date       = voice.EndpointDate
		email      = voice.EndpointEmail
		spelling   = voice.EndpointSpelling
	)
	cases := []struct {
		prompt, text string
		want         voice.EndpointReason
	}{
		// Nothing recognised.
		{"", "", empty},
		{"", "  ... ", empty},

		// Short complete answers, any case and punctuation.
		{"", "Yes.", short},
		{"", "no", short},
		{"", "Yeah!", short},
		{"", "Okay.", short},
		{"", "sure", short},
		{"", "Thanks.", short},
		{"", "Correct.", short},
		{"", "That's right.", short},
		{"", "That’s right", short}, // typographic apostrophe
		{"", "Yes, that's right, thank you.", short},
		{"", "No thank you.", short},
		{"", "I think so.", short},
		{"", "Yes it is.", short},
		{"", "I don't know.", short},
		{"", "Mm-hmm.", short},
		// A lone number said as a quantity.
		{"How many people?", "Three.", short},
		{"", "forty-two", short},
		{"", "twenty five", short},
		{"", "12", short},
		{"", "About ten.", short},
		{"", "a hundred", short},
		// Not short: more than a short answer, or cut off.
		{"", "Yes, I'd like to book a table for tonight.", def},
		{"", "Yes,", unfinished},
		{"", "No, but", unfinished},
		{"", "yes yes yes yes yes yes yes", def},
		{"", "Yes, okay, sure, thanks.", def}, // four answers: more than an answer

		// Ordinary complete sentences.
		{"", "My order hasn't arrived yet.", def},
		{"", "I have two kids.", def},
		{"", "I have two.", def},
		{"", "I'd like to go first.", def},
		{"", "I'm at the store.", def},
		{"", "I live in the U.S.", def},
		{"", "Can we meet at 5 p.m.?", def},
		{"", "Tomorrow at 5pm.", def},
		{"", "I was born in the 90s.", def},
		{"", "I'm going in January.", def},
		{"", "I saw it on amazon dot com.", def},
		{"", "My name is Mike.", def},
		{"", "Option B.", def},
		{"", "I'm available 24/7.", def},
		{"Which account would you like to use?", "The second one.", def},

		// Unfinished: trailing conjunction, preposition, article, filler.
		{"", "I wanted to ask about my bill and", unfinished},
		{"", "I'd like to, but", unfinished},
		{"", "So", unfinished},
		{"", "because", unfinished},
		{"", "I need to", unfinished},
		{"", "Can you help me with the", unfinished},
		{"", "I want a", unfinished},
		{"", "It's for my", unfinished},
		{"", "um", unfinished},
		{"", "Well, uh", unfinished},
		{"", "It's like", unfinished},
		{"", "I mean", unfinished},
		{"", "I was wondering if", unfinished},
		{"", "I was wondering", unfinished},
		{"", "I think", unfinished},
		{"", "The problem is", unfinished},
		{"", "And I", unfinished},
		{"", "It's", unfinished},
		{"", "I'm", unfinished},
		{"", "let me see", unfinished},
		{"", "Hold on.", unfinished},
		// ...or punctuation.
		{"", "I called yesterday,", unfinished},
		{"", "I called yesterday -", unfinished},
		{"", "I called yesterday—", unfinished},
		{"", "I called yesterday...", unfinished},
		{"", "I called yesterday…", unfinished},
		{"", "The reason:", unfinished},
		// "so" that ends a sentence.
		{"", "An hour or so.", def},
		{"", "If so.", def},
		{"", "So do I.", def},
		{"", "And so", unfinished},

		// Digits being read out.
		{"", "five five five", digits},
		{"", "Five, five, five.", digits},
		{"", "555", def}, // one group, no name: a quantity
		{"", "415 555", digits},
		{"", "my number is", digits},
		{"", "My phone number is 415", digits},
		{"", "my number is five five five one two three", digits},
		{"", "my number is 555-1234", digits},          // seven digits without an area code
		{"", "area code 415, then 555-1234", complete}, // seven after an area code
		{"", "Call me at", digits},
		{"", "you can reach me at 415", digits},
		{"", "The code is", digits},
		{"", "The code is 4 8", digits},
		{"", "My account number is 12345678", digits}, // an id never completes itself
		{"", "my zip is 941", digits},
		{"", "double five", digits},
		{"", "five five five um", digits}, // a filler after digits
		{"", "five five five, uh, one two", digits},
		{"", "four one five five five five one two three", digits},
		{"", "my extension", digits},
		{"", "area code", digits},
		// The agent's question names the number.
		{"What's your phone number?", "It's", digits},
		{"What's your phone number?", "Sure, it's 415", digits},
		{"What's the best number to reach you at?", "five", digits},
		{"Could I have your ZIP code?", "941", digits},
		{"What is your account number?", "Four.", digits},
		// Digits read in a sentence still take the question's name: an
		// account number has no known length, a phone number does.
		{"What is your account number?", "I believe it is 415 555 1234", digits},
		{"", "I believe it is 415 555 1234", complete},

		// The examples of docs/turn-taking.md.
		{"", "my number is four one five, five five five", digits},
		{"", "my number is four one five, five five five, one two three four", complete},
		{"", "I was born on March 5th, 1990", complete},
		{"", "Can you call me back? My order is 12345", digits},
		{"What is your date of birth?", "It's", date},
		{"What's your email address?", "it's", email},
		{"", "email me at", email},

		// Complete: the normal window again.
		{"", "my number is 415-555-1234", complete},
		{"", "four one five five five five one two three four", complete},
		{"", "It's (415) 555-1234.", complete},
		{"", "my number is one four one five five five five one two three four", complete},
		{"", "+1 415 555 1234", complete},
		{"", "four one five, five five five, one two three four", complete},
		{"", "eight hundred five five five one two three four", complete},
		{"Could I have your ZIP code?", "94107", complete},
		{"", "my zip code is 94107", complete},
		{"", "my zip code is 941071", digits},
		{"", "my zip code is 94107 1234", complete}, // ZIP+4
		{"", "the last four of my social are 1234", complete},
		{"", "the last four of my social are 12", digits},
		{"", "my social security number is 123 45 6789", complete},
		{"", "card number 4111 1111 1111 1111", complete},
		{"", "card number 4111 1111 1111", digits},
		{"What's your phone number?", "yes", short}, // an answer, not a number
		{"Is this the best number to reach you?", "Yes it is.", short},

		// Dates.
		{"", "my date of birth is", date},
		{"", "I was born on March 5th", date},
		{"", "March 5th", date},
		{"", "March the fifth", date},
		{"", "March twenty-first", date},
		{"", "the fifth of", date},
		{"", "my birthday is March 5", date},
		{"", "my birthday is March 5, 1990", complete},
		{"", "I was born March 5th 1990", complete},
		{"", "date of birth march fifth nineteen", date},
		{"", "date of birth march fifth nineteen ninety", complete},
		{"", "date of birth march fifth nineteen ninety five", complete},
		{"", "my birthday is the twelfth, twenty twenty four", complete},
		{"", "born March twelve nineteen", date},
		{"", "born in two thousand five", complete},
		{"", "5/12/1990", complete},
		{"What is your date of birth?", "March", date},
		{"What is your date of birth?", "the fifth", date},

		// Email addresses.
		{"", "my email is", email},
		{"", "My email address is john at", email},
		{"", "email me at", email},
		{"", "john dot smith at gmail", email},
		{"", "john dot smith at gmail dot", email},
		{"", "john dot smith at gmail dot com", complete},
		{"", "It's john.smith@gmail.com", complete},
		{"", "john@", email},
		{"", "john@gmail", email},
		{"What's your email?", "john underscore smith at", email},
		{"", "My email is John", email},
		{"", "my email address is john smith", email},
		{"", "My email is not working.", def},
		{"", "I sent you an email yesterday.", def},

		// Spelling.
		{"", "B as in boy", spelling},
		{"", "Smith, S as in Sam, M as in Mary", spelling},
		{"", "B as in", spelling},
		{"", "J O H N", spelling},
		{"", "j-o-h-n", spelling},
		{"", "It's spelled", spelling},
		{"", "my postcode is K1A 0B1", spelling},
		{"Could you spell your last name?", "S", spelling},
		{"", "alpha bravo", spelling},
	}
	for _, c := range cases {
		e := voice.Endpointer{Mode: "fast", Prompt: c.prompt}
		if got := e.Decide(c.text); got.Reason != c.want {
			t.Errorf("prompt %q, text %q: %s (%v), want %s", c.prompt, c.text, got.Reason, got.Wait, c.want)
		}
	}
}

// TestEndpointer_Waits: the windows of each mode, ordered as the rules
// intend, within the bounds.
func TestEndpointer_Waits(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	for _, c := range []struct {
		mode, text string
		want       time.Duration
	}{
		{"fast", "yes", 300 * ms},
		{"fast", "I'd like to book a table.", 500 * ms},
		{"fast", "", 500 * ms},
		{"fast", "my number is 415-555-1234", 500 * ms},
		{"fast", "I'd like to book a table for", 1200 * ms},
		{"fast", "five five five", 2000 * ms},
		{"accurate", "yes", 400 * ms},
		{"accurate", "I'd like to book a table.", 700 * ms},
		{"accurate", "I'd like to book a table for", 1500 * ms},
		{"accurate", "five five five", 2500 * ms},
		{"", "I'd like to book a table.", 500 * ms},         // unset: fast
		{"turbo", "I'd like to book a table.", 500 * ms},    // unknown: fast
		{"ACCURATE", "I'd like to book a table.", 500 * ms}, // modes are case-sensitive, as the API's enum
	} {
		if got := voice.NewEndpointer(c.mode).Wait(c.text); got != c.want {
			t.Errorf("%s %q: %v, want %v", c.mode, c.text, got, c.want)
		}
	}
	for _, mode := range []string{"fast", "accurate"} {
		e := voice.NewEndpointer(mode)
		s, b, u, d := e.Wait("yes"), e.Wait("Book a table."), e.Wait("and"), e.Wait("five five five")
		if !(voice.MinEndpointWait <= s && s < b && b < u && u < d && d <= voice.MaxEndpointWait) {
			t.Errorf("%s: short %v, base %v, unfinished %v, dictation %v: not in order within [%v, %v]",
				mode, s, b, u, d, voice.MinEndpointWait, voice.MaxEndpointWait)
		}
	}
	fast, accurate := voice.NewEndpointer("fast"), voice.NewEndpointer("accurate")
	for _, text := range []string{"yes", "Book a table.", "and", "five five five"} {
		if accurate.Wait(text) <= fast.Wait(text) {
			t.Errorf("%q: accurate %v is not longer than fast %v", text, accurate.Wait(text), fast.Wait(text))
		}
	}
}

// TestEndpointer_Language: in another language the English word rules do
// not apply ("o" is Spanish for "or", not a zero; "a" a preposition, not a
// letter), the rules on punctuation and numerals do.
func TestEndpointer_Language(t *testing.T) {
	t.Parallel()
	es := voice.Endpointer{Mode: "fast", Language: "es-ES"}
	for text, want := range map[string]voice.EndpointReason{
		"sí":                        voice.EndpointDefault,
		"y":                         voice.EndpointDefault,
		"a o b":                     voice.EndpointDefault,
		"quiero ir,":                voice.EndpointUnfinished,
		"mi número es 555 12":       voice.EndpointDigits,
		"mi número es 91 555 123":   voice.EndpointDigits, // no phone number yet
		"mi número es 415 555 1234": voice.EndpointComplete,
		"juan@gmail.com":            voice.EndpointComplete,
		"juan@gmail":                voice.EndpointEmail,
		"3":                         voice.EndpointShort,
	} {
		if got := es.Decide(text).Reason; got != want {
			t.Errorf("es %q: %s, want %s", text, got, want)
		}
	}
	en := voice.Endpointer{Language: "en-GB"}
	if got := en.Decide("and").Reason; got != voice.EndpointUnfinished {
		t.Errorf("en-GB: %s, want the English rules", got)
	}
}

// TestEndpointer_LongText: only the end of a long turn counts, and a
// huge one is cheap.
func TestEndpointer_LongText(t *testing.T) {
	t.Parallel()
	e := voice.NewEndpointer("fast")
	long := strings.Repeat("I called about my order and nobody answered. ", 20000) // ~900 KB
	if got := e.Decide(long + "yes").Reason; got != voice.EndpointDefault {
		t.Errorf("a long turn ending in yes: %s, want default (not a short answer)", got)
	}
	if got := e.Decide(long + "my number is five five five").Reason; got != voice.EndpointDigits {
		t.Errorf("a long turn ending in digits: %s", got)
	}
	if got := e.Decide(long + "and").Reason; got != voice.EndpointUnfinished {
		t.Errorf("a long turn ending in and: %s", got)
	}
	start := time.Now()
	for range 100 {
		e.Wait(long)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("100 decisions on a 900 KB text took %v", d)
	}
}

// FuzzEndpointer: transcripts and prompts are untrusted text: no panic,
// and the wait is always within the bounds.
func FuzzEndpointer(f *testing.F) {
	for _, s := range []string{"", "yes", "my number is 415-555-1234", "B as in boy", "john@gmail.com", "and,",
		"five five five", "date of birth march fifth nineteen", "\xff\xfe", "a.b.c", "-", "@", "+", "(", "o o o",
		"last four", "double", "hundred thousand", "j-o-h-n", "1st 2nd", "'s", "twenty-", "—", "é", "ＡＢＣ"} {
		f.Add(s, "What's your phone number?", false)
		f.Add(s, "", true)
	}
	f.Fuzz(func(t *testing.T, text, prompt string, accurate bool) {
		mode := "fast"
		if accurate {
			mode = "accurate"
		}
		e := voice.Endpointer{Mode: mode, Prompt: prompt}
		d := e.Decide(text)
		if d.Wait < voice.MinEndpointWait || d.Wait > voice.MaxEndpointWait {
			t.Fatalf("%q (prompt %q): wait %v outside [%v, %v]", text, prompt, d.Wait, voice.MinEndpointWait, voice.MaxEndpointWait)
		}
		if d.Reason == "" {
			t.Fatalf("%q: no reason", text)
		}
		if utf8.ValidString(text) && e.Wait(text) != d.Wait {
			t.Fatalf("%q: Wait and Decide disagree", text)
		}
		if (voice.Endpointer{Mode: mode, Language: "fr-FR"}).Wait(text) > voice.MaxEndpointWait {
			t.Fatal("fr: above the maximum")
		}
	})
}
