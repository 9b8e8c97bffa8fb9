package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/agentphone/agentphone/anthropic"
	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/voice"
)

// LLM providers by name (--llm-provider).
const providerAnthropic = "anthropic"

// Default models of each modelTier, by provider (docs/hosted.md).
var defaultModels = map[string]map[string]string{
	providerOpenAI:    {"turbo": "gpt-4.1-nano", "balanced": "gpt-4.1-mini", "max": "gpt-4.1"},
	providerAnthropic: {"turbo": "claude-haiku-4-5", "balanced": "claude-sonnet-4-5", "max": "claude-opus-4-1"},
}

// llm is the language model hosted agents talk with.
type llm struct {
	model  voice.LLM         // nil: none configured
	name   string            // "openai", "openai-compatible", "anthropic" or ""
	models map[string]string // modelTier → model name
	loc    *time.Location    // the time zone of {{current_time}}
}

// msgNoLLM is why hosted mode is refused on a server without a model.
const msgNoLLM = "Hosted mode (the built-in LLM) needs a language model, and none is configured on this server: set OPENAI_API_KEY, ANTHROPIC_API_KEY, or AGENTPHONE_LLM_BASE_URL for an OpenAI-compatible server (Ollama, vLLM, llama.cpp), then restart it"

// newLLM builds the language model cfg enables: OpenAI's chat completions
// when OPENAI_API_KEY is set (at OPENAI_BASE_URL), or any server of that
// API at --llm-base-url; Anthropic's Messages API when ANTHROPIC_API_KEY is
// set; --llm-provider chooses when several are. Each modelTier maps to the
// provider's default model unless --llm-model-<tier> says otherwise; for
// an OpenAI-compatible server a tier not given takes balanced's model.
func newLLM(cfg *Config, logger *slog.Logger) (*llm, error) {
	out := &llm{loc: time.UTC}
	if cfg.Timezone != "" {
		loc, err := time.LoadLocation(cfg.Timezone)
		if err != nil {
			return nil, fmt.Errorf("--timezone / AGENTPHONE_TIMEZONE %q: %w", cfg.Timezone, err)
		}
		out.loc = loc
	}
	openAIOn := cfg.OpenAIAPIKey != "" || cfg.LLMBaseURL != ""
	anthropicOn := cfg.AnthropicAPIKey != ""
	provider := cfg.LLMProvider
	switch provider {
	case "":
		switch {
		case openAIOn:
			provider = providerOpenAI
		case anthropicOn:
			provider = providerAnthropic
		default:
			provider = providerNone
		}
	case providerOpenAI:
		if !openAIOn {
			return nil, fmt.Errorf("--llm-provider openai needs OPENAI_API_KEY or --llm-base-url (AGENTPHONE_LLM_BASE_URL)")
		}
	case providerAnthropic:
		if !anthropicOn {
			return nil, fmt.Errorf("--llm-provider anthropic needs ANTHROPIC_API_KEY")
		}
	case providerNone:
	default:
		return nil, fmt.Errorf("--llm-provider %q: want openai, anthropic or none", provider)
	}
	defaults := defaultModels[provider]
	switch provider {
	case providerOpenAI:
		c, err := openai.NewChat(openai.Config{
			APIKey:  cmp.Or(cfg.LLMAPIKey, cfg.OpenAIAPIKey),
			BaseURL: cmp.Or(cfg.LLMBaseURL, cfg.OpenAIBaseURL),
		})
		if err != nil {
			return nil, fmt.Errorf("the LLM (OPENAI_BASE_URL / --llm-base-url): %w", err)
		}
		out.model, out.name = c, providerOpenAI
		if cfg.LLMBaseURL != "" {
			out.name = "openai-compatible"
			defaults = map[string]string{"balanced": defaults["balanced"]}
		}
	case providerAnthropic:
		c, err := anthropic.New(anthropic.Config{APIKey: cfg.AnthropicAPIKey, BaseURL: cfg.AnthropicBaseURL})
		if err != nil {
			return nil, fmt.Errorf("the LLM (ANTHROPIC_BASE_URL): %w", err)
		}
		out.model, out.name = c, providerAnthropic
	default:
		logger.Info("no language model is configured: hosted agents (voiceMode hosted) and conversation calls are refused; set OPENAI_API_KEY, ANTHROPIC_API_KEY or AGENTPHONE_LLM_BASE_URL to enable them")
		return out, nil
	}
	out.models = map[string]string{}
	for tier, m := range map[string]string{"turbo": cfg.LLMModelTurbo, "balanced": cfg.LLMModelBalanced, "max": cfg.LLMModelMax} {
		if v := cmp.Or(m, defaults[tier]); v != "" {
			out.models[tier] = v
		}
	}
	logger.Info("language model", "provider", out.name, "models", out.models)
	return out, nil
}
