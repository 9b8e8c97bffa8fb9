package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/twilio"
	"github.com/agentphone/agentphone/webhook"
)

// Config is the server's configuration. Every field has a flag and an
// AGENTPHONE_* environment variable; a flag given on the command line wins
// over the variable, which wins over the default.
type Config struct {
	Addr                 string        // HTTP listen address
	DatabaseURL          string        // sqlite:PATH or postgres://…
	APIKey               string        // a fixed API key registered for the default account
	PublicURL            string        // the base URL clients use; default http://<addr>
	LogLevel             string        // debug, info, warn, error
	LogFormat            string        // text or json
	MaxNumbersPerAccount int           // cap on active numbers per (sub-)account; 0 = none
	ShutdownTimeout      time.Duration // how long in-flight requests may finish on SIGTERM
	DefaultAccount       string        // name of the account created on first start
	WebhookBlockPrivate  bool          // refuse webhook URLs that resolve to private addresses
	WebhookLogRetention  time.Duration // how long finished deliveries stay in the delivery log
	WebhookRetrySchedule string        // delays before delivery attempts 2…, comma-separated durations
	WebhookWorkers       int           // deliveries attempted at once
	WebhookRescueAfter   time.Duration // how long after its attempt began a delivery cut off by a crash is attempted again
	MessageRetrySchedule string        // delays before hand-overs 2… of a message its carrier could not take yet
	NumberProvider       string        // who sells new numbers: sandbox or twilio; "" = twilio when configured
	TwilioAccountSID     string        // Twilio account (AC…); Twilio is configured when set
	TwilioAuthToken      string        // its auth token: REST calls, and the key of X-Twilio-Signature
	TwilioAPIKey         string        // an API key (SK…) of the account, used for REST calls instead of the auth token
	TwilioAPISecret      string        // the API key's secret
	TwilioBaseURL        string        // Twilio's REST API base URL
	TwilioCountries      string        // countries Twilio numbers are bought in, comma-separated
	SIPAddr              string        // SIP listen address (UDP and TCP); "" = no SIP
	SIPTLSAddr           string        // SIP over TLS (with SRTP) listen address; "" = none
	SIPTLSCert           string        // PEM certificate (chain) of SIP over TLS
	SIPTLSKey            string        // its PEM private key
	SIPTLSCA             string        // PEM CAs trusted for calls placed over TLS ("" = the system's)
	SIPExternalHost      string        // address in Contact and SDP for peers (behind NAT: the public IP)
	RTPPorts             string        // media port range "MIN-MAX"; "" = any free port
	SIPTrunks            string        // JSON file of SIP trunks
	SIPAnswerDelay       time.Duration // how long inbound calls ring before the answer
	SIPInviteRate        float64       // new INVITEs per second from one source address; 0 = no bound
	SIPTrustLoopback     bool          // accept INVITEs from loopback without a trunk
	RecordingsDir        string        // where call recordings are written
	MaxCallDuration      time.Duration // longest call
	MaxConcurrentCalls   int           // calls at once per (sub-)account; 0 = no limit
	RecordCalls          bool          // record calls of accounts without their own setting
	DeepgramAPIKey       string        // Deepgram: live speech recognition and Aura voices
	DeepgramBaseURL      string        // Deepgram's API base URL ("" = Deepgram's)
	OpenAIAPIKey         string        // OpenAI: transcription and speech
	OpenAIBaseURL        string        // OpenAI's API base URL, with its /v1 ("" = OpenAI's)
	ElevenLabsAPIKey     string        // ElevenLabs voices
	ElevenLabsBaseURL    string        // ElevenLabs' API base URL ("" = ElevenLabs')
	ElevenLabsModel      string        // ElevenLabs model ("" = eleven_flash_v2_5)
	STTProvider          string        // deepgram, openai or none; "" = the first configured
	TTSProvider          string        // espeak, elevenlabs, deepgram or openai: new agents' default voice
	STTBaseURL           string        // an OpenAI-compatible transcription server (whisper.cpp, faster-whisper)
	TTSBaseURL           string        // an OpenAI-compatible speech server
	STTModel             string        // recognition model of sttMode fast (and accurate unless set)
	STTModelAccurate     string        // recognition model of sttMode accurate
	TTSModel             string        // OpenAI-compatible speech model
	PprofAddr            string        // where Go's profiles and traces are served; "" = nowhere
	AnthropicAPIKey      string        // Anthropic: the LLM of hosted agents
	AnthropicBaseURL     string        // Anthropic's API base URL ("" = Anthropic's)
	LLMProvider          string        // openai, anthropic or none; "" = the first configured
	LLMBaseURL           string        // an OpenAI-compatible chat server for the LLM alone
	LLMAPIKey            string        // that server's key ("" = OPENAI_API_KEY)
	LLMModelTurbo        string        // model of modelTier turbo
	LLMModelBalanced     string        // model of modelTier balanced
	LLMModelMax          string        // model of modelTier max
	Timezone             string        // time zone of hosted prompts' {{current_time}}
}

