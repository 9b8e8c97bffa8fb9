package openai

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"

	"github.com/agentphone/agentphone/voice"
)

// Defaults and bounds of Chat.
const (
	// DefaultChatMaxTokens bounds an answer whose request leaves MaxTokens
	// at 0: a phone answer is a few sentences.
	DefaultChatMaxTokens = 300
	// maxToolArgBytes bounds the arguments of one tool call: a tool's
	// arguments are a small JSON object.
	maxToolArgBytes = 64 << 10
	// maxToolCalls bounds the tool calls of one answer.
	maxToolCalls = 64
	// maxEventBytes bounds one server-sent event (a chunk of the answer,
	// which carries a token or a few).
	maxEventBytes = 1 << 20
)

// Chat is the language model of any server that copies OpenAI's chat
// completions API (OpenAI, llama.cpp's server, vLLM, Ollama, Groq, …): it
// streams POST {BaseURL}/chat/completions. It keeps no state between
// requests and is safe for concurrent use.
type Chat struct {
	cfg Config
	svc sdk.ChatCompletionService
}

var _ voice.LLM = (*Chat)(nil)

// NewChat returns a Chat for c (empty fields take their defaults; the
// transcription and speech fields are not used). It fails when c.BaseURL
// is not an absolute http(s) URL.
func NewChat(c Config) (*Chat, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	opts := append(c.requestOptions(0, false), option.WithMiddleware(boundEvents))
	return &Chat{cfg: c, svc: sdk.NewChatCompletionService(opts...)}, nil
}

// Stream asks for a streamed completion of req: req.System as the first
// message (role "system", none when empty), then req.Messages (a tool
// message carries its tool_call_id, an assistant message its tool_calls),
// req.Tools as function tools (nil Parameters sent as an object schema
// without properties), max_tokens (DefaultChatMaxTokens when
// req.MaxTokens is 0) and req.Temperature when set. It sends max_tokens,
// not max_completion_tokens: the servers that copy the API (llama.cpp,
// vLLM, Ollama, Groq) know only the former, and OpenAI still takes it for
// its chat models (not for its reasoning models, which a phone agent has
// no time for). It does not send stream_options, which some servers
// refuse.
//
// The answer's text comes as events as it arrives, each non-empty delta
// one event. Tool calls are assembled from their deltas (by index, the
// arguments joined) and come out whole, in index order, when the answer's
// finish_reason arrives or, from a server that sends none, when the
// stream ends; arguments left empty are "{}". The last event carries only
// Stop: "end" (finish_reason "stop", or none and no tool call),
// "tool_use" ("tool_calls", "function_call", or none after a tool call),
// "max_tokens" ("length"), else the server's finish_reason as given. Then
// Next returns io.EOF.
//
// Errors: Stream returns an *APIError (errors.As) for an answer of status
// 400 or more, with the server's message, and for a successful answer
// that is a JSON error rather than a stream. Next returns, after the
// events before it, an error for an error event of the server, a
// connection lost, a chunk that is not JSON, a tool call whose arguments
// exceed 64 KiB, or an answer that ends before a single chunk; an error
// wrapping ctx's error, promptly, when ctx ends (the request is then
// abandoned). After the finish_reason, a failure before the end of the
// stream is not reported: the answer is whole.
func (c *Chat) Stream(ctx context.Context, req voice.LLMRequest) (voice.LLMStream, error) {
	params, err := chatParams(req)
	if err != nil {
		return nil, fmt.Errorf("openai: chat: %w", err)
	}
	var res *http.Response
	stream := c.svc.NewStreaming(ctx, params, option.WithResponseInto(&res))
	if err := stream.Err(); err != nil {
		_ = stream.Close()
		return nil, wrapError(ctx, "chat", err)
	}
	if res != nil {
		if err := checkEventStream(res); err != nil {
			_ = stream.Close()
			return nil, fmt.Errorf("openai: chat: %w", err)
		}
	}
	s := &chatStream{ctx: ctx, sdk: stream, byIndex: map[int64]int{}}
	// The transport of http.DefaultClient ends a read when ctx ends;
	// closing the body makes sure of it whatever the transport.
	s.stopWatch = context.AfterFunc(ctx, func() { _ = stream.Close() })
	return s, nil
}

