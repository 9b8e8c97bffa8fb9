package voice

import (
	"strings"
	"time"
	"unicode"
)

// Answering-machine detection: who picked up an outbound call, a person or
// a machine (voicemail, an answering machine, a carrier's mailbox), from
// the first seconds of what the callee's side sends. The rules are those
// of the industry (Asterisk's AMD application, the carriers' and CPaaS
// "answering machine detection"): a person answers with a short word or
// two and waits for the caller; a machine talks on, for several seconds,
// then beeps. Their values, and where they differ from Asterisk's
// defaults:
const (
	// A person says "Hello?" (about 0.5 s), "Hello, this is Sam" (about
	// 1.2 s), then waits. Asterisk's greeting limit is 1.5 s; 2 s leaves
	// room for a name and a company.
	machineShortGreeting = 2 * time.Second
	// The silence that ends a greeting: the pause of a person waiting for
	// the caller to speak (Asterisk's afterGreetingSilence, 800 ms).
	// Shorter pauses are a machine, or a person, catching breath between
	// sentences.
	machineAfterGreeting = 800 * time.Millisecond
	// Pauses shorter than this are the gaps between words and count as
	// talk; longer ones (500–800 ms, between sentences) do not count, but
	// do not end the greeting either.
	machineWordGap = 500 * time.Millisecond
	// A machine's greeting ("Hi, you've reached Sam Jones. I can't take
	// your call right now…") runs from 3 s to 15 s or more, and few people
	// talk for 3 s before hearing who is calling. Asterisk calls anything
	// above 1.5 s of voice a machine, which takes people who answer with
	// their name and company for machines.
	machineLongGreeting = 3 * time.Second
	// A callee who says nothing for this long after answering is taken for
	// a person who waits for the caller to speak first (a person who knows
	// the number for a robocaller's, a phone answered in a pocket): the
	// agent greets them. Asterisk calls 2.5 s of initial silence a
	// machine, which is right for machines that start late but leaves a
	// silent person waiting for a voicemail message; the agent's greeting
	// to a silent machine is recorded instead, which is the lesser harm.
	machineInitialSilence = 4 * time.Second
	// Undecided at this point, the callee is taken for a person: better
	// to greet a machine than to leave a person a voicemail message.
	// Asterisk's totalAnalysisTime is the same 5 s.
	machineDeadline = 5 * time.Second
)

// After a Machine verdict, when to speak the voicemail message
// (BeepWaiter): right after the beep, so that the recording starts with
// it; without a beep (many machines beep quietly, some not at all, the
// carriers' voicemail often only after its own announcement), once the
// greeting has been followed by beepWaitSilence; at the latest
// beepWaitCap after the verdict, whatever the machine is doing (a
// greeting of several minutes, music, a beep the detector misses under
// noise).
const (
	beepWaitSilence = 1200 * time.Millisecond
	beepWaitCap     = 20 * time.Second
)

// MachineVerdict is who answered a call: a person or a machine.
type MachineVerdict int

// The verdicts. The zero value is Undecided.
const (
	Undecided MachineVerdict = iota
	Human
	Machine
)

// String is "undecided", "human" or "machine".
func (v MachineVerdict) String() string {
	switch v {
	case Human:
		return "human"
	case Machine:
		return "machine"
	}
	return "undecided"
}

// MachineReason says which rule gave a verdict, for the call's event log.
type MachineReason string

// The reasons, with the verdict they give.
const (
	MachineBeep         MachineReason = "beep"           // Machine: a beep was heard
	MachineLongGreeting MachineReason = "long-greeting"  // Machine: the callee talked on for LongGreeting
	MachinePhrase       MachineReason = "phrase"         // Machine: the words heard are a voicemail greeting's
	HumanShortGreeting  MachineReason = "short-greeting" // Human: a short greeting, then silence
	HumanSilence        MachineReason = "silence"        // Human: no voice for InitialSilence
	HumanDeadline       MachineReason = "deadline"       // Human: undecided at Deadline
)

