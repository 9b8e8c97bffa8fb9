package agentphone

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Agent is the AI persona that owns numbers and answers calls and messages.
// Nullable fields are pointers; every field has the default of the spec.
type Agent struct {
	ID                      string
	AccountID               string
	Name                    string
	Description             *string
	VoiceMode               string
	EnableMessaging         bool
	ModelTier               string
	SystemPrompt            *string
	BeginMessage            *string
	Voice                   string
	TransferNumber          *string
	CustomTools             []CustomTool // nil when never set (null on the wire)
	VoicemailMessage        *string
	CallScreeningIdentity   *string
	CallScreeningPurpose    *string
	STTMode                 string
	AmbientSound            string
	DenoisingMode           string
	MaxSilenceMs            int
	VoiceSpeed              float64
	InterruptionSensitivity float64
	EnableBackchannel       bool
	Language                string
	CreatedAt               time.Time
	UpdatedAt               time.Time

	// Numbers attached to the agent, in attachment order. Filled by reads.
	Numbers []AgentNumber
}

// AgentNumber is a number as listed on its agent.
type AgentNumber struct {
	ID          string
	PhoneNumber string
	Status      string
	Type        string
}

// CustomTool is an HTTP tool a hosted agent's model may call.
type CustomTool struct {
	Name                 string            `json:"name"`
	Description          string            `json:"description"`
	URL                  string            `json:"url"`
	Method               string            `json:"method"`
	Headers              map[string]string `json:"headers"`
	Parameters           json.RawMessage   `json:"parameters"`
	TimeoutMs            *int              `json:"timeoutMs"`
	SpeakDuringExecution *bool             `json:"speakDuringExecution"`
	ExecutionMessage     *string           `json:"executionMessage"`
}

// Voice modes (spec §2.1).
const (
	VoiceModeWebhook = "webhook"
	VoiceModeHosted  = "hosted"
)

// Agent enumerations and defaults (spec §2.1).
var (
	VoiceModes     = []string{VoiceModeWebhook, VoiceModeHosted}
	ModelTiers     = []string{"turbo", "balanced", "max"}
	STTModes       = []string{"fast", "accurate"}
	AmbientSounds  = []string{"none", "office", "coffee-shop", "outdoor"}
	DenoisingModes = []string{"noise-cancellation", "noise-and-background-speech-cancellation"}
	ToolMethods    = []string{"GET", "POST"}

	// ReservedToolNames are the built-in tools of hosted mode.
	ReservedToolNames = []string{"end_call", "transfer_call", "send_message", "read_messages", "press_digits"}

	// Languages are the 63 locales an agent may speak (spec §2.4).
	Languages = []string{
		"af-ZA", "ar-SA", "az-AZ", "bg-BG", "bs-BA", "ca-ES", "cs-CZ", "cy-GB", "da-DK", "de-DE",
		"el-GR", "en-AU", "en-GB", "en-IN", "en-NZ", "en-US", "es-419", "es-ES", "fa-IR", "fi-FI",
		"fil-PH", "fr-CA", "fr-FR", "gl-ES", "he-IL", "hi-IN", "hr-HR", "hu-HU", "hy-AM", "id-ID",
		"is-IS", "it-IT", "ja-JP", "kk-KZ", "kn-IN", "ko-KR", "lt-LT", "lv-LV", "mk-MK", "mr-IN",
		"ms-MY", "ne-NP", "nl-BE", "nl-NL", "no-NO", "pl-PL", "pt-BR", "pt-PT", "ro-RO", "ru-RU",
		"sk-SK", "sl-SI", "sr-RS", "sv-SE", "sw-KE", "ta-IN", "th-TH", "tr-TR", "uk-UA", "ur-IN",
		"vi-VN", "yue-CN", "zh-CN",
	}
)

// Agent defaults and limits.
const (
	DefaultVoiceMode               = VoiceModeWebhook
	DefaultModelTier               = "balanced"
	DefaultSTTMode                 = "fast"
	DefaultAmbientSound            = "none"
	DefaultDenoisingMode           = "noise-cancellation"
	DefaultMaxSilenceMs            = 600000
	DefaultVoiceSpeed              = 1.0
	DefaultInterruptionSensitivity = 0.8
	DefaultLanguage                = "en-US"
	DefaultToolMethod              = "POST"
	MaxCustomTools                 = 20
)

var toolNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// AgentInput is the body of agent create and update. Every field is optional
// on update; on create, name is required and omitted fields take defaults.
type AgentInput struct {
	Name                    Opt[string]            `json:"name"`
	Description             Opt[string]            `json:"description"`
	VoiceMode               Opt[string]            `json:"voiceMode"`
	EnableMessaging         Opt[bool]              `json:"enableMessaging"`
	ModelTier               Opt[string]            `json:"modelTier"`
	SystemPrompt            Opt[string]            `json:"systemPrompt"`
	BeginMessage            Opt[string]            `json:"beginMessage"`
	Voice                   Opt[string]            `json:"voice"`
	TransferNumber          Opt[string]            `json:"transferNumber"`
	CustomTools             Opt[[]CustomToolInput] `json:"customTools"`
	VoicemailMessage        Opt[string]            `json:"voicemailMessage"`
	CallScreeningIdentity   Opt[string]            `json:"callScreeningIdentity"`
	CallScreeningPurpose    Opt[string]            `json:"callScreeningPurpose"`
	STTMode                 Opt[string]            `json:"sttMode"`
	AmbientSound            Opt[string]            `json:"ambientSound"`
	DenoisingMode           Opt[string]            `json:"denoisingMode"`
	MaxSilenceMs            Opt[int]               `json:"maxSilenceMs"`
	VoiceSpeed              Opt[float64]           `json:"voiceSpeed"`
	InterruptionSensitivity Opt[float64]           `json:"interruptionSensitivity"`
	EnableBackchannel       Opt[bool]              `json:"enableBackchannel"`
	Language                Opt[string]            `json:"language"`
}

// CustomToolInput is one entry of customTools as sent by clients.
type CustomToolInput struct {
	Name                 Opt[string]            `json:"name"`
	Description          Opt[string]            `json:"description"`
	URL                  Opt[string]            `json:"url"`
	Method               Opt[string]            `json:"method"`
	Headers              Opt[map[string]string] `json:"headers"`
	Parameters           Opt[json.RawMessage]   `json:"parameters"`
	TimeoutMs            Opt[int]               `json:"timeoutMs"`
	SpeakDuringExecution Opt[bool]              `json:"speakDuringExecution"`
	ExecutionMessage     Opt[string]            `json:"executionMessage"`
}

// newAgent returns an agent with every default of the spec.
func newAgent(accountID, defaultVoice string) *Agent {
	now := Now()
	return &Agent{
		ID: NewID(PrefixAgent), AccountID: accountID,
		VoiceMode: DefaultVoiceMode, EnableMessaging: true, ModelTier: DefaultModelTier,
		Voice: defaultVoice, STTMode: DefaultSTTMode, AmbientSound: DefaultAmbientSound,
		DenoisingMode: DefaultDenoisingMode, MaxSilenceMs: DefaultMaxSilenceMs,
		VoiceSpeed: DefaultVoiceSpeed, InterruptionSensitivity: DefaultInterruptionSensitivity,
		EnableBackchannel: true, Language: DefaultLanguage,
		CreatedAt: now, UpdatedAt: now, Numbers: []AgentNumber{},
	}
}

