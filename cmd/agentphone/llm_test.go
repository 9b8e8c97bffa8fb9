package main

import (
	"log/slog"
	"maps"
	"strings"
	"testing"
)

// TestNewLLM: which language model the configuration turns on, and the
// model of each modelTier.
func TestNewLLM(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		cfg    Config
		want   string            // the provider's name; "" for none
		models map[string]string // nil: not checked
		err    string
	}{
		{name: "nothing configured", want: ""},
		{name: "openai", cfg: Config{OpenAIAPIKey: "sk"}, want: "openai",
			models: map[string]string{"turbo": "gpt-4.1-nano", "balanced": "gpt-4.1-mini", "max": "gpt-4.1"}},
		{name: "anthropic", cfg: Config{AnthropicAPIKey: "sk-ant"}, want: "anthropic",
			models: map[string]string{"turbo": "claude-haiku-4-5", "balanced": "claude-sonnet-4-5", "max": "claude-opus-4-1"}},
		{name: "both: openai first", cfg: Config{OpenAIAPIKey: "sk", AnthropicAPIKey: "sk-ant"}, want: "openai"},
		{name: "both: anthropic chosen", cfg: Config{OpenAIAPIKey: "sk", AnthropicAPIKey: "sk-ant", LLMProvider: "anthropic"}, want: "anthropic"},
		{name: "compatible server", cfg: Config{LLMBaseURL: "http://127.0.0.1:11434/v1", LLMModelBalanced: "llama3.1", LLMModelMax: "llama3.1:70b"},
			want: "openai-compatible", models: map[string]string{"balanced": "llama3.1", "max": "llama3.1:70b"}},
		{name: "tier override", cfg: Config{OpenAIAPIKey: "sk", LLMModelTurbo: "gpt-4o-mini"}, want: "openai",
			models: map[string]string{"turbo": "gpt-4o-mini", "balanced": "gpt-4.1-mini", "max": "gpt-4.1"}},
		{name: "turned off", cfg: Config{OpenAIAPIKey: "sk", LLMProvider: "none"}, want: ""},
		{name: "anthropic not configured", cfg: Config{LLMProvider: "anthropic"}, err: "ANTHROPIC_API_KEY"},
		{name: "openai not configured", cfg: Config{LLMProvider: "openai"}, err: "OPENAI_API_KEY"},
		{name: "unknown provider", cfg: Config{LLMProvider: "gemini"}, err: "--llm-provider"},
		{name: "bad base url", cfg: Config{LLMBaseURL: "localhost:11434"}, err: "--llm-base-url"},
		{name: "bad time zone", cfg: Config{Timezone: "Mars/Olympus"}, err: "AGENTPHONE_TIMEZONE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newLLM(&tc.cfg, slog.New(slog.DiscardHandler))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.name != tc.want || (got.model != nil) != (tc.want != "") {
				t.Fatalf("provider %q (model %v), want %q", got.name, got.model, tc.want)
			}
			if tc.models != nil && !maps.Equal(got.models, tc.models) {
				t.Fatalf("models %v, want %v", got.models, tc.models)
			}
		})
	}
}
