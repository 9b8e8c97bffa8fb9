package webhook

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Schedule holds the delays before attempts 2, 3, …: a delivery is tried
// len(Schedule)+1 times in all.
type Schedule []time.Duration

// DefaultSchedule spreads 6 attempts over about 21 hours, as the hosted
// platform does: retries after 1 minute, 5 minutes, 30 minutes, 2 hours and
// 18 hours (20 h 36 min after the first attempt at the latest, before
// jitter).
var DefaultSchedule = Schedule{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 18 * time.Hour}

// ParseSchedule reads a comma-separated list of Go durations, the delays
// before attempts 2…N (e.g. "100ms,200ms,400ms,800ms,1600ms"). An empty
// string is a schedule without retries.
func ParseSchedule(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Schedule{}, nil
	}
	var out Schedule
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("webhook retry schedule %q: %w", s, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("webhook retry schedule %q: delays must be positive", s)
		}
		out = append(out, d)
	}
	if len(out) > 24 {
		return nil, errors.New("webhook retry schedule: at most 24 retries")
	}
	return out, nil
}

// String is the form ParseSchedule reads.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// Attempts is how many times a delivery is tried in all.
func (s Schedule) Attempts() int { return len(s) + 1 }

// Jitter is the fraction by which a scheduled delay is spread, so that
// deliveries that failed together do not return together.
const Jitter = 0.1

// Next returns the delay before the next attempt after failed attempts
// (1 after the first), and false when none remains. The scheduled delay is
// spread by ±Jitter; a longer retryAfter from the receiver wins. rnd returns
// a number in [0, 1); nil uses math/rand/v2.
func (s Schedule) Next(failed int, retryAfter time.Duration, rnd func() float64) (time.Duration, bool) {
	if failed < 1 || failed > len(s) {
		return 0, false
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	d := s[failed-1]
	d += time.Duration((rnd()*2 - 1) * Jitter * float64(d))
	return max(d, retryAfter), true
}
