package openai_test

import (
	"context"
	"strings"
	"testing"

	"github.com/agentphone/agentphone/openai"
)

func TestCatalog_Voices(t *testing.T) {
	t.Parallel()
	vs, err := openai.Catalog{}.Voices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse", "marin", "cedar"}
	if len(vs) != len(want) {
		t.Errorf("%d voices, want %d", len(vs), len(want))
	}
	if vs[0].ID != "openai-alloy" {
		t.Errorf("first (default) voice %q, want openai-alloy", vs[0].ID)
	}
	byName := map[string]bool{}
	for _, v := range vs {
		name, ok := openai.VoiceName(v.ID)
		if !ok || openai.VoiceID(name) != v.ID {
			t.Errorf("voice %q does not map back and forth (%q, %v)", v.ID, name, ok)
		}
		if v.Provider != "openai" || v.Language != "en-US" || !strings.EqualFold(v.Name, name) || v.Name[:1] != strings.ToUpper(name[:1]) {
			t.Errorf("voice %+v", v)
		}
		if byName[name] {
			t.Errorf("voice %q listed twice", name)
		}
		byName[name] = true
	}
	for _, n := range want {
		if !byName[n] {
			t.Errorf("voice %q missing", n)
		}
	}
}

func TestCatalog_Names(t *testing.T) {
	t.Parallel()
	vs, _ := openai.Catalog{Names: []string{"af_bella", "", "am_adam"}}.Voices(context.Background())
	if len(vs) != 2 || vs[0].ID != "openai-af_bella" || vs[0].Name != "Af_bella" || vs[1].ID != "openai-am_adam" {
		t.Errorf("voices %+v", vs)
	}
}

func TestVoiceName(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]string{
		"openai-alloy": "alloy", "openai-voice_1234": "voice_1234", "openai-": "", "alloy": "", "espeak-brian": "", "": "", "OPENAI-alloy": "",
	} {
		got, ok := openai.VoiceName(id)
		if got != want || ok != (want != "") {
			t.Errorf("VoiceName(%q) = %q, %v; want %q", id, got, ok, want)
		}
	}
}
