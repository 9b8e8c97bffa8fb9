package voice

import (
	"context"
	"encoding/json"
)

// The language model hosted agents talk with (voiceMode "hosted"). Each
// provider is an adapter package of its own (openai: chat completions of
// any OpenAI-compatible server; anthropic: the Messages API) implementing
// LLM; the hosted responder (package hosted) consumes it.

// LLM is a chat model that streams its answer and may call tools.
type LLM interface {
	// Stream starts one completion of req. The answer arrives on the
	// returned stream as it is written. An error here is a request the
	// provider refused or could not be reached (the stream's Next reports
	// failures after the first byte).
	Stream(ctx context.Context, req LLMRequest) (LLMStream, error)
}

// LLMRequest is one completion to make.
type LLMRequest struct {
	// Model is the provider's model name (a modelTier mapped by the
	// server's configuration).
	Model string
	// System is the system prompt.
	System string
	// Messages is the conversation so far, oldest first; the last is the
	// user's turn or a tool's result.
	Messages []LLMMessage
	// Tools the model may call; none when empty.
	Tools []ToolSpec
	// MaxTokens bounds the answer (0: the adapter's default, a few hundred
	// tokens: a phone answer is short).
	MaxTokens int
	// Temperature is the sampling temperature; nil: the provider's
	// default.
	Temperature *float64
}

// Roles of LLMMessage.
const (
	LLMUser      = "user"
	LLMAssistant = "assistant"
	LLMTool      = "tool"
)

// LLMMessage is one message of the conversation.
type LLMMessage struct {
	// Role is LLMUser, LLMAssistant or LLMTool.
	Role string
	// Text is the message's text (an assistant's may be empty when it
	// only called tools; a tool message's is the tool's result, usually
	// JSON).
	Text string
	// ToolCalls are the tools an assistant message called, in order.
	ToolCalls []ToolCall
	// ToolCallID is, on a tool message, the id of the call it answers.
	// Consecutive tool messages answer the calls of the assistant message
	// before them (Anthropic wants them as one user message of
	// tool_result blocks: the adapter groups them).
	ToolCallID string
}

// ToolSpec describes a tool to the model.
type ToolSpec struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments, an object schema;
	// nil for a tool without arguments (the adapters send
	// {"type":"object","properties":{}}).
	Parameters json.RawMessage
}

// ToolCall is one call of a tool by the model.
type ToolCall struct {
	// ID is the provider's id of the call, given back with its result.
	ID   string
	Name string
	// Arguments is the JSON object the model wrote ("{}" when it wrote
	// none). It is not checked: it may not even be valid JSON.
	Arguments json.RawMessage
}

// LLMStream is one completion as it streams.
type LLMStream interface {
	// Next returns the next event; io.EOF after the last. A failure in the
	// middle of the answer (the connection lost, an error event) is
	// returned as an error after the events before it.
	Next() (LLMEvent, error)
	// Close abandons the rest of the answer and releases the connection.
	// Safe to call more than once, and after io.EOF.
	Close() error
}

// LLMEvent is a piece of the answer: text as it is written, or a whole
// tool call once its arguments are complete (the adapters assemble the
// providers' argument deltas). Exactly one of Text and ToolCall is set,
// except on the last event, which may carry only Stop.
type LLMEvent struct {
	Text     string
	ToolCall *ToolCall
	// Stop is why the model stopped, on the last event: "end" (it
	// finished), "tool_use" (it called tools and waits for their results),
	// "max_tokens", or the provider's own reason.
	Stop string
}
