package voice_test

import (
	"context"
	"errors"
	"testing"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/voice"
)

type countingSpeaker struct{ calls map[string]int }

func (s *countingSpeaker) Synthesize(_ context.Context, text, _ string, _ float64, _ string) (audio.Frame, error) {
	s.calls[text]++
	if text == "fail" {
		return audio.Frame{}, errors.New("no voice")
	}
	return audio.Frame{Samples: make([]int16, len(text)), Rate: 8000}, nil
}

// TestCachedSpeaker: a text said again is not synthesised again, another
// voice or speed is another utterance, errors are not cached, and the
// least recently said utterance goes first when the cache is full.
func TestCachedSpeaker(t *testing.T) {
	inner := &countingSpeaker{calls: map[string]int{}}
	c := &voice.CachedSpeaker{Speaker: inner, Size: 2}
	ctx := context.Background()
	say := func(text, v string, speed float64) {
		t.Helper()
		f, err := c.Synthesize(ctx, text, v, speed, "en-US")
		if err != nil || len(f.Samples) != len(text) {
			t.Fatalf("%q: %v, %d samples", text, err, len(f.Samples))
		}
	}
	say("hello", "a", 1)
	say("hello", "a", 1)
	say("hello", "b", 1)   // another voice
	say("hello", "a", 1)   // said again: now the most recent
	say("hello", "a", 1.5) // another speed: evicts hello/b (least recent)
	say("hello", "a", 1)   // still cached
	if inner.calls["hello"] != 3 {
		t.Fatalf("synthesised %d times, want 3", inner.calls["hello"])
	}
	say("hello", "b", 1) // was evicted
	if inner.calls["hello"] != 4 {
		t.Fatalf("synthesised %d times after an eviction, want 4", inner.calls["hello"])
	}
	for range 2 {
		if _, err := c.Synthesize(ctx, "fail", "a", 1, ""); err == nil {
			t.Fatal("no error")
		}
	}
	if inner.calls["fail"] != 2 {
		t.Fatalf("a failure was cached")
	}
}
