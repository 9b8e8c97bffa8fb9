package voice_test

import (
	"testing"
	"time"

	"github.com/agentphone/agentphone/voice"
)

var answered = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

const ms = time.Millisecond

// voicing returns the voicing of 20 ms frames from durations taken in
// turn as silence and voice, starting with silence: voicing(300*ms,
// 600*ms, 2*time.Second) is 300 ms of silence, 600 ms of voice, 2 s of
// silence.
func voicing(durs ...time.Duration) []bool {
	var out []bool
	for i, d := range durs {
		for range int(d / frame) {
			out = append(out, i%2 == 1)
		}
	}
	return out
}

// decide feeds fs to m, frame i stamped answered + (i+1) × 20 ms, a beep
// ending in frame beepAt (-1: none), and returns the first verdict and
// when, from the answer (Undecided, 0: none). It checks that the verdict
// then stays, that Verdict agrees, and that a verdict has a reason.
func decide(t *testing.T, m *voice.MachineDetector, fs []bool, beepAt int) (voice.MachineVerdict, time.Duration) {
	t.Helper()
	got, when := voice.Undecided, time.Duration(0)
	for i, v := range fs {
		at := time.Duration(i+1) * frame
		r := m.Frame(v, i == beepAt, answered.Add(at))
		switch {
		case got == voice.Undecided && r != voice.Undecided:
			got, when = r, at
		case r != got:
			t.Fatalf("verdict changed from %v to %v at %v", got, r, at)
		}
		if m.Verdict() != r {
			t.Fatalf("Verdict() = %v, Frame returned %v", m.Verdict(), r)
		}
	}
	if (got == voice.Undecided) != (m.Reason() == "") {
		t.Fatalf("verdict %v with reason %q", got, m.Reason())
	}
	return got, when
}

func TestMachineDetector(t *testing.T) {
	t.Parallel()
	s := time.Second
	var continuous []time.Duration // 300 ms of silence, then 8 s of speech in 800 ms phrases 200 ms apart
	for i := range 8 {
		if i == 0 {
			continuous = append(continuous, 300*ms, 800*ms)
		} else {
			continuous = append(continuous, 200*ms, 800*ms)
		}
	}
	for _, c := range []struct {
		name       string
		fs         []bool
		beepAt     int
		want       voice.MachineVerdict
		reason     voice.MachineReason
		from, upTo time.Duration // when the verdict comes
	}{
		// "Hello?" from 0.3 to 0.9 s: a person, 800 ms after it ends.
		{"Hello", voicing(300*ms, 600*ms, 5*s), -1, voice.Human, voice.HumanShortGreeting, 1700 * ms, 1700 * ms},
		// "Hello? … Hello?": a pause of 600 ms does not end the greeting.
		{"HelloHello", voicing(300*ms, 500*ms, 600*ms, 500*ms, 5*s), -1, voice.Human, voice.HumanShortGreeting, 2700 * ms, 2700 * ms},
		// "Hello, this is Sam Jones from Acme" (1.9 s): still a person.
		{"NameAndCompany", voicing(200*ms, 1900*ms, 5*s), -1, voice.Human, voice.HumanShortGreeting, 2900 * ms, 2900 * ms},
		// A machine talks on: machine once 3 s have been said, at 3.3 s.
		{"LongGreeting", voicing(continuous...), -1, voice.Machine, voice.MachineLongGreeting, 3280 * ms, 3320 * ms},
		// Sentences 700 ms apart: the pauses do not count, nor end it.
		{"Sentences", voicing(300*ms, 1200*ms, 700*ms, 1300*ms, 700*ms, 3*s), -1, voice.Machine, voice.MachineLongGreeting, 4680 * ms, 4720 * ms},
		// A beep: machine at once, even in the middle of a greeting.
		{"Beep", voicing(300*ms, 1500*ms, 5*s), 60, voice.Machine, voice.MachineBeep, 1220 * ms, 1220 * ms},
		// Nobody speaks: a person waiting, at 4 s.
		{"Silence", voicing(10 * s), -1, voice.Human, voice.HumanSilence, 4 * s, 4 * s},
		// Talk of 2.4 s, then silence: neither rule; a person at 5 s.
		{"MediumGreeting", voicing(300*ms, 2400*ms, 5*s), -1, voice.Human, voice.HumanDeadline, 5 * s, 5 * s},
		// Talk starting late: not 3 s by 5 s.
		{"LateTalker", voicing(2500*ms, 5*s), -1, voice.Human, voice.HumanDeadline, 5 * s, 5 * s},
		// A beep after the verdict changes nothing.
		{"BeepAfterHuman", voicing(300*ms, 600*ms, 5*s), 150, voice.Human, voice.HumanShortGreeting, 1700 * ms, 1700 * ms},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := voice.NewMachineDetector(answered)
			got, when := decide(t, m, c.fs, c.beepAt)
			if got != c.want || m.Reason() != c.reason || when < c.from || when > c.upTo {
				t.Errorf("%v (%s) at %v; want %v (%s) at %v–%v", got, m.Reason(), when, c.want, c.reason, c.from, c.upTo)
			}
		})
	}
}

