package voice_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agentphone/agentphone/voice"
)

const frame = 20 * time.Millisecond

// caller drives a Backchanneler with 20 ms frames and records when it
// proposed what.
type caller struct {
	b      *voice.Backchanneler
	t0, at time.Time
	wait   time.Duration
	said   []string        // phrases proposed
	when   []time.Duration // since t0
	silent time.Duration   // silence at the last proposal
	voiced time.Time       // the last voiced frame
}

func newCaller(wait time.Duration) *caller {
	t0 := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	return &caller{b: voice.NewBackchanneler("en-US"), t0: t0, at: t0, wait: wait}
}

// talk pushes d of voiced frames; a proposal then fails the test.
func (c *caller) talk(t *testing.T, d time.Duration) {
	t.Helper()
	for end := c.at.Add(d); c.at.Before(end); c.at = c.at.Add(frame) {
		if c.b.Push(true, c.at, c.wait) {
			t.Fatalf("proposed a backchannel while the caller is voiced, at %v", c.at.Sub(c.t0))
		}
		c.voiced = c.at
	}
}

// pause pushes d of unvoiced frames.
func (c *caller) pause(d time.Duration) {
	for end := c.at.Add(d); c.at.Before(end); c.at = c.at.Add(frame) {
		if c.b.Push(false, c.at, c.wait) {
			c.said = append(c.said, c.b.Phrase())
			c.when = append(c.when, c.at.Sub(c.t0))
			c.silent = c.at.Sub(c.voiced)
		}
	}
}

// TestBackchanneler_Pause: a backchannel comes at a 300 ms pause of a
// long turn, with room left in the end-of-turn wait, and not otherwise.
func TestBackchanneler_Pause(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	cases := []struct {
		name       string
		wait       time.Duration
		talk       time.Duration // before the pause
		pause      time.Duration
		wantSaid   bool
		wantSilent time.Duration // silence when proposed
	}{
		{"a pause in a long turn", 1200 * ms, 6 * time.Second, 400 * ms, true, 300 * ms},
		{"a long pause: once, at 300 ms", 2000 * ms, 6 * time.Second, 1500 * ms, true, 300 * ms},
		{"the fast base wait leaves just room", 500 * ms, 6 * time.Second, 400 * ms, true, 300 * ms},
		{"too short a pause", 1200 * ms, 6 * time.Second, 280 * ms, false, 0},
		{"too early in the turn", 1200 * ms, 4800 * ms, 400 * ms, false, 0},
		{"no room before the turn ends", 480 * ms, 6 * time.Second, 400 * ms, false, 0},
		{"a short-answer wait", 300 * ms, 6 * time.Second, 400 * ms, false, 0},
		{"no wait known", 0, 6 * time.Second, 400 * ms, false, 0},
	}
	for _, tc := range cases {
		c := newCaller(tc.wait)
		c.talk(t, tc.talk)
		c.pause(tc.pause)
		if got := len(c.said) > 0; got != tc.wantSaid {
			t.Errorf("%s: proposed %v (%v), want %v", tc.name, got, c.said, tc.wantSaid)
			continue
		}
		if tc.wantSaid {
			if len(c.said) != 1 || c.said[0] != "Mm-hmm." {
				t.Errorf("%s: said %q, want one Mm-hmm.", tc.name, c.said)
			}
			if c.silent != tc.wantSilent {
				t.Errorf("%s: proposed after %v of silence, want %v", tc.name, c.silent, tc.wantSilent)
			}
		}
	}
}

// TestBackchanneler_Spacing: in a long turn with a pause every 2 s, at
// most one backchannel every 7 s and three a turn, the phrases rotating
// over the call; a new turn starts the count again, not the spacing.
func TestBackchanneler_Spacing(t *testing.T) {
	t.Parallel()
	c := newCaller(1200 * time.Millisecond)
	for range 30 { // a minute
		c.talk(t, 1600*time.Millisecond)
		c.pause(400 * time.Millisecond)
	}
	if len(c.said) != 3 {
		t.Fatalf("%d backchannels in a one-minute turn (%v at %v), want 3", len(c.said), c.said, c.when)
	}
	for i := 1; i < len(c.when); i++ {
		if gap := c.when[i] - c.when[i-1]; gap < voice.BackchannelEvery {
			t.Errorf("backchannels %v apart", gap)
		}
	}
	if c.when[0] < voice.BackchannelAfter {
		t.Errorf("first at %v", c.when[0])
	}
	if !slices.Equal(c.said, []string{"Mm-hmm.", "Right.", "I see."}) {
		t.Errorf("phrases %q", c.said)
	}

	// The agent answers; the next turn may have its own, after 5 s of it,
	// 7 s after the last, with the next phrase.
	c.b.Reset()
	c.pause(10 * time.Second)
	c.talk(t, 4900*time.Millisecond)
	c.pause(400 * time.Millisecond) // 4.88 s into the turn: not yet
	c.talk(t, 200*time.Millisecond)
	c.pause(400 * time.Millisecond) // 5.48 s
	if len(c.said) != 4 || c.said[3] != "Okay." {
		t.Fatalf("next turn: %q at %v", c.said, c.when)
	}
	c.talk(t, 2*time.Second)
	c.pause(400 * time.Millisecond) // 2.4 s after the last: not yet
	if len(c.said) != 4 {
		t.Fatalf("next turn: %q at %v, 2.4 s apart", c.said, c.when)
	}
	c.talk(t, 4500*time.Millisecond)
	c.pause(400 * time.Millisecond) // 7.3 s after
	if len(c.said) != 5 || c.said[4] != "Mm-hmm." {
		t.Fatalf("next turn: %q at %v", c.said, c.when)
	}
	if gap := c.when[4] - c.when[3]; gap < voice.BackchannelEvery {
		t.Errorf("next turn: %v apart", gap)
	}
}