// chatParams maps req to the SDK's request.
func chatParams(req voice.LLMRequest) (sdk.ChatCompletionNewParams, error) {
	p := sdk.ChatCompletionNewParams{
		Model: req.Model,
		// max_tokens rather than max_completion_tokens: see Stream.
		MaxTokens: sdk.Int(int64(cmp.Or(req.MaxTokens, DefaultChatMaxTokens))),
	}
	if req.MaxTokens < 0 {
		return p, fmt.Errorf("max tokens %d", req.MaxTokens)
	}
	if req.Temperature != nil {
		p.Temperature = sdk.Float(*req.Temperature)
	}
	if req.System != "" {
		p.Messages = append(p.Messages, sdk.SystemMessage(req.System))
	}
	for i, m := range req.Messages {
		msg, err := chatMessage(m)
		if err != nil {
			return p, fmt.Errorf("message %d: %w", i, err)
		}
		p.Messages = append(p.Messages, msg)
	}
	for _, t := range req.Tools {
		tool, err := chatTool(t)
		if err != nil {
			return p, fmt.Errorf("tool %q: %w", t.Name, err)
		}
		p.Tools = append(p.Tools, tool)
	}
	return p, nil
}

func chatMessage(m voice.LLMMessage) (sdk.ChatCompletionMessageParamUnion, error) {
	switch m.Role {
	case voice.LLMUser:
		return sdk.UserMessage(m.Text), nil
	case voice.LLMTool:
		if m.ToolCallID == "" {
			return sdk.ChatCompletionMessageParamUnion{}, errors.New("tool message without a tool call id")
		}
		return sdk.ToolMessage(m.Text, m.ToolCallID), nil
	case voice.LLMAssistant:
		var a sdk.ChatCompletionAssistantMessageParam
		// Content may be left out when the message calls tools; a
		// message without either is sent with content "".
		if m.Text != "" || len(m.ToolCalls) == 0 {
			a.Content.OfString = sdk.String(m.Text)
		}
		for _, tc := range m.ToolCalls {
			args := string(tc.Arguments)
			if strings.TrimSpace(args) == "" {
				args = "{}"
			}
			a.ToolCalls = append(a.ToolCalls, sdk.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{
					ID:       tc.ID,
					Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Name, Arguments: args},
				},
			})
		}
		return sdk.ChatCompletionMessageParamUnion{OfAssistant: &a}, nil
	default:
		return sdk.ChatCompletionMessageParamUnion{}, fmt.Errorf("role %q", m.Role)
	}
}

func chatTool(t voice.ToolSpec) (sdk.ChatCompletionToolUnionParam, error) {
	params := bytes.TrimSpace(t.Parameters)
	if len(params) == 0 {
		params = []byte(`{"type":"object","properties":{}}`)
	} else if params[0] != '{' || !json.Valid(params) {
		return sdk.ChatCompletionToolUnionParam{}, errors.New("parameters are not a JSON object")
	}
	// The definition goes as raw JSON: the SDK's FunctionParameters, a
	// map, would not keep the schema as written (a json.Number becomes a
	// string).
	def, err := json.Marshal(struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters"`
	}{t.Name, t.Description, params})
	if err != nil {
		return sdk.ChatCompletionToolUnionParam{}, err
	}
	return sdk.ChatCompletionFunctionTool(param.Override[shared.FunctionDefinitionParam](json.RawMessage(def))), nil
}

// checkEventStream refuses a successful answer that is JSON: a server that
// ignored "stream", or reported an error with status 200.
func checkEventStream(res *http.Response) error {
	mediaType, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mediaType != "application/json" {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBytes))
	e := parseErrorBody(body)
	if e.Message == "" {
		e.Message = "answer of type application/json instead of an event stream"
	}
	return &APIError{StatusCode: res.StatusCode, Message: e.Message, Type: e.Type, Code: e.Code}
}