// MachineDetector classifies who answered an outbound call from the
// callee's first seconds: the voicing of each 20 ms frame, the beeps of an
// audio.BeepDetector, and optionally the words recognised. Its rules, in
// the order they apply:
//
//   - a beep: Machine (MachineBeep), at once;
//   - the words of a voicemail greeting (see voicemailPhrases): Machine
//     (MachinePhrase);
//   - talk (voiced frames and the gaps shorter than WordGap between them,
//     longer gaps not counted) adding up to LongGreeting: Machine
//     (MachineLongGreeting), without waiting for the greeting to end;
//   - a silence of AfterGreeting after talk of at most ShortGreeting:
//     Human (HumanShortGreeting);
//   - no voice at all for InitialSilence: Human (HumanSilence);
//   - still undecided at Deadline: Human (HumanDeadline).
//
// A verdict is final: later frames and words do not change it. The agent
// should stay silent until there is one. A call screener (IsCallScreener)
// talks like a machine: the engine should answer its prompt
// (ScreeningReply) whatever the verdict; Text does not take a screener's
// "say your name after the tone" for a voicemail greeting.
//
// It is pure and deterministic: times are passed in, as the engine stamps
// the frames. A MachineDetector is for one goroutine; its settings may be
// changed before the first frame.
type MachineDetector struct {
	// ShortGreeting is the most talk a person's greeting has; 2 s by
	// default.
	ShortGreeting time.Duration
	// AfterGreeting is the silence after a short greeting that makes it a
	// person's; 800 ms by default.
	AfterGreeting time.Duration
	// WordGap is the longest gap counted as talk; 500 ms by default.
	WordGap time.Duration
	// LongGreeting is the talk that makes a machine; 3 s by default.
	LongGreeting time.Duration
	// InitialSilence is how long a callee who says nothing is waited for
	// before being taken for a person; 4 s by default.
	InitialSilence time.Duration
	// Deadline is when, after the answer, an undecided call is taken for a
	// person's; 5 s by default.
	Deadline time.Duration

	start     time.Time
	prev      time.Time     // the previous frame
	lastVoice time.Time     // the last voiced frame; zero: none yet
	talk      time.Duration // talk so far
	verdict   MachineVerdict
	reason    MachineReason
}

// NewMachineDetector returns a MachineDetector with the default settings
// for a call answered at start.
func NewMachineDetector(start time.Time) *MachineDetector {
	return &MachineDetector{
		ShortGreeting:  machineShortGreeting,
		AfterGreeting:  machineAfterGreeting,
		WordGap:        machineWordGap,
		LongGreeting:   machineLongGreeting,
		InitialSilence: machineInitialSilence,
		Deadline:       machineDeadline,
		start:          start,
		prev:           start,
	}
}

// Frame takes the callee's frame stamped at (the time its audio ended):
// voiced is the energy detector's voicing of the frame without its
// hangover (audio.EnergyDetector: voiced when SilentFor() == 0 after
// Push), beep whether the beep detector reported a beep ending in it
// (audio.BeepDetector.Push). It returns the verdict, Undecided until one
// of the rules applies. A frame's length is the time since the previous
// frame (since start for the first).
func (m *MachineDetector) Frame(voiced, beep bool, at time.Time) MachineVerdict {
	if m.verdict != Undecided {
		return m.verdict
	}
	d := max(0, at.Sub(m.prev))
	m.prev = at
	if beep {
		return m.decide(Machine, MachineBeep)
	}
	if voiced {
		if !m.lastVoice.IsZero() {
			if gap := at.Sub(m.lastVoice) - d; gap < m.WordGap {
				m.talk += max(0, gap)
			}
		}
		m.talk += d
		m.lastVoice = at
		if m.talk >= m.LongGreeting {
			return m.decide(Machine, MachineLongGreeting)
		}
	} else {
		switch {
		case !m.lastVoice.IsZero() && at.Sub(m.lastVoice) >= m.AfterGreeting && m.talk <= m.ShortGreeting:
			return m.decide(Human, HumanShortGreeting)
		case m.lastVoice.IsZero() && at.Sub(m.start) >= m.InitialSilence:
			return m.decide(Human, HumanSilence)
		}
	}
	if at.Sub(m.start) >= m.Deadline {
		return m.decide(Human, HumanDeadline)
	}
	return Undecided
}

// Text takes the words recognised so far of the callee (interim or final,
// the latest or all of them; only the first 4 KiB are read) at time at,
// and returns the verdict: Machine if they hold a voicemail greeting's
// phrase and are not a call screener's prompt. Only words decide here;
// the time rules are applied by Frame.
func (m *MachineDetector) Text(text string, at time.Time) MachineVerdict {
	if m.verdict == Undecided && IsVoicemailGreeting(text) && !IsCallScreener(text) {
		m.decide(Machine, MachinePhrase)
	}
	return m.verdict
}

// Verdict is the verdict so far.
func (m *MachineDetector) Verdict() MachineVerdict { return m.verdict }

// Reason is the rule that gave the verdict ("" while Undecided).
func (m *MachineDetector) Reason() MachineReason { return m.reason }

func (m *MachineDetector) decide(v MachineVerdict, r MachineReason) MachineVerdict {
	m.verdict, m.reason = v, r
	return v
}

// voicemailPhrases are what voicemail greetings say and people answering
// a call do not (English). They are matched as whole words, after
// phraseWords has lower-cased the text, taken out its punctuation and
// spelled out its contractions: "can't take your call" matches "Sorry, I
// CANNOT take your call." "Not available" also matches "is not
// available", "isn't available".
//
// Left out on purpose: "you've reached" (receptionists answer "You've
// reached Acme Dental, this is Sam"), "please leave" alone, "hang up".
// "Not available" and "unavailable" are said by receptionists too ("Dr.
// Lee is not available, can I take a message?"): the message the agent
// then leaves is still the right thing to say to them.
var voicemailPhrases = []string{
	"leave a message", "leave me a message", "leave your message", "leave a brief message",
	"leave a short message", "leave a detailed message", "leave your name",
	"after the tone", "after the beep", "at the tone", "at the beep",
	"sound of the tone", "sound of the beep",
	"voicemail", "voice mail", "mailbox", "voice message", "voice messaging",
	"record your message", "record a message",
	"not available", "unavailable",
	"can't take your call", "can't come to the phone", "can't get to the phone",
	"unable to take your call", "unable to answer", "not able to take your call",
	"away from the phone",
}

