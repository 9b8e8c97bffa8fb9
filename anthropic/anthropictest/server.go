// Package anthropictest is a local fake of Anthropic's Messages API,
// speaking its documented wire format, for tests of package anthropic and
// as the language model of end-to-end tests: the requests are checked as
// Anthropic checks them, only the answers are scripted.
//
// The fake serves POST /v1/messages (BaseURL is its root, without /v1).
// A request must carry an "anthropic-version" header, "content-type:
// application/json", and, after SetAPIKey, the key in "x-api-key" (or, as
// API version 2026-10-21 also accepts, in "Authorization: Bearer"). Its
// body must have a model, max_tokens of at least 1, and messages that
// begin with the user, alternate between "user" and "assistant", have
// non-empty content and non-empty text blocks; an assistant's tool_use
// blocks must have a JSON object as input and be answered, each, by a
// tool_result block of the next message, which must come before any other
// block of that message and answer only those; tools must have a name of
// 1–64 letters, digits, '_' or '-', unique, and an input_schema of type
// "object". Under "anthropic-version: 2026-10-21" (the SDK's v2),
// temperature, top_p and top_k are refused, as Anthropic does.
// A violation is answered 400 invalid_request_error with a message naming
// it, close to Anthropic's.
//
// Its answer is the next reply of the script (Script), else what the
// function set by SetReply returns, else the empty reply (no content,
// stop_reason end_turn). With "stream": true the reply is streamed as
// Anthropic streams: message_start, then for each content block (the
// text, then the tool uses) content_block_start, content_block_delta
// events (text_delta or input_json_delta), content_block_stop, one ping
// after the first block's start, then message_delta with the stop_reason
// and message_stop; each event as "event: <type>" and "data: <json>"
// lines, flushed. Without it, the reply is a message JSON. Errors have
// Anthropic's shape {"type": "error", "error": {"type", "message"}}.
// It does not import package anthropic.
package anthropictest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Version2026 is the API version from which sampling parameters are
// refused; the SDK's v2 sends it.
const Version2026 = "2026-10-21"

// maxBody is Anthropic's limit on a Messages request: 32 MB.
const maxBody = 32 << 20

// Reply is what the fake answers to one request.
type Reply struct {
	// Text is the answer's text; none when empty.
	Text string
	// Chunks are the text_delta pieces of Text when streaming; by default
	// the words of Text, each with the spaces before it (their join is
	// Text). When set, they are sent as they are, and Text is ignored.
	Chunks []string
	// ToolUses are the tool_use blocks after the text, in order.
	ToolUses []ToolUse
	// StopReason is message_delta's stop_reason; by default "tool_use"
	// when there are ToolUses, else "end_turn".
	StopReason string
	// ErrorAfter, when more than 0, sends an error event after this many
	// deltas (text and input pieces counted together; after the last when
	// there are fewer) and ends the answer there. The error's type and
	// message are ErrorType and Message, by default "overloaded_error"
	// and "Overloaded". Streaming only.
	ErrorAfter int
	// Status, when set, answers the request with this HTTP status and
	// Anthropic's error JSON instead, of type ErrorType and with Message
	// (by default the type and message Anthropic gives that status:
	// 401 authentication_error, 429 rate_limit_error, 529
	// overloaded_error, …).
	Status    int
	ErrorType string
	Message   string
	// Hold, when set, makes the fake stop before the last delta (before
	// message_delta when there is none; before answering a request that
	// does not stream) until Hold is closed or the client goes away.
	Hold <-chan struct{}
	// ChunkDelay is waited before each delta but the first.
	ChunkDelay time.Duration
}

// ToolUse is one tool_use block of a reply.
type ToolUse struct {
	// ID is the block's id; by default "toolu_fake<n>".
	ID   string
	Name string
	// Input is the tool's input, the JSON the model wrote; "" is {}.
	// Streaming, it is sent as it is (it need not be valid); otherwise it
	// must be a JSON object, or {} is sent.
	Input string
	// InputChunks are the input_json_delta pieces; by default an empty
	// piece (as Anthropic sends first) and then Input in pieces of 16
	// bytes. When set, they are sent as they are, and Input is ignored
	// for streaming.
	InputChunks []string
}

