package espeak_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/espeak"
)

// newSynthesizer returns a Synthesizer on the real espeak-ng, and fails the
// test, not skips it, when espeak-ng is not installed: these tests are the
// only check that synthesis works.
func newSynthesizer(tb testing.TB) *espeak.Synthesizer {
	tb.Helper()
	s := &espeak.Synthesizer{}
	if err := s.Available(context.Background()); err != nil {
		tb.Fatalf("%v\nThe espeak tests need espeak-ng: run the setup script (CI installs it), or apt-get install espeak-ng.", err)
	}
	return s
}

func TestSynthesizer_Synthesize(t *testing.T) {
	t.Parallel()
	s := newSynthesizer(t)
	f, err := s.Synthesize(context.Background(), "Hello, thanks for calling.", "espeak-skylar", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if f.Rate != 22050 {
		t.Errorf("rate %d, want 22050", f.Rate)
	}
	if d := f.Duration(); d < 800*time.Millisecond || d > 4*time.Second {
		t.Errorf("utterance lasts %v, want 0.8–4 s", d)
	}
	if lvl := audio.LevelDBFS(f.Samples); lvl < -40 {
		t.Errorf("utterance at %.1f dBFS, want speech (above -40)", lvl)
	}
}

func TestSynthesizer_Speed(t *testing.T) {
	t.Parallel()
	s := newSynthesizer(t)
	const text = "Your appointment is confirmed for Tuesday at three in the afternoon."
	normal, err := s.Synthesize(context.Background(), text, "", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := s.Synthesize(context.Background(), text, "", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	if fast.Duration() >= normal.Duration()*3/4 {
		t.Errorf("speed 2 lasts %v, speed 1 %v: want speed 2 clearly shorter", fast.Duration(), normal.Duration())
	}
}

func TestSynthesizer_EveryVoice(t *testing.T) {
	t.Parallel()
	s := newSynthesizer(t)
	vs, _ := espeak.Catalog{}.Voices(context.Background())
	for _, v := range vs {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			f, err := s.Synthesize(context.Background(), "One, two, three.", v.ID, 1, "")
			if err != nil {
				t.Fatal(err)
			}
			if f.Duration() < 300*time.Millisecond || audio.LevelDBFS(f.Samples) < -40 {
				t.Errorf("%v at %.1f dBFS, want audible speech", f.Duration(), audio.LevelDBFS(f.Samples))
			}
		})
	}
}

func TestSynthesizer_TextIsNotArguments(t *testing.T) {
	t.Parallel()
	s := newSynthesizer(t)
	// Text that would be options or quoting if it reached a command line.
	for _, text := range []string{`-v xx --version`, `"quoted" 'and' $(not a shell) ; rm -rf /`, "--help me, please"} {
		f, err := s.Synthesize(context.Background(), text, "", 1, "")
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if f.Duration() < 200*time.Millisecond {
			t.Errorf("%q gave %v of audio, want it spoken", text, f.Duration())
		}
	}
}

func TestSynthesizer_UnknownVoice(t *testing.T) {
	t.Parallel()
	s := newSynthesizer(t)
	_, err := s.Synthesize(context.Background(), "Hello.", "espeak-nobody", 1, "")
	if !errors.Is(err, espeak.ErrUnknownVoice) || !strings.Contains(err.Error(), "espeak-nobody") {
		t.Errorf("err = %v, want ErrUnknownVoice naming espeak-nobody", err)
	}
}

func TestSynthesizer_Cancel(t *testing.T) {
	t.Parallel()
	s := newSynthesizer(t)

	t.Run("Before", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Synthesize(ctx, "Hello.", "", 1, ""); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})

	t.Run("During", func(t *testing.T) {
		t.Parallel()
		// About 20 minutes of speech, which takes espeak-ng a second or
		// more to synthesize; the context ends long before.
		text := strings.Repeat("This is a fairly long sentence that keeps the synthesizer busy. ", 300)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Synthesize(ctx, text, "", 1, "")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		t.Logf("returned %v after the start", time.Since(start))
	})
}

func TestSynthesizer_Available(t *testing.T) {
	t.Parallel()
	s := &espeak.Synthesizer{Binary: "espeak-ng-that-is-not-installed"}
	err := s.Available(context.Background())
	if err == nil || !strings.Contains(err.Error(), "espeak-ng-that-is-not-installed") {
		t.Errorf("err = %v, want an error naming the binary", err)
	}
	if _, err := s.Synthesize(context.Background(), "Hello.", "", 1, ""); err == nil {
		t.Error("Synthesize with a missing binary succeeded")
	}
}

func TestVoiceFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		voice, language, want string
	}{
		{"", "", "espeak-skylar"},
		{"espeak-brian", "", "espeak-brian"},
		{"espeak-brian", "en-us", "espeak-brian"},
		{"espeak-skylar", "de-DE", "espeak-hanna"},  // German, female like Skylar
		{"espeak-brian", "de-DE", "espeak-lukas"},   // German, male like Brian
		{"espeak-skylar", "en-GB", "espeak-olivia"}, // exact tag first
		{"espeak-brian", "en-GB", "espeak-george"},
		{"espeak-mateo", "es-ES", "espeak-lucia"},   // no male es-ES: the female one
		{"espeak-lucia", "es-MX", "espeak-lucia"},   // same base language: keep
		{"espeak-skylar", "en-IN", "espeak-skylar"}, // same base language: keep
		{"espeak-skylar", "es-MX", "espeak-lucia"},  // base language, same gender
		{"espeak-brian", "pt-PT", "espeak-camila"},  // base language, other gender
		{"espeak-skylar", "ja-JP", "espeak-skylar"}, // no voice for it: keep
	}
	for _, tt := range tests {
		v, err := espeak.VoiceFor(tt.voice, tt.language)
		if err != nil || v.ID != tt.want {
			t.Errorf("VoiceFor(%q, %q) = %s, %v; want %s", tt.voice, tt.language, v.ID, err, tt.want)
		}
	}
	if _, err := espeak.VoiceFor("nope", "en-US"); !errors.Is(err, espeak.ErrUnknownVoice) {
		t.Errorf("VoiceFor(nope) err = %v, want ErrUnknownVoice", err)
	}
}

func TestSynthesizer_LanguagePicksVoice(t *testing.T) {
	t.Parallel()
	s := newSynthesizer(t)
	// The same German text with an English voice, and with the language
	// saying German (which picks Hanna): both speak, differently.
	const text = "Guten Tag, wie kann ich Ihnen helfen?"
	en, err := s.Synthesize(context.Background(), text, "espeak-skylar", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	de, err := s.Synthesize(context.Background(), text, "espeak-skylar", 1, "de-DE")
	if err != nil {
		t.Fatal(err)
	}
	if len(en.Samples) == len(de.Samples) && math.Abs(audio.LevelDBFS(en.Samples)-audio.LevelDBFS(de.Samples)) < 0.01 {
		t.Error("language de-DE made no difference to an English voice")
	}
}

func BenchmarkSynthesize(b *testing.B) {
	s := newSynthesizer(b)
	var audioSecs float64
	for b.Loop() {
		f, err := s.Synthesize(context.Background(), "Hello, thanks for calling. How can I help you today?", "", 1, "")
		if err != nil {
			b.Fatal(err)
		}
		audioSecs += f.Duration().Seconds()
	}
	b.ReportMetric(audioSecs/b.Elapsed().Seconds(), "x-realtime")
}