// boundEvents fails a successful answer's read when one of its
// server-sent events exceeds maxEventBytes: the SDK's decoder keeps a
// whole event, its data lines joined, in memory.
func boundEvents(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	res, err := next(req)
	if err == nil && res != nil && res.StatusCode < 400 && res.Body != nil {
		res.Body = &eventBoundBody{rc: res.Body, lineStart: true}
	}
	return res, err
}

// eventBoundBody counts the bytes of the current event (those since the
// last blank line, line ends excepted).
type eventBoundBody struct {
	rc        io.ReadCloser
	n         int
	lineStart bool // the last byte ended a line
	lastCR    bool // the last byte was '\r'
}

var errEventTooLong = fmt.Errorf("server-sent event of more than %d KiB", maxEventBytes>>10)

func (b *eventBoundBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	for _, c := range p[:n] {
		switch c {
		case '\n':
			if b.lastCR { // the end of a "\r\n"
				b.lastCR = false
				continue
			}
			if b.lineStart {
				b.n = 0
			}
			b.lineStart = true
		case '\r':
			if b.lineStart {
				b.n = 0
			}
			b.lineStart, b.lastCR = true, true
		default:
			b.lineStart, b.lastCR = false, false
			if b.n++; b.n > maxEventBytes {
				return 0, errEventTooLong
			}
		}
	}
	return n, err
}

func (b *eventBoundBody) Close() error { return b.rc.Close() }

// chatStream is the answer of Chat.Stream.
type chatStream struct {
	ctx       context.Context
	sdk       *ssestream.Stream[sdk.ChatCompletionChunk]
	stopWatch func() bool
	closed    atomic.Bool

	// The rest is Next's.
	queue    []voice.LLMEvent // events to return before reading on
	calls    []*pendingCall   // tool calls being assembled, in arrival order
	byIndex  map[int64]int    // a tool call's index → its latest in calls
	chunks   int              // chunks decoded
	finish   string           // finish_reason, once it came
	toolUsed bool             // a tool call was queued
	err      error            // the failure to return once queue is empty
	eof      bool             // io.EOF once queue is empty
}

// pendingCall is a tool call whose arguments are still arriving.
type pendingCall struct {
	index    int64
	id, name string
	args     strings.Builder
}

var errStreamClosed = errors.New("openai: chat: stream closed")

// Next returns the next event of the answer (see Chat.Stream); io.EOF
// after the last.
func (s *chatStream) Next() (voice.LLMEvent, error) {
	for {
		if s.closed.Load() {
			return voice.LLMEvent{}, errStreamClosed
		}
		if err := s.ctx.Err(); err != nil && !(s.eof && len(s.queue) == 0) && !errors.Is(s.err, err) {
			// The events not yet returned are dropped: the caller is gone.
			s.queue = nil
			s.fail(fmt.Errorf("openai: chat: %w", err))
		}
		switch {
		case len(s.queue) > 0:
			ev := s.queue[0]
			s.queue = s.queue[1:]
			return ev, nil
		case s.err != nil:
			return voice.LLMEvent{}, s.err
		case s.eof:
			return voice.LLMEvent{}, io.EOF
		}
		if !s.sdk.Next() {
			s.end(s.sdk.Err())
			continue
		}
		s.chunks++
		if err := s.take(s.sdk.Current()); err != nil {
			s.fail(fmt.Errorf("openai: chat: %w", err))
		}
	}
}

// take queues the events of one chunk. What follows the finish_reason
// (a usage chunk) is ignored.
func (s *chatStream) take(chunk sdk.ChatCompletionChunk) error {
	for _, ch := range chunk.Choices {
		if ch.Index != 0 || s.finish != "" {
			continue // n is 1: another choice is a server's oddity
		}
		if ch.Delta.Content != "" {
			s.queue = append(s.queue, voice.LLMEvent{Text: ch.Delta.Content})
		}
		for _, d := range ch.Delta.ToolCalls {
			if err := s.addToolDelta(d); err != nil {
				return err
			}
		}
		if ch.FinishReason != "" {
			s.finish = ch.FinishReason
			s.flushCalls()
		}
	}
	return nil
}

