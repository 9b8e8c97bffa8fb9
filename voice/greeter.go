package voice

import (
	"context"
	"errors"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
)

// Speaker turns text into speech (espeak.Synthesizer, later the cloud
// providers).
type Speaker interface {
	Synthesize(ctx context.Context, text, voice string, speed float64, language string) (audio.Frame, error)
}

// Greeter is the runner of calls before the conversation engine exists: it
// speaks the greeting — the agent's beginMessage on inbound calls, the
// call's initialGreeting (else the agent's beginMessage) on outbound ones —
// and then keeps the line open, recording keys pressed, until the caller
// has been silent for the agent's maxSilenceMs (end reason
// silence-timeout) or the call has lasted MaxDuration (max-duration).
type Greeter struct {
	Speaker Speaker
	// MaxDuration bounds a call (the plan's maximum call duration); 0 = no
	// bound.
	MaxDuration time.Duration
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

var _ Runner = (*Greeter)(nil)

// silenceCheck is how often the greeter looks at the caller's silence.
const silenceCheck = 100 * time.Millisecond

// Run implements Runner.
func (g *Greeter) Run(ctx context.Context, s *Session) string {
	now := g.Now
	if now == nil {
		now = time.Now
	}
	var deadline <-chan time.Time
	if g.MaxDuration > 0 {
		t := time.NewTimer(g.MaxDuration)
		defer t.Stop()
		deadline = t.C
	}

	// The listener follows the caller's voice and keys for the whole call.
	listen := newListener(s, now)
	lctx, stopListening := context.WithCancel(ctx)
	defer stopListening()
	go listen.run(lctx)

	spoken := make(chan error, 1)
	go func() { spoken <- g.speakGreeting(ctx, s, now) }()
	speaking := true

	maxSilence := time.Duration(s.Agent.MaxSilenceMs) * time.Millisecond
	tick := time.NewTicker(silenceCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ""
		case <-deadline:
			return agentphone.EndMaxDuration
		case err := <-spoken:
			speaking = false
			if err != nil && ctx.Err() == nil {
				s.Log.Warn("speaking the greeting failed", "err", err)
				_ = s.Calls.AddEvent(context.WithoutCancel(ctx), s.Call.ID, "tts_error", map[string]any{"error": err.Error()})
			}
			listen.quietSince(now()) // the caller's silence counts from the end of the agent's turn
		case <-tick.C:
			if !speaking && maxSilence > 0 && listen.silentFor(now()) >= maxSilence {
				return agentphone.EndSilence
			}
		case <-listen.done:
			if ctx.Err() != nil {
				return ""
			}
			if errors.Is(listen.err, errMediaClosed) {
				return agentphone.EndCallerHangup
			}
		}
	}
}

// greeting returns what the agent says first on s's call, and the voice
// it says it with.
func greeting(s *Session) (text, voice string, speed float64, language string) {
	a, c := s.Agent, s.Call
	voice, speed, language = a.Voice, a.VoiceSpeed, a.Language
	if c.Options.Voice != nil {
		voice = *c.Options.Voice
	}
	if c.Direction == agentphone.DirectionOutbound && c.Options.InitialGreeting != nil {
		return *c.Options.InitialGreeting, voice, speed, language
	}
	if a.BeginMessage != nil {
		text = *a.BeginMessage
	}
	return text, voice, speed, language
}

// speakGreeting synthesises the greeting and sends it, recording it as the
// agent's first turn.
func (g *Greeter) speakGreeting(ctx context.Context, s *Session, now func() time.Time) error {
	text, voice, speed, language := greeting(s)
	if text == "" {
		return nil
	}
	started := now()
	speech, err := g.Speaker.Synthesize(ctx, text, voice, speed, language)
	if err != nil {
		return err
	}
	err = Play(ctx, s.Out, speech, s.Rate)
	ended := now()
	turn := &agentphone.Turn{CallID: s.Call.ID, Role: agentphone.RoleAgent, Text: text, StartedAt: started, EndedAt: &ended,
		Interrupted: err != nil}
	if terr := s.Calls.AddTurn(context.WithoutCancel(ctx), turn); terr != nil {
		s.Log.Error("recording the greeting's turn failed", "err", terr)
	}
	return err
}

// Play sends speech to out at rate in 20 ms frames; out paces them. Speech
// at another rate is resampled as it goes, 20 ms at a time (about 30 µs of
// a core each at 22.05 → 8 kHz): resampling a whole greeting before the
// first frame held a core for milliseconds at every call's start, and made
// the caller wait for it.
func Play(ctx context.Context, out audio.Sink, speech audio.Frame, rate int) error {
	samples := speech.Samples
	var r audio.Resampler
	if speech.Rate != rate {
		var err error
		if r, err = audio.NewResampler(speech.Rate, rate); err != nil {
			return err
		}
	}
	in, n := max(speech.Rate/50, 1), rate/50 // 20 ms at each rate
	var pending []int16
	for i := 0; i < len(samples) || len(pending) > 0; {
		for len(pending) < n && i < len(samples) {
			chunk := samples[i:min(i+in, len(samples))]
			i += in
			if r != nil {
				chunk = r.Resample(chunk)
			}
			pending = append(pending, chunk...)
		}
		frame := make([]int16, n) // zero-padded at the end
		k := copy(frame, pending)
		pending = pending[k:]
		if err := out.WriteFrame(ctx, audio.Frame{Samples: frame, Rate: rate}); err != nil {
			return err
		}
	}
	return nil
}