// apply validates in against a (the current agent, or a fresh one with
// defaults on create) and writes the fields in sets. It lists every invalid
// field and changes nothing when any is invalid. voices is the set of valid
// voice ids.
func (in *AgentInput) apply(a *Agent, create bool, voices map[string]bool, defaultVoice string) error {
	var fe fieldErrors
	next := *a

	// Strings that may be cleared with null.
	nullableText := func(o Opt[string], dst **string, max int, name string) {
		if !o.Set {
			return
		}
		if o.Null {
			*dst = nil
			return
		}
		if max > 0 {
			fe.strLen(o.Value, 0, max, name)
		}
		v := o.Value
		*dst = &v
	}
	// Enumerations that reset to their default with null.
	enum := func(o Opt[string], dst *string, allowed []string, def, name string) {
		if !o.Set {
			return
		}
		if o.Null {
			*dst = def
			return
		}
		if fe.literal(o.Value, allowed, name) {
			*dst = o.Value
		}
	}
	boolean := func(o Opt[bool], dst *bool, def bool) {
		if o.Set {
			*dst = def
			if !o.Null {
				*dst = o.Value
			}
		}
	}
	number := func(o Opt[float64], dst *float64, lo, hi, def float64, name string) {
		if !o.Set {
			return
		}
		*dst = def
		if !o.Null {
			fe.floatRange(o.Value, lo, hi, name)
			*dst = o.Value
		}
	}

	switch {
	case create && !in.Name.Set:
		fe.missing("name")
	case in.Name.Null && create:
		fe.add("Input should be a valid string", "string_type", "name")
	case in.Name.HasValue():
		if strings.TrimSpace(in.Name.Value) == "" {
			fe.add("String should have at least 1 character", "string_too_short", "name")
		}
		next.Name = in.Name.Value
	}
	nullableText(in.Description, &next.Description, 0, "description")
	enum(in.VoiceMode, &next.VoiceMode, VoiceModes, DefaultVoiceMode, "voiceMode")
	boolean(in.EnableMessaging, &next.EnableMessaging, true)
	enum(in.ModelTier, &next.ModelTier, ModelTiers, DefaultModelTier, "modelTier")
	nullableText(in.SystemPrompt, &next.SystemPrompt, 0, "systemPrompt")
	nullableText(in.BeginMessage, &next.BeginMessage, 0, "beginMessage")
	if in.Voice.Set {
		next.Voice = defaultVoice
		if !in.Voice.Null {
			if !voices[in.Voice.Value] {
				fe.value("unknown voice '"+in.Voice.Value+"': see GET /v1/agents/voices", "voice")
			}
			next.Voice = in.Voice.Value
		}
	}
	if in.TransferNumber.Set {
		next.TransferNumber = nil
		if !in.TransferNumber.Null {
			if e164, err := NormalizePhone(in.TransferNumber.Value); err != nil {
				fe.value("transferNumber must be a phone number in E.164 format, e.g. +14155551234", "transferNumber")
			} else {
				next.TransferNumber = &e164
			}
		}
	}
	if in.CustomTools.HasValue() { // null is the same as omitted (decision 4)
		next.CustomTools = validateTools(&fe, in.CustomTools.Value)
	}
	nullableText(in.VoicemailMessage, &next.VoicemailMessage, 1000, "voicemailMessage")
	nullableText(in.CallScreeningIdentity, &next.CallScreeningIdentity, 100, "callScreeningIdentity")
	nullableText(in.CallScreeningPurpose, &next.CallScreeningPurpose, 300, "callScreeningPurpose")
	enum(in.STTMode, &next.STTMode, STTModes, DefaultSTTMode, "sttMode")
	enum(in.AmbientSound, &next.AmbientSound, AmbientSounds, DefaultAmbientSound, "ambientSound")
	enum(in.DenoisingMode, &next.DenoisingMode, DenoisingModes, DefaultDenoisingMode, "denoisingMode")
	if in.MaxSilenceMs.Set {
		next.MaxSilenceMs = DefaultMaxSilenceMs
		if !in.MaxSilenceMs.Null {
			fe.intRange(in.MaxSilenceMs.Value, 10000, 3600000, "maxSilenceMs")
			next.MaxSilenceMs = in.MaxSilenceMs.Value
		}
	}
	number(in.VoiceSpeed, &next.VoiceSpeed, 0.5, 2.0, DefaultVoiceSpeed, "voiceSpeed")
	number(in.InterruptionSensitivity, &next.InterruptionSensitivity, 0, 1, DefaultInterruptionSensitivity, "interruptionSensitivity")
	boolean(in.EnableBackchannel, &next.EnableBackchannel, true)
	enum(in.Language, &next.Language, Languages, DefaultLanguage, "language")

	// Switching a hosted agent back to webhook mode clears the hosted prompt
	// and greeting, unless the same request sets them (spec §2.9).
	if a.VoiceMode == VoiceModeHosted && next.VoiceMode == VoiceModeWebhook && !create {
		if !in.SystemPrompt.Set {
			next.SystemPrompt = nil
		}
		if !in.BeginMessage.Set {
			next.BeginMessage = nil
		}
	}
	if next.VoiceMode == VoiceModeHosted && (next.SystemPrompt == nil || strings.TrimSpace(*next.SystemPrompt) == "") {
		fe.value("systemPrompt is required when voiceMode is 'hosted'", "systemPrompt")
	}
	if err := fe.err(); err != nil {
		return err
	}
	*a = next
	return nil
}

