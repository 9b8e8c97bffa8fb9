package audio_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// tone returns n samples of a sine of hz at rate, with a peak of dbfs
// (0 dBFS = full scale).
func tone(rate int, hz, dbfs float64, n int) []int16 {
	amp := 32767 * math.Pow(10, dbfs/20)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
	}
	return out
}

// noise returns n samples of uniform white noise whose RMS is dbfs
// relative to full scale (32768).
func noise(rng *rand.Rand, dbfs float64, n int) []int16 {
	rms := 32768 * math.Pow(10, dbfs/20)
	a := rms * math.Sqrt(3) // uniform on [−a, a] has RMS a/√3
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round((rng.Float64()*2 - 1) * a))
	}
	return out
}

// levelDB is the RMS of x in dB relative to full scale (32768).
func levelDB(x []int16) float64 {
	var sum float64
	for _, s := range x {
		sum += float64(s) * float64(s)
	}
	if len(x) == 0 || sum == 0 {
		return math.Inf(-1)
	}
	return 10 * math.Log10(sum/float64(len(x))/(32768*32768))
}

// toneDB is the peak amplitude of the hz component of x, in dBFS (a
// full-scale sine is 0 dB), measured with a Hann window.
func toneDB(x []int16, rate int, hz float64) float64 {
	var re, im, wsum float64
	n := len(x)
	for i, s := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		ph := 2 * math.Pi * hz * float64(i) / float64(rate)
		re += w * float64(s) * math.Cos(ph)
		im += w * float64(s) * math.Sin(ph)
		wsum += w
	}
	amp := 2 * math.Hypot(re, im) / wsum
	return 20 * math.Log10(amp/32767)
}

// zeroCrossingHz estimates the frequency of a pure tone from its rising
// zero crossings, interpolated between samples.
func zeroCrossingHz(tb testing.TB, x []int16, rate int) float64 {
	tb.Helper()
	var first, last float64
	count := 0
	for i := 1; i < len(x); i++ {
		if x[i-1] < 0 && x[i] >= 0 {
			at := float64(i-1) + float64(-x[i-1])/float64(int(x[i])-int(x[i-1]))
			if count == 0 {
				first = at
			}
			last = at
			count++
		}
	}
	if count < 2 {
		tb.Fatalf("fewer than 2 zero crossings in %d samples", len(x))
	}
	return float64(count-1) * float64(rate) / (last - first)
}

// fakeClock is a Clock whose time moves only when told: SleepUntil moves
// it to the time slept until, and records it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	targets []time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.targets = append(c.targets, t)
	if t.After(c.now) {
		c.now = t
	}
	return nil
}
