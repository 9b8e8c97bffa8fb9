package voice

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
)

// The answering-machine tests play a callee made of synthetic sound: talk
// is a chord (three tones, never taken for a beep), a beep one 1 kHz tone.

// segment is a stretch of the callee's audio.
type segment struct {
	kind string // "silence", "talk", "beep"
	d    time.Duration
}

// calleeAudio returns the 20 ms frames of segs, then silence forever.
func calleeAudio(segs ...segment) func(i int) []int16 {
	var pcm []int16
	for _, s := range segs {
		n := int(s.d.Seconds() * 8000)
		for j := range n {
			t := float64(len(pcm)+j) / 8000
			var v float64
			switch s.kind {
			case "talk":
				v = 3000 * (math.Sin(2*math.Pi*300*t) + math.Sin(2*math.Pi*700*t) + math.Sin(2*math.Pi*1300*t))
			case "beep":
				v = 8000 * math.Sin(2*math.Pi*1000*t)
			}
			pcm = append(pcm, int16(v))
		}
	}
	return func(i int) []int16 {
		f := make([]int16, 160)
		if i*160 < len(pcm) {
			copy(f, pcm[i*160:min((i+1)*160, len(pcm))])
		}
		return f
	}
}

// outboundCall runs an outbound call of agent whose callee plays audio.
func outboundCall(t *testing.T, c *Conversation, agent *agentphone.Agent, opts agentphone.CallOptions, callee func(i int) []int16) *fakeCall {
	t.Helper()
	call := &agentphone.Call{ID: "call_test", AccountID: "acct", Direction: agentphone.DirectionOutbound,
		From: "+15555550100", To: "+15555550199", Options: opts}
	return startCallOf(t, c, agent, call, callee)
}

func waitEnd(t *testing.T, fc *fakeCall) string {
	t.Helper()
	select {
	case reason := <-fc.end:
		fc.end <- reason // for the cleanup
		return reason
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not end")
		return ""
	}
}

func TestVoicemailAfterTheBeep(t *testing.T) {
	t.Parallel()
	synth := &toneSynth{}
	a := testAgent()
	greeting, msg := "Hi, this is Ava.", "Hi {{name}}, this is Ava from Acme. Please call us back."
	prompt := "Sell things."
	a.BeginMessage, a.VoicemailMessage, a.SystemPrompt, a.VoiceMode = &greeting, &msg, &prompt, agentphone.VoiceModeHosted
	name := "Jane"
	fc := outboundCall(t, &Conversation{Speech: synth}, a, agentphone.CallOptions{Variables: map[string]*string{"name": &name}},
		calleeAudio(segment{"silence", 300 * time.Millisecond}, segment{"talk", 1500 * time.Millisecond},
			segment{"silence", 300 * time.Millisecond}, segment{"talk", 2500 * time.Millisecond},
			segment{"silence", 500 * time.Millisecond}, segment{"beep", 400 * time.Millisecond}))
	if reason := waitEnd(t, fc); reason != agentphone.EndVoicemail {
		t.Fatalf("ended %q, want voicemail", reason)
	}
	fc.calls.waitEvent(t, "answeredBy=machine")
	fc.calls.waitEvent(t, "reason=long-greeting")
	fc.calls.waitEvent(t, "after=beep")
	if got := strings.Join(synth.said(), " "); got != "Hi Jane, this is Ava from Acme. Please call us back." {
		t.Fatalf("said %q: want only the voicemail message, variables filled (no greeting to a machine)", got)
	}
}

func TestMachineWithoutMessageHangsUp(t *testing.T) {
	t.Parallel()
	synth := &toneSynth{}
	a := testAgent()
	prompt := "Sell things."
	a.SystemPrompt, a.VoiceMode = &prompt, agentphone.VoiceModeHosted
	fc := outboundCall(t, &Conversation{Speech: synth}, a, agentphone.CallOptions{},
		calleeAudio(segment{"silence", 200 * time.Millisecond}, segment{"talk", 4 * time.Second}, segment{"beep", 300 * time.Millisecond}))
	if reason := waitEnd(t, fc); reason != agentphone.EndVoicemail {
		t.Fatalf("ended %q, want voicemail", reason)
	}
	fc.calls.waitEvent(t, "voicemail")
	if got := synth.said(); len(got) != 0 {
		t.Fatalf("said %q to a machine, with no voicemailMessage", got)
	}
}

func TestHumanAnswerGetsTheGreeting(t *testing.T) {
	t.Parallel()
	synth := &toneSynth{}
	a := testAgent()
	greeting, msg := "Hi, this is Ava from Acme.", "Please call back."
	a.BeginMessage, a.VoicemailMessage = &greeting, &msg // a webhook agent: detection runs for its message
	start := time.Now()
	fc := outboundCall(t, &Conversation{Speech: synth}, a, agentphone.CallOptions{},
		calleeAudio(segment{"silence", 400 * time.Millisecond}, segment{"talk", 600 * time.Millisecond}))
	fc.calls.waitEvent(t, "reason=short-greeting")
	deadline := time.After(10 * time.Second)
	for len(synth.said()) == 0 {
		select {
		case <-fc.calls.news:
		case <-deadline:
			t.Fatal("no greeting after the callee's hello")
		}
	}
	if got := synth.said(); got[0] != greeting {
		t.Fatalf("said %q", got)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("greeted %s after the answer: before the callee's hello ended", d)
	}
}

// screener recognises each utterance as the next of its texts.
type screener struct {
	mu    sync.Mutex
	texts []string
}

func (s *screener) TranscribeFile(context.Context, audio.Frame, TranscribeOptions) (Transcript, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.texts) == 0 {
		return Transcript{Final: true}, nil
	}
	t := s.texts[0]
	s.texts = s.texts[1:]
	return Transcript{Text: t, Final: true}, nil
}

func TestCallScreenerIsAnswered(t *testing.T) {
	t.Parallel()
	synth := &toneSynth{}
	a := testAgent()
	a.Name = "Ava"
	greeting, purpose, prompt := "Hi, it's Ava.", "to confirm your appointment", "Confirm appointments."
	a.BeginMessage, a.SystemPrompt, a.VoiceMode = &greeting, &prompt, agentphone.VoiceModeHosted
	identity := "Ava from Acme Dental"
	c := &Conversation{Speech: synth, ListenFile: &screener{texts: []string{
		"Hi, the person you're calling is using a screening service. Go ahead and say your name and why you're calling.",
		"Hello?",
	}}}
	fc := outboundCall(t, c, a, agentphone.CallOptions{CallScreeningIdentity: &identity, CallScreeningPurpose: &purpose},
		calleeAudio(segment{"silence", 300 * time.Millisecond}, segment{"talk", 2 * time.Second},
			segment{"silence", 3 * time.Second}, segment{"talk", 600 * time.Millisecond}))
	fc.calls.waitEvent(t, "call_screening")
	fc.calls.waitEvent(t, "reason=short-greeting") // the person who picked up after the screener
	deadline := time.After(20 * time.Second)
	for len(synth.said()) < 2 {
		select {
		case <-fc.calls.news:
		case <-deadline:
			t.Fatalf("said %q", synth.said())
		}
	}
	want := []string{"This is Ava from Acme Dental, calling to confirm your appointment.", greeting}
	if got := synth.said(); got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("said %q, want %q", got, want)
	}
}
