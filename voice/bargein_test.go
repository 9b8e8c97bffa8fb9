package voice_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/voice"
)

// TestBargeInAfter: the curve's anchors, its monotony, whole frames, and
// the bounds of the range.
func TestBargeInAfter(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	for _, c := range []struct {
		s    float64
		want time.Duration
		on   bool
	}{
		{0, 0, false},
		{-0.5, 0, false},
		{math.NaN(), 0, false},
		{1, 60 * ms, true},   // the first syllable
		{1.7, 60 * ms, true}, // above the range: 1
		{0.9, 140 * ms, true},
		{0.8, 240 * ms, true}, // the default
		{0.5, 760 * ms, true},
		{0.2, 1460 * ms, true},
		{1e-9, 2000 * ms, true},
	} {
		got, on := voice.BargeInAfter(c.s)
		if got != c.want || on != c.on {
			t.Errorf("BargeInAfter(%v) = %v, %v; want %v, %v", c.s, got, on, c.want, c.on)
		}
	}
	prev := time.Duration(math.MaxInt64)
	for i := 1; i <= 1000; i++ {
		s := float64(i) / 1000
		got, on := voice.BargeInAfter(s)
		if !on || got > prev || got%(20*ms) != 0 || got < 60*ms || got > 2000*ms {
			t.Fatalf("BargeInAfter(%v) = %v, %v (previous %v): not monotone, whole frames in [60 ms, 2 s]", s, got, on, prev)
		}
		prev = got
	}
	if d, _ := voice.BargeInAfter(0.8); d < 150*ms || d > 250*ms {
		t.Errorf("default %v outside 150–250 ms", d)
	}
}

// frames turns a pattern into voiced (#) and unvoiced (.) 20 ms frames.
func frames(pattern string) []bool {
	var out []bool
	for _, r := range strings.ReplaceAll(pattern, " ", "") {
		out = append(out, r == '#')
	}
	return out
}

// fireAt feeds the frames to b and returns the index of the frame on
// which it fired (-1: never), failing if it fires twice.
func fireAt(t *testing.T, b *voice.BargeIn, fs []bool) int {
	t.Helper()
	at := -1
	for i, v := range fs {
		if b.Push(v, 20*time.Millisecond) {
			if at >= 0 {
				t.Fatalf("fired twice, at frames %d and %d", at, i)
			}
			at = i
		}
	}
	return at
}

// TestBargeIn_Frames: at the default sensitivity (240 ms = 12 voiced
// frames) short sounds and backchannels do not interrupt, speech does,
// dips of up to two frames are bridged, longer pauses start again.
func TestBargeIn_Frames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		s       float64
		pattern string
		want    int // frame index that fires, -1 never
	}{
		{"silence", 0.8, "........................", -1},
		{"a click", 0.8, "..#.....................", -1},
		{"a cough, 160 ms", 0.8, "..########..............", -1},
		{"yeah, 220 ms", 0.8, "###########.............", -1},
		{"mm-hmm with a pause", 0.8, "######...######.........", -1},
		{"mm-hmm with a short dip: 220 ms voiced", 0.8, "######..#####...........", -1},
		{"speech, 240 ms", 0.8, "############............", 11},
		{"speech after silence", 0.8, ".....############.......", 16},
		{"a one-frame dip is bridged", 0.8, "######.######...........", 12},
		{"a two-frame dip is bridged, not counted", 0.8, "######..######..........", 13},
		{"a three-frame pause starts again", 0.8, "######...############....", 20},
		{"several short noises", 0.8, "###...###...###...###...###...", -1},
		{"sensitivity 1: three frames", 1, "..###.....", 4},
		{"sensitivity 1: two frames are not enough", 1, "##...##...##...", -1},
		{"sensitivity 1: a bridged dip adds up", 1, "##..##", 4},
		{"sensitivity 0: never", 0, strings.Repeat("#", 500), -1},
		{"sensitivity 0.2: 73 frames", 0.2, strings.Repeat("#", 72) + "." + strings.Repeat("#", 5), 73},
	}
	for _, c := range cases {
		b := voice.NewBargeIn(c.s)
		if got := fireAt(t, b, frames(c.pattern)); got != c.want {
			t.Errorf("%s (s=%v): fired at frame %d, want %d", c.name, c.s, got, c.want)
		}
	}
}

// TestBargeIn_Reset: it fires once per agent turn; Reset arms it again
// and forgets speech heard before.
func TestBargeIn_Reset(t *testing.T) {
	t.Parallel()
	b := voice.NewBargeIn(0.8)
	if th, on := b.Threshold(); th != 240*time.Millisecond || !on {
		t.Fatalf("Threshold = %v, %v", th, on)
	}
	if got := fireAt(t, b, frames(strings.Repeat("#", 40))); got != 11 {
		t.Fatalf("first turn: fired at %d", got)
	}
	if got := fireAt(t, b, frames(strings.Repeat("#", 40))); got != -1 {
		t.Fatalf("fired again before Reset, at %d", got)
	}
	b.Reset()
	// Speech counted before a Reset does not carry over.
	fireAt(t, b, frames("##########"))
	b.Reset()
	if got := fireAt(t, b, frames("###########")); got != -1 {
		t.Fatalf("10 frames before Reset + 11 after fired at %d", got)
	}
	if got := fireAt(t, b, frames("#")); got != 0 {
		t.Fatalf("the 12th frame after Reset: %d", got)
	}
	if _, on := voice.NewBargeIn(0).Threshold(); on {
		t.Fatal("sensitivity 0 is on")
	}
}
