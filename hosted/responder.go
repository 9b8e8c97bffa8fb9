package hosted

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/voice"
)

// Responder answers the turns of hosted calls (voiceMode "hosted", or an
// outbound call placed with a systemPrompt) with a language model: the
// caller's words and the call's transcript go to the model with the
// agent's prompt, and its answer streams back a clause at a time, so that
// the first words are spoken while the model still writes the rest. The
// model may call the built-in tools (end_call, transfer_call,
// press_digits, send_message, read_messages) and the agent's custom
// tools; their results go back to it until it answers in words. See
// docs/hosted.md.
type Responder struct {
	// LLM writes the answers (required).
	LLM voice.LLM
	// Models maps a modelTier (turbo, balanced, max) to the provider's
	// model name; a tier it lacks uses the balanced one's.
	Models map[string]string
	// Tools calls custom tools; nil: a CustomTools of its own.
	Tools *CustomTools
	// Messages sends and reads texts for send_message and read_messages;
	// nil: those tools are not offered.
	Messages Messenger
	// Events records the tool calls on the call's event log; nil: not
	// recorded.
	Events EventLog
	// Location is the time zone of {{current_time}} and the prompt's
	// clock; nil: UTC.
	Location *time.Location
	// MaxToolRounds bounds the model's tool calls in one turn before it
	// must answer; 0: DefaultMaxToolRounds.
	MaxToolRounds int
	// FirstEventTimeout bounds the wait for the first piece of each of the
	// model's answers (text or a tool call); 0: DefaultFirstEventTimeout.
	// Past it the answer fails and the caller hears the engine's apology.
	FirstEventTimeout time.Duration
	// Now tells the time; nil: time.Now.
	Now func() time.Time
	Log *slog.Logger // nil: discard

	memory memory      // the tool calls of each call's earlier turns
	tools  CustomTools // when Tools is nil
}

// DefaultMaxToolRounds is how many rounds of tool calls a turn may take.
const DefaultMaxToolRounds = 5

// DefaultFirstEventTimeout is how long a model may take to start an
// answer: a caller hears nothing meanwhile.
const DefaultFirstEventTimeout = 10 * time.Second

// Messenger sends and reads texts during calls (agentphone.MessageService
// through an adapter in cmd/agentphone).
type Messenger interface {
	// Send texts body from the call's number to to.
	Send(ctx context.Context, c *agentphone.Call, to, body string) (*agentphone.Message, error)
	// Thread returns the last limit messages between the call's number
	// and participant, oldest first.
	Thread(ctx context.Context, c *agentphone.Call, participant string, limit int) ([]*agentphone.Message, error)
}

// EventLog records an event on a call's log (agentphone.CallService).
type EventLog interface {
	AddEvent(ctx context.Context, callID, typ string, data any) error
}

var _ voice.Responder = (*Responder)(nil)

// ErrNoLLM is the answer of a Responder without a model.
var ErrNoLLM = errors.New("hosted mode needs a language model: set OPENAI_API_KEY (or AGENTPHONE_LLM_BASE_URL for an OpenAI-compatible server) or ANTHROPIC_API_KEY")

// Respond implements voice.Responder.
func (r *Responder) Respond(ctx context.Context, t voice.TurnRequest) (voice.ReplyStream, error) {
	if r.LLM == nil {
		return nil, ErrNoLLM
	}
	ctx, cancel := context.WithCancel(ctx)
	rs := &replies{ch: make(chan voice.Reply, 8), cancel: cancel}
	go func() {
		err := r.answer(ctx, t, rs)
		rs.err = err
		close(rs.ch)
	}()
	return rs, nil
}

// turn is one caller turn being answered.
type turn struct {
	r     *Responder
	t     voice.TurnRequest
	out   *replies
	first time.Time // the model's first text
	sent  bool      // a reply has been sent
}

