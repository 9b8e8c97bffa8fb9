package voice

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
)

// These tests run the engine in process on a fake call: the caller's
// audio is silence, the agent's goes to a sink that takes it at once, the
// speech is a tone per text. They cover the rules around turns; the whole
// engine over SIP with real speech is tested in package sip.

// fakeCalls records what the engine stores.
type fakeCalls struct {
	mu     sync.Mutex
	turns  []*agentphone.Turn
	events []string // type + " " + data
	news   chan struct{}
}

func newFakeCalls() *fakeCalls { return &fakeCalls{news: make(chan struct{}, 1)} }

func (f *fakeCalls) AddTurn(_ context.Context, t *agentphone.Turn) error {
	f.mu.Lock()
	f.turns = append(f.turns, t)
	f.mu.Unlock()
	f.notify()
	return nil
}

func (f *fakeCalls) AddEvent(_ context.Context, _, typ string, data any) error {
	f.mu.Lock()
	f.events = append(f.events, typ+" "+strings.TrimSpace(strings.ReplaceAll(fmtAny(data), "\n", " ")))
	f.mu.Unlock()
	f.notify()
	return nil
}

func fmtAny(v any) string {
	if m, ok := v.(map[string]any); ok {
		var b strings.Builder
		for k, x := range m {
			b.WriteString(k + "=")
			if s, ok := x.(string); ok {
				b.WriteString(s)
			}
			b.WriteString(" ")
		}
		return b.String()
	}
	return ""
}

func (f *fakeCalls) notify() {
	select {
	case f.news <- struct{}{}:
	default:
	}
}

// waitEvent waits for an event whose line contains want.
func (f *fakeCalls) waitEvent(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		for _, e := range f.events {
			if strings.Contains(e, want) {
				f.mu.Unlock()
				return
			}
		}
		evs := append([]string(nil), f.events...)
		f.mu.Unlock()
		select {
		case <-f.news:
		case <-deadline:
			t.Fatalf("no event %q in %q", want, evs)
		}
	}
}

// toneSynth speaks each text as 100 ms of tone per word, at once, and
// remembers the texts.
type toneSynth struct {
	mu    sync.Mutex
	texts []string
}

func (s *toneSynth) Stream(_ context.Context, req SpeechRequest, emit func(audio.Frame) error) error {
	s.mu.Lock()
	s.texts = append(s.texts, req.Text)
	s.mu.Unlock()
	n := len(strings.Fields(req.Text)) * req.Rate / 10
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * ((i/8)%2*2 - 1))
	}
	return emit(audio.Frame{Samples: pcm, Rate: req.Rate})
}

func (s *toneSynth) said() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.texts...)
}

// scripted answers every turn with replies, or err.
type scripted struct {
	replies []Reply
	err     error
	turns   chan TurnRequest
}

func (s *scripted) Respond(_ context.Context, t TurnRequest) (ReplyStream, error) {
	s.turns <- t
	if s.err != nil {
		return nil, s.err
	}
	return &sliceReplies{rs: append([]Reply(nil), s.replies...)}, nil
}

type sliceReplies struct{ rs []Reply }

func (r *sliceReplies) Next() (Reply, error) {
	if len(r.rs) == 0 {
		return Reply{}, io.EOF
	}
	x := r.rs[0]
	r.rs = r.rs[1:]
	return x, nil
}

func (r *sliceReplies) Close() error { return nil }

// fakeCall is a live call for the engine: the caller sends silence in
// real time until the call ends; the agent's audio is taken at once.
type fakeCall struct {
	s     *Session
	calls *fakeCalls
	keys  chan rune
	sent  chan rune // keys the agent pressed
	end   chan string
}

func startCall(t *testing.T, c *Conversation, agent *agentphone.Agent) *fakeCall {
	t.Helper()
	call := &agentphone.Call{ID: "call_test", AccountID: "acct", Direction: agentphone.DirectionInbound}
	return startCallOf(t, c, agent, call, func(int) []int16 { return make([]int16, 160) })
}

