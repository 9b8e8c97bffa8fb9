package voice

import (
	"math"
	"time"
)

// The barge-in curve: how much voiced caller audio, while the agent
// speaks, stops the agent, from the agent's interruptionSensitivity s:
//
//	after(s) = 60 ms + 1940 ms × (1 − s)^1.5, rounded up to whole 20 ms frames
//
// s = 1 stops the agent at the first syllable (60 ms: three voiced
// frames, about a syllable's onset). The default 0.8 gives 240 ms, near
// the 200 ms Vapi's stopSpeakingPlan uses by default: a word like "wait"
// or "sorry" interrupts, a cough, a click or an "mm-hmm" does not. Lower
// sensitivities rise steeply towards 2 s (0.5: 760 ms, 0.2: 1.46 s): at
// the bottom of the range only a caller who keeps talking over the agent
// stops it. s = 0 never interrupts.
const (
	bargeInFirst = 60 * time.Millisecond   // at sensitivity 1
	bargeInLast  = 2000 * time.Millisecond // as sensitivity nears 0
	bargeInPower = 1.5
	bargeInFrame = 20 * time.Millisecond
	// BargeInMaxGap is the longest dip in the caller's voice (a stop
	// consonant, the dip inside a syllable) that does not reset the
	// count; a longer one is a real pause, after which the caller's
	// speech counts from zero. Two frames.
	BargeInMaxGap = 40 * time.Millisecond
)

// BargeInAfter is how much voiced caller audio interrupts the agent at
// interruptionSensitivity s (see the curve above), and whether anything
// does: s ≤ 0 (or NaN) never interrupts; s above 1 counts as 1. It is
// monotone: a higher sensitivity never waits longer.
func BargeInAfter(s float64) (time.Duration, bool) {
	if !(s > 0) {
		return 0, false
	}
	s = min(s, 1)
	d := float64(bargeInFirst) + float64(bargeInLast-bargeInFirst)*math.Pow(1-s, bargeInPower)
	frames := math.Ceil(d/float64(bargeInFrame) - 1e-9)
	return time.Duration(frames) * bargeInFrame, true
}

// BargeIn decides, frame by frame while the agent speaks, when the caller
// has interrupted: once their voiced audio has lasted the threshold of
// BargeInAfter, dips of up to BargeInMaxGap bridged and not counted, a
// longer pause starting the count again. It fires once per agent turn;
// Reset arms it for the next. Feed it the energy detector's per-frame
// voicing, without the detector's hangover (audio.EnergyDetector: voiced
// when SilentFor() == 0 after Push), or the hangover alone makes any
// 20 ms click last 220 ms. A BargeIn is for one goroutine.
type BargeIn struct {
	after time.Duration
	on    bool

	voiced time.Duration // voiced audio in the current stretch
	gap    time.Duration // unvoiced audio since its last voiced frame
	fired  bool
}

// NewBargeIn returns a tracker for the agent's interruptionSensitivity.
func NewBargeIn(sensitivity float64) *BargeIn {
	after, on := BargeInAfter(sensitivity)
	return &BargeIn{after: after, on: on}
}

// Push takes the next d of caller audio (a 20 ms frame), voiced or not,
// and reports whether the caller has just interrupted: true once, on the
// frame that reaches the threshold.
func (b *BargeIn) Push(voiced bool, d time.Duration) (interrupt bool) {
	if !b.on || b.fired {
		return false
	}
	if !voiced {
		if b.voiced > 0 {
			b.gap += d
			if b.gap > BargeInMaxGap {
				b.voiced, b.gap = 0, 0
			}
		}
		return false
	}
	b.voiced += d
	b.gap = 0
	if b.voiced >= b.after {
		b.fired = true
		return true
	}
	return false
}

// Reset forgets the caller's speech and arms the tracker again: call it
// when the agent starts a turn.
func (b *BargeIn) Reset() {
	b.voiced, b.gap, b.fired = 0, 0, false
}

// Threshold is the voiced audio that interrupts, and whether anything
// does (interruptionSensitivity 0: never).
func (b *BargeIn) Threshold() (time.Duration, bool) { return b.after, b.on }
