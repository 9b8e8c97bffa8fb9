package deepgram

import (
	"context"
	"strings"

	"github.com/agentphone/agentphone"
)

// VoicePrefix starts the id of every Deepgram voice: "deepgram-" and the
// Aura model, e.g. "deepgram-aura-2-thalia-en".
const VoicePrefix = "deepgram-"

// aura describes one Aura voice as Deepgram's "Voices and Languages"
// page does (expressed gender, accent, language).
func aura(model, name, gender, accent, lang string) agentphone.Voice {
	return agentphone.Voice{
		ID: VoicePrefix + model, Name: name, Provider: "deepgram",
		Gender: &gender, Accent: &accent, Language: lang,
	}
}

// builtin are the listed voices: Deepgram's featured Aura-2 English voices
// and a few of its other accents, then Spanish ones. The first is the
// default of new agents.
var builtin = []agentphone.Voice{
	aura("aura-2-thalia-en", "Thalia", "female", "American", "en-US"),
	aura("aura-2-andromeda-en", "Andromeda", "female", "American", "en-US"),
	aura("aura-2-helena-en", "Helena", "female", "American", "en-US"),
	aura("aura-2-apollo-en", "Apollo", "male", "American", "en-US"),
	aura("aura-2-arcas-en", "Arcas", "male", "American", "en-US"),
	aura("aura-2-aries-en", "Aries", "male", "American", "en-US"),
	aura("aura-2-asteria-en", "Asteria", "female", "American", "en-US"),
	aura("aura-2-athena-en", "Athena", "female", "American", "en-US"),
	aura("aura-2-luna-en", "Luna", "female", "American", "en-US"),
	aura("aura-2-orion-en", "Orion", "male", "American", "en-US"),
	aura("aura-2-zeus-en", "Zeus", "male", "American", "en-US"),
	aura("aura-2-draco-en", "Draco", "male", "British", "en-GB"),
	aura("aura-2-pandora-en", "Pandora", "female", "British", "en-GB"),
	aura("aura-2-hyperion-en", "Hyperion", "male", "Australian", "en-AU"),
	aura("aura-2-amalthea-en", "Amalthea", "female", "Filipino", "en-PH"),
	aura("aura-2-celeste-es", "Celeste", "female", "Colombian", "es-CO"),
	aura("aura-2-estrella-es", "Estrella", "female", "Mexican", "es-MX"),
	aura("aura-2-sirio-es", "Sirio", "male", "Mexican", "es-MX"),
	aura("aura-2-nestor-es", "Nestor", "male", "Peninsular", "es-ES"),
	aura("aura-2-carina-es", "Carina", "female", "Peninsular", "es-ES"),
}

// Catalog lists the Aura voices; it implements agentphone.VoiceCatalog.
type Catalog struct{}

var _ agentphone.VoiceCatalog = Catalog{}

// Voices implements agentphone.VoiceCatalog. The list is static: it does
// not ask Deepgram.
func (Catalog) Voices(ctx context.Context) ([]agentphone.Voice, error) {
	out := make([]agentphone.Voice, len(builtin))
	for i, v := range builtin {
		out[i] = clone(v)
	}
	return out, nil
}

// clone copies v with its own Gender and Accent, so that callers cannot
// change the list.
func clone(v agentphone.Voice) agentphone.Voice {
	gender, accent := *v.Gender, *v.Accent
	v.Gender, v.Accent = &gender, &accent
	return v
}

// Lookup returns the listed voice with that id.
func Lookup(id string) (agentphone.Voice, bool) {
	for _, v := range builtin {
		if v.ID == id {
			return clone(v), true
		}
	}
	return agentphone.Voice{}, false
}

// ModelForVoice returns the Aura model of a Deepgram voice id:
// "aura-2-thalia-en" for "deepgram-aura-2-thalia-en". Any well-formed id
// of an Aura model is accepted, listed or not, so voices Deepgram adds work
// before the list knows them: "deepgram-" then "aura-" and lowercase
// letters, digits and dashes.
func ModelForVoice(id string) (string, bool) {
	model, ok := strings.CutPrefix(id, VoicePrefix)
	if !ok || !strings.HasPrefix(model, "aura-") || len(model) > 64 || strings.HasSuffix(model, "-") {
		return "", false
	}
	for _, r := range model {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return "", false
		}
	}
	return model, true
}

// VoiceID is the voice id of an Aura model: "deepgram-" + model.
func VoiceID(model string) string { return VoicePrefix + model }

// voiceFor is the first listed voice of language's primary subtag ("es"
// for "es-419"), else the first voice.
func voiceFor(language string) agentphone.Voice {
	base := baseLanguage(language)
	for _, v := range builtin {
		if base != "" && baseLanguage(v.Language) == base {
			return v
		}
	}
	return builtin[0]
}

func baseLanguage(tag string) string {
	base, _, _ := strings.Cut(tag, "-")
	base, _, _ = strings.Cut(base, "_")
	return strings.ToLower(base)
}
