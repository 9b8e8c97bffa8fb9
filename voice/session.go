// Package voice runs the conversation of a live call: what the agent says
// and how it listens. A telephony edge (sip, later web calls) answers the
// call, turns its media into PCM frames and hands a Session to a Runner.
//
// Today the runner is the Greeter: it speaks the greeting with the local
// text-to-speech engine, then keeps the line open until the caller has
// been silent for the agent's maxSilenceMs or the call reaches its maximum
// duration. The conversation engine (speech recognition, webhook turns,
// barge-in) replaces it in the next issue.
package voice

import (
	"context"
	"log/slog"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
)

// Session is a live, answered call as a runner sees it.
type Session struct {
	Call   *agentphone.Call
	Agent  *agentphone.Agent
	Number *agentphone.Number
	// Caller delivers the caller's audio as 20 ms frames at Rate.
	Caller audio.Source
	// Out takes the agent's audio; it paces what it is given to real time
	// (WriteFrame returns when the frame has been sent), and sends silence
	// while it is given nothing.
	Out audio.Sink
	// Rate is the PCM rate of the call's codec (8000 or 16000).
	Rate int
	// DTMF delivers the keys the caller presses (RFC 4733).
	DTMF <-chan rune
	// SendDTMF sends a key to the caller (RFC 4733).
	SendDTMF func(key rune) error
	// Transfer cold-transfers the caller to number (E.164): a SIP REFER
	// when the far end accepts it, else a new outbound call bridged to the
	// caller. It returns once the caller is handed over or bridged; the
	// runner then ends with agentphone.EndTransfer. Nil when the edge
	// cannot transfer.
	Transfer func(ctx context.Context, number string) error
	// Calls records turns and events.
	Calls Recorder
	Log   *slog.Logger
}

// Recorder is what a runner needs of agentphone.CallService.
type Recorder interface {
	AddTurn(ctx context.Context, t *agentphone.Turn) error
	AddEvent(ctx context.Context, callID, typ string, data any) error
}

// Runner runs an answered call until it ends and returns its end reason
// (agentphone.End…), or "" when ctx ended it (the edge knows why).
type Runner interface {
	Run(ctx context.Context, s *Session) (endReason string)
}
