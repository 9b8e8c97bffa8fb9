package agentphone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Call directions, types and statuses (spec §8.1, §20.10).
const (
	DirectionWeb = "web" // DirectionInbound and DirectionOutbound are shared with messages

	CallTypePSTN = "pstn"
	CallTypeWeb  = "web"

	CallQueued     = "queued"
	CallRinging    = "ringing"
	CallInProgress = "in-progress"
	CallCompleted  = "completed"
	CallBusy       = "busy"
	CallNoAnswer   = "no-answer"
	CallFailed     = "failed"
	CallCanceled   = "canceled"
)

// CallStatuses, CallDirections and CallTypes are the values of the call
// list's filters (spec §8.2, §20.10).
var (
	CallStatuses   = []string{CallQueued, CallRinging, CallInProgress, CallCompleted, CallBusy, CallNoAnswer, CallFailed, CallCanceled}
	CallDirections = []string{DirectionInbound, DirectionOutbound, DirectionWeb}
	CallTypes      = []string{CallTypePSTN, CallTypeWeb}

	// FinalCallStatuses are the statuses a call ends with.
	FinalCallStatuses = []string{CallCompleted, CallBusy, CallNoAnswer, CallFailed, CallCanceled}
)

// Why a call ended (our addition endReason, spec §20.10).
const (
	EndCallerHangup  = "caller-hangup"
	EndAgentHangup   = "agent-hangup"
	EndSilence       = "silence-timeout"
	EndMaxDuration   = "max-duration"
	EndTransfer      = "transfer"
	EndVoicemail     = "voicemail"
	EndError         = "error"
	EndAPI           = "api"
	EndNoAnswer      = "no-answer" // outbound: the callee did not answer
	EndBusy          = "busy"      // outbound: the callee was busy
	EndCanceled      = "canceled"  // inbound: the caller hung up before the answer
	EndServerStopped = "server-stopped"
)

// Id prefixes of calls.
const (
	PrefixCall      = "call_"
	PrefixTurn      = "tr_"
	PrefixCallEvent = "cev_"
)

// Turn roles.
const (
	RoleUser  = "user"
	RoleAgent = "agent"
)

// Call is one phone call of an account: inbound to one of its numbers, or
// outbound from one. Its id carries 128 random bits: it is also the access
// token of the call's public recording URL.
type Call struct {
	ID          string
	AccountID   string
	AgentID     *string // nil once the agent is deleted
	NumberID    *string // the account's number; nil for web calls
	PhoneNumber *string // that number's E.164
	From, To    string
	Direction   string // DirectionInbound, DirectionOutbound, DirectionWeb
	Type        string // CallTypePSTN or CallTypeWeb
	Status      string
	EndReason   *string
	StartedAt   time.Time  // created (queued, or the INVITE's arrival)
	AnsweredAt  *time.Time // in-progress since
	EndedAt     *time.Time
	// DurationSeconds is the answered time, whole seconds rounded up;
	// nil until the call ends (0 when it was never answered).
	DurationSeconds *int
	// LastTranscriptSnippet is the latest turn's text, cut to 100 runes.
	LastTranscriptSnippet *string
	// RecordingPath is the recording's file, relative to the recordings
	// folder; nil when the call has none (yet).
	RecordingPath *string
	// What the call was asked to do (outbound: POST /v1/calls; inbound:
	// nil, the agent's settings apply).
	Options CallOptions
	// SIPCallID is the Call-ID of the call's SIP dialog, for logs.
	SIPCallID string
	// Analysis is the post-call analysis (CallService.Analyzer); nil until
	// produced, and for calls that get none.
	Analysis *CallAnalysis
	// AnalysisPending tells an ended call whose analysis, and with it its
	// agent.call_ended event, is still to come.
	AnalysisPending bool
}

// CallOptions are the per-call overrides of POST /v1/calls.
type CallOptions struct {
	InitialGreeting       *string            `json:"initialGreeting,omitempty"`
	Voice                 *string            `json:"voice,omitempty"`
	SystemPrompt          *string            `json:"systemPrompt,omitempty"`
	ModelTier             *string            `json:"modelTier,omitempty"`
	Variables             map[string]*string `json:"variables,omitempty"`
	CallScreeningIdentity *string            `json:"callScreeningIdentity,omitempty"`
	CallScreeningPurpose  *string            `json:"callScreeningPurpose,omitempty"`
}

// Ended reports whether the call is over.
func (c *Call) Ended() bool { return c.EndedAt != nil }

// OtherParty is the phone of the call's other party: the caller of an
// inbound call, the callee of an outbound one.
func (c *Call) OtherParty() string {
	if c.Direction == DirectionInbound {
		return c.From
	}
	return c.To
}