// TestBackchanneler_SpacingAcrossTurns: a new turn does not bring the
// next backchannel sooner than BackchannelEvery.
func TestBackchanneler_SpacingAcrossTurns(t *testing.T) {
	t.Parallel()
	c := newCaller(1200 * time.Millisecond)
	c.talk(t, 6*time.Second)
	c.pause(400 * time.Millisecond)
	c.b.Reset() // the agent answered
	c.talk(t, 5200*time.Millisecond)
	c.pause(400 * time.Millisecond) // 5.6 s after the first
	if len(c.said) != 1 {
		t.Fatalf("%q at %v: the spacing restarted with the turn", c.said, c.when)
	}
	c.talk(t, 2*time.Second)
	c.pause(400 * time.Millisecond)
	if len(c.said) != 2 || c.when[1]-c.when[0] < voice.BackchannelEvery {
		t.Fatalf("%q at %v", c.said, c.when)
	}
}

// TestBackchanneler_TurnEnds: silence reaching the end-of-turn wait ends
// the turn; talk before it does not count towards the next.
func TestBackchanneler_TurnEnds(t *testing.T) {
	t.Parallel()
	c := newCaller(1200 * time.Millisecond)
	c.talk(t, 4*time.Second)
	c.pause(1300 * time.Millisecond) // the turn ends
	c.talk(t, 2*time.Second)
	c.pause(400 * time.Millisecond)
	if len(c.said) != 0 {
		t.Fatalf("proposed %q at %v: the talk of an ended turn counted", c.said, c.when)
	}
	c.talk(t, 3*time.Second) // 5.4 s into this turn
	c.pause(400 * time.Millisecond)
	if len(c.said) != 1 {
		t.Fatalf("proposed %q, want one after 5 s of the new turn", c.said)
	}

	// Reset ends the turn too.
	c = newCaller(1200 * time.Millisecond)
	c.talk(t, 4*time.Second)
	c.b.Reset()
	c.talk(t, 2*time.Second)
	c.pause(400 * time.Millisecond)
	if len(c.said) != 0 {
		t.Fatalf("proposed %q: talk before Reset counted", c.said)
	}
	if c.b.Phrase() != "" {
		t.Fatalf("Phrase before any: %q", c.b.Phrase())
	}
}

// TestBackchanneler_LatePush: a pause first seen past BackchannelLate
// (the engine's frames came late) is too late for a backchannel.
func TestBackchanneler_LatePush(t *testing.T) {
	t.Parallel()
	b := voice.NewBackchanneler("")
	t0 := time.Now()
	for i := range 300 {
		b.Push(true, t0.Add(time.Duration(i)*frame), time.Second)
	}
	last := t0.Add(299 * frame)
	if b.Push(false, last.Add(420*time.Millisecond), time.Second) {
		t.Fatal("proposed 420 ms into a pause")
	}
	if !b.Push(false, last.Add(400*time.Millisecond), 2*time.Second) {
		t.Fatal("not proposed 400 ms into a pause")
	}
}

// TestBackchannelPhrases: English by default, a few languages, a hum for
// the others; callers get their own copy.
func TestBackchannelPhrases(t *testing.T) {
	t.Parallel()
	for lang, first := range map[string]string{
		"": "Mm-hmm.", "en-US": "Mm-hmm.", "en-GB": "Mm-hmm.", "es-419": "Ajá.", "es-ES": "Ajá.",
		"fr-CA": "Mm-hmm.", "de-DE": "Mhm.", "it-IT": "Mhm.", "pt-BR": "Uhum.", "nl-NL": "Mhm.",
		"ja-JP": "はい。", "zh-CN": "嗯。", "ko-KR": "네.", "fil-PH": "Mm-hmm.", "yue-CN": "Mm-hmm.", "DE_de": "Mhm.",
	} {
		p := voice.BackchannelPhrases(lang)
		if len(p) == 0 || p[0] != first {
			t.Errorf("%q: %q, want first %q", lang, p, first)
		}
	}
	if got := voice.BackchannelPhrases("fr-FR"); !slices.Contains(got, "D'accord.") {
		t.Errorf("fr: %q", got)
	}
	p := voice.BackchannelPhrases("en-US")
	p[0] = "changed"
	if voice.BackchannelPhrases("en-US")[0] != "Mm-hmm." {
		t.Fatal("the list was changed through a returned slice")
	}
	// Rotation in another language.
	b := voice.NewBackchanneler("de-DE")
	t0 := time.Now()
	var said []string
	for turn := range 3 {
		start := t0.Add(time.Duration(turn) * 20 * time.Second)
		for i := range 300 {
			b.Push(true, start.Add(time.Duration(i)*frame), time.Second)
		}
		if b.Push(false, start.Add(299*frame+300*time.Millisecond), time.Second) {
			said = append(said, b.Phrase())
		}
		b.Reset()
	}
	if fmt.Sprint(said) != "[Mhm. Genau. Verstehe.]" {
		t.Errorf("de rotation: %q", said)
	}
}
