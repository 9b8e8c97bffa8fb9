package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"

	"github.com/agentphone/agentphone/voice"
)

// errClosed is what Next returns after Close.
var errClosed = errors.New("anthropic: stream closed")

// toolBlock is a tool_use block being streamed.
type toolBlock struct {
	id, name string
	input    []byte // the partial_json pieces so far
	deltas   bool   // a piece arrived
	start    []byte // the input of content_block_start
}

// stream is one answer as it streams: voice.LLMStream over the SDK's
// event stream.
type stream struct {
	ctx    context.Context // the caller's
	cancel context.CancelFunc
	st     *ssestream.Stream[sdk.MessageStreamEventUnion]

	tools       map[int64]*toolBlock // open tool_use blocks by index
	stop        string               // from message_delta
	stopped     bool                 // message_stop arrived, or the stream ended
	stopEmitted bool
	err         error // once set, every Next returns it

	closeOnce sync.Once
	mu        sync.Mutex
	closed    bool
}

// Next returns the next piece of the answer: text as each text_delta
// arrives; a tool call once its tool_use block has stopped, its
// arguments the block's input_json_delta pieces joined ("{}" when none);
// after message_stop an event with only Stop (when the server gave a
// stop_reason: "end" for end_turn and stop_sequence, "tool_use",
// "max_tokens", others as given); then io.EOF. ping and unknown events are
// skipped, and so are thinking and other block types.
//
// An error event (say, overloaded_error) is returned as an *APIError after
// the events before it; so are a lost connection, an event that does not
// decode and a tool input of more than MaxToolInputBytes, as errors of
// their own. When the caller's context ends, Next returns promptly with an
// error wrapping ctx.Err(). Once Next has returned an error, it returns
// it again.
func (s *stream) Next() (voice.LLMEvent, error) {
	if s.err != nil {
		return voice.LLMEvent{}, s.err
	}
	if s.isClosed() {
		return voice.LLMEvent{}, errClosed
	}
	for !s.stopped && s.st.Next() {
		ev, err := s.handle(s.st.Current())
		if err != nil {
			return voice.LLMEvent{}, s.fail(err)
		}
		if ev != nil {
			return *ev, nil
		}
	}
	if !s.stopped {
		if err := s.st.Err(); err != nil {
			if s.isClosed() {
				return voice.LLMEvent{}, s.fail(errClosed)
			}
			return voice.LLMEvent{}, s.fail(wrapError(s.ctx, "stream", err, true))
		}
		if err := s.ctx.Err(); err != nil {
			return voice.LLMEvent{}, s.fail(fmt.Errorf("anthropic: stream: %w", err))
		}
		s.stopped = true
	}
	if s.stop != "" && !s.stopEmitted {
		s.stopEmitted = true
		return voice.LLMEvent{Stop: s.stop}, nil
	}
	s.err = io.EOF
	s.release()
	return voice.LLMEvent{}, io.EOF
}

// handle takes one event: it returns the LLMEvent it makes, if any.
func (s *stream) handle(ev sdk.MessageStreamEventUnion) (*voice.LLMEvent, error) {
	switch ev.Type {
	case "content_block_start":
		cb := ev.ContentBlock
		switch cb.Type {
		case "text":
			if cb.Text != "" {
				return &voice.LLMEvent{Text: cb.Text}, nil
			}
		case "tool_use":
			s.tools[ev.Index] = &toolBlock{id: cb.ID, name: cb.Name, start: []byte(cb.JSON.Input.Raw())}
		}
	case "content_block_delta":
		switch ev.Delta.Type {
		case "text_delta":
			if ev.Delta.Text != "" {
				return &voice.LLMEvent{Text: ev.Delta.Text}, nil
			}
		case "input_json_delta":
			tb := s.tools[ev.Index]
			if tb == nil {
				return nil, nil // a server tool's block
			}
			if len(tb.input)+len(ev.Delta.PartialJSON) > MaxToolInputBytes {
				return nil, fmt.Errorf("anthropic: stream: tool %q: input of more than %d KiB", tb.name, MaxToolInputBytes>>10)
			}
			tb.input = append(tb.input, ev.Delta.PartialJSON...)
			tb.deltas = true
		}
	case "content_block_stop":
		tb := s.tools[ev.Index]
		if tb == nil {
			return nil, nil
		}
		delete(s.tools, ev.Index)
		return &voice.LLMEvent{ToolCall: &voice.ToolCall{ID: tb.id, Name: tb.name, Arguments: tb.arguments()}}, nil
	case "message_delta":
		if r := string(ev.Delta.StopReason); r != "" {
			s.stop = stopReason(r)
		}
	case "message_stop":
		s.stopped = true
	}
	return nil, nil
}

// arguments are the block's input: its pieces joined, or the input of
// content_block_start when no piece came and it is not empty, or {}.
func (tb *toolBlock) arguments() json.RawMessage {
	in := bytes.TrimSpace(tb.input)
	if !tb.deltas || len(in) == 0 {
		start := bytes.TrimSpace(tb.start)
		if len(start) > 0 && start[0] == '{' && len(start) <= MaxToolInputBytes && json.Valid(start) {
			in = start
		}
	}
	if len(in) == 0 {
		return json.RawMessage(`{}`)
	}
	return json.RawMessage(bytes.Clone(in))
}

// stopReason maps Anthropic's stop_reason to voice.LLMEvent.Stop.
func stopReason(r string) string {
	switch r {
	case "end_turn", "stop_sequence":
		return "end"
	}
	return r // "tool_use", "max_tokens", "pause_turn", "refusal", …
}

// fail makes err the stream's last word and releases the connection.
func (s *stream) fail(err error) error {
	s.err = err
	s.release()
	return err
}

// release abandons the request and closes the answer's body.
func (s *stream) release() {
	s.closeOnce.Do(func() {
		s.cancel()
		_ = s.st.Close()
	})
}

func (s *stream) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close abandons the rest of the answer and releases the connection. It
// may be called more than once, after io.EOF, and while Next waits in
// another goroutine (which then returns an error).
func (s *stream) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.release()
	return nil
}