// Request is one request the fake received (those it refused included).
type Request struct {
	Model       string
	System      string // the system prompt: a string, or its text blocks joined
	Messages    []Message
	Tools       []Tool
	MaxTokens   int // 0 when absent
	Temperature *float64
	Stream      bool
	Header      http.Header
	Body        []byte
	// Status is the HTTP status the fake answered.
	Status int
}

// Message is one message of a request.
type Message struct {
	Role    string
	Content []Block // a string content is one text block
}

// Block is one content block of a message.
type Block struct {
	Type string // "text", "tool_use", "tool_result", …
	// Text is a text block's text, or a tool_result's content (a string,
	// or its text blocks joined).
	Text string
	// ID, Name and Input are a tool_use block's.
	ID    string
	Name  string
	Input json.RawMessage
	// ToolUseID and IsError are a tool_result block's.
	ToolUseID string
	IsError   bool
}

// Tool is one tool of a request.
type Tool struct {
	Name        string
	Description string
	InputSchema json.RawMessage
}

// Server is the fake. Close it when done.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	apiKey   string
	script   []Reply
	replyFn  func(Request) Reply
	requests []Request
	ids      int
}

// NewServer starts a fake that accepts any API key and has an empty
// script.
func NewServer() *Server {
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", s.handleMessages)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found_error", "Not found")
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// BaseURL is the API root without its version, what the SDK's base URL
// (and anthropic.Config.BaseURL) takes: the server's URL.
func (s *Server) BaseURL() string { return s.URL }

// SetAPIKey makes the fake require key in "x-api-key" (or, without that
// header, in "Authorization: Bearer <key>"), answering 401
// authentication_error otherwise; "" (the default) accepts any request.
func (s *Server) SetAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = key
}

// Script queues the replies of the next requests, in order.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, replies...)
}

// SetReply sets the function that answers a valid request when the script
// is empty (nil: the empty reply). It is called without the fake's lock
// held, possibly concurrently.
func (s *Server) SetReply(fn func(Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replyFn = fn
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r
		out[i].Header = r.Header.Clone()
		out[i].Body = bytes.Clone(r.Body)
		out[i].Messages = slices.Clone(r.Messages)
		out[i].Tools = slices.Clone(r.Tools)
	}
	return out
}

// record appends r and returns its index.
func (s *Server) record(r Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	return len(s.requests) - 1
}

func (s *Server) setStatus(i, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[i].Status = status
}

func (s *Server) nextID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids++
	return s.ids
}

// wire types of the request body.
type (
	wireRequest struct {
		Model       json.RawMessage `json:"model"`
		MaxTokens   json.RawMessage `json:"max_tokens"`
		Messages    []wireMessage   `json:"messages"`
		System      json.RawMessage `json:"system"`
		Tools       []wireTool      `json:"tools"`
		Temperature *float64        `json:"temperature"`
		TopP        *float64        `json:"top_p"`
		TopK        *float64        `json:"top_k"`
		Stream      *bool           `json:"stream"`
	}
	wireMessage struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	wireBlock struct {
		Type      string          `json:"type"`
		Text      *string         `json:"text"`
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
		ToolUseID string          `json:"tool_use_id"`
		Content   json.RawMessage `json:"content"`
		IsError   bool            `json:"is_error"`
	}
	wireTool struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
)

