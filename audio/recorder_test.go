package audio_test

import (
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone/audio"
)

// newRecording returns a recorder on a new file at rate and a function that
// closes it and reads the file back.
func newRecording(tb testing.TB, rate int, opts audio.RecorderOptions) (*audio.Recorder, func() *audio.WAV) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "call.wav")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	rec, err := audio.NewRecorder(f, rate, opts)
	if err != nil {
		f.Close()
		tb.Fatal(err)
	}
	return rec, func() *audio.WAV {
		tb.Helper()
		if err := rec.Close(); err != nil {
			tb.Fatal(err)
		}
		// Close closed the file.
		if err := f.Close(); err == nil {
			tb.Error("the file was still open after Close")
		}
		rf, err := os.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		defer rf.Close()
		wav, err := audio.ReadWAV(rf)
		if err != nil {
			tb.Fatal(err)
		}
		return wav
	}
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	const rate = 8000
	clock := newFakeClock()
	rec, finish := newRecording(t, rate, audio.RecorderOptions{Clock: clock})

	// The caller speaks 3 s of 440 Hz at 8 kHz (G.711); the agent 1 s of
	// 1 kHz at 22.05 kHz (espeak-ng), resampled by the recorder. Each side
	// writes from its own goroutine, one frame every 20 ms of the clock.
	callerFrames := frames(tone(8000, 440, -10, 3*8000), 8000)
	agentFrames := frames(tone(22050, 1000, -10, 22050), 22050)
	for i := range callerFrames {
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := rec.Caller(callerFrames[i]); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if i < len(agentFrames) {
				if err := rec.Agent(agentFrames[i]); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Wait()
		clock.Advance(audio.FrameDuration)
	}

	wav := finish()
	if wav.Channels != 2 || wav.Rate != rate {
		t.Fatalf("file has %d channels at %d Hz, want 2 at %d", wav.Channels, wav.Rate, rate)
	}
	if d := wav.Duration(); d < 3*time.Second-audio.FrameDuration || d > 3*time.Second+audio.FrameDuration {
		t.Errorf("file lasts %v, want 3s ± 20ms", d)
	}
	left, right := wav.Channel(0), wav.Channel(1)
	if got := toneDB(left, rate, 440); math.Abs(got+10) > 1 {
		t.Errorf("left channel: 440 Hz at %.1f dBFS, want -10", got)
	}
	if got := toneDB(left, rate, 1000); got > -60 {
		t.Errorf("left channel: 1 kHz at %.1f dBFS, want none", got)
	}
	first := right[rate/50 : rate*95/100] // the agent's second, less the resampler's start-up
	if got := toneDB(first, rate, 1000); math.Abs(got+10) > 1 {
		t.Errorf("right channel, first second: 1 kHz at %.1f dBFS, want -10", got)
	}
	if got := toneDB(right, rate, 440); got > -60 {
		t.Errorf("right channel: 440 Hz at %.1f dBFS, want none", got)
	}
	if lvl := levelDB(right[rate*11/10:]); !math.IsInf(lvl, -1) {
		t.Errorf("right channel after the agent's second: %.1f dBFS, want silence", lvl)
	}
}

func TestRecorder_SilentSidesAndGaps(t *testing.T) {
	t.Parallel()
	const rate = 16000
	clock := newFakeClock()
	rec, finish := newRecording(t, rate, audio.RecorderOptions{Clock: clock})

	// 500 ms of nothing, 1 s of the caller (8 kHz, upsampled), 1.5 s of
	// nothing again, then the call ends: 3 s, the caller's second in the
	// middle, the agent silent throughout.
	clock.Advance(500 * time.Millisecond)
	for _, f := range frames(tone(8000, 440, -10, 8000), 8000) {
		if err := rec.Caller(f); err != nil {
			t.Fatal(err)
		}
		clock.Advance(audio.FrameDuration)
	}
	clock.Advance(1500 * time.Millisecond)
	wav := finish()

	if d := wav.Duration(); d != 3*time.Second {
		t.Errorf("file lasts %v, want 3s", d)
	}
	left, right := wav.Channel(0), wav.Channel(1)
	if lvl := levelDB(left[:rate/2]); !math.IsInf(lvl, -1) {
		t.Errorf("first 500 ms of the caller at %.1f dBFS, want silence", lvl)
	}
	if got := toneDB(left[rate*6/10:rate*14/10], rate, 440); math.Abs(got+10) > 1 {
		t.Errorf("caller's second: 440 Hz at %.1f dBFS, want -10", got)
	}
	if lvl := levelDB(left[rate*16/10:]); !math.IsInf(lvl, -1) {
		t.Errorf("last 1.4 s of the caller at %.1f dBFS, want silence", lvl)
	}
	if lvl := levelDB(right); !math.IsInf(lvl, -1) {
		t.Errorf("agent at %.1f dBFS, want silence", lvl)
	}
}

func TestRecorder_SideFasterThanRealTime(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rec, finish := newRecording(t, 8000, audio.RecorderOptions{Clock: clock, MaxBuffer: 100 * time.Millisecond})
	// 1 s handed over at once: only the last 100 ms is kept, and recorded
	// over the next five ticks; the rest is counted as dropped.
	if err := rec.Agent(audio.Frame{Samples: tone(8000, 440, -10, 8000), Rate: 8000}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(6 * audio.FrameDuration)
	if _, agent := rec.Dropped(); agent != 900*time.Millisecond {
		t.Errorf("agent dropped %v, want 900ms", agent)
	}
	right := finish().Channel(1)
	if len(right) != 6*160 {
		t.Fatalf("%d samples, want 6 ticks", len(right))
	}
	if lvl := levelDB(right[:800]); lvl < -20 {
		t.Errorf("first 100 ms at %.1f dBFS, want the tone", lvl)
	}
	if lvl := levelDB(right[800:]); !math.IsInf(lvl, -1) {
		t.Errorf("last tick at %.1f dBFS, want silence", lvl)
	}
}

func TestRecorder_Errors(t *testing.T) {
	t.Parallel()
	rec, finish := newRecording(t, 8000, audio.RecorderOptions{})
	if err := rec.Caller(audio.Frame{Samples: make([]int16, 10), Rate: 11025}); err == nil {
		t.Error("frame at 11025 Hz accepted")
	}
	finish()
	if err := rec.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := rec.Agent(audio.Frame{Samples: make([]int16, 160), Rate: 8000}); err == nil {
		t.Error("frame accepted after Close")
	}
}