// CallDuration is the answered time of a call that ended at endedAt, in
// whole seconds rounded up; 0 when it was never answered.
func CallDuration(answeredAt *time.Time, endedAt time.Time) int {
	if answeredAt == nil || !endedAt.After(*answeredAt) {
		return 0
	}
	d := endedAt.Sub(*answeredAt)
	return int((d + time.Second - 1) / time.Second)
}

// Turn is one spoken turn of a call's transcript. A user turn's Text is
// what the caller said (Response, once known, what the agent answered); an
// agent turn's Text is what the agent said.
type Turn struct {
	ID          string
	CallID      string
	Role        string // RoleUser or RoleAgent
	Text        string
	Confidence  *float64 // speech recognition's, user turns only
	Response    *string
	DTMF        *string // keys pressed during the turn
	Interrupted bool    // an agent turn cut short by the caller
	StartedAt   time.Time
	EndedAt     *time.Time
	CreatedAt   time.Time
	// Latency is how long the agent took to start answering, stage by
	// stage (agent turns of the conversation engine; nil otherwise).
	Latency *TurnLatency
}

// TurnLatency is the breakdown of an agent turn's response time, in
// milliseconds, from the caller's end of speech to the first packet of the
// answer on the wire (our addition, shown with the turn). A stage that did
// not happen (a turn with no caller speech before it, an answer that
// failed before its first byte) is nil.
type TurnLatency struct {
	// EndOfSpeechToTranscriptMs: the caller's end of speech → the final
	// transcript of the utterance.
	EndOfSpeechToTranscriptMs *float64 `json:"endOfSpeechToTranscriptMs"`
	// TranscriptToDecisionMs: the final transcript → the end-of-turn
	// decision (the agent takes the turn).
	TranscriptToDecisionMs *float64 `json:"transcriptToDecisionMs"`
	// DecisionToFirstByteMs: the decision → the first byte of the
	// answer from the webhook (or the LLM).
	DecisionToFirstByteMs *float64 `json:"decisionToFirstByteMs"`
	// FirstByteToFirstAudioMs: the first byte → the first synthesised
	// audio.
	FirstByteToFirstAudioMs *float64 `json:"firstByteToFirstAudioMs"`
	// FirstAudioToFirstPacketMs: the first audio → the first packet of
	// it sent to the caller.
	FirstAudioToFirstPacketMs *float64 `json:"firstAudioToFirstPacketMs"`
	// TotalMs: the caller's end of speech → the first packet sent.
	TotalMs *float64 `json:"totalMs"`
}

// CallEvent is one entry of a call's event log: what happened during it
// that is not a turn (a key pressed, a webhook turn's outcome, a hang-up).
type CallEvent struct {
	ID     string
	CallID string
	Type   string          // e.g. "dtmf", "answered", "hangup"
	Data   json.RawMessage // a JSON object
	At     time.Time
}

// CallFilter narrows a call list (spec §8.2).
type CallFilter struct {
	Status    string // "" = any
	Direction string
	Type      string
	Search    string // substring of From or To
	AgentID   string
	NumberID  string
}

// CallController places and ends calls on a telephony edge (SIP). The
// CallService hands it outbound calls after storing them, and asks it to
// hang up; the edge reports progress back through the CallService.
type CallController interface {
	// Dial starts placing call c (stored queued) from number from for agent
	// a and returns at once; the edge reports ringing, answer and end.
	Dial(ctx context.Context, c *Call, a *Agent, from *Number) error
	// Hangup ends live call id. Not-found when this edge has no such call.
	Hangup(ctx context.Context, id string) error
}

// CallInput is the body of POST /v1/calls (spec §8.5), with the MCP
// server's waitForCompletion and maxWaitSeconds (spec §18.1).
type CallInput struct {
	AgentID               Opt[string]             `json:"agentId"`
	ToNumber              Opt[string]             `json:"toNumber"`
	FromNumberID          Opt[string]             `json:"fromNumberId"`
	InitialGreeting       Opt[string]             `json:"initialGreeting"`
	Voice                 Opt[string]             `json:"voice"`
	SystemPrompt          Opt[string]             `json:"systemPrompt"`
	ModelTier             Opt[string]             `json:"modelTier"`
	Variables             Opt[map[string]*string] `json:"variables"`
	CallScreeningIdentity Opt[string]             `json:"callScreeningIdentity"`
	CallScreeningPurpose  Opt[string]             `json:"callScreeningPurpose"`
	WaitForCompletion     Opt[bool]               `json:"waitForCompletion"`
	MaxWaitSeconds        Opt[int]                `json:"maxWaitSeconds"`
}

// How long POST /v1/calls may wait for the call to end (spec §18.1).
const (
	DefaultCallWaitSeconds = 300
	MinCallWaitSeconds     = 10
	MaxCallWaitSeconds     = 600
)