// invalid is a request Anthropic would refuse with 400.
type invalid string

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	req := Request{Header: r.Header.Clone(), Body: body}
	var wire wireRequest
	jsonErr := json.Unmarshal(body, &wire)
	if jsonErr == nil {
		decode(&req, &wire)
	}
	// The status is recorded before the answer is written: a client may
	// look at Requests as soon as it has read the answer.
	i := s.record(req)
	fail := func(code int, typ, msg string) {
		s.setStatus(i, code)
		writeError(w, code, typ, msg)
	}

	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		fail(http.StatusRequestEntityTooLarge, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
		return
	case err != nil:
		fail(http.StatusBadRequest, "invalid_request_error", "could not read the body: "+err.Error())
		return
	}
	if msg, ok := s.checkKey(r.Header); !ok {
		fail(http.StatusUnauthorized, "authentication_error", msg)
		return
	}
	version := r.Header.Get("anthropic-version")
	if version == "" {
		fail(http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		fail(http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("content-type: want application/json, got %q", ct))
		return
	}
	if jsonErr != nil {
		fail(http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request: "+jsonErr.Error())
		return
	}
	if msg := validate(&wire, version); msg != "" {
		fail(http.StatusBadRequest, "invalid_request_error", string(msg))
		return
	}

	reply := s.reply(req)
	if reply.Status != 0 {
		typ, msg := errorDefaults(reply.Status, reply.ErrorType, reply.Message)
		if reply.Status == http.StatusTooManyRequests {
			w.Header().Set("retry-after", "1")
		}
		fail(reply.Status, typ, msg)
		return
	}
	s.setStatus(i, http.StatusOK)
	if req.Stream {
		s.stream(w, r, req, reply)
		return
	}
	if reply.Hold != nil {
		select {
		case <-reply.Hold:
		case <-r.Context().Done():
			return
		}
	}
	writeJSON(w, http.StatusOK, s.message(req, reply))
}

// checkKey checks the API key; it returns the message of the 401.
func (s *Server) checkKey(h http.Header) (string, bool) {
	s.mu.Lock()
	key := s.apiKey
	s.mu.Unlock()
	if key == "" {
		return "", true
	}
	got, ok := h.Get("x-api-key"), h.Get("x-api-key") != ""
	if !ok {
		got, ok = strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	}
	switch {
	case !ok:
		return "x-api-key header is required", false
	case got != key:
		return "invalid x-api-key", false
	}
	return "", true
}

// reply takes the next reply of the script, else asks the function.
func (s *Server) reply(req Request) Reply {
	s.mu.Lock()
	if len(s.script) > 0 {
		r := s.script[0]
		s.script = s.script[1:]
		s.mu.Unlock()
		return r
	}
	fn := s.replyFn
	s.mu.Unlock()
	if fn == nil {
		return Reply{}
	}
	return fn(req)
}

// decode fills req from the wire request, forgiving what validate
// refuses.
func decode(req *Request, w *wireRequest) {
	_ = json.Unmarshal(w.Model, &req.Model)
	_ = json.Unmarshal(w.MaxTokens, &req.MaxTokens)
	req.System = textOf(w.System)
	req.Temperature = w.Temperature
	req.Stream = w.Stream != nil && *w.Stream
	for _, m := range w.Messages {
		msg := Message{Role: m.Role}
		blocks, _ := blocksOf(m.Content)
		for _, b := range blocks {
			block := Block{Type: b.Type, ID: b.ID, Name: b.Name, Input: b.Input, ToolUseID: b.ToolUseID, IsError: b.IsError}
			if b.Text != nil {
				block.Text = *b.Text
			}
			if b.Type == "tool_result" {
				block.Text = textOf(b.Content)
			}
			msg.Content = append(msg.Content, block)
		}
		req.Messages = append(req.Messages, msg)
	}
	for _, t := range w.Tools {
		req.Tools = append(req.Tools, Tool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema})
	}
}

// blocksOf is a message's content: a string is one text block.
func blocksOf(raw json.RawMessage) ([]wireBlock, bool) {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return []wireBlock{{Type: "text", Text: &text}}, true
	}
	var blocks []wireBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return nil, false
	}
	return blocks, true
}

