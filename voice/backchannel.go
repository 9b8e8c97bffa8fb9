package voice

import (
	"slices"
	"strings"
	"time"
)

// When the agent says a backchannel ("mm-hmm", "right") during a long
// caller turn (the agent's enableBackchannel). A listener's backchannels
// fall in the short pauses of a speaker who is going on; said in the
// middle of a word they are an interruption, said too often they are a
// tic, said as the turn ends they collide with the answer.
const (
	// BackchannelPause is the caller's silence, since their last voiced
	// frame, at which a backchannel may come: a breath between phrases.
	BackchannelPause = 300 * time.Millisecond
	// BackchannelLate is the longest such silence: later, the caller is
	// likely to resume over the backchannel.
	BackchannelLate = 400 * time.Millisecond
	// BackchannelRoom is how much of the end-of-turn wait must remain
	// when the backchannel starts, so that it is not said as the turn
	// ends; the answer that may follow takes its own few hundred
	// milliseconds (webhook, synthesis), by when a backchannel is over.
	// With the fast base wait of 500 ms this leaves exactly the 300 ms
	// pause; longer waits (the caller sounds unfinished, is reading out a
	// number) leave more.
	BackchannelRoom = 200 * time.Millisecond
	// BackchannelAfter is how long the caller must have been talking in
	// this turn (first voiced frame to last) before the first one.
	BackchannelAfter = 5 * time.Second
	// BackchannelEvery is the least time between two backchannels, in a
	// turn or across turns.
	BackchannelEvery = 7 * time.Second
	// BackchannelPerTurn bounds them in one caller turn.
	BackchannelPerTurn = 3
)

// backchannelPhrases are the phrases per language (the first part of a
// BCP-47 tag), said in turn. Short and neutral: they acknowledge, they do
// not answer.
var backchannelPhrases = map[string][]string{
	"en": {"Mm-hmm.", "Right.", "I see.", "Okay."},
	"es": {"Ajá.", "Claro.", "Ya veo.", "Entiendo."},
	"fr": {"Mm-hmm.", "D'accord.", "Je vois.", "Oui."},
	"de": {"Mhm.", "Genau.", "Verstehe.", "Ja."},
	"it": {"Mhm.", "Certo.", "Capisco.", "Sì."},
	"pt": {"Uhum.", "Certo.", "Entendo.", "Sim."},
	"nl": {"Mhm.", "Ja.", "Oké.", "Precies."},
	"ja": {"はい。", "ええ。", "なるほど。", "そうですね。"},
	"zh": {"嗯。", "对。", "好的。", "明白。"},
	"ko": {"네.", "아, 네.", "그렇군요."},
}

// backchannelAny is said in languages without a list of their own: a
// hum is understood nearly everywhere.
var backchannelAny = []string{"Mm-hmm."}

// BackchannelPhrases returns the backchannels of a BCP-47 language
// ("en-US", "es-419"; "" is English), in the order they are said; a
// language without its own list gets a hum. The slice is the caller's.
func BackchannelPhrases(language string) []string {
	base, _, _ := strings.Cut(strings.ToLower(language), "-")
	base, _, _ = strings.Cut(base, "_")
	if base == "" {
		base = "en"
	}
	if p, ok := backchannelPhrases[base]; ok {
		return slices.Clone(p)
	}
	return slices.Clone(backchannelAny)
}

// Backchanneler proposes backchannels during the caller's turns: at a
// natural pause (BackchannelPause to BackchannelLate of silence, with
// BackchannelRoom of the end-of-turn wait left), once the caller has
// talked for BackchannelAfter in this turn, at most every
// BackchannelEvery and BackchannelPerTurn times a turn, never while the
// caller is voiced. The phrases rotate through the language's list over
// the call. Feed it every caller frame while the agent is silent, with the
// energy detector's voicing without its hangover (see BargeIn). A
// Backchanneler is for one goroutine.
type Backchanneler struct {
	phrases []string
	next    int    // index of the next phrase, over the call
	phrase  string // the phrase last proposed

	turnStart time.Time // the turn's first voiced frame; zero: no turn
	lastVoice time.Time // its last voiced frame
	count     int       // backchannels in this turn
	last      time.Time // the last backchannel; zero: none yet
}

// NewBackchanneler returns a Backchanneler speaking the agent's language
// (BackchannelPhrases).
func NewBackchanneler(language string) *Backchanneler {
	return &Backchanneler{phrases: BackchannelPhrases(language)}
}

// Push takes the caller's frame at time at, voiced or not, with the
// current end-of-turn wait (Endpointer.Wait of the words so far), and
// reports whether the agent should say a backchannel now (Phrase says
// which). Silence reaching wait ends the turn: the next voiced frame
// starts another. A wait of 0 or less never leaves room.
func (b *Backchanneler) Push(voiced bool, at time.Time, wait time.Duration) bool {
	if voiced {
		if b.turnStart.IsZero() {
			b.turnStart = at
		}
		b.lastVoice = at
		return false
	}
	if b.turnStart.IsZero() {
		return false
	}
	silence := at.Sub(b.lastVoice)
	switch {
	case silence >= wait:
		b.Reset() // the turn is over
		return false
	case silence < BackchannelPause || silence > BackchannelLate,
		wait-silence < BackchannelRoom,
		b.lastVoice.Sub(b.turnStart) < BackchannelAfter,
		b.count >= BackchannelPerTurn,
		!b.last.IsZero() && at.Sub(b.last) < BackchannelEvery:
		return false
	}
	b.count++
	b.last = at
	b.phrase = b.phrases[b.next%len(b.phrases)]
	b.next++
	return true
}

// Phrase is the backchannel Push last proposed ("" before the first).
func (b *Backchanneler) Phrase() string { return b.phrase }

// Reset ends the caller's turn: call it when the turn ends or the agent
// speaks. The spacing of backchannels and the rotation of phrases go on.
func (b *Backchanneler) Reset() {
	b.turnStart, b.lastVoice, b.count = time.Time{}, time.Time{}, 0
}