// TestMachineDetector_Settings: the thresholds are the fields'.
func TestMachineDetector_Settings(t *testing.T) {
	t.Parallel()
	m := voice.NewMachineDetector(answered)
	m.LongGreeting = 4 * time.Second
	if got, when := decide(t, m, voicing(300*ms, 8*time.Second), -1); got != voice.Machine || when != 4300*ms {
		t.Errorf("LongGreeting 4 s: %v at %v, want machine at 4.3 s", got, when)
	}

	m = voice.NewMachineDetector(answered)
	m.Deadline = 10 * time.Second
	if got, when := decide(t, m, voicing(2500*ms, 5*time.Second), -1); got != voice.Machine || when != 5500*ms || m.Reason() != voice.MachineLongGreeting {
		t.Errorf("Deadline 10 s, talk from 2.5 s: %v (%s) at %v, want machine (long-greeting) at 5.5 s", got, m.Reason(), when)
	}

	m = voice.NewMachineDetector(answered)
	m.InitialSilence, m.AfterGreeting, m.ShortGreeting = 2*time.Second, 500*ms, time.Second
	if got, when := decide(t, m, voicing(3*time.Second), -1); got != voice.Human || when != 2*time.Second {
		t.Errorf("InitialSilence 2 s: %v at %v, want human at 2 s", got, when)
	}
	// 1.2 s of talk is more than a ShortGreeting of 1 s: not a short
	// greeting, a person at the deadline.
	m = voice.NewMachineDetector(answered)
	m.AfterGreeting, m.ShortGreeting = 500*ms, time.Second
	if got, when := decide(t, m, voicing(0, 1200*ms, 5*time.Second), -1); got != voice.Human || when != 5*time.Second || m.Reason() != voice.HumanDeadline {
		t.Errorf("ShortGreeting 1 s, talk 1.2 s: %v (%s) at %v, want human (deadline) at 5 s", got, m.Reason(), when)
	}
	m = voice.NewMachineDetector(answered)
	m.AfterGreeting, m.ShortGreeting = 500*ms, time.Second
	if got, when := decide(t, m, voicing(0, 800*ms, 2*time.Second), -1); got != voice.Human || when != 1300*ms {
		t.Errorf("AfterGreeting 500 ms: %v at %v, want human at 1.3 s", got, when)
	}
}

// TestMachineDetector_Text: a voicemail phrase decides at once, before
// any rule on the voice; a screener's prompt and a person's words do not;
// a verdict is final.
func TestMachineDetector_Text(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		text string
		want voice.MachineVerdict
	}{
		{"Hi, you've reached Sam. I can't take your call right now.", voice.Machine},
		{"Please leave a message after the tone.", voice.Machine},
		{"The person you are trying to reach is not available.", voice.Machine},
		{"Your call has been forwarded to an automatic voice message system.", voice.Machine},
		{"Hello?", voice.Undecided},
		{"Yeah, who's this?", voice.Undecided},
		{"You've reached Acme Dental, this is Sara speaking.", voice.Undecided},
		{"Please say your name after the tone.", voice.Undecided}, // a screener: answer it
		{"", voice.Undecided},
	} {
		m := voice.NewMachineDetector(answered)
		m.Frame(true, false, answered.Add(500*ms))
		if got := m.Text(c.text, answered.Add(600*ms)); got != c.want || m.Verdict() != c.want {
			t.Errorf("Text(%q) = %v (Verdict %v), want %v", c.text, got, m.Verdict(), c.want)
		}
		if c.want == voice.Machine && m.Reason() != voice.MachinePhrase {
			t.Errorf("Text(%q): reason %q, want phrase", c.text, m.Reason())
		}
	}

	// Final: a phrase after a Human verdict, frames after a Machine one.
	m := voice.NewMachineDetector(answered)
	if got, _ := decide(t, m, voicing(300*ms, 600*ms, 2*time.Second), -1); got != voice.Human {
		t.Fatalf("Hello: %v, want human", got)
	}
	if got := m.Text("please leave a message", answered.Add(3*time.Second)); got != voice.Human || m.Reason() != voice.HumanShortGreeting {
		t.Errorf("phrase after a human verdict: %v (%s), want human (short-greeting)", got, m.Reason())
	}
	m = voice.NewMachineDetector(answered)
	if m.Text("You have reached the voicemail of 555 1234", answered.Add(time.Second)) != voice.Machine {
		t.Fatal("voicemail phrase: not a machine")
	}
	if got, _ := decide(t, m, voicing(300*ms, 600*ms, 6*time.Second), -1); got != voice.Machine || m.Reason() != voice.MachinePhrase {
		t.Errorf("frames after a machine verdict: %v (%s), want machine (phrase)", got, m.Reason())
	}
}