// startCallOf runs call, whose caller sends the frames of audio (frame i
// at i × 20 ms) in real time.
func startCallOf(t *testing.T, c *Conversation, agent *agentphone.Agent, call *agentphone.Call, caller func(i int) []int16) *fakeCall {
	t.Helper()
	fc := &fakeCall{calls: newFakeCalls(), keys: make(chan rune, 8), sent: make(chan rune, 8), end: make(chan string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	frame := 0
	tick := time.NewTicker(audio.FrameDuration)
	t.Cleanup(func() {
		cancel()
		tick.Stop()
		select {
		case <-fc.end:
		case <-time.After(5 * time.Second):
			t.Error("the engine did not end with its call")
		}
	})
	fc.s = &Session{
		Call: call, Agent: agent, Rate: 8000, DTMF: fc.keys, Calls: fc.calls,
		Caller: audio.SourceFunc(func(ctx context.Context) (audio.Frame, error) {
			select {
			case <-tick.C:
				frame++
				return audio.Frame{Samples: caller(frame - 1), Rate: 8000}, nil
			case <-ctx.Done():
				return audio.Frame{}, ctx.Err()
			}
		}),
		Out: audio.SinkFunc(func(ctx context.Context, f audio.Frame) error { return ctx.Err() }),
		SendDTMF: func(k rune) error {
			fc.sent <- k
			return nil
		},
	}
	go func() { fc.end <- c.Run(ctx, fc.s) }()
	return fc
}

func testAgent() *agentphone.Agent {
	return &agentphone.Agent{ID: "agt_test", Voice: "espeak-skylar", STTMode: "fast", AmbientSound: "none",
		DenoisingMode: "noise-cancellation", MaxSilenceMs: 600000, VoiceSpeed: 1, InterruptionSensitivity: 0.8,
		Language: "en-US"}
}

func nextTurn(t *testing.T, ch chan TurnRequest) TurnRequest {
	t.Helper()
	select {
	case tr := <-ch:
		return tr
	case <-time.After(10 * time.Second):
		t.Fatal("no turn reached the responder")
		return TurnRequest{}
	}
}

// TestConversationKeysAndDigits: keys pressed make a turn of their own,
// sent as dtmf ('#' ends the entry at once); a reply's digits are
// pressed after its text is spoken.
func TestConversationKeysAndDigits(t *testing.T) {
	t.Parallel()
	synth := &toneSynth{}
	resp := &scripted{replies: []Reply{{Text: "Pressing one.", Digits: "1"}}, turns: make(chan TurnRequest, 4)}
	fc := startCall(t, &Conversation{Speech: synth, Respond: resp}, testAgent())
	for _, k := range "42#" {
		fc.keys <- k
	}
	tr := nextTurn(t, resp.turns)
	if tr.DTMF != "42#" || tr.Transcript != "" {
		t.Fatalf("turn %+v: want dtmf 42#", tr)
	}
	select {
	case k := <-fc.sent:
		if k != '1' {
			t.Fatalf("pressed %q", k)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reply's digit was not pressed")
	}
	if got := synth.said(); len(got) != 1 || got[0] != "Pressing one." {
		t.Fatalf("said %q", got)
	}
	fc.calls.waitEvent(t, "dtmf_sent digits=1")
}

// TestConversationWebhookFails: when the responder fails before saying
// anything, the caller hears an apology rather than silence, and the
// failure is on the call's event log.
func TestConversationWebhookFails(t *testing.T) {
	t.Parallel()
	synth := &toneSynth{}
	resp := &scripted{err: errors.New("webhook: no answer within 5s"), turns: make(chan TurnRequest, 4)}
	c := &Conversation{Speech: synth, Respond: resp}
	fc := startCall(t, c, testAgent())
	fc.calls.waitEvent(t, "stt_unavailable") // the engine runs the call
	if err := c.Say(context.Background(), "call_test", "hello?"); err != nil {
		t.Fatal(err)
	}
	if tr := nextTurn(t, resp.turns); tr.Transcript != "hello?" {
		t.Fatalf("turn %+v", tr)
	}
	fc.calls.waitEvent(t, "webhook_error error=webhook: no answer within 5s")
	deadline := time.After(10 * time.Second)
	for !strings.Contains(strings.Join(synth.said(), " "), fallbackLine) {
		select {
		case <-fc.calls.news:
		case <-deadline:
			t.Fatalf("said %q, not the apology", synth.said())
		}
	}
}

// TestConversationTransferWithoutNumber: a transfer asked of an agent
// without transferNumber is skipped and logged; the call goes on.
func TestConversationTransferWithoutNumber(t *testing.T) {
	t.Parallel()
	resp := &scripted{replies: []Reply{{Text: "Transferring.", Transfer: true}}, turns: make(chan TurnRequest, 4)}
	c := &Conversation{Speech: &toneSynth{}, Respond: resp}
	fc := startCall(t, c, testAgent())
	fc.calls.waitEvent(t, "stt_unavailable") // the engine runs the call
	if err := c.Say(context.Background(), "call_test", "a human please"); err != nil {
		t.Fatal(err)
	}
	fc.calls.waitEvent(t, "transfer_ignored")
	select {
	case reason := <-fc.end:
		t.Fatalf("the call ended (%s)", reason)
	default:
	}
}

// TestConversationWithoutRecognition: with no speech-to-text provider the
// call says so on its event log, greets, and ends after the caller's
// silence.
func TestConversationWithoutRecognition(t *testing.T) {
	t.Parallel()
	synth := &toneSynth{}
	a := testAgent()
	hi := "Hello there."
	a.BeginMessage, a.MaxSilenceMs = &hi, 300
	fc := startCall(t, &Conversation{Speech: synth}, a)
	fc.calls.waitEvent(t, "stt_unavailable")
	select {
	case reason := <-fc.end:
		fc.end <- reason // for the cleanup
		if reason != agentphone.EndSilence {
			t.Fatalf("ended %q, want %s", reason, agentphone.EndSilence)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not end after the caller's silence")
	}
	if got := synth.said(); len(got) != 1 || got[0] != hi {
		t.Fatalf("said %q", got)
	}
}

// TestPlayedText: an interrupted turn keeps what was played: whole pieces,
// then the words of the cut piece in proportion.
func TestPlayedText(t *testing.T) {
	t.Parallel()
	sp := &speech{done: true, pieces: []*piece{
		{text: "First sentence.", frames: 10, played: 10, complete: true},
		{text: "one two three four", frames: 8, played: 4, complete: true},
		{text: "Never played.", frames: 5, complete: true},
	}}
	if got, whole := sp.playedText(); got != "First sentence. one two…" || whole {
		t.Fatalf("played %q (whole %v)", got, whole)
	}
	sp.pieces = sp.pieces[:1]
	if got, whole := sp.playedText(); got != "First sentence." || !whole {
		t.Fatalf("played %q (whole %v)", got, whole)
	}
}
