package voice_test

import (
	"context"
	"io"
	"log/slog"
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
