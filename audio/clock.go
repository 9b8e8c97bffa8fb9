package audio

import (
	"context"
	"time"
)

// Clock is the time source of Pacer and Recorder. The zero value of their
// options uses SystemClock; tests inject a clock of their own.
type Clock interface {
	Now() time.Time
	// SleepUntil returns when t has come (at once if it has passed), or
	// with ctx's error when ctx is done first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// SystemClock is the Clock of the operating system (monotonic time).
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// SleepUntil waits on a timer until t, or until ctx is done.
func (SystemClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