// Validate reports every invalid field of in that needs no lookup:
// agentId and toNumber are required, toNumber must be a phone number,
// modelTier one of ModelTiers, the screening texts as long as the agent's
// may be, maxWaitSeconds within 10–600.
func (in *CallInput) Validate() error {
	var fe fieldErrors
	in.check(&fe)
	return fe.err()
}

func (in *CallInput) check(fe *fieldErrors) {
	switch {
	case !in.AgentID.Set:
		fe.missing("agentId")
	case in.AgentID.Null:
		fe.add("Input should be a valid string", "string_type", "agentId")
	case strings.TrimSpace(in.AgentID.Value) == "":
		fe.add("String should have at least 1 character", "string_too_short", "agentId")
	}
	switch {
	case !in.ToNumber.Set:
		fe.missing("toNumber")
	case in.ToNumber.Null:
		fe.add("Input should be a valid string", "string_type", "toNumber")
	default:
		if _, err := NormalizePhone(in.ToNumber.Value); err != nil {
			fe.value(fmt.Sprintf("toNumber %q is not a phone number in E.164 format, e.g. +14155551234: %v", in.ToNumber.Value, err),
				"toNumber")
		}
	}
	if in.ModelTier.HasValue() {
		fe.literal(in.ModelTier.Value, ModelTiers, "modelTier")
	}
	if in.CallScreeningIdentity.HasValue() {
		fe.strLen(in.CallScreeningIdentity.Value, 0, 100, "callScreeningIdentity")
	}
	if in.CallScreeningPurpose.HasValue() {
		fe.strLen(in.CallScreeningPurpose.Value, 0, 300, "callScreeningPurpose")
	}
	if in.MaxWaitSeconds.HasValue() {
		fe.intRange(in.MaxWaitSeconds.Value, MinCallWaitSeconds, MaxCallWaitSeconds, "maxWaitSeconds")
	}
}

// options returns the per-call overrides of in.
func (in *CallInput) options() CallOptions {
	str := func(o Opt[string]) *string {
		if !o.HasValue() {
			return nil
		}
		v := o.Value
		return &v
	}
	o := CallOptions{
		InitialGreeting: str(in.InitialGreeting), Voice: str(in.Voice), SystemPrompt: str(in.SystemPrompt),
		ModelTier: str(in.ModelTier), CallScreeningIdentity: str(in.CallScreeningIdentity),
		CallScreeningPurpose: str(in.CallScreeningPurpose),
	}
	if in.Variables.HasValue() && len(in.Variables.Value) > 0 {
		o.Variables = in.Variables.Value
	}
	if o.SystemPrompt != nil && strings.TrimSpace(*o.SystemPrompt) == "" {
		o.SystemPrompt = nil // a blank prompt asks for no built-in LLM
	}
	return o
}

// Sentinels of call routing, for errors.Is. The errors returned carry a
// message for users and a Kind besides (see sentinelError).
var (
	// ErrNoAgent: the called number has no agent to answer (SIP 480).
	ErrNoAgent = errors.New("the number has no agent")
	// ErrCallLimit: the account has as many calls under way as it may
	// (SIP 486, HTTP 409).
	ErrCallLimit = errors.New("concurrent call limit reached")
)

// sentinelError is a domain error (an *Error of some Kind, with a message
// for users) that errors.Is also matches to a sentinel.
type sentinelError struct {
	err      *Error
	sentinel error
}

func (e *sentinelError) Error() string   { return e.err.Message }
func (e *sentinelError) Unwrap() []error { return []error{e.err, e.sentinel} }

// CallLimitError is the conflict returned when an account already has max
// calls not ended; errors.Is(err, ErrCallLimit) holds.
func CallLimitError(max int) error {
	return &sentinelError{
		err: &Error{Kind: KindConflict, Message: fmt.Sprintf(
			"Concurrent call limit reached: this account may have at most %d calls under way; try again when one ends", max)},
		sentinel: ErrCallLimit,
	}
}

// noAgentError is the error of a call to number phone, which no agent
// answers; errors.Is(err, ErrNoAgent) holds.
func noAgentError(phone string) error {
	return &sentinelError{
		err:      &Error{Kind: KindUnavailable, Message: fmt.Sprintf("Number %s has no agent to answer calls", phone)},
		sentinel: ErrNoAgent,
	}
}

// AccountSettings are the per-account settings of this server (our
// addition, outside the AgentPhone API).
type AccountSettings struct {
	// RecordCalls says whether the account's calls are recorded; nil: the
	// server's default (CallService.RecordCalls).
	RecordCalls *bool
}

// SettingsInput is the body of PATCH /agentphone/v1/settings: only the
// keys present change; recordCalls null returns to the server's default.
type SettingsInput struct {
	RecordCalls Opt[bool] `json:"recordCalls"`
}
