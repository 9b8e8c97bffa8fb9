package openai

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentphone/agentphone"
)

// VoicePrefix begins the id of every voice of this provider: agents store
// "openai-alloy" for OpenAI's voice "alloy".
const VoicePrefix = "openai-"

// DefaultVoice is the voice spoken when a request names none: the first
// of the catalogue, one of the six voices every server that copies the
// speech API knows.
const DefaultVoice = "alloy"

// ErrUnknownVoice is wrapped by the errors of Speaker.Stream for a voice
// id that is not one of this provider's ("openai-…").
var ErrUnknownVoice = errors.New("unknown voice")

// builtin are OpenAI's built-in voices (the speech API's reference lists
// alloy, ash, ballad, coral, echo, fable, onyx, nova, sage, shimmer,
// verse, marin and cedar). The original six come first: self-hosted
// servers that copy the API know those.
var builtin = []string{
	"alloy", "echo", "fable", "onyx", "nova", "shimmer",
	"ash", "ballad", "coral", "sage", "verse", "marin", "cedar",
}

// Catalog lists voices as agentphone.Voices of provider "openai", with ids
// "openai-<name>". OpenAI publishes no gender or accent for its voices, so
// those are nil; the language is "en-US", the one they are tuned for
// (they speak the language of the text). The zero Catalog lists OpenAI's
// built-in voices, alloy first (the default of new agents).
type Catalog struct {
	// Names replaces the built-in voices, for a self-hosted server with
	// voices of its own (e.g. Kokoro's "af_bella"). The first is the
	// default.
	Names []string
}

var _ agentphone.VoiceCatalog = Catalog{}

// Voices implements agentphone.VoiceCatalog.
func (c Catalog) Voices(ctx context.Context) ([]agentphone.Voice, error) {
	names := c.Names
	if names == nil {
		names = builtin
	}
	out := make([]agentphone.Voice, 0, len(names))
	for _, n := range names {
		if n == "" {
			continue
		}
		out = append(out, agentphone.Voice{
			ID:       VoiceID(n),
			Name:     displayName(n),
			Provider: "openai",
			Language: "en-US",
		})
	}
	return out, nil
}

// VoiceID is the voice id agents store for the server's voice name:
// "openai-alloy" for "alloy".
func VoiceID(name string) string { return VoicePrefix + name }

// VoiceName is the server's voice name for a voice id: "alloy" for
// "openai-alloy". Any name after the prefix is passed on as it is, so a
// self-hosted server's voices and voices OpenAI adds later work without a
// change here. ok is false for an id without the prefix or with nothing
// after it.
func VoiceName(id string) (name string, ok bool) {
	name, ok = strings.CutPrefix(id, VoicePrefix)
	if !ok || name == "" {
		return "", false
	}
	return name, true
}

// displayName capitalizes a voice name: "Alloy" for "alloy".
func displayName(n string) string {
	r, size := utf8.DecodeRuneInString(n)
	return string(unicode.ToUpper(r)) + n[size:]
}
