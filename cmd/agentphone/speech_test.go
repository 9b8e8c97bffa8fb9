package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/agentphone/agentphone/elevenlabs/elevenlabstest"
)

// TestNewSpeech: which providers the configuration turns on, who listens,
// and whose first voice new agents get (GET /v1/agents/voices lists every
// configured provider's voices, the default provider's first).
func TestNewSpeech(t *testing.T) {
	t.Parallel()
	el := elevenlabstest.NewServer()
	t.Cleanup(el.Close)
	for _, tc := range []struct {
		name       string
		cfg        Config
		stt        string
		firstVoice string // prefix of the first voice listed
		has        []string
		err        string
	}{
		{name: "nothing configured", stt: "", firstVoice: "espeak-"},
		{name: "deepgram", cfg: Config{DeepgramAPIKey: "dg"}, stt: "deepgram", firstVoice: "deepgram-", has: []string{"espeak-skylar"}},
		{name: "deepgram and openai", cfg: Config{DeepgramAPIKey: "dg", OpenAIAPIKey: "sk"}, stt: "deepgram", firstVoice: "deepgram-",
			has: []string{"openai-alloy", "espeak-skylar"}},
		{name: "openai chosen", cfg: Config{DeepgramAPIKey: "dg", OpenAIAPIKey: "sk", STTProvider: "openai", TTSProvider: "openai"},
			stt: "openai", firstVoice: "openai-alloy"},
		{name: "openai realtime", cfg: Config{DeepgramAPIKey: "dg", OpenAIAPIKey: "sk", STTProvider: "openai-realtime"},
			stt: "openai-realtime", firstVoice: "deepgram-"},
		{name: "whisper server", cfg: Config{STTBaseURL: "http://127.0.0.1:8000/v1"}, stt: "openai-compatible", firstVoice: "espeak-"},
		{name: "recognition off", cfg: Config{DeepgramAPIKey: "dg", STTProvider: "none"}, stt: "", firstVoice: "deepgram-"},
		{name: "elevenlabs first", cfg: Config{ElevenLabsAPIKey: el.APIKey, ElevenLabsBaseURL: el.URL, DeepgramAPIKey: "dg"},
			stt: "deepgram", firstVoice: "11labs-", has: []string{"deepgram-aura-2-thalia-en", "espeak-skylar"}},
		{name: "espeak asked for", cfg: Config{DeepgramAPIKey: "dg", TTSProvider: "espeak"}, stt: "deepgram", firstVoice: "espeak-skylar"},
		{name: "stt provider not configured", cfg: Config{STTProvider: "deepgram"}, err: "--stt-provider"},
		{name: "tts provider not configured", cfg: Config{TTSProvider: "elevenlabs"}, err: "--tts-provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			sp, err := newSpeech(context.Background(), &cfg, slog.New(slog.DiscardHandler))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			streamed := tc.stt == "deepgram" || tc.stt == "openai-realtime"
			if sp.sttName != tc.stt || (sp.listen != nil) != streamed ||
				(sp.listenFile != nil) != (strings.HasPrefix(tc.stt, "openai") && !streamed) {
				t.Fatalf("recognition %q (stream %v, per file %v), want %q", sp.sttName, sp.listen != nil, sp.listenFile != nil, tc.stt)
			}
			vs, err := sp.voices.Voices(context.Background())
			if err != nil || len(vs) == 0 || !strings.HasPrefix(vs[0].ID, tc.firstVoice) {
				t.Fatalf("voices %v, %v: want %s… first", vs, err, tc.firstVoice)
			}
			ids := map[string]bool{}
			for _, v := range vs {
				if ids[v.ID] {
					t.Fatalf("voice %s listed twice", v.ID)
				}
				ids[v.ID] = true
			}
			for _, id := range tc.has {
				if !ids[id] {
					t.Fatalf("voice %s not listed", id)
				}
			}
		})
	}
}