var voicemailMatch = phraseSet(voicemailPhrases)

// IsVoicemailGreeting reports whether text (the first 4 KiB) holds a
// phrase of a voicemail greeting (voicemailPhrases).
func IsVoicemailGreeting(text string) bool { return containsAny(phraseWords(text), voicemailMatch) }

// BeepWaiter decides, once a call is known to be answered by a machine,
// when to speak the voicemail message: as soon as a beep has ended; with
// no beep, once the machine's greeting has been followed by Silence; at
// the latest Cap after start. After a MachineBeep verdict the beep is
// already over: speak at once, without a BeepWaiter.
//
// The energy detector takes a beep for voice, so a beep that comes late
// still holds the silence rule off while it sounds. It is pure and
// deterministic, for one goroutine; its settings may be changed before
// the first frame.
type BeepWaiter struct {
	// Silence is the silence after the greeting, without a beep, after
	// which the message starts; 1.2 s by default.
	Silence time.Duration
	// Cap is the longest wait after start; 20 s by default.
	Cap time.Duration

	start     time.Time
	lastVoice time.Time
	reason    string
}

// NewBeepWaiter returns a BeepWaiter with the default settings, started
// at start, the time of the Machine verdict. Silence is counted from the
// last voiced frame it is given, or from start if none is.
func NewBeepWaiter(start time.Time) *BeepWaiter {
	return &BeepWaiter{Silence: beepWaitSilence, Cap: beepWaitCap, start: start, lastVoice: start}
}

// Frame takes the callee's frame stamped at, with its voicing and whether
// a beep ended in it (as MachineDetector.Frame), and reports whether the
// message should start now. It reports true once; Reason then says why.
func (w *BeepWaiter) Frame(voiced, beep bool, at time.Time) (speak bool) {
	if w.reason != "" {
		return false
	}
	if voiced {
		w.lastVoice = at
	}
	switch {
	case beep:
		w.reason = "beep"
	case at.Sub(w.start) >= w.Cap:
		w.reason = "cap"
	case !voiced && at.Sub(w.lastVoice) >= w.Silence:
		w.reason = "silence"
	default:
		return false
	}
	return true
}

// Reason is why Frame reported that the message should start: "beep" (a
// beep ended), "silence" (the greeting was followed by Silence) or "cap"
// (Cap reached); "" before.
func (w *BeepWaiter) Reason() string { return w.reason }

// maxPhraseText bounds the text searched for phrases: greetings and
// screeners' prompts come first, and transcripts are untrusted.
const maxPhraseText = 4096

// contractions spells out the contractions of the phrases and those a
// recogniser writes without an apostrophe.
var contractions = map[string]string{
	"can't": "can not", "cannot": "can not", "cant": "can not", "won't": "will not", "ain't": "is not",
	"dont": "do not", "isnt": "is not", "youre": "you are", "youve": "you have", "whos": "who is",
	"whats": "what is", "im": "i am",
}

// contractionSuffixes spell out the rest: "isn't" is "is not", "who's"
// "who is" (and "Sam's" "sam is", harmless here).
var contractionSuffixes = []struct{ suffix, words string }{
	{"n't", " not"}, {"'re", " are"}, {"'ve", " have"}, {"'ll", " will"}, {"'m", " am"}, {"'d", " would"}, {"'s", " is"},
}

// phraseWords is text (its first maxPhraseText bytes) as lower-case words
// separated by single spaces, with a space before the first and after the
// last, without punctuation, contractions spelled out, so that a phrase
// in the same form is found with strings.Contains at word boundaries.
func phraseWords(text string) string {
	if len(text) > maxPhraseText {
		text = text[:maxPhraseText]
	}
	text = apostrophes.Replace(strings.ToLower(text))
	var b strings.Builder
	b.Grow(len(text) + 2)
	b.WriteByte(' ')
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' }) {
		w = strings.Trim(w, "'")
		if w == "" {
			continue
		}
		if c, ok := contractions[w]; ok {
			w = c
		} else {
			for _, s := range contractionSuffixes {
				if stem, ok := strings.CutSuffix(w, s.suffix); ok && stem != "" {
					w = stem + s.words
					break
				}
			}
			w = strings.ReplaceAll(w, "'", "")
		}
		b.WriteString(w)
		b.WriteByte(' ')
	}
	return b.String()
}

// phraseSet puts phrases in the form phraseWords gives.
func phraseSet(phrases []string) []string {
	out := make([]string, len(phrases))
	for i, p := range phrases {
		out[i] = phraseWords(p)
	}
	return out
}

// containsAny reports whether words (from phraseWords) hold one of the
// phrases (from phraseSet).
func containsAny(words string, phrases []string) bool {
	for _, p := range phrases {
		if strings.Contains(words, p) {
			return true
		}
	}
	return false
}