// textOf is a string, or the texts of a list of text blocks joined.
func textOf(raw json.RawMessage) string {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return text
	}
	var blocks []wireBlock
	_ = json.Unmarshal(raw, &blocks)
	var b strings.Builder
	for _, bl := range blocks {
		if bl.Text != nil {
			b.WriteString(*bl.Text)
		}
	}
	return b.String()
}

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// validate checks what Anthropic checks of a request that matters here;
// it returns the message of the 400, or "".
func validate(w *wireRequest, version string) invalid {
	var model string
	if json.Unmarshal(w.Model, &model) != nil || model == "" {
		return "model: Field required"
	}
	if len(w.MaxTokens) == 0 || string(w.MaxTokens) == "null" {
		return "max_tokens: Field required"
	}
	var maxTokens int
	if json.Unmarshal(w.MaxTokens, &maxTokens) != nil {
		return "max_tokens: Input should be a valid integer"
	}
	if maxTokens < 1 {
		return "max_tokens: Input should be greater than or equal to 1"
	}
	if version >= Version2026 {
		for _, p := range []struct {
			name string
			v    *float64
		}{{"temperature", w.Temperature}, {"top_p", w.TopP}, {"top_k", w.TopK}} {
			if p.v != nil {
				return invalid(p.name + ": Extra inputs are not permitted")
			}
		}
	}
	if len(w.System) > 0 && string(w.System) != "null" {
		var text string
		var blocks []wireBlock
		if json.Unmarshal(w.System, &text) != nil && json.Unmarshal(w.System, &blocks) != nil {
			return "system: Input should be a valid string or a list of text blocks"
		}
		for i, b := range blocks {
			if b.Type != "text" || b.Text == nil || *b.Text == "" {
				return invalid(fmt.Sprintf("system.%d.text: text content blocks must be non-empty", i))
			}
		}
	}
	if msg := validateMessages(w.Messages); msg != "" {
		return msg
	}
	names := map[string]bool{}
	for i, t := range w.Tools {
		if t.Type != "" && t.Type != "custom" {
			continue // a server tool: not modelled
		}
		if !toolName.MatchString(t.Name) {
			return invalid(fmt.Sprintf("tools.%d.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'", i))
		}
		if names[t.Name] {
			return "tools: Tool names must be unique."
		}
		names[t.Name] = true
		var schema struct {
			Type string `json:"type"`
		}
		if len(t.InputSchema) == 0 || json.Unmarshal(t.InputSchema, &schema) != nil {
			return invalid(fmt.Sprintf("tools.%d.custom.input_schema: Field required", i))
		}
		if schema.Type != "object" {
			return invalid(fmt.Sprintf("tools.%d.custom.input_schema.type: Input should be 'object'", i))
		}
	}
	return ""
}

// validateMessages checks the conversation.
func validateMessages(msgs []wireMessage) invalid {
	if len(msgs) == 0 {
		return "messages: at least one message is required"
	}
	var pending []string // tool_use ids of the previous assistant message
	for i, m := range msgs {
		switch m.Role {
		case "user", "assistant":
		default:
			return invalid(fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i))
		}
		if i == 0 && m.Role != "user" {
			return `messages: first message must use the "user" role`
		}
		if i > 0 && msgs[i-1].Role == m.Role {
			return invalid(fmt.Sprintf(`messages: roles must alternate between "user" and "assistant", but found multiple %q roles in a row`, m.Role))
		}
		if len(m.Content) == 0 || string(m.Content) == "null" {
			return invalid(fmt.Sprintf("messages.%d.content: Field required", i))
		}
		blocks, ok := blocksOf(m.Content)
		if !ok {
			return invalid(fmt.Sprintf("messages.%d.content: Input should be a valid string or a list of content blocks", i))
		}
		last := i == len(msgs)-1
		if len(blocks) == 0 && !(last && m.Role == "assistant") {
			return invalid(fmt.Sprintf("messages.%d: all messages must have non-empty content except for the optional final assistant message", i))
		}
		var uses []string
		answered := map[string]bool{}
		other := false
		for j, b := range blocks {
			switch b.Type {
			case "text":
				if b.Text == nil || *b.Text == "" {
					return invalid(fmt.Sprintf("messages.%d.content.%d.text: text content blocks must be non-empty", i, j))
				}
				other = true
			case "tool_use":
				if m.Role != "assistant" {
					return invalid(fmt.Sprintf("messages.%d.content.%d: tool_use blocks are only allowed in assistant messages", i, j))
				}
				var input map[string]any
				if json.Unmarshal(b.Input, &input) != nil || input == nil {
					return invalid(fmt.Sprintf("messages.%d.content.%d.tool_use.input: Input should be a valid dictionary", i, j))
				}
				if b.ID == "" || b.Name == "" {
					return invalid(fmt.Sprintf("messages.%d.content.%d.tool_use: id and name are required", i, j))
				}
				uses = append(uses, b.ID)
			case "tool_result":
				if m.Role != "user" {
					return invalid(fmt.Sprintf("messages.%d.content.%d: tool_result blocks are only allowed in user messages", i, j))
				}
				if other {
					return invalid(fmt.Sprintf("messages.%d.content.%d: tool_result blocks must come before any other content in the message", i, j))
				}
				if !slices.Contains(pending, b.ToolUseID) {
					return invalid(fmt.Sprintf("messages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", i, j, b.ToolUseID))
				}
				answered[b.ToolUseID] = true
			default:
				other = true
			}
		}
		if m.Role == "user" {
			var missing []string
			for _, id := range pending {
				if !answered[id] {
					missing = append(missing, id)
				}
			}
			if len(missing) > 0 {
				return invalid(fmt.Sprintf("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", i-1, strings.Join(missing, ", ")))
			}
		}
		pending = uses
		if last && len(uses) > 0 {
			return invalid(fmt.Sprintf("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", i, strings.Join(uses, ", ")))
		}
	}
	return ""
}

