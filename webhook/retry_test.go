package webhook

import (
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	s, err := ParseSchedule(" 100ms, 200ms,400ms,800ms,1600ms ")
	if err != nil || s.Attempts() != 6 || s[4] != 1600*time.Millisecond || s.String() != "100ms,200ms,400ms,800ms,1.6s" {
		t.Fatalf("ParseSchedule = %v (%d attempts), %v", s, s.Attempts(), err)
	}
	if s, err := ParseSchedule(""); err != nil || s.Attempts() != 1 {
		t.Fatalf("empty schedule = %v, %v; want one attempt", s, err)
	}
	for _, bad := range []string{"1s,,2s", "1x", "-1s", "0s", "1s,abc"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}

func TestDefaultSchedule(t *testing.T) {
	t.Parallel()
	var total time.Duration
	for _, d := range DefaultSchedule {
		total += d
	}
	if DefaultSchedule.Attempts() != 6 || total < 20*time.Hour || total > 22*time.Hour {
		t.Fatalf("default: %d attempts over %s, want 6 over about 21 hours", DefaultSchedule.Attempts(), total)
	}
	parsed, err := ParseSchedule(DefaultSchedule.String())
	if err != nil || parsed.String() != DefaultSchedule.String() {
		t.Fatalf("round trip %v, %v", parsed, err)
	}
}

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	s := Schedule{time.Second, 10 * time.Second}
	mid := func() float64 { return 0.5 }
	if d, ok := s.Next(1, 0, mid); !ok || d != time.Second {
		t.Fatalf("after 1 failure: %v %v", d, ok)
	}
	if d, ok := s.Next(2, 0, func() float64 { return 0 }); !ok || d != 9*time.Second {
		t.Fatalf("after 2 failures, lowest jitter: %v %v", d, ok)
	}
	if d, ok := s.Next(2, 0, func() float64 { return 0.999999 }); !ok || d < 10999*time.Millisecond || d > 11*time.Second {
		t.Fatalf("after 2 failures, highest jitter: %v %v", d, ok)
	}
	if d, ok := s.Next(1, time.Minute, mid); !ok || d != time.Minute {
		t.Fatalf("a longer Retry-After must win: %v", d)
	}
	if d, ok := s.Next(2, time.Second, mid); !ok || d != 10*time.Second {
		t.Fatalf("a shorter Retry-After must not shorten the schedule: %v", d)
	}
	if _, ok := s.Next(3, 0, mid); ok {
		t.Fatal("a third retry of a two-retry schedule")
	}
	if _, ok := s.Next(0, 0, mid); ok {
		t.Fatal("Next(0) before any failure")
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "0": 0, "-5": 0, "120": 2 * time.Minute, "abc": 0, "999999999": 24 * time.Hour,
		"Thu, 01 Jan 2026 12:01:00 GMT": time.Minute, "Thu, 01 Jan 2026 11:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
