package voice

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentphone/agentphone/audio"
)

// countingSynth emits two chunks per text and counts its runs; with gate
// set, each run waits for it before the second chunk.
type countingSynth struct {
	runs    atomic.Int32
	gate    chan struct{}
	started chan struct{} // closed by the first run, when set
	once    sync.Once
	fail    bool
}

func (s *countingSynth) Stream(ctx context.Context, req SpeechRequest, emit func(audio.Frame) error) error {
	s.runs.Add(1)
	if s.started != nil {
		s.once.Do(func() { close(s.started) })
	}
	if s.fail {
		return errors.New("provider down")
	}
	if err := emit(audio.Frame{Samples: []int16{1, 2}, Rate: 8000}); err != nil {
		return err
	}
	if s.gate != nil {
		<-s.gate
	}
	return emit(audio.Frame{Samples: []int16{3}, Rate: 8000})
}

func collect(t *testing.T, c *SpeechCache, text string) []int16 {
	t.Helper()
	var got []int16
	err := c.Stream(context.Background(), SpeechRequest{Text: text, Voice: "v", Rate: 8000}, func(f audio.Frame) error {
		got = append(got, f.Samples...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSpeechCache(t *testing.T) {
	t.Parallel()
	s := &countingSynth{}
	c := &SpeechCache{Synth: s, Size: 2, MaxText: 10}
	for range 3 {
		if got := collect(t, c, "hello"); len(got) != 3 || got[2] != 3 {
			t.Fatalf("speech %v", got)
		}
	}
	if n := s.runs.Load(); n != 1 {
		t.Fatalf("synthesised %d times, want 1", n)
	}
	collect(t, c, "a long answer past MaxText")
	collect(t, c, "a long answer past MaxText")
	if n := s.runs.Load(); n != 3 {
		t.Fatalf("long texts: %d runs, want 3 (not cached)", n)
	}
	collect(t, c, "two")
	collect(t, c, "three") // evicts "hello"
	collect(t, c, "hello")
	if n := s.runs.Load(); n != 6 {
		t.Fatalf("after eviction: %d runs, want 6", n)
	}
}

// TestSpeechCacheWaitsForInFlight: a second request for a text being
// synthesised waits for it instead of synthesising it again (Prepare
// during ringing, then the greeting at the answer).
func TestSpeechCacheWaitsForInFlight(t *testing.T) {
	t.Parallel()
	s := &countingSynth{gate: make(chan struct{}), started: make(chan struct{})}
	c := &SpeechCache{Synth: s}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.Prepare(context.Background(), SpeechRequest{Text: "hi", Voice: "v", Rate: 8000}); err != nil {
			t.Error(err)
		}
	})
	<-s.started
	got := make(chan []int16)
	go func() { got <- collect(t, c, "hi") }()
	close(s.gate)
	if g := <-got; len(g) != 3 {
		t.Fatalf("speech %v", g)
	}
	wg.Wait()
	if n := s.runs.Load(); n != 1 {
		t.Fatalf("synthesised %d times, want 1", n)
	}
}

func TestSpeechCacheFailureNotKept(t *testing.T) {
	t.Parallel()
	s := &countingSynth{fail: true}
	c := &SpeechCache{Synth: s}
	for range 2 {
		if err := c.Prepare(context.Background(), SpeechRequest{Text: "hi"}); err == nil {
			t.Fatal("no error")
		}
	}
	if n := s.runs.Load(); n != 2 {
		t.Fatalf("%d runs, want 2: a failure is not cached", n)
	}
}
