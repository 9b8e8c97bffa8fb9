package audio

import (
	"context"
	"fmt"
	"time"
)

// PacerOptions tune a Pacer; the zero value gives the defaults.
type PacerOptions struct {
	// Clock times the frames; nil means SystemClock.
	Clock Clock
	// MaxLate is how far behind its schedule a frame may be written and
	// still keep the schedule (it is then sent at once, catching up). A
	// frame later than that, after a pause of the writer (between two
	// utterances), starts a new schedule instead of a burst of catch-up
	// frames. 0 means 60 ms (three frames).
	MaxLate time.Duration
}

// Pacer is a Sink that passes frames on to another Sink in real time: the
// first frame at once, and each next one when the audio before it has
// played, so that synthesized speech, produced faster than real time,
// leaves as RTP every 20 ms. The schedule is kept from a start time (frame
// n goes at start + the duration of frames 0…n−1), not by sleeping 20 ms
// after each write, so time spent writing does not accumulate as drift.
// It is for one goroutine.
type Pacer struct {
	sink    Sink
	clock   Clock
	maxLate time.Duration

	started bool
	start   time.Time
	played  time.Duration // duration of the frames sent since start
}

var _ Sink = (*Pacer)(nil)

// NewPacer returns a Pacer writing to sink.
func NewPacer(sink Sink, opts PacerOptions) *Pacer {
	p := &Pacer{sink: sink, clock: opts.Clock, maxLate: opts.MaxLate}
	if p.clock == nil {
		p.clock = SystemClock{}
	}
	if p.maxLate == 0 {
		p.maxLate = 3 * FrameDuration
	}
	return p
}

// WriteFrame waits until f's time in the schedule, then writes it to the
// sink. It returns ctx's error if ctx is done while it waits (f is not
// written), or the sink's error.
func (p *Pacer) WriteFrame(ctx context.Context, f Frame) error {
	now := p.clock.Now()
	if !p.started || now.Sub(p.start.Add(p.played)) > p.maxLate {
		p.started, p.start, p.played = true, now, 0
	}
	if err := p.clock.SleepUntil(ctx, p.start.Add(p.played)); err != nil {
		return err
	}
	if err := p.sink.WriteFrame(ctx, f); err != nil {
		return fmt.Errorf("audio: pacer: %w", err)
	}
	p.played += f.Duration()
	return nil
}

// Reset makes the next frame start a new schedule at once, as after a
// pause: use it when the stream is interrupted on purpose (barge-in).
func (p *Pacer) Reset() { p.started = false }