// addToolDelta adds a piece of a tool call.
func (s *chatStream) addToolDelta(d sdk.ChatCompletionChunkChoiceDeltaToolCall) error {
	i, ok := s.byIndex[d.Index]
	// A new id at a known index is a new call: some servers give every
	// call index 0.
	if !ok || (d.ID != "" && s.calls[i].id != "" && d.ID != s.calls[i].id) {
		if len(s.calls) >= maxToolCalls {
			return fmt.Errorf("more than %d tool calls", maxToolCalls)
		}
		s.calls = append(s.calls, &pendingCall{index: d.Index})
		i = len(s.calls) - 1
		s.byIndex[d.Index] = i
	}
	c := s.calls[i]
	if c.id == "" {
		c.id = d.ID
	}
	if c.name == "" {
		c.name = d.Function.Name
	}
	if c.args.Len()+len(d.Function.Arguments) > maxToolArgBytes {
		return fmt.Errorf("tool call %q: arguments of more than %d KiB", cleanMessage(c.name), maxToolArgBytes>>10)
	}
	c.args.WriteString(d.Function.Arguments)
	return nil
}

// flushCalls queues the assembled tool calls in index order.
func (s *chatStream) flushCalls() {
	slices.SortStableFunc(s.calls, func(a, b *pendingCall) int { return cmp.Compare(a.index, b.index) })
	for _, c := range s.calls {
		args := c.args.String()
		if strings.TrimSpace(args) == "" {
			args = "{}"
		}
		s.queue = append(s.queue, voice.LLMEvent{ToolCall: &voice.ToolCall{ID: c.id, Name: c.name, Arguments: json.RawMessage(args)}})
		s.toolUsed = true
	}
	s.calls = nil
	clear(s.byIndex)
}

// end handles the end of the SDK's stream: err is nil after [DONE] or the
// end of the body.
func (s *chatStream) end(err error) {
	switch {
	case s.closed.Load():
		return // Next reports it
	case s.ctx.Err() != nil:
		s.fail(fmt.Errorf("openai: chat: %w", s.ctx.Err()))
	case err != nil && s.finish == "":
		s.fail(streamError(s.ctx, err))
	case s.chunks == 0:
		s.fail(errors.New("openai: chat: the answer ended before its first chunk"))
	default:
		s.flushCalls()
		s.queue = append(s.queue, voice.LLMEvent{Stop: stopReason(s.finish, s.toolUsed)})
		s.eof = true
		s.release()
	}
}

// fail makes err the answer of Next once the queued events are returned
// (the text that came before the failure), and drops the tool calls not
// complete.
func (s *chatStream) fail(err error) {
	s.err = err
	s.calls = nil
	s.release()
}

// streamError wraps an error of the stream after its start.
func streamError(ctx context.Context, err error) error {
	var se *ssestream.StreamError
	if errors.As(err, &se) {
		msg := parseErrorBody(se.Event.Data).Message
		if msg == "" {
			msg = cleanMessage(se.Message)
		}
		return fmt.Errorf("openai: chat: the server failed mid-answer: %s", msg)
	}
	return wrapError(ctx, "chat: read answer", err)
}

// stopReason maps a finish_reason to LLMEvent.Stop.
func stopReason(finish string, toolUsed bool) string {
	switch finish {
	case "stop":
		return "end"
	case "tool_calls", "function_call":
		return "tool_use"
	case "length":
		return "max_tokens"
	case "":
		if toolUsed {
			return "tool_use"
		}
		return "end"
	}
	return finish
}

// release closes the SDK's stream and stops watching ctx.
func (s *chatStream) release() {
	s.stopWatch()
	_ = s.sdk.Close()
}

// Close abandons the rest of the answer and closes the connection. It may
// be called more than once, from another goroutine than Next's too; Next
// then fails.
func (s *chatStream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stopWatch()
	_ = s.sdk.Close()
	return nil
}
