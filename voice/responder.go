package voice

import (
	"context"
	"errors"
	"time"

	"github.com/agentphone/agentphone"
)

// Responder answers the caller's turns: the developer's webhook in
// webhook mode (WebhookResponder), the built-in LLM in hosted mode.
type Responder interface {
	// Respond starts answering one caller turn. The replies stream on the
	// returned ReplyStream; ctx ends when the caller interrupts or the call
	// ends, and the answer is then abandoned.
	Respond(ctx context.Context, t TurnRequest) (ReplyStream, error)
}

// TurnRequest is one finished caller turn.
type TurnRequest struct {
	Call   *agentphone.Call
	Agent  *agentphone.Agent
	Number *agentphone.Number
	// Transcript is what the caller said ("" when they only pressed keys).
	Transcript string
	Confidence float64
	// DTMF holds the keys pressed during the turn ("" when none).
	DTMF string
	// History is the call's turns before this one, oldest first.
	History []*agentphone.Turn
	// At is when the turn ended.
	At time.Time
}

// ReplyStream is the answer to one turn, a reply at a time.
type ReplyStream interface {
	// Next returns the next reply; io.EOF after the final one.
	Next() (Reply, error)
	// Close abandons what has not been read.
	Close() error
}

// Reply is one piece of an answer (a line of a streamed webhook reply).
type Reply struct {
	// Text is what the agent says.
	Text string
	// Interim: more replies follow in this turn.
	Interim bool
	// Hangup ends the call after Text is spoken.
	Hangup bool
	// Transfer cold-transfers the caller to the agent's transferNumber
	// after Text is spoken.
	Transfer bool
	// Digits are keys to press (RFC 4733) after Text is spoken.
	Digits string
	// Problems describes what was wrong with the answer (a line that was
	// not a JSON object, a field of the wrong type), for the call's event
	// log.
	Problems []string
	// FirstByte is when the answer began to arrive (zero when unknown).
	FirstByte time.Time
}

// ByMode answers each turn with Hosted when the call is hosted (the agent
// is in hosted mode, or the call was placed with a systemPrompt), else
// with Webhook.
type ByMode struct {
	Webhook, Hosted Responder
}

// ErrHostedUnavailable answers a hosted call's turn on a server without a
// language model.
var ErrHostedUnavailable = errors.New("this call runs the built-in LLM (hosted mode), but no language model is configured on the server")

// Respond implements Responder.
func (b ByMode) Respond(ctx context.Context, t TurnRequest) (ReplyStream, error) {
	r := b.Webhook
	if agentphone.Hosted(t.Call, t.Agent) {
		if r = b.Hosted; r == nil {
			return nil, ErrHostedUnavailable
		}
	}
	if r == nil {
		return nil, errors.New("no responder is configured for this call")
	}
	return r.Respond(ctx, t)
}
