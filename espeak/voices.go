// Package espeak is the local text-to-speech provider: it speaks with the
// espeak-ng engine installed on the host, so calls work without any cloud
// account. voices.go lists its voices; synth.go speaks with them, running
// the espeak-ng binary once per utterance.
package espeak

import (
	"context"

	"github.com/agentphone/agentphone"
)

// Voice is one built-in voice: its public description and the espeak-ng
// voice and variant it speaks with.
type Voice struct {
	agentphone.Voice
	ESpeakVoice string // espeak-ng -v argument, e.g. "en-us+f3"
}

func builtinVoice(id, name, gender, accent, lang, spec string) Voice {
	return Voice{
		Voice: agentphone.Voice{
			ID: id, Name: name, Provider: "espeak", Gender: &gender, Accent: &accent, Language: lang,
		},
		ESpeakVoice: spec,
	}
}

// Voices are the built-in voices. The first is the default voice of new agents.
var builtin = []Voice{
	builtinVoice("espeak-skylar", "Skylar", "female", "American", "en-US", "en-us+f3"),
	builtinVoice("espeak-brian", "Brian", "male", "American", "en-US", "en-us+m3"),
	builtinVoice("espeak-olivia", "Olivia", "female", "British", "en-GB", "en-gb+f2"),
	builtinVoice("espeak-george", "George", "male", "British", "en-GB", "en-gb+m1"),
	builtinVoice("espeak-nicole", "Nicole", "female", "Australian", "en-AU", "en-au+f4"),
	builtinVoice("espeak-hanna", "Hanna", "female", "German", "de-DE", "de+f2"),
	builtinVoice("espeak-lukas", "Lukas", "male", "German", "de-DE", "de+m2"),
	builtinVoice("espeak-chloe", "Chloé", "female", "French", "fr-FR", "fr-fr+f3"),
	builtinVoice("espeak-lucia", "Lucía", "female", "Castilian", "es-ES", "es+f3"),
	builtinVoice("espeak-mateo", "Mateo", "male", "Latin American", "es-419", "es-419+m3"),
	builtinVoice("espeak-giulia", "Giulia", "female", "Italian", "it-IT", "it+f3"),
	builtinVoice("espeak-camila", "Camila", "female", "Brazilian", "pt-BR", "pt-br+f3"),
	builtinVoice("espeak-sanne", "Sanne", "female", "Dutch", "nl-NL", "nl+f3"),
}

// Catalog lists the built-in voices; it implements agentphone.VoiceCatalog.
type Catalog struct{}

var _ agentphone.VoiceCatalog = Catalog{}

// Voices implements agentphone.VoiceCatalog.
func (Catalog) Voices(ctx context.Context) ([]agentphone.Voice, error) {
	out := make([]agentphone.Voice, len(builtin))
	for i, v := range builtin {
		out[i] = v.Voice
	}
	return out, nil
}

// Lookup returns the built-in voice with that id.
func Lookup(id string) (Voice, bool) {
	for _, v := range builtin {
		if v.ID == id {
			return v, true
		}
	}
	return Voice{}, false
}
