package espeak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/voice"
)

// ErrUnknownVoice is wrapped by the errors of Synthesize and VoiceFor for a
// voice id that is not one of the built-in voices.
var ErrUnknownVoice = errors.New("unknown voice")

// defaultWPM is espeak-ng's default speed (-s), in words per minute: an
// agent's voiceSpeed of 1.
const defaultWPM = 175

// maxOutput bounds the WAV read from espeak-ng: 64 MiB is about 25 minutes
// of its 22.05 kHz mono, far beyond any utterance of an agent.
const maxOutput = 64 << 20

// Synthesizer speaks text with the espeak-ng binary, one process per
// utterance. It keeps no state and is safe for concurrent use.
type Synthesizer struct {
	// Binary is the espeak-ng executable, a path or a name looked up on
	// PATH; "" means "espeak-ng".
	Binary string
}

func (s *Synthesizer) binary() string {
	if s.Binary == "" {
		return "espeak-ng"
	}
	return s.Binary
}

// Synthesize speaks text and returns the whole utterance as mono PCM at
// the engine's rate (espeak-ng writes 22050 Hz).
//
// voice is a built-in voice id such as "espeak-skylar", or "" for the
// default voice; speed is the agent's voiceSpeed (0.5–2.0, 1 is espeak-ng's
// 175 words per minute; 0 means 1, and values outside the range are held
// to it); language is a BCP-47 tag such as "en-US", or "" for the voice's
// own, and picks another built-in voice when the voice does not speak it
// (see VoiceFor). The text goes to espeak-ng on its standard input as
// plain UTF-8, never through a shell or as an argument, so any text is
// safe (SSML is not interpreted).
//
// It returns an error wrapping ErrUnknownVoice for an unknown voice, ctx's
// error when ctx is done first (the process is killed), and otherwise an
// error carrying espeak-ng's own message when it fails.
func (s *Synthesizer) Synthesize(ctx context.Context, text, voice string, speed float64, language string) (audio.Frame, error) {
	v, err := VoiceFor(voice, language)
	if err != nil {
		return audio.Frame{}, err
	}
	args := []string{
		"--stdout", // WAV on standard output
		"--stdin",  // all of standard input as one text, not line by line
		"-b", "1",  // UTF-8
		"-v", v.ESpeakVoice,
		"-s", strconv.Itoa(wordsPerMinute(speed)),
	}

	cmd := exec.CommandContext(ctx, s.binary(), args...)
	cmd.Stdin = strings.NewReader(text)
	var stdout bytes.Buffer
	stderr := &cappedBuffer{max: 4 << 10}
	cmd.Stdout = &limitedWriter{w: &stdout, n: maxOutput}
	cmd.Stderr = stderr
	// After ctx kills espeak-ng, do not wait long for its pipes.
	cmd.WaitDelay = time.Second

	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return audio.Frame{}, fmt.Errorf("espeak: synthesize: %w", ctx.Err())
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return audio.Frame{}, fmt.Errorf("espeak: %s -v %s: %w: %s", s.binary(), v.ESpeakVoice, err, msg)
		}
		return audio.Frame{}, fmt.Errorf("espeak: %s -v %s: %w", s.binary(), v.ESpeakVoice, err)
	}

	wav, err := audio.ReadWAV(&stdout)
	if err != nil {
		return audio.Frame{}, fmt.Errorf("espeak: read espeak-ng output: %w", err)
	}
	return audio.Frame{Samples: wav.Channel(0), Rate: wav.Rate}, nil
}

// wordsPerMinute turns a voiceSpeed into espeak-ng's -s.
func wordsPerMinute(speed float64) int {
	if speed == 0 || math.IsNaN(speed) {
		speed = 1
	}
	speed = min(max(speed, 0.5), 2)
	return int(math.Round(defaultWPM * speed))
}

// Available reports whether the espeak-ng binary runs, so that the server
// can say so clearly at start-up. Its error names the binary and how to
// install it.
func (s *Synthesizer) Available(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, s.binary(), "--version")
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("espeak: %s --version: %w (install espeak-ng, e.g. apt-get install espeak-ng)", s.binary(), err)
	}
	if !bytes.Contains(out, []byte("eSpeak")) {
		return fmt.Errorf("espeak: %s --version printed %q, not espeak-ng's version", s.binary(), firstLine(out))
	}
	return nil
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// VoiceFor returns the built-in voice that speaks text for the voice id
// ("" is the default voice) in language (a BCP-47 tag, "" for the voice's
// own). When the voice's language is not language, it is a built-in voice
// of that exact language, of the same gender if there is one; failing
// that, the voice itself when it speaks the same base language ("en-IN"
// with an "en-US" voice), else a voice of that base language, else the
// voice itself (espeak-ng then reads the text with the voice's rules).
// It returns an error wrapping ErrUnknownVoice for an unknown id.
func VoiceFor(id, language string) (Voice, error) {
	v := builtin[0]
	if id != "" {
		var ok bool
		if v, ok = Lookup(id); !ok {
			return Voice{}, fmt.Errorf("espeak: voice %q: %w", id, ErrUnknownVoice)
		}
	}
	if language == "" || strings.EqualFold(language, v.Language) {
		return v, nil
	}
	if c, ok := bestMatch(v, func(c Voice) bool { return strings.EqualFold(c.Language, language) }); ok {
		return c, nil
	}
	base := baseLanguage(language)
	if base == baseLanguage(v.Language) {
		return v, nil
	}
	if c, ok := bestMatch(v, func(c Voice) bool { return baseLanguage(c.Language) == base }); ok {
		return c, nil
	}
	return v, nil
}

// bestMatch returns the first built-in voice that matches, preferring one
// of v's gender.
func bestMatch(v Voice, match func(Voice) bool) (Voice, bool) {
	var first *Voice
	for i, c := range builtin {
		if !match(c) {
			continue
		}
		if sameGender(c, v) {
			return c, true
		}
		if first == nil {
			first = &builtin[i]
		}
	}
	if first == nil {
		return Voice{}, false
	}
	return *first, true
}

func sameGender(a, b Voice) bool {
	return a.Gender != nil && b.Gender != nil && *a.Gender == *b.Gender
}

// baseLanguage is the primary language subtag of a BCP-47 tag, lowercased:
// "en" for "en-US".
func baseLanguage(tag string) string {
	base, _, _ := strings.Cut(tag, "-")
	base, _, _ = strings.Cut(base, "_")
	return strings.ToLower(base)
}

// limitedWriter writes to w until n bytes have been written, then fails,
// which ends espeak-ng (its output pipe closes).
type limitedWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, fmt.Errorf("more than %d MiB of audio", maxOutput>>20)
	}
	l.n -= len(p)
	return l.w.Write(p)
}

// cappedBuffer keeps the first max bytes written to it and discards the
// rest without failing.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string { return c.buf.String() }

// Stream implements voice.Synthesizer: espeak-ng speaks a whole text at
// once (a sentence takes it tens of milliseconds), so the speech comes in
// one piece, at 22.05 kHz.
func (s *Synthesizer) Stream(ctx context.Context, req voice.SpeechRequest, emit func(audio.Frame) error) error {
	f, err := s.Synthesize(ctx, req.Text, req.Voice, req.Speed, req.Language)
	if err != nil {
		return err
	}
	return emit(f)
}