// errorDefaults fills the type and message of an error answer of status.
func errorDefaults(status int, typ, msg string) (string, string) {
	defaults := map[int][2]string{
		400: {"invalid_request_error", "Invalid request"},
		401: {"authentication_error", "invalid x-api-key"},
		402: {"billing_error", "Your credit balance is too low to access the Anthropic API."},
		403: {"permission_error", "Your API key does not have permission to use the specified resource."},
		404: {"not_found_error", "Not found"},
		413: {"request_too_large", "Request exceeds the maximum allowed number of bytes."},
		429: {"rate_limit_error", "Number of requests has exceeded your rate limit."},
		500: {"api_error", "Internal server error"},
		504: {"timeout_error", "Request timed out"},
		529: {"overloaded_error", "Overloaded"},
	}
	d, ok := defaults[status]
	if !ok {
		d = [2]string{"api_error", http.StatusText(status)}
	}
	if typ == "" {
		typ = d[0]
	}
	if msg == "" {
		msg = d[1]
	}
	return typ, msg
}

// errorJSON is Anthropic's error answer.
func errorJSON(typ, msg string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}}
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, errorJSON(typ, msg))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", fmt.Sprintf("req_fake%d", time.Now().UnixNano()))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// block is one content block of a reply, with its deltas.
type block struct {
	start  map[string]any // content_block_start's content_block
	deltas []map[string]any
	final  map[string]any // the block of a message JSON
}

// blocks are the content blocks of reply.
func (s *Server) blocks(reply Reply) []block {
	var out []block
	chunks := reply.Chunks
	if chunks == nil {
		chunks = words(reply.Text)
	}
	if len(chunks) > 0 {
		b := block{
			start: map[string]any{"type": "text", "text": ""},
			final: map[string]any{"type": "text", "text": strings.Join(chunks, "")},
		}
		for _, c := range chunks {
			b.deltas = append(b.deltas, map[string]any{"type": "text_delta", "text": c})
		}
		out = append(out, b)
	}
	for _, tu := range reply.ToolUses {
		id := tu.ID
		if id == "" {
			id = fmt.Sprintf("toolu_fake%d", s.nextID())
		}
		input := json.RawMessage(`{}`)
		if tu.Input != "" && json.Valid([]byte(tu.Input)) && strings.HasPrefix(strings.TrimSpace(tu.Input), "{") {
			input = json.RawMessage(tu.Input)
		}
		b := block{
			start: map[string]any{"type": "tool_use", "id": id, "name": tu.Name, "input": map[string]any{}},
			final: map[string]any{"type": "tool_use", "id": id, "name": tu.Name, "input": input},
		}
		pieces := tu.InputChunks
		if pieces == nil {
			pieces = append([]string{""}, split(tu.Input, 16)...)
		}
		for _, p := range pieces {
			b.deltas = append(b.deltas, map[string]any{"type": "input_json_delta", "partial_json": p})
		}
		out = append(out, b)
	}
	return out
}

