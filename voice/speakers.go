package voice

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentphone/agentphone/audio"
)

// Speakers routes speech to the provider of its voice. A voice id names
// its provider before the first '-': "espeak-brian", "11labs-Rachel",
// "openai-alloy", "deepgram-aura-2-thalia-en".
type Speakers struct {
	// ByPrefix maps a voice id's prefix ("espeak", "11labs", "openai",
	// "deepgram") to the provider that speaks it.
	ByPrefix map[string]Synthesizer
	// Fallback speaks voices of no configured provider (an agent made
	// while another provider was configured); nil: such voices fail.
	Fallback Synthesizer
}

var _ Synthesizer = (*Speakers)(nil)

// Stream implements Synthesizer.
func (s *Speakers) Stream(ctx context.Context, req SpeechRequest, emit func(audio.Frame) error) error {
	prefix, _, _ := strings.Cut(req.Voice, "-")
	if p, ok := s.ByPrefix[prefix]; ok {
		return p.Stream(ctx, req, emit)
	}
	if s.Fallback != nil {
		return s.Fallback.Stream(ctx, req, emit)
	}
	return fmt.Errorf("voice: no text-to-speech provider is configured for voice %q", req.Voice)
}

// maxPiece is the length past which a sentence is cut at a clause
// boundary, so that its speech can start before a long sentence is
// synthesised whole.
const maxPiece = 160

// splitSpeech cuts text into the pieces the engine synthesises one at a
// time: sentences, and long sentences at their commas, semicolons and
// dashes. Abbreviations ("Dr.", "e.g."), decimals ("3.5") and initials do
// not end a sentence.
func splitSpeech(text string) []string {
	var out []string
	start := 0
	for i, r := range text {
		if r != '.' && r != '!' && r != '?' && r != ';' && r != ',' && r != '\n' {
			continue
		}
		end := i + utf8.RuneLen(r)
		// Swallow closing quotes and brackets and further marks ("?!", "...").
		for end < len(text) && strings.ContainsRune(`.!?"')]”’`, rune(text[end])) {
			end++
		}
		if next, _ := utf8.DecodeRuneInString(text[end:]); end < len(text) && !unicode.IsSpace(next) {
			continue // "3.5", "e.g.x", "a,b"
		}
		piece := text[start:end]
		switch r {
		case ',', ';':
			if len(piece) < maxPiece {
				continue // short clauses stay with their sentence
			}
		case '.':
			if abbreviation(piece) {
				continue
			}
		}
		if p := strings.TrimSpace(piece); p != "" {
			out = append(out, p)
		}
		start = end
	}
	if p := strings.TrimSpace(text[start:]); p != "" {
		out = append(out, p)
	}
	return out
}

// abbreviation reports whether piece ends in a word whose full stop does
// not end the sentence.
func abbreviation(piece string) bool {
	words := strings.Fields(piece)
	if len(words) == 0 {
		return false
	}
	w := strings.ToLower(strings.TrimSuffix(words[len(words)-1], "."))
	switch w {
	case "mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "vs", "etc", "e.g", "i.e", "approx", "no", "inc", "ltd", "co", "ave", "apt":
		return true
	}
	// Single initials: "J. R. R. Tolkien", "U.S."
	return utf8.RuneCountInString(w) == 1 || strings.Count(w, ".") > 0 && len(w) <= 4
}
