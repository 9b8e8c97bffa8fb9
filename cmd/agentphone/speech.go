package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/deepgram"
	"github.com/agentphone/agentphone/elevenlabs"
	"github.com/agentphone/agentphone/espeak"
	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/voice"
)

// speech is the speech providers the configuration enables: who listens
// to callers, who speaks for agents, and the voices agents may choose.
type speech struct {
	listen     voice.Transcriber     // streaming recognition, or nil
	listenFile voice.FileTranscriber // per-utterance recognition, or nil
	sttName    string                // "deepgram", "openai", "openai-compatible" or "" (none)
	speak      *voice.SpeechCache    // routes each voice to its provider
	ttsName    string                // the provider of new agents' default voice
	voices     agentphone.VoiceCatalog
}

// Speech providers by name (--stt-provider, --tts-provider).
const (
	providerDeepgram   = "deepgram"
	providerOpenAI     = "openai"
	providerElevenLabs = "elevenlabs"
	providerESpeak     = "espeak"
	providerNone       = "none"
	// providerOpenAIRealtime is OpenAI's Realtime transcription: one
	// stream per call, like Deepgram's (chosen by --stt-provider only).
	providerOpenAIRealtime = "openai-realtime"
)

// newSpeech builds the providers cfg enables. Speech recognition:
// Deepgram when DEEPGRAM_API_KEY is set, else OpenAI's transcriptions when
// OPENAI_API_KEY is set, or any server of that API at --stt-base-url;
// --stt-provider chooses when several are. Speech: espeak-ng always, plus
// ElevenLabs, Deepgram Aura and OpenAI speech (or a server of its API at
// --tts-base-url) when configured; each agent's voice names its provider,
// and --tts-provider picks whose first voice new agents get.
func newSpeech(ctx context.Context, cfg *Config, logger *slog.Logger) (*speech, error) {
	sp := &speech{}
	tts := &espeak.Synthesizer{}
	if err := tts.Available(ctx); err != nil {
		logger.Warn("espeak-ng is not installed: agents with espeak voices cannot speak; run scripts/setup (or apt-get install espeak-ng)", "err", err)
	}
	speakers := &voice.Speakers{ByPrefix: map[string]voice.Synthesizer{
		"espeak": tts,
	}}
	catalogs := map[string]agentphone.VoiceCatalog{providerESpeak: espeak.Catalog{}}

	if cfg.ElevenLabsAPIKey != "" {
		el, err := elevenlabs.New(elevenlabs.Config{APIKey: cfg.ElevenLabsAPIKey, BaseURL: cfg.ElevenLabsBaseURL, Model: cfg.ElevenLabsModel, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("ElevenLabs (ELEVENLABS_API_KEY): %w", err)
		}
		if err := el.Catalog().Refresh(ctx); err != nil {
			logger.Warn("listing the ElevenLabs account's voices failed; its premade voices are offered meanwhile", "err", err)
		}
		speakers.ByPrefix["11labs"] = el
		catalogs[providerElevenLabs] = el.Catalog()
	}
	if cfg.DeepgramAPIKey != "" {
		speakers.ByPrefix["deepgram"] = &deepgram.Speaker{APIKey: cfg.DeepgramAPIKey, BaseURL: cfg.DeepgramBaseURL}
		catalogs[providerDeepgram] = deepgram.Catalog{}
	}
	openAISpeech := cfg.OpenAIAPIKey != "" || cfg.TTSBaseURL != ""
	if openAISpeech {
		o, err := openai.NewSpeaker(openai.Config{
			APIKey: cfg.OpenAIAPIKey, BaseURL: cmp.Or(cfg.TTSBaseURL, cfg.OpenAIBaseURL), SpeechModel: cfg.TTSModel,
		})
		if err != nil {
			return nil, fmt.Errorf("OpenAI speech (--tts-base-url / OPENAI_BASE_URL): %w", err)
		}
		speakers.ByPrefix["openai"] = o
		catalogs[providerOpenAI] = openai.Catalog{}
	}
	sp.speak = &voice.SpeechCache{Synth: speakers}

	// The default voice's provider: the one asked for, else the first
	// cloud voice configured, else espeak.
	switch name := cfg.TTSProvider; {
	case name != "":
		if catalogs[name] == nil {
			return nil, fmt.Errorf("--tts-provider (AGENTPHONE_TTS_PROVIDER) is %q, which is not configured: configured are %s", name, strings.Join(keys(catalogs), ", "))
		}
		sp.ttsName = name
	default:
		for _, name := range []string{providerElevenLabs, providerDeepgram, providerOpenAI, providerESpeak} {
			if catalogs[name] != nil {
				sp.ttsName = name
				break
			}
		}
	}
	order := []agentphone.VoiceCatalog{catalogs[sp.ttsName]}
	for _, name := range []string{providerESpeak, providerElevenLabs, providerDeepgram, providerOpenAI} {
		if c := catalogs[name]; c != nil && name != sp.ttsName {
			order = append(order, c)
		}
	}
	sp.voices = mergedCatalog(order)

	// Speech recognition.
	enabled := map[string]bool{
		providerDeepgram:       cfg.DeepgramAPIKey != "",
		providerOpenAI:         cfg.OpenAIAPIKey != "" || cfg.STTBaseURL != "",
		providerOpenAIRealtime: cfg.OpenAIAPIKey != "" || cfg.STTBaseURL != "",
	}
	name := cfg.STTProvider
	switch {
	case name == providerNone:
	case name != "":
		if !enabled[name] {
			return nil, fmt.Errorf("--stt-provider (AGENTPHONE_STT_PROVIDER) is %q, which is not configured (set DEEPGRAM_API_KEY, OPENAI_API_KEY or --stt-base-url)", name)
		}
	case enabled[providerDeepgram]:
		name = providerDeepgram
	case enabled[providerOpenAI]:
		name = providerOpenAI
	}
	switch name {
	case providerDeepgram:
		sp.listen = &deepgram.Transcriber{APIKey: cfg.DeepgramAPIKey, BaseURL: cfg.DeepgramBaseURL,
			FastModel: cfg.STTModel, AccurateModel: cmp.Or(cfg.STTModelAccurate, cfg.STTModel), Logger: logger}
		sp.sttName = providerDeepgram
	case providerOpenAI:
		t, err := openai.NewTranscriber(openai.Config{
			APIKey: cfg.OpenAIAPIKey, BaseURL: cmp.Or(cfg.STTBaseURL, cfg.OpenAIBaseURL),
			FastTranscriptionModel: cfg.STTModel, AccurateTranscriptionModel: cmp.Or(cfg.STTModelAccurate, cfg.STTModel),
		})
		if err != nil {
			return nil, fmt.Errorf("OpenAI transcription (--stt-base-url / OPENAI_BASE_URL): %w", err)
		}
		sp.listenFile = t
		sp.sttName = providerOpenAI
		if cfg.STTBaseURL != "" {
			sp.sttName = "openai-compatible"
		}
	case providerOpenAIRealtime:
		t, err := openai.NewRealtimeTranscriber(openai.Config{
			APIKey: cfg.OpenAIAPIKey, BaseURL: cmp.Or(cfg.STTBaseURL, cfg.OpenAIBaseURL),
			FastTranscriptionModel: cfg.STTModel, AccurateTranscriptionModel: cmp.Or(cfg.STTModelAccurate, cfg.STTModel),
		}, openai.RealtimeOptions{Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("OpenAI Realtime transcription (--stt-base-url / OPENAI_BASE_URL): %w", err)
		}
		sp.listen = t
		sp.sttName = providerOpenAIRealtime
	}
	if sp.sttName == "" {
		logger.Warn("no speech-to-text provider is configured: calls are answered, greeted and recorded, keys are heard, but callers' words are not understood (set DEEPGRAM_API_KEY, OPENAI_API_KEY, or --stt-base-url for a whisper server)")
	} else {
		logger.Info("speech providers", "stt", sp.sttName, "tts_default", sp.ttsName)
	}
	return sp, nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// mergedCatalog lists the voices of several providers, in order (the
// first voice is new agents' default); a provider that fails to list is
// left out.
type mergedCatalog []agentphone.VoiceCatalog

func (m mergedCatalog) Voices(ctx context.Context) ([]agentphone.Voice, error) {
	var out []agentphone.Voice
	var firstErr error
	for _, c := range m {
		vs, err := c.Voices(ctx)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		out = append(out, vs...)
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