// stopReason is the reply's stop_reason.
func stopReason(reply Reply) string {
	switch {
	case reply.StopReason != "":
		return reply.StopReason
	case len(reply.ToolUses) > 0:
		return "tool_use"
	}
	return "end_turn"
}

// usage is a rough count of tokens: a word of the answer is one, four
// bytes of the request are one.
func usage(req Request, reply Reply) (in, out int) {
	out = len(strings.Fields(reply.Text)) + len(reply.Chunks)
	for _, tu := range reply.ToolUses {
		out += 1 + len(tu.Input)/4
	}
	return 1 + len(req.Body)/4, max(out, 1)
}

// message is the message JSON of a request that does not stream.
func (s *Server) message(req Request, reply Reply) map[string]any {
	content := []any{}
	for _, b := range s.blocks(reply) {
		content = append(content, b.final)
	}
	in, out := usage(req, reply)
	return map[string]any{
		"id":            fmt.Sprintf("msg_fake%d", s.nextID()),
		"type":          "message",
		"role":          "assistant",
		"model":         req.Model,
		"content":       content,
		"stop_reason":   stopReason(reply),
		"stop_sequence": nil,
		"usage":         map[string]any{"input_tokens": in, "output_tokens": out},
	}
}

// stream sends reply as server-sent events.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, req Request, reply Reply) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("request-id", fmt.Sprintf("req_fake%d", s.nextID()))
	w.WriteHeader(http.StatusOK)
	send := func(typ string, data map[string]any) {
		data["type"] = typ
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	ctx := r.Context()
	wait := func(ch <-chan struct{}, d time.Duration) bool {
		if ch == nil && d <= 0 {
			return ctx.Err() == nil
		}
		var timer <-chan time.Time
		if d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ch:
		case <-timer:
		case <-ctx.Done():
			return false
		}
		return true
	}

	in, out := usage(req, reply)
	send("message_start", map[string]any{"message": map[string]any{
		"id": fmt.Sprintf("msg_fake%d", s.nextID()), "type": "message", "role": "assistant",
		"model": req.Model, "content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": in, "output_tokens": 1},
	}})
	blocks := s.blocks(reply)
	total := 0
	for _, b := range blocks {
		total += len(b.deltas)
	}
	errType, errMsg := errorDefaults(529, reply.ErrorType, reply.Message)
	sendError := func() {
		send("error", map[string]any{"error": map[string]any{"type": errType, "message": errMsg}})
	}
	if len(blocks) == 0 {
		send("ping", map[string]any{})
	}
	sent := 0
	for i, b := range blocks {
		send("content_block_start", map[string]any{"index": i, "content_block": b.start})
		if i == 0 {
			send("ping", map[string]any{})
		}
		for _, d := range b.deltas {
			if sent > 0 && !wait(nil, reply.ChunkDelay) {
				return
			}
			if sent == total-1 && reply.Hold != nil && !wait(reply.Hold, 0) {
				return
			}
			send("content_block_delta", map[string]any{"index": i, "delta": d})
			sent++
			if reply.ErrorAfter > 0 && (sent == reply.ErrorAfter) {
				sendError()
				return
			}
		}
		send("content_block_stop", map[string]any{"index": i})
	}
	if reply.ErrorAfter > 0 {
		sendError()
		return
	}
	if total == 0 && reply.Hold != nil && !wait(reply.Hold, 0) {
		return
	}
	send("message_delta", map[string]any{
		"delta": map[string]any{"stop_reason": stopReason(reply), "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": out},
	})
	send("message_stop", map[string]any{})
}

// words splits text before each run of spaces: the pieces' join is text.
func words(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' && text[i-1] != ' ' {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// split cuts s into pieces of at most n bytes, never inside a UTF-8
// sequence.
func split(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := n
		for cut > 1 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}