func validateTools(fe *fieldErrors, in []CustomToolInput) []CustomTool {
	if len(in) > MaxCustomTools {
		fe.add(fmt.Sprintf("List should have at most %d items after validation, not %d", MaxCustomTools, len(in)), "too_long", "customTools")
		return nil
	}
	out := make([]CustomTool, 0, len(in))
	seen := map[string]bool{}
	for i, t := range in {
		loc := func(f string) []any { return []any{"customTools", i, f} }
		ct := CustomTool{Method: DefaultToolMethod}
		requiredText := func(o Opt[string], name string, max int) string {
			switch {
			case !o.Set:
				fe.missing(loc(name)...)
			case o.Null:
				fe.add("Input should be a valid string", "string_type", loc(name)...)
			default:
				fe.strLen(o.Value, 1, max, loc(name)...)
			}
			return o.Value
		}
		ct.Name = requiredText(t.Name, "name", 64)
		if t.Name.HasValue() && ct.Name != "" {
			switch {
			case !toolNameRE.MatchString(ct.Name):
				fe.add("String should match pattern '^[A-Za-z0-9_-]+$'", "string_pattern_mismatch", loc("name")...)
			case contains(ReservedToolNames, ct.Name):
				fe.value("'"+ct.Name+"' is a built-in tool name", loc("name")...)
			case seen[ct.Name]:
				fe.value("duplicate tool name '"+ct.Name+"'", loc("name")...)
			}
			seen[ct.Name] = true
		}
		ct.Description = requiredText(t.Description, "description", 1024)
		ct.URL = requiredText(t.URL, "url", 2048)
		if t.URL.HasValue() && ct.URL != "" {
			if msg := checkToolURL(ct.URL); msg != "" {
				fe.value(msg, loc("url")...)
			}
		}
		if t.Method.HasValue() && fe.literal(t.Method.Value, ToolMethods, loc("method")...) {
			ct.Method = t.Method.Value
		}
		if t.Headers.HasValue() {
			ct.Headers = t.Headers.Value
		}
		if t.Parameters.HasValue() {
			var obj map[string]any
			if json.Unmarshal(t.Parameters.Value, &obj) != nil || obj == nil {
				fe.add("Input should be a valid dictionary", "dict_type", loc("parameters")...)
			} else if _, err := CompileToolSchema(t.Parameters.Value); err != nil {
				fe.value(err.Error(), loc("parameters")...)
			}
			ct.Parameters = t.Parameters.Value
		}
		if t.TimeoutMs.HasValue() {
			fe.intRange(t.TimeoutMs.Value, 1000, 120000, loc("timeoutMs")...)
			v := t.TimeoutMs.Value
			ct.TimeoutMs = &v
		}
		if t.SpeakDuringExecution.HasValue() {
			v := t.SpeakDuringExecution.Value
			ct.SpeakDuringExecution = &v
		}
		if t.ExecutionMessage.HasValue() {
			fe.strLen(t.ExecutionMessage.Value, 0, 500, loc("executionMessage")...)
			v := t.ExecutionMessage.Value
			ct.ExecutionMessage = &v
		}
		out = append(out, ct)
	}
	return out
}

// checkToolURL returns why u cannot be a tool URL, or "". Tools must use
// HTTPS; plain HTTP is allowed only to loopback hosts, for development.
func checkToolURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "url must be an absolute http(s) URL"
	}
	switch p.Scheme {
	case "https":
		return ""
	case "http":
		host := p.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return ""
		}
		return "url must use https (http is allowed only for localhost)"
	default:
		return "url must use https"
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// AgentService creates, reads, changes and deletes agents.
type AgentService struct {
	Store  Store
	Voices VoiceCatalog
	// HostedUnavailable, when set, is why hosted mode cannot run on this
	// server (no language model configured): creating an agent in hosted
	// mode, or switching one to it, is refused with it (400).
	HostedUnavailable string
}

