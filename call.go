package agentphone

import (
	"context"
	"encoding/json"
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
