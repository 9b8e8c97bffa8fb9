package deepgram_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/deepgram"
	"github.com/agentphone/agentphone/deepgram/deepgramtest"
	"github.com/agentphone/agentphone/voice"
)

// testCtx is a context that ends with the test, or after 15 s: a test
// waiting for an event that never comes fails instead of hanging.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newFake starts a fake Deepgram for the test.
func newFake(t *testing.T) *deepgramtest.Server {
	t.Helper()
	srv := deepgramtest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// noStreamGoroutines fails the test if, once it is over (after the
// cleanups registered later), a goroutine of a stream is still running.
// Call it first in tests that open streams; those tests must not be
// parallel.
func noStreamGoroutines(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		// A stream's last goroutine closes done as its last act before it
		// returns: give it the moment to get there.
		deadline := time.Now().Add(2 * time.Second)
		for {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			if !bytes.Contains(buf, []byte("deepgram.(*stream)")) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("stream goroutines still running:\n%s", buf)
				return
			}
			time.Sleep(10 * time.Millisecond) // no event to wait for: a goroutine's exit
		}
	})
}

// frames is d of 20 ms frames at rate, with a non-silent ramp.
func frames(rate int, d time.Duration) []audio.Frame {
	n := int(d / audio.FrameDuration)
	out := make([]audio.Frame, n)
	for i := range out {
		s := make([]int16, audio.SamplesPerFrame(rate))
		for j := range s {
			s[j] = int16((i*len(s) + j) % 2000)
		}
		out[i] = audio.Frame{Samples: s, Rate: rate}
	}
	return out
}

// sendAll sends fs and fails the test at the first error.
func sendAll(t *testing.T, st voice.TranscriptionStream, fs []audio.Frame) {
	t.Helper()
	for i, f := range fs {
		if err := st.Send(f); err != nil {
			t.Fatalf("Send frame %d: %v", i, err)
		}
	}
}

// next returns the stream's next transcript.
func next(t *testing.T, ctx context.Context, st voice.TranscriptionStream) voice.Transcript {
	t.Helper()
	select {
	case tr, ok := <-st.Results():
		if !ok {
			t.Fatalf("Results closed; Err = %v", st.Err())
		}
		return tr
	case <-ctx.Done():
		t.Fatalf("no transcript: %v", ctx.Err())
	}
	return voice.Transcript{}
}

// drain reads Results until it closes and returns what it held.
func drain(t *testing.T, ctx context.Context, st voice.TranscriptionStream) []voice.Transcript {
	t.Helper()
	var out []voice.Transcript
	for {
		select {
		case tr, ok := <-st.Results():
			if !ok {
				return out
			}
			out = append(out, tr)
		case <-ctx.Done():
			t.Fatalf("Results did not close: %v (got %+v)", ctx.Err(), out)
		}
	}
}

func transcriber(srv *deepgramtest.Server) *deepgram.Transcriber {
	return &deepgram.Transcriber{APIKey: srv.APIKey, BaseURL: srv.URL}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