// setting binds one Config field to its flag and environment variable.
type setting struct {
	flag, env, usage string
	bind             func(fs *pflag.FlagSet, name, usage string)
}

func settings(c *Config) []setting {
	str := func(p *string, def string) func(*pflag.FlagSet, string, string) {
		return func(fs *pflag.FlagSet, name, usage string) { fs.StringVar(p, name, def, usage) }
	}
	return []setting{
		{"database-url", "AGENTPHONE_DATABASE_URL", "database: sqlite:PATH (relative or absolute, sqlite:///abs/path.db too) or postgres://user@host/db", str(&c.DatabaseURL, "sqlite:./data/agentphone.db")},
		{"log-level", "AGENTPHONE_LOG_LEVEL", "log level: debug, info, warn, error", str(&c.LogLevel, "info")},
		{"log-format", "AGENTPHONE_LOG_FORMAT", "log format: text or json", str(&c.LogFormat, "text")},
	}
}

// serveSettings are the settings only serve uses.
func serveSettings(c *Config) []setting {
	str := func(p *string, def string) func(*pflag.FlagSet, string, string) {
		return func(fs *pflag.FlagSet, name, usage string) { fs.StringVar(p, name, def, usage) }
	}
	return []setting{
		{"addr", "AGENTPHONE_ADDR", "HTTP listen address", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.Addr, n, "127.0.0.1:8080", u) }},
		{"api-key", "AGENTPHONE_API_KEY", "register this exact API key (at least 16 characters) for the default account", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.APIKey, n, "", u) }},
		{"public-url", "AGENTPHONE_PUBLIC_URL", "base URL clients reach this server at (default http://<addr>)", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.PublicURL, n, "", u) }},
		{"max-numbers-per-account", "AGENTPHONE_MAX_NUMBERS_PER_ACCOUNT", "most active numbers one (sub-)account may hold; 0 = no limit", func(fs *pflag.FlagSet, n, u string) { fs.IntVar(&c.MaxNumbersPerAccount, n, 1000, u) }},
		{"shutdown-timeout", "AGENTPHONE_SHUTDOWN_TIMEOUT", "how long in-flight requests may finish after SIGTERM", func(fs *pflag.FlagSet, n, u string) { fs.DurationVar(&c.ShutdownTimeout, n, 15*time.Second, u) }},
		{"default-account", "AGENTPHONE_DEFAULT_ACCOUNT", "name of the account created on first start", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.DefaultAccount, n, "default", u) }},
		{"webhook-block-private", "AGENTPHONE_WEBHOOK_BLOCK_PRIVATE", "refuse to deliver webhooks to loopback, private and link-local addresses (for multi-tenant servers)", func(fs *pflag.FlagSet, n, u string) { fs.BoolVar(&c.WebhookBlockPrivate, n, false, u) }},
		{"webhook-retry-schedule", "AGENTPHONE_WEBHOOK_RETRY_SCHEDULE", "delays before webhook delivery attempts 2, 3, …, comma-separated (one attempt more than delays; \"\" = no retries)", func(fs *pflag.FlagSet, n, u string) {
			fs.StringVar(&c.WebhookRetrySchedule, n, webhook.DefaultSchedule.String(), u)
		}},
		{"webhook-workers", "AGENTPHONE_WEBHOOK_WORKERS", "webhook deliveries attempted at once", func(fs *pflag.FlagSet, n, u string) {
			fs.IntVar(&c.WebhookWorkers, n, webhook.DefaultOutboxWorkers, u)
		}},
		{"webhook-rescue-after", "AGENTPHONE_WEBHOOK_RESCUE_AFTER", "a webhook delivery in flight when the process died is attempted again this long after its attempt began; must exceed the largest webhook timeout (at most 120 s), or slow receivers get duplicates: a live attempt that takes longer is taken for lost and made again alongside", func(fs *pflag.FlagSet, n, u string) {
			fs.DurationVar(&c.WebhookRescueAfter, n, webhook.DefaultRescueAfter, u)
		}},
		{"message-retry-schedule", "AGENTPHONE_MESSAGE_RETRY_SCHEDULE", "delays before hand-overs 2, 3, … of an outbound message its carrier could not take yet (rate limit, outage), comma-separated; then it fails (\"\" = no retries)", func(fs *pflag.FlagSet, n, u string) {
			fs.StringVar(&c.MessageRetrySchedule, n, webhook.Schedule(agentphone.DefaultSendRetry).String(), u)
		}},
		{"number-provider", "AGENTPHONE_NUMBER_PROVIDER", "who sells the numbers POST /v1/numbers buys: sandbox or twilio (default: twilio when TWILIO_ACCOUNT_SID is set, else sandbox)", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.NumberProvider, n, "", u) }},
		{"twilio-account-sid", "TWILIO_ACCOUNT_SID", "Twilio account SID (AC…): buy numbers and send SMS/MMS through Twilio", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.TwilioAccountSID, n, "", u) }},
		{"twilio-auth-token", "TWILIO_AUTH_TOKEN", "Twilio auth token: required with Twilio, it checks X-Twilio-Signature on Twilio's requests (and authenticates REST calls unless an API key is given)", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.TwilioAuthToken, n, "", u) }},
		{"twilio-api-key", "TWILIO_API_KEY", "Twilio API key SID (SK…) for REST calls instead of the auth token", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.TwilioAPIKey, n, "", u) }},
		{"twilio-api-secret", "TWILIO_API_SECRET", "secret of the Twilio API key", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.TwilioAPISecret, n, "", u) }},
		{"twilio-base-url", "AGENTPHONE_TWILIO_BASE_URL", "Twilio REST API base URL (for a proxy or a test double)", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.TwilioBaseURL, n, twilio.DefaultBaseURL, u) }},
		{"twilio-countries", "AGENTPHONE_TWILIO_COUNTRIES", "countries (ISO 3166-1 alpha-2, comma-separated) Twilio numbers may be bought in", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.TwilioCountries, n, "US,CA", u) }},
		{"sip-addr", "AGENTPHONE_SIP_ADDR", "SIP listen address, on UDP and TCP (\"\" disables SIP; 0.0.0.0:5060 to take calls from trunks)", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.SIPAddr, n, "127.0.0.1:5060", u) }},
		{"sip-tls-addr", "AGENTPHONE_SIP_TLS_ADDR", "SIP over TLS listen address, e.g. 0.0.0.0:5061; its calls' media is SRTP (\"\" = no TLS)", str(&c.SIPTLSAddr, "")},
		{"sip-tls-cert", "AGENTPHONE_SIP_TLS_CERT", "PEM file of the certificate (chain) SIP over TLS presents", str(&c.SIPTLSCert, "")},
		{"sip-tls-key", "AGENTPHONE_SIP_TLS_KEY", "PEM file of that certificate's private key", str(&c.SIPTLSKey, "")},
		{"sip-tls-ca", "AGENTPHONE_SIP_TLS_CA", "PEM file of the certificate authorities trusted for calls placed over TLS trunks (default: the system's)", str(&c.SIPTLSCA, "")},
		{"sip-external-host", "AGENTPHONE_SIP_EXTERNAL_HOST", "address written in SIP Contact and SDP for peers to reach (behind NAT: the public IP; default the bind address)", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.SIPExternalHost, n, "", u) }},
		{"rtp-ports", "AGENTPHONE_RTP_PORTS", "UDP port range of call media, MIN-MAX (e.g. 10000-20000; default any free port)", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.RTPPorts, n, "", u) }},
		{"sip-trunks", "AGENTPHONE_SIP_TRUNKS", "JSON file of SIP trunks (inbound allow-lists, outbound targets; see docs/sip.md)", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.SIPTrunks, n, "", u) }},
		{"sip-answer-delay", "AGENTPHONE_SIP_ANSWER_DELAY", "how long an inbound call rings before it is answered", func(fs *pflag.FlagSet, n, u string) { fs.DurationVar(&c.SIPAnswerDelay, n, 0, u) }},
		{"sip-trust-loopback", "AGENTPHONE_SIP_TRUST_LOOPBACK", "accept INVITEs from loopback addresses without a trunk (a softphone on this machine); false: trunks admit them like any source", func(fs *pflag.FlagSet, n, u string) { fs.BoolVar(&c.SIPTrustLoopback, n, true, u) }},
		{"sip-invite-rate", "AGENTPHONE_SIP_INVITE_RATE", "new INVITEs a second one source address may send (bursts of twice that); past it 503 with Retry-After; 0 = no bound", func(fs *pflag.FlagSet, n, u string) { fs.Float64Var(&c.SIPInviteRate, n, 100, u) }},
		{"recordings-dir", "AGENTPHONE_RECORDINGS_DIR", "folder of call recordings (\"\" = no recordings)", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.RecordingsDir, n, "./data/recordings", u) }},
		{"max-call-duration", "AGENTPHONE_MAX_CALL_DURATION", "longest call; it is hung up then (end reason max-duration)", func(fs *pflag.FlagSet, n, u string) { fs.DurationVar(&c.MaxCallDuration, n, time.Hour, u) }},
		{"record-calls", "AGENTPHONE_RECORD_CALLS", "record calls (two-channel WAV in --recordings-dir) for accounts that have not chosen (PATCH /agentphone/v1/settings)", func(fs *pflag.FlagSet, n, u string) { fs.BoolVar(&c.RecordCalls, n, true, u) }},
		{"max-concurrent-calls", "AGENTPHONE_MAX_CONCURRENT_CALLS", "calls at once per (sub-)account (inbound past it get 486 Busy Here, outbound 409); 0 = no limit", func(fs *pflag.FlagSet, n, u string) { fs.IntVar(&c.MaxConcurrentCalls, n, 0, u) }},
		{"deepgram-api-key", "DEEPGRAM_API_KEY", "Deepgram API key: live speech recognition, and Aura voices", str(&c.DeepgramAPIKey, "")},
		{"deepgram-base-url", "AGENTPHONE_DEEPGRAM_BASE_URL", "Deepgram API base URL (for a proxy or a test double)", str(&c.DeepgramBaseURL, "")},
		{"openai-api-key", "OPENAI_API_KEY", "OpenAI API key: transcription and voices", str(&c.OpenAIAPIKey, "")},
		{"openai-base-url", "OPENAI_BASE_URL", "OpenAI API base URL, with its /v1", str(&c.OpenAIBaseURL, "")},
		{"elevenlabs-api-key", "ELEVENLABS_API_KEY", "ElevenLabs API key: its voices", str(&c.ElevenLabsAPIKey, "")},
		{"elevenlabs-base-url", "AGENTPHONE_ELEVENLABS_BASE_URL", "ElevenLabs API base URL (for a proxy or a test double)", str(&c.ElevenLabsBaseURL, "")},
		{"elevenlabs-model", "AGENTPHONE_ELEVENLABS_MODEL", "ElevenLabs model (default eleven_flash_v2_5)", str(&c.ElevenLabsModel, "")},
		{"stt-provider", "AGENTPHONE_STT_PROVIDER", "speech recognition: deepgram, openai (one request per utterance), openai-realtime (OpenAI's Realtime transcription, streamed) or none (default: the first configured of deepgram, openai)", str(&c.STTProvider, "")},
		{"tts-provider", "AGENTPHONE_TTS_PROVIDER", "whose first voice new agents get: espeak, elevenlabs, deepgram or openai (default: the first configured of elevenlabs, deepgram, openai, espeak)", str(&c.TTSProvider, "")},
		{"stt-base-url", "AGENTPHONE_STT_BASE_URL", "an OpenAI-compatible transcription server for speech recognition alone (whisper.cpp, faster-whisper), e.g. http://127.0.0.1:8000/v1", str(&c.STTBaseURL, "")},
		{"tts-base-url", "AGENTPHONE_TTS_BASE_URL", "an OpenAI-compatible speech server for the openai-* voices alone", str(&c.TTSBaseURL, "")},
		{"stt-model", "AGENTPHONE_STT_MODEL", "speech recognition model of agents in sttMode fast (and accurate unless --stt-model-accurate); default the provider's", str(&c.STTModel, "")},
		{"stt-model-accurate", "AGENTPHONE_STT_MODEL_ACCURATE", "speech recognition model of agents in sttMode accurate", str(&c.STTModelAccurate, "")},
		{"tts-model", "AGENTPHONE_TTS_MODEL", "speech model of the openai-* voices (default gpt-4o-mini-tts)", str(&c.TTSModel, "")},
		{"anthropic-api-key", "ANTHROPIC_API_KEY", "Anthropic API key: the LLM of hosted agents", str(&c.AnthropicAPIKey, "")},
		{"anthropic-base-url", "ANTHROPIC_BASE_URL", "Anthropic API base URL (for a proxy or a test double)", str(&c.AnthropicBaseURL, "")},
		{"llm-provider", "AGENTPHONE_LLM_PROVIDER", "the LLM of hosted agents: openai, anthropic or none (default: the first configured of openai, anthropic)", str(&c.LLMProvider, "")},
		{"llm-base-url", "AGENTPHONE_LLM_BASE_URL", "an OpenAI-compatible chat-completions server for the LLM alone (Ollama, vLLM, llama.cpp, Groq), e.g. http://127.0.0.1:11434/v1", str(&c.LLMBaseURL, "")},
		{"llm-api-key", "AGENTPHONE_LLM_API_KEY", "the API key of --llm-base-url (default OPENAI_API_KEY)", str(&c.LLMAPIKey, "")},
		{"llm-model-turbo", "AGENTPHONE_LLM_MODEL_TURBO", "model of agents with modelTier turbo (default: the provider's, see docs/hosted.md)", str(&c.LLMModelTurbo, "")},
		{"llm-model-balanced", "AGENTPHONE_LLM_MODEL_BALANCED", "model of agents with modelTier balanced", str(&c.LLMModelBalanced, "")},
		{"llm-model-max", "AGENTPHONE_LLM_MODEL_MAX", "model of agents with modelTier max", str(&c.LLMModelMax, "")},
		{"timezone", "AGENTPHONE_TIMEZONE", "IANA time zone of the date and time hosted agents are told (default UTC)", str(&c.Timezone, "")},
		{"pprof-addr", "AGENTPHONE_PPROF_ADDR", "serve Go's profiles and execution traces (/debug/pprof/) on this address, without authentication: keep it on loopback (\"\" = off)", str(&c.PprofAddr, "")},
		{"webhook-log-retention", "AGENTPHONE_WEBHOOK_LOG_RETENTION", "how long finished webhook deliveries stay in the delivery log", func(fs *pflag.FlagSet, n, u string) { fs.DurationVar(&c.WebhookLogRetention, n, 30*24*time.Hour, u) }},
	}
}