// checkHosted refuses agent a going into hosted mode (from mode was) when
// the server cannot run it.
func (s *AgentService) checkHosted(a *Agent, was string) error {
	if s.HostedUnavailable != "" && a.VoiceMode == VoiceModeHosted && was != VoiceModeHosted {
		return Errorf(KindBadRequest, "%s", s.HostedUnavailable)
	}
	return nil
}

func (s *AgentService) voiceSet(ctx context.Context) (map[string]bool, string, error) {
	vs, err := s.Voices.Voices(ctx)
	if err != nil {
		return nil, "", err
	}
	set := make(map[string]bool, len(vs))
	for _, v := range vs {
		set[v.ID] = true
	}
	def := ""
	if len(vs) > 0 {
		def = vs[0].ID
	}
	return set, def, nil
}

// Create validates in and stores a new agent in the scope's account.
func (s *AgentService) Create(ctx context.Context, sc Scope, in AgentInput) (*Agent, error) {
	voices, def, err := s.voiceSet(ctx)
	if err != nil {
		return nil, err
	}
	a := newAgent(sc.AccountID, def)
	if err := in.apply(a, true, voices, def); err != nil {
		return nil, err
	}
	if err := s.checkHosted(a, ""); err != nil {
		return nil, err
	}
	if err := s.Store.CreateAgent(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Validate reports what Create (id "") or Update (id of an agent) would
// reject in in, without changing anything: the edge calls it to list every
// invalid field together with its own type errors.
func (s *AgentService) Validate(ctx context.Context, sc Scope, id string, in AgentInput) error {
	voices, def, err := s.voiceSet(ctx)
	if err != nil {
		return err
	}
	a := newAgent(sc.AccountID, def)
	if id != "" {
		if a, err = s.Store.GetAgent(ctx, sc.AccountID, id); err != nil {
			return err
		}
	}
	was := a.VoiceMode
	if id == "" {
		was = ""
	}
	if err := in.apply(a, id == "", voices, def); err != nil {
		return err
	}
	return s.checkHosted(a, was)
}

// Get returns an agent of the scope's account with its numbers.
func (s *AgentService) Get(ctx context.Context, sc Scope, id string) (*Agent, error) {
	return s.Store.GetAgent(ctx, sc.AccountID, id)
}

// List returns a page of the account's agents, newest first.
func (s *AgentService) List(ctx context.Context, sc Scope, p Page) (List[*Agent], error) {
	return s.Store.ListAgents(ctx, sc.AccountID, p)
}

// Update changes the fields present in in, atomically.
func (s *AgentService) Update(ctx context.Context, sc Scope, id string, in AgentInput) (*Agent, error) {
	voices, def, err := s.voiceSet(ctx)
	if err != nil {
		return nil, err
	}
	return s.Store.UpdateAgent(ctx, sc.AccountID, id, func(a *Agent) error {
		was := a.VoiceMode
		if err := in.apply(a, false, voices, def); err != nil {
			return err
		}
		if err := s.checkHosted(a, was); err != nil {
			return err
		}
		a.UpdatedAt = Now()
		return nil
	})
}

// Delete deletes an agent; its numbers stay active and unattached, and its
// agent webhook is deleted with it.
func (s *AgentService) Delete(ctx context.Context, sc Scope, id string) (*Agent, error) {
	return s.Store.DeleteAgent(ctx, sc.AccountID, id)
}

// AttachNumber attaches an active number of the account to an agent.
// Returns not-found for an unknown agent or number, a bad-request error for a
// released number and a conflict when another agent holds it.
func (s *AgentService) AttachNumber(ctx context.Context, sc Scope, agentID, numberID string) (*Number, error) {
	return s.Store.AttachNumber(ctx, sc.AccountID, agentID, numberID)
}

// DetachNumber detaches a number from an agent.
func (s *AgentService) DetachNumber(ctx context.Context, sc Scope, agentID, numberID string) error {
	return s.Store.DetachNumber(ctx, sc.AccountID, agentID, numberID)
}
