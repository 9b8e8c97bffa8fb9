package audio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentphone/agentphone/audio"
)

func TestPacer(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var sent []time.Time
	// The sink takes 7 ms of the clock per frame: a pacer that slept 20 ms
	// after each write would drift by 7 ms a frame.
	sink := audio.SinkFunc(func(ctx context.Context, f audio.Frame) error {
		sent = append(sent, clock.Now())
		clock.Advance(7 * time.Millisecond)
		return nil
	})
	p := audio.NewPacer(sink, audio.PacerOptions{Clock: clock})
	ctx := context.Background()
	frame := audio.Frame{Samples: make([]int16, 160), Rate: 8000}

	start := clock.Now()
	for range 50 {
		if err := p.WriteFrame(ctx, frame); err != nil {
			t.Fatal(err)
		}
	}
	for i, at := range sent {
		if want := start.Add(time.Duration(i) * 20 * time.Millisecond); !at.Equal(want) {
			t.Fatalf("frame %d sent at start+%v, want start+%v", i, at.Sub(start), want.Sub(start))
		}
	}

	// A little late (40 ms behind, within MaxLate): the schedule holds and
	// the late frame goes at once.
	clock.Advance(40 * time.Millisecond)
	due := start.Add(50 * 20 * time.Millisecond)
	late := clock.Now()
	if err := p.WriteFrame(ctx, frame); err != nil {
		t.Fatal(err)
	}
	if at := sent[len(sent)-1]; !at.Equal(late) {
		t.Errorf("late frame sent at %v, want at once (%v)", at.Sub(start), late.Sub(start))
	}
	// The next frames, overdue too, go at once; then they are back on the
	// schedule: frame 53 at start + 53 × 20 ms.
	for range 3 {
		if err := p.WriteFrame(ctx, frame); err != nil {
			t.Fatal(err)
		}
	}
	if at, want := sent[len(sent)-1], due.Add(3*20*time.Millisecond); !at.Equal(want) {
		t.Errorf("frame 53 sent at start+%v, want start+%v (schedule kept)", at.Sub(start), want.Sub(start))
	}

	// After a pause of 2 s (between utterances), a new schedule starts
	// now, with no burst of catch-up frames.
	clock.Advance(2 * time.Second)
	restart := clock.Now()
	for i := range 5 {
		if err := p.WriteFrame(ctx, frame); err != nil {
			t.Fatal(err)
		}
		if at, want := sent[len(sent)-1], restart.Add(time.Duration(i)*20*time.Millisecond); !at.Equal(want) {
			t.Errorf("frame %d after the pause sent at restart+%v, want +%v", i, at.Sub(restart), want.Sub(restart))
		}
	}
}

func TestPacer_Cancel(t *testing.T) {
	t.Parallel()
	var n int
	sink := audio.SinkFunc(func(ctx context.Context, f audio.Frame) error { n++; return nil })
	p := audio.NewPacer(sink, audio.PacerOptions{}) // the system clock
	ctx, cancel := context.WithCancel(context.Background())
	frame := audio.Frame{Samples: make([]int16, 8000), Rate: 8000} // 1 s
	if err := p.WriteFrame(ctx, frame); err != nil {
		t.Fatal(err)
	}
	cancel()
	// The second frame is due in 1 s; the cancelled context ends the wait.
	if err := p.WriteFrame(ctx, frame); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n != 1 {
		t.Errorf("%d frames written, want 1", n)
	}
}