func TestIsVoicemailGreeting(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		text string
		want bool
	}{
		{"leave a message", true},
		{"Hi, this is Sam, LEAVE ME A MESSAGE!", true},
		{"Please leave your message at the tone.", true},
		{"I'm not available right now.", true},
		{"Sam isn't available", true},
		{"He is unavailable.", true},
		{"Sorry, I cannot come to the phone right now.", true},
		{"Sorry I can’t come to the phone", true}, // typographic apostrophe
		{"sorry i cant take your call", true},     // no apostrophe
		{"We're unable to take your call", true},
		{"Record your message after the beep.", true},
		{"at the sound of the tone, please record", true},
		{"Welcome to the Verizon wireless voice mail system.", true},
		{"The mailbox is full.", true},
		{"I'm away from the phone", true},
		{"Hello?", false},
		{"Hello, this is Sam.", false},
		{"Who's calling?", false},
		{"Yes, I'm available now", false},
		{"I can take your call", false},
		{"I sent you a message", false},
		{"He left a mess age", false},
		{"the voicemails", false}, // whole words only
		{"", false},
	} {
		if got := voice.IsVoicemailGreeting(c.text); got != c.want {
			t.Errorf("IsVoicemailGreeting(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

// waitFor feeds fs to w (frame i stamped from + (i+1) × 20 ms, a beep
// ending in frame beepAt) and returns when, after from, it said to speak
// (-1: never), failing if it says so twice.
func waitFor(t *testing.T, w *voice.BeepWaiter, from time.Time, fs []bool, beepAt int) time.Duration {
	t.Helper()
	when := time.Duration(-1)
	for i, v := range fs {
		at := time.Duration(i+1) * frame
		if w.Frame(v, i == beepAt, from.Add(at)) {
			if when >= 0 {
				t.Fatalf("speak twice, at %v and %v", when, at)
			}
			when = at
		}
	}
	return when
}

func TestBeepWaiter(t *testing.T) {
	t.Parallel()
	s := time.Second
	for _, c := range []struct {
		name   string
		fs     []bool
		beepAt int
		want   time.Duration
		reason string
	}{
		// The greeting goes on 2 s after the verdict, 500 ms of silence,
		// a beep of 400 ms (voiced for the energy detector) reported in
		// the frame after it: speak in that frame.
		{"Beep", voicing(0, 2*s, 500*ms, 400*ms, 3*s), 145, 2920 * ms, "beep"},
		// A beep 1.1 s after the greeting: the silence rule waits for it.
		{"LateBeep", voicing(0, 2*s, 1100*ms, 300*ms, 3*s), 170, 3420 * ms, "beep"},
		// No beep: 1.2 s after the greeting's end.
		{"NoBeep", voicing(0, 2*s, 5*s), -1, 3200 * ms, "silence"},
		// Pauses of 1 s between sentences do not start the message.
		{"Pauses", voicing(0, 2*s, s, 2*s, s, s, 5*s), -1, 8200 * ms, "silence"},
		// The greeting was over at the verdict: 1.2 s after it.
		{"SilentFromStart", voicing(5 * s), -1, 1200 * ms, "silence"},
		// Music that never stops: at the cap.
		{"Cap", voicing(0, 30*s), -1, 20 * s, "cap"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := voice.NewBeepWaiter(answered)
			if w.Reason() != "" {
				t.Fatalf("reason %q before", w.Reason())
			}
			if got := waitFor(t, w, answered, c.fs, c.beepAt); got != c.want || w.Reason() != c.reason {
				t.Errorf("speak at %v (%s), want %v (%s)", got, w.Reason(), c.want, c.reason)
			}
		})
	}

	// The fields set the waits.
	w := voice.NewBeepWaiter(answered)
	w.Silence, w.Cap = 2*time.Second, 5*time.Second
	if got := waitFor(t, w, answered, voicing(0, s, 5*s), -1); got != 3*s || w.Reason() != "silence" {
		t.Errorf("Silence 2 s: speak at %v (%s), want 3 s (silence)", got, w.Reason())
	}
	w = voice.NewBeepWaiter(answered)
	w.Silence, w.Cap = 2*time.Second, 5*time.Second
	if got := waitFor(t, w, answered, voicing(0, 10*s), -1); got != 5*s || w.Reason() != "cap" {
		t.Errorf("Cap 5 s: speak at %v (%s), want 5 s (cap)", got, w.Reason())
	}
}

func TestMachineVerdict_String(t *testing.T) {
	t.Parallel()
	for v, want := range map[voice.MachineVerdict]string{voice.Undecided: "undecided", voice.Human: "human", voice.Machine: "machine", 7: "undecided"} {
		if got := v.String(); got != want {
			t.Errorf("%d: %q, want %q", int(v), got, want)
		}
	}
}