// answer runs the model (and the tools it calls) until it answers in
// words or ends the turn with a tool.
func (r *Responder) answer(ctx context.Context, t voice.TurnRequest, out *replies) error {
	vars := agentphone.CallVariables(t.Call, t.Agent, r.now(), r.Location)
	tools := r.toolSpecs(t.Call, t.Agent)
	msgs := history(t.History, t.Call.Direction, r.memory.recall(t.Call.ID, r.now()))
	if len(msgs) > 0 && msgs[len(msgs)-1].Role == voice.LLMUser {
		msgs[len(msgs)-1].Text += "\n" + userText(t.Transcript, t.DTMF)
	} else {
		msgs = append(msgs, voice.LLMMessage{Role: voice.LLMUser, Text: userText(t.Transcript, t.DTMF)})
	}
	req := voice.LLMRequest{
		Model:    r.model(modelTier(t.Call, t.Agent)),
		System:   systemPrompt(t.Call, t.Agent, vars, tools),
		Messages: msgs,
		Tools:    tools,
	}
	tn := &turn{r: r, t: t, out: out}
	rounds := r.MaxToolRounds
	if rounds <= 0 {
		rounds = DefaultMaxToolRounds
	}
	for round := 0; ; round++ {
		if round == rounds {
			// Offer no more tools: the model must answer in words.
			req.Tools = nil
		}
		text, calls, pending, err := tn.stream(ctx, req)
		if err != nil {
			return err
		}
		if len(calls) == 0 || round == rounds {
			return tn.send(ctx, voice.Reply{Text: pending})
		}
		if pending != "" { // "let me check": heard while the tools run
			if err := tn.send(ctx, voice.Reply{Text: pending, Interim: true}); err != nil {
				return err
			}
		}
		exchange := []voice.LLMMessage{{Role: voice.LLMAssistant, Text: text, ToolCalls: calls}}
		var end *voice.Reply
		for _, c := range calls {
			result, fin := tn.call(ctx, c, text)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if fin != nil && end == nil {
				end = fin
			}
			exchange = append(exchange, voice.LLMMessage{Role: voice.LLMTool, ToolCallID: c.ID, Text: result})
		}
		req.Messages = append(req.Messages, exchange...)
		// Later turns see what the tools answered (the transcript keeps
		// only what was said).
		r.memory.remember(t.Call.ID, len(t.History), exchange, r.now())
		if end != nil {
			return tn.send(ctx, *end)
		}
	}
}

// stream runs one completion: its text is sent a clause at a time as it
// comes; the last words (after the last clause boundary) are returned as
// pending, with the whole text and the tool calls.
func (tn *turn) stream(ctx context.Context, req voice.LLMRequest) (text string, calls []voice.ToolCall, pending string, err error) {
	wait := tn.r.FirstEventTimeout
	if wait <= 0 {
		wait = DefaultFirstEventTimeout
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	late := fmt.Errorf("no answer within %s", wait)
	first := time.AfterFunc(wait, func() { cancel(late) })
	defer first.Stop()
	fail := func(err error) (string, []voice.ToolCall, string, error) {
		if context.Cause(ctx) == late {
			return "", nil, "", late
		}
		return "", nil, "", err
	}
	st, err := tn.r.LLM.Stream(ctx, req)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	for {
		ev, err := st.Next()
		if errors.Is(err, io.EOF) {
			return text, calls, speakable(pending), nil
		}
		if err != nil {
			return fail(err)
		}
		first.Stop()
		if ev.ToolCall != nil {
			calls = append(calls, *ev.ToolCall)
		}
		if ev.Text == "" {
			continue
		}
		if tn.first.IsZero() {
			tn.first = tn.r.now()
		}
		text += ev.Text
		pending += ev.Text
		for {
			clause, rest := cutClause(pending)
			if clause == "" {
				break
			}
			pending = rest
			if err := tn.send(ctx, voice.Reply{Text: speakable(clause), Interim: true}); err != nil {
				return "", nil, "", err
			}
		}
	}
}

// send passes a reply on to the engine.
func (tn *turn) send(ctx context.Context, rp voice.Reply) error {
	if !tn.sent {
		tn.sent = true
		rp.FirstByte = tn.first
	}
	select {
	case tn.out.ch <- rp:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// model is the model name of tier.
func (r *Responder) model(tier string) string {
	if m := r.Models[tier]; m != "" {
		return m
	}
	return r.Models[agentphone.DefaultModelTier]
}

func (r *Responder) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// replies is a turn's answer as the engine reads it.
type replies struct {
	ch     chan voice.Reply
	err    error // why the answer failed; read after ch is closed
	cancel context.CancelFunc
}

func (rs *replies) Next() (voice.Reply, error) {
	rp, ok := <-rs.ch
	if !ok {
		if rs.err != nil {
			return voice.Reply{}, fmt.Errorf("the language model: %w", rs.err)
		}
		return voice.Reply{}, io.EOF
	}
	return rp, nil
}

func (rs *replies) Close() error {
	rs.cancel()
	return nil
}
