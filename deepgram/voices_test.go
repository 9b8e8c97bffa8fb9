package deepgram_test

import (
	"context"
	"strings"
	"testing"

	"github.com/agentphone/agentphone/deepgram"
)

func TestCatalog(t *testing.T) {
	t.Parallel()
	voices, err := deepgram.Catalog{}.Voices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(voices) < 12 {
		t.Fatalf("%d voices", len(voices))
	}
	if voices[0].ID != "deepgram-aura-2-thalia-en" {
		t.Errorf("default voice %q", voices[0].ID)
	}
	seen := map[string]bool{}
	langs := map[string]int{}
	for _, v := range voices {
		if seen[v.ID] {
			t.Errorf("%s listed twice", v.ID)
		}
		seen[v.ID] = true
		model, ok := deepgram.ModelForVoice(v.ID)
		if !ok || deepgram.VoiceID(model) != v.ID || !strings.HasPrefix(model, "aura-2-") {
			t.Errorf("%s: model %q, %v", v.ID, model, ok)
		}
		if v.Provider != "deepgram" || v.Name == "" || v.Gender == nil || v.Accent == nil || v.Language == "" {
			t.Errorf("incomplete voice %+v", v)
		}
		if g := *v.Gender; g != "male" && g != "female" {
			t.Errorf("%s: gender %q", v.ID, g)
		}
		// The model's language suffix is the voice's language.
		if suffix := model[strings.LastIndex(model, "-")+1:]; !strings.HasPrefix(v.Language, suffix+"-") {
			t.Errorf("%s: language %q", v.ID, v.Language)
		}
		langs[v.Language[:2]]++
		if l, ok := deepgram.Lookup(v.ID); !ok || l.ID != v.ID {
			t.Errorf("Lookup(%s) = %+v, %v", v.ID, l, ok)
		}
	}
	if langs["en"] < 12 || langs["es"] < 3 {
		t.Errorf("languages %v, want a dozen English and a few Spanish voices", langs)
	}

	// The list is the caller's to change.
	*voices[0].Gender = "changed"
	again, _ := deepgram.Catalog{}.Voices(context.Background())
	if *again[0].Gender == "changed" {
		t.Error("Voices shares its list with callers")
	}
}

func TestModelForVoice(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]string{
		"deepgram-aura-2-thalia-en":  "aura-2-thalia-en",
		"deepgram-aura-2-sirio-es":   "aura-2-sirio-es",
		"deepgram-aura-asteria-en":   "aura-asteria-en",
		"deepgram-aura-2-newname-de": "aura-2-newname-de", // not listed, well formed
		"deepgram-":                  "",
		"deepgram-nova-3":            "",
		"aura-2-thalia-en":           "",
		"espeak-brian":               "",
		"openai-alloy":               "",
		"deepgram-aura-2-Thalia-en":  "",
		"deepgram-aura-2-thalia-en&": "",
		"deepgram-aura-2-thalia-en-": "",
		"deepgram-aura-2 thalia":     "",
		"":                           "",
	} {
		got, ok := deepgram.ModelForVoice(id)
		if got != want || ok != (want != "") {
			t.Errorf("ModelForVoice(%q) = %q, %v; want %q", id, got, ok, want)
		}
	}
	if _, ok := deepgram.Lookup("deepgram-aura-2-newname-de"); ok {
		t.Error("Lookup found an unlisted voice")
	}
}
