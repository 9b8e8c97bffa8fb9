package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/agentphone/agentphone/voice"
)

// Defaults and bounds of a request.
const (
	// DefaultMaxTokens bounds an answer when the request does not
	// (Anthropic requires max_tokens): a phone answer is short.
	DefaultMaxTokens = 300
	// MaxToolInputBytes bounds the arguments of one tool call: the stream
	// fails when a tool_use block's input grows past it.
	MaxToolInputBytes = 64 << 10
	// StartText is the user message put before a conversation that does
	// not begin with the user's turn (none yet, or the agent spoke
	// first): Anthropic wants the user to speak first.
	StartText = "(The call begins.)"
)

// Client streams answers of Anthropic's Messages API (POST
// {BaseURL}/v1/messages with "stream": true). It keeps no state between
// requests and is safe for concurrent use.
type Client struct {
	cfg Config
	svc sdk.MessageService
}

var _ voice.LLM = (*Client)(nil)

// New returns a Client for cfg (empty fields take their defaults). It
// fails when cfg.BaseURL is not an absolute http(s) URL without /v1.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, svc: sdk.NewMessageService(cfg.requestOptions()...)}, nil
}

// Stream starts one answer of req.Model to req. It returns once the
// server has accepted the request (its answer's headers arrived), the
// answer streaming on the returned LLMStream; the caller must Close it.
//
// The request: req.System is the system prompt; req.Messages become
// Anthropic's messages, user text as a text block, an assistant's text
// and tool calls as a text block and tool_use blocks (an argument string
// that is not a JSON object is sent as {}), and tool results as
// tool_result blocks. Messages of one role in a row are merged into one,
// so that consecutive tool results make the single user message Anthropic
// wants and the roles alternate; a conversation that does not begin with
// the user gets a first user message of StartText. Empty texts are
// left out (Anthropic refuses empty text blocks). req.Tools are sent with
// their schemas ({"type":"object","properties":{}} for none).
// req.MaxTokens is max_tokens, DefaultMaxTokens when 0.
//
// req.Temperature is not sent: the API version of the SDK, 2026-10-21,
// refuses temperature (and top_p, top_k) with a 400 whatever its value.
//
// It fails without a request for a missing model, a message of an unknown
// role or a tool's Parameters that are not a JSON object schema; with an
// *APIError (errors.As) carrying Anthropic's message when the server
// refuses the request (401 authentication_error, 429 rate_limit_error,
// 529 overloaded_error, 400 invalid_request_error, …); and with an error
// wrapping ctx's when ctx ends first.
func (c *Client) Stream(ctx context.Context, req voice.LLMRequest) (voice.LLMStream, error) {
	params, err := newParams(req)
	if err != nil {
		return nil, fmt.Errorf("anthropic: stream: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	st := c.svc.NewStreaming(sctx, params)
	if err := st.Err(); err != nil {
		_ = st.Close()
		cancel()
		return nil, wrapError(ctx, "stream", err, false)
	}
	return &stream{ctx: ctx, cancel: cancel, st: st, tools: map[int64]*toolBlock{}}, nil
}

// newParams maps req to the SDK's request.
func newParams(req voice.LLMRequest) (sdk.MessageNewParams, error) {
	if req.Model == "" {
		return sdk.MessageNewParams{}, errors.New("no model")
	}
	p := sdk.MessageNewParams{
		Model:     sdk.Model(req.Model),
		MaxTokens: DefaultMaxTokens,
	}
	if req.MaxTokens > 0 {
		p.MaxTokens = int64(req.MaxTokens)
	}
	if req.System != "" {
		p.System = []sdk.TextBlockParam{{Text: req.System}}
	}
	msgs, err := messages(req.Messages)
	if err != nil {
		return sdk.MessageNewParams{}, err
	}
	p.Messages = msgs
	for _, t := range req.Tools {
		tool, err := toolParam(t)
		if err != nil {
			return sdk.MessageNewParams{}, err
		}
		p.Tools = append(p.Tools, sdk.ToolUnionParam{OfTool: tool})
	}
	return p, nil
}

// turn is one message being built: its role and blocks.
type turn struct {
	user   bool
	blocks []sdk.ContentBlockParamUnion
}

// messages maps the conversation, merging messages of one role in a row
// and putting a user message first when the conversation lacks one.
func messages(in []voice.LLMMessage) ([]sdk.MessageParam, error) {
	var turns []turn
	add := func(user bool, blocks ...sdk.ContentBlockParamUnion) {
		if len(blocks) == 0 {
			return
		}
		if n := len(turns); n > 0 && turns[n-1].user == user {
			turns[n-1].blocks = append(turns[n-1].blocks, blocks...)
			return
		}
		turns = append(turns, turn{user: user, blocks: blocks})
	}
	for i, m := range in {
		switch m.Role {
		case voice.LLMUser:
			if m.Text != "" {
				add(true, sdk.NewTextBlock(m.Text))
			}
		case voice.LLMAssistant:
			var blocks []sdk.ContentBlockParamUnion
			if m.Text != "" {
				blocks = append(blocks, sdk.NewTextBlock(m.Text))
			}
			for _, tc := range m.ToolCalls {
				blocks = append(blocks, sdk.NewToolUseBlock(tc.ID, toolInput(tc.Arguments), tc.Name))
			}
			add(false, blocks...)
		case voice.LLMTool:
			result := sdk.ToolResultBlockParam{ToolUseID: m.ToolCallID}
			if m.Text != "" {
				result.Content = []sdk.ToolResultBlockParamContentUnion{{OfText: &sdk.TextBlockParam{Text: m.Text}}}
			}
			add(true, sdk.ContentBlockParamUnion{OfToolResult: &result})
		default:
			return nil, fmt.Errorf("message %d: unknown role %q", i, m.Role)
		}
	}
	if len(turns) == 0 || !turns[0].user {
		turns = append([]turn{{user: true, blocks: []sdk.ContentBlockParamUnion{sdk.NewTextBlock(StartText)}}}, turns...)
	}
	out := make([]sdk.MessageParam, len(turns))
	for i, t := range turns {
		if t.user {
			out[i] = sdk.NewUserMessage(t.blocks...)
		} else {
			out[i] = sdk.NewAssistantMessage(t.blocks...)
		}
	}
	return out, nil
}

// emptyObject is the input of a tool call without arguments.
var emptyObject = json.RawMessage(`{}`)

// toolInput is the input of a tool_use block for a call's arguments: the
// arguments when they are a JSON object, else {} (Anthropic refuses any
// other input, and a model's bad arguments must not fail the next turn).
func toolInput(args json.RawMessage) json.RawMessage {
	args = bytes.TrimSpace(args)
	if len(args) == 0 || args[0] != '{' || !json.Valid(args) {
		return emptyObject
	}
	return args
}

// toolParam maps a tool: its Parameters (an object schema) become the
// input_schema, {"type":"object","properties":{}} when nil.
func toolParam(t voice.ToolSpec) (*sdk.ToolParam, error) {
	tool := &sdk.ToolParam{Name: t.Name}
	if t.Description != "" {
		tool.Description = sdk.String(t.Description)
	}
	params := bytes.TrimSpace(t.Parameters)
	if len(params) == 0 || bytes.Equal(params, []byte("null")) {
		tool.InputSchema = sdk.ToolInputSchemaParam{Properties: emptyObject}
		return tool, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(params, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("tool %q: parameters are not a JSON object", t.Name)
	}
	var schema sdk.ToolInputSchemaParam
	for k, v := range fields {
		switch k {
		case "type":
			if jsonString(v) != "object" {
				return nil, fmt.Errorf("tool %q: parameters: type %s, want \"object\"", t.Name, v)
			}
		case "properties":
			schema.Properties = v
		case "required":
			if err := json.Unmarshal(v, &schema.Required); err != nil {
				return nil, fmt.Errorf("tool %q: parameters: required: %w", t.Name, err)
			}
		default:
			if schema.ExtraFields == nil {
				schema.ExtraFields = map[string]any{}
			}
			schema.ExtraFields[k] = v
		}
	}
	tool.InputSchema = schema
	return tool, nil
}
