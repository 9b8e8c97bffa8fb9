package voice_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/voice"
)

type toneSpeaker struct{}

func (toneSpeaker) Synthesize(context.Context, string, string, float64, string) (audio.Frame, error) {
	s := make([]int16, 16000/5) // 200 ms at 16 kHz
	for i := range s {
		s[i] = int16(8000 * (i % 2))
	}
	return audio.Frame{Samples: s, Rate: 16000}, nil
}

type turns struct {
	mu     sync.Mutex
	turns  []*agentphone.Turn
	events []string
}

func (r *turns) AddTurn(_ context.Context, t *agentphone.Turn) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.turns = append(r.turns, t)
	return nil
}

func (r *turns) AddEvent(_ context.Context, _, typ string, _ any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, typ)
	return nil
}

// session is a call whose caller says nothing (or hangs up: hangup), whose
// agent audio goes to frames.
func session(maxSilenceMs int, hangup bool, rec *turns, sent *int) *voice.Session {
	greeting := "Hi."
	return &voice.Session{
		Call:  &agentphone.Call{ID: "call_x", Direction: agentphone.DirectionInbound},
		Agent: &agentphone.Agent{BeginMessage: &greeting, MaxSilenceMs: maxSilenceMs, VoiceSpeed: 1},
		Caller: audio.SourceFunc(func(ctx context.Context) (audio.Frame, error) {
			if hangup {
				return audio.Frame{}, io.EOF
			}
			<-ctx.Done()
			return audio.Frame{}, ctx.Err()
		}),
		Out: audio.SinkFunc(func(_ context.Context, f audio.Frame) error {
			*sent += len(f.Samples)
			return nil
		}),
		Rate: 8000, DTMF: make(chan rune), Calls: rec, Log: slog.New(slog.DiscardHandler),
	}
}

// TestGreeter: the greeting is spoken at the call's rate and recorded as
// the agent's turn; a silent caller is hung up on after maxSilenceMs, a
// call that reaches MaxDuration ends so, and a caller whose media ends has
// hung up.
func TestGreeter(t *testing.T) {
	t.Parallel()
	g := &voice.Greeter{Speaker: toneSpeaker{}, MaxDuration: time.Minute}
	rec, sent := &turns{}, 0
	start := time.Now()
	if got := g.Run(t.Context(), session(300, false, rec, &sent)); got != agentphone.EndSilence {
		t.Fatalf("silent caller: %q", got)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("hung up before maxSilenceMs")
	}
	if sent != 1600 { // 200 ms at 8 kHz, resampled from 16 kHz
		t.Fatalf("sent %d samples of greeting, want 1600", sent)
	}
	if len(rec.turns) != 1 || rec.turns[0].Role != agentphone.RoleAgent || rec.turns[0].Text != "Hi." || rec.turns[0].EndedAt == nil {
		t.Fatalf("turns %+v", rec.turns)
	}

	short := &voice.Greeter{Speaker: toneSpeaker{}, MaxDuration: 300 * time.Millisecond}
	if got := short.Run(t.Context(), session(0, false, &turns{}, new(int))); got != agentphone.EndMaxDuration {
		t.Fatalf("long call: %q", got)
	}
	if got := g.Run(t.Context(), session(60000, true, &turns{}, new(int))); got != agentphone.EndCallerHangup {
		t.Fatalf("caller gone: %q", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if got := g.Run(ctx, session(60000, false, &turns{}, new(int))); got != "" {
		t.Fatalf("ended by its context: %q, want \"\"", got)
	}
}

// frameSink collects the frames written to it.
type frameSink struct{ frames []audio.Frame }

func (s *frameSink) WriteFrame(_ context.Context, f audio.Frame) error {
	s.frames = append(s.frames, f)
	return nil
}

// TestPlayResamples: speech at the engine's rate (espeak-ng: 22.05 kHz)
// goes out as whole 20 ms frames at the call's rate, resampled as it goes,
// as long as the speech (the last frame padded), the tone still there.
func TestPlayResamples(t *testing.T) {
	const from, to = 22050, 8000
	speech := make([]int16, from) // 1 s of a 440 Hz tone
	for i := range speech {
		speech[i] = int16(10000 * math.Sin(2*math.Pi*440*float64(i)/from))
	}
	var sink frameSink
	if err := voice.Play(t.Context(), &sink, audio.Frame{Samples: speech, Rate: from}, to); err != nil {
		t.Fatal(err)
	}
	if len(sink.frames) < 50 || len(sink.frames) > 51 {
		t.Fatalf("%d frames for 1 s of speech, want 50 (51 with the resampler's lag)", len(sink.frames))
	}
	var energy float64
	for i, f := range sink.frames {
		if f.Rate != to || len(f.Samples) != to/50 {
			t.Fatalf("frame %d: %d samples at %d Hz, want %d at %d", i, len(f.Samples), f.Rate, to/50, to)
		}
		if i == 25 {
			for _, v := range f.Samples {
				energy += float64(v) * float64(v)
			}
		}
	}
	if rms := math.Sqrt(energy / float64(to/50)); rms < 5000 || rms > 9000 {
		t.Fatalf("RMS of a frame mid-speech %.0f, want about 7071 (the tone's)", rms)
	}
}