// declare adds the flags of ss to fs.
func declare(fs *pflag.FlagSet, ss []setting) {
	for _, s := range ss {
		s.bind(fs, s.flag, s.usage+" (env "+s.env+")")
	}
}

// fromEnv sets every flag of ss not given on the command line from its
// environment variable, when that is set and not empty.
func fromEnv(fs *pflag.FlagSet, getenv func(string) string, ss []setting) error {
	for _, s := range ss {
		if fs.Changed(s.flag) {
			continue
		}
		if v := getenv(s.env); v != "" {
			if err := fs.Set(s.flag, v); err != nil {
				return fmt.Errorf("%s=%q: %w", s.env, v, err)
			}
		}
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// dbTarget is a parsed AGENTPHONE_DATABASE_URL.
type dbTarget struct {
	Driver string // "sqlite" or "postgres"
	DSN    string // a file path for sqlite, the URL for postgres
}

// parseDatabaseURL accepts sqlite:PATH, sqlite://PATH, sqlite:///ABS/PATH and
// postgres:// or postgresql:// URLs.
func parseDatabaseURL(u string) (dbTarget, error) {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return dbTarget{Driver: "postgres", DSN: u}, nil
	case strings.HasPrefix(u, "sqlite:"):
		p := strings.TrimPrefix(u, "sqlite:")
		p = strings.TrimPrefix(p, "//") // sqlite:///abs → /abs, sqlite://rel → rel
		if p == "" {
			return dbTarget{}, fmt.Errorf("database URL %q names no file: use sqlite:./data/agentphone.db", u)
		}
		return dbTarget{Driver: "sqlite", DSN: p}, nil
	}
	return dbTarget{}, fmt.Errorf("database URL %q: use sqlite:PATH or postgres://…", u)
}
