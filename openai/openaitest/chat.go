package openaitest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The chat completions endpoint, POST /v1/chat/completions.
//
// A request must have a model (one of AllowModels, when set) and at least
// one message. Each message has a role of system, developer, user,
// assistant or tool, and content that is a string or an array of text
// parts (an assistant's may be null or absent when it has tool_calls). An
// assistant's tool_calls each have an id, type "function" and a function
// name; a tool message's tool_call_id must be the id of a tool call of an
// assistant message before it. Tools are {"type": "function", "function":
// {"name", "description", "parameters"}} with a name of 1–64 letters,
// digits, '_' or '-' and parameters, when given, a JSON object. max_tokens
// and max_completion_tokens, when given, are positive; temperature is
// within 0–2; stream_options needs "stream": true. Refusals are 400
// invalid_request_error with the field as "param".
//
// The answer is the next reply of the script (ScriptChat), else what the
// function set by SetChat returns, else the text DefaultChatText. With
// "stream": true it streams as OpenAI documents: Content-Type
// text/event-stream, each chunk an event "data: {json}" and a blank line,
// "data: [DONE]" at the end. The chunks are chat.completion.chunk objects
// of one choice of index 0: the first delta is {"role": "assistant",
// "content": ""}, then a delta per piece of text {"content"}, then each
// tool call as a delta {"tool_calls": [{"index", "id", "type": "function",
// "function": {"name", "arguments": ""}}]} and a delta per piece of its
// arguments {"tool_calls": [{"index", "function": {"arguments"}}]}, and a
// last chunk of an empty delta with the finish_reason (every other chunk
// has "finish_reason": null). Without "stream" the answer is one
// chat.completion object with the whole message and a usage.

// The fake's chat answers.
const (
	// DefaultChatText is the text the fake answers when nothing is
	// scripted.
	DefaultChatText = "Hello from the fake."
	// ChatErrorMessage is the message of the error event of a reply's
	// FailAfter.
	ChatErrorMessage = "The server had an error while processing your request."
)

// ChatReply is what the fake answers to one chat completion.
type ChatReply struct {
	// Text is the answer's text.
	Text string
	// Chunks, when set, are the pieces the text streams in (Text is then
	// ignored: the text is their concatenation). Unset, the text is cut
	// before each space that follows a non-space: "Hi there." streams as
	// "Hi", " there.".
	Chunks []string
	// ToolCalls are the tools the answer calls, streamed after the text.
	ToolCalls []ChatToolCall
	// InterleaveToolCalls streams the tool calls' deltas in turn (the
	// first delta of each call, then the second of each, …) rather than
	// one call after the other.
	InterleaveToolCalls bool
	// FinishReason is the last chunk's finish_reason: default
	// "tool_calls" when there are tool calls, else "stop".
	FinishReason string

	// FailAfter, when positive, ends the stream after this many chunks
	// (all of them, when the answer has fewer) with an error event,
	// data: {"error": {"message": ChatErrorMessage, "type":
	// "server_error", …}}, and no [DONE]. It does not apply to answers
	// that do not stream.
	FailAfter int
	// Status, when 400 or more, is answered instead, with OpenAI's error
	// JSON carrying Message (default: the status text).
	Status  int
	Message string
	// Hold, when set, stops the stream before its last chunk (the one
	// with the finish_reason) until it is closed or the client goes away.
	// An answer that does not stream waits for it before being sent.
	Hold <-chan struct{}
	// ChunkDelay is a pause before each chunk but the first.
	ChunkDelay time.Duration
}

// ChatToolCall is one tool call of a ChatReply.
type ChatToolCall struct {
	// ID is the call's id; default "call_<n>" with n its place in the
	// fake's answers.
	ID   string
	Name string
	// Arguments is the JSON of the arguments, streamed in pieces of at
	// most 8 bytes.
	Arguments string
	// ArgChunks, when set, are the pieces the arguments stream in
	// (Arguments is then ignored: they are their concatenation).
	ArgChunks []string
}

// ChatRequest is one chat completion the fake answered (the requests it
// refused for their key, their fields or FailNext are not recorded; those
// a scripted Status refused are).
type ChatRequest struct {
	Model    string
	Messages []ChatMessage
	Tools    []ChatTool
	// MaxTokens and MaxCompletionTokens are 0 when not sent.
	MaxTokens           int
	MaxCompletionTokens int
	Temperature         *float64 // nil when not sent
	Stream              bool
	// StreamOptions is the stream_options object as sent, nil when not.
	StreamOptions json.RawMessage
	Authorization string // the header as sent
	// Body is the request's JSON as sent.
	Body []byte

	Reply ChatReply // what the fake answered
}

// ChatMessage is one message of a ChatRequest.
type ChatMessage struct {
	Role string
	// Content is the text: the string, or the text parts joined.
	Content string
	// NullContent tells a content that was null or absent.
	NullContent bool
	ToolCalls   []ChatMessageToolCall
	ToolCallID  string
	Name        string
}

// ChatMessageToolCall is a tool call of an assistant ChatMessage.
type ChatMessageToolCall struct {
	ID, Type, Name, Arguments string
}

// ChatTool is a tool of a ChatRequest.
type ChatTool struct {
	Type        string
	Name        string
	Description string
	// Parameters is the JSON schema as sent, nil when not sent.
	Parameters json.RawMessage
}

// ScriptChat queues the replies of the next chat completions, in order.
func (s *Server) ScriptChat(replies ...ChatReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatScript = append(s.chatScript, replies...)
}

// SetChat sets the function that answers a chat completion when the
// script is empty (nil: the text DefaultChatText). It is called without
// the fake's lock held, possibly concurrently.
func (s *Server) SetChat(fn func(ChatRequest) ChatReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatFunc = fn
}

// ChatRequests returns the chat completions answered so far (or being
// answered), oldest first.
func (s *Server) ChatRequests() []ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneChatRequests(s.chats)
}

// WaitChatRequests waits until the fake has received at least n chat
// completions it answers (recorded as ChatRequests gives them, before
// their answer starts) and returns them; it returns ctx's error when ctx
// ends first.
func (s *Server) WaitChatRequests(ctx context.Context, n int) ([]ChatRequest, error) {
	for {
		s.mu.Lock()
		if len(s.chats) >= n {
			defer s.mu.Unlock()
			return cloneChatRequests(s.chats), nil
		}
		if s.chatArrived == nil {
			s.chatArrived = make(chan struct{})
		}
		arrived := s.chatArrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func cloneChatRequests(in []ChatRequest) []ChatRequest {
	out := make([]ChatRequest, len(in))
	for i, r := range in {
		out[i] = r
		out[i].Messages = make([]ChatMessage, len(r.Messages))
		for j, m := range r.Messages {
			out[i].Messages[j] = m
			out[i].Messages[j].ToolCalls = append([]ChatMessageToolCall(nil), m.ToolCalls...)
		}
		out[i].Tools = append([]ChatTool(nil), r.Tools...)
		out[i].Body = bytes.Clone(r.Body)
	}
	return out
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model               string            `json:"model"`
	Messages            []json.RawMessage `json:"messages"`
	Tools               []json.RawMessage `json:"tools"`
	MaxTokens           *int              `json:"max_tokens"`
	MaxCompletionTokens *int              `json:"max_completion_tokens"`
	Temperature         *float64          `json:"temperature"`
	Stream              bool              `json:"stream"`
	StreamOptions       json.RawMessage   `json:"stream_options"`
}

// badRequest is a field the fake refuses.
type badRequest struct{ param, message string }

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// decodeChat decodes and checks a request body.
func decodeChat(body []byte) (ChatRequest, *badRequest) {
	var raw chatRequest
	if err := json.Unmarshal(body, &raw); err != nil {
		return ChatRequest{}, &badRequest{"", "We could not parse the JSON body of your request: " + err.Error()}
	}
	r := ChatRequest{Model: raw.Model, Temperature: raw.Temperature, Stream: raw.Stream, Body: body}
	if len(raw.StreamOptions) > 0 && string(raw.StreamOptions) != "null" {
		r.StreamOptions = raw.StreamOptions
		if !raw.Stream {
			return r, &badRequest{"stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled."}
		}
	}
	if len(raw.Messages) == 0 {
		return r, &badRequest{"messages", "[] is too short - 'messages'"}
	}
	callIDs := map[string]bool{}
	for i, rm := range raw.Messages {
		m, bad := decodeChatMessage(rm, i)
		if bad != nil {
			return r, bad
		}
		for _, tc := range m.ToolCalls {
			callIDs[tc.ID] = true
		}
		if m.Role == "tool" && !callIDs[m.ToolCallID] {
			return r, &badRequest{fmt.Sprintf("messages.[%d].role", i), "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."}
		}
		r.Messages = append(r.Messages, m)
	}
	for i, rt := range raw.Tools {
		var t struct {
			Type     string `json:"type"`
			Function *struct {
				Name        string          `json:"name"`
				Description string          `json:"description"`
				Parameters  json.RawMessage `json:"parameters"`
			} `json:"function"`
		}
		param := fmt.Sprintf("tools[%d]", i)
		if err := json.Unmarshal(rt, &t); err != nil || t.Type != "function" || t.Function == nil {
			return r, &badRequest{param, "Invalid tool: want {\"type\": \"function\", \"function\": {…}}."}
		}
		if !toolName.MatchString(t.Function.Name) {
			return r, &badRequest{param + ".function.name", fmt.Sprintf("Invalid 'tools[%d].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.", i)}
		}
		if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && p[0] != '{' {
			return r, &badRequest{param + ".function.parameters", "Invalid schema for function: schema must be a JSON Schema of 'type: \"object\"'."}
		}
		r.Tools = append(r.Tools, ChatTool{Type: t.Type, Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	if raw.MaxTokens != nil {
		if *raw.MaxTokens < 1 {
			return r, &badRequest{"max_tokens", fmt.Sprintf("Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got %d instead.", *raw.MaxTokens)}
		}
		r.MaxTokens = *raw.MaxTokens
	}
	if raw.MaxCompletionTokens != nil {
		if *raw.MaxCompletionTokens < 1 {
			return r, &badRequest{"max_completion_tokens", "Invalid 'max_completion_tokens': integer below minimum value."}
		}
		r.MaxCompletionTokens = *raw.MaxCompletionTokens
	}
	if t := raw.Temperature; t != nil && (*t < 0 || *t > 2) {
		return r, &badRequest{"temperature", fmt.Sprintf("Invalid 'temperature': decimal out of range. Expected a value between 0 and 2, but got %g instead.", *t)}
	}
	return r, nil
}

func decodeChatMessage(rm json.RawMessage, i int) (ChatMessage, *badRequest) {
	var m struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		Name       string          `json:"name"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	}
	param := fmt.Sprintf("messages.[%d]", i)
	if err := json.Unmarshal(rm, &m); err != nil {
		return ChatMessage{}, &badRequest{param, "Invalid message: " + err.Error()}
	}
	out := ChatMessage{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID}
	switch m.Role {
	case "system", "developer", "user", "assistant", "tool":
	default:
		return out, &badRequest{param + ".role", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function' and 'developer'.", m.Role)}
	}
	content := bytes.TrimSpace(m.Content)
	switch {
	case len(content) == 0 || string(content) == "null":
		out.NullContent = true
	case content[0] == '"':
		_ = json.Unmarshal(content, &out.Content)
	case content[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(content, &parts) != nil {
			return out, &badRequest{param + ".content", "Invalid content: want a string or an array of text parts."}
		}
		for _, p := range parts {
			if p.Type != "text" {
				return out, &badRequest{param + ".content", fmt.Sprintf("The fake takes text parts only, not '%s'.", p.Type)}
			}
			out.Content += p.Text
		}
	default:
		return out, &badRequest{param + ".content", "Invalid content: want a string or an array of text parts."}
	}
	for j, tc := range m.ToolCalls {
		if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" {
			return out, &badRequest{fmt.Sprintf("%s.tool_calls.[%d]", param, j), "Invalid tool call: want an id, type 'function' and a function name."}
		}
		out.ToolCalls = append(out.ToolCalls, ChatMessageToolCall{ID: tc.ID, Type: tc.Type, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	if len(m.ToolCalls) > 0 && m.Role != "assistant" {
		return out, &badRequest{param + ".tool_calls", "Only assistant messages have tool_calls."}
	}
	if out.NullContent && !(m.Role == "assistant" && len(out.ToolCalls) > 0) {
		return out, &badRequest{param + ".content", fmt.Sprintf("Missing required parameter: '%s.content'.", param)}
	}
	if m.Role == "tool" && m.ToolCallID == "" {
		return out, &badRequest{param + ".tool_call_id", fmt.Sprintf("Missing required parameter: '%s.tool_call_id'.", param)}
	}
	return out, nil
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "", "", "The request body is too large.")
		return
	}
	req, bad := decodeChat(body)
	if bad != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", bad.param, "", bad.message)
		return
	}
	if !s.checkModel(w, req.Model) {
		return
	}
	req.Authorization = r.Header.Get("Authorization")
	req.Reply = s.chatReply(req)

	s.mu.Lock()
	s.chats = append(s.chats, req)
	s.chatSeq++
	seq := s.chatSeq
	if s.chatArrived != nil {
		close(s.chatArrived)
		s.chatArrived = nil
	}
	s.mu.Unlock()

	reply := req.Reply
	if reply.Status >= 400 {
		typ, code := "invalid_request_error", ""
		switch {
		case reply.Status == http.StatusTooManyRequests:
			typ, code = "requests", "rate_limit_exceeded"
		case reply.Status >= 500:
			typ = "server_error"
		}
		writeError(w, reply.Status, typ, "", code, cmp.Or(reply.Message, http.StatusText(reply.Status)))
		return
	}
	a := newChatAnswer(seq, req.Model, reply)
	if !req.Stream {
		if reply.Hold != nil {
			select {
			case <-reply.Hold:
			case <-r.Context().Done():
				return
			}
		}
		writeJSON(w, http.StatusOK, a.completion())
		return
	}
	s.streamChat(w, r, a, reply)
}

// chatReply takes the next reply of the script, else asks the function.
func (s *Server) chatReply(req ChatRequest) ChatReply {
	s.mu.Lock()
	if len(s.chatScript) > 0 {
		reply := s.chatScript[0]
		s.chatScript = s.chatScript[1:]
		s.mu.Unlock()
		return reply
	}
	fn := s.chatFunc
	s.mu.Unlock()
	if fn == nil {
		return ChatReply{Text: DefaultChatText}
	}
	return fn(cloneChatRequests([]ChatRequest{req})[0])
}

// chatAnswer is a reply made ready to send.
type chatAnswer struct {
	id      string
	created int64
	model   string
	text    []string // pieces
	calls   []answerCall
	inter   bool
	finish  string
}

type answerCall struct {
	id, name string
	args     []string // pieces
}

func newChatAnswer(seq int, model string, r ChatReply) *chatAnswer {
	a := &chatAnswer{
		id:      fmt.Sprintf("chatcmpl-fake%d", seq),
		created: time.Now().Unix(),
		model:   model,
		text:    r.Chunks,
		inter:   r.InterleaveToolCalls,
		finish:  r.FinishReason,
	}
	if a.text == nil {
		a.text = splitWords(r.Text)
	}
	for i, tc := range r.ToolCalls {
		c := answerCall{id: tc.ID, name: tc.Name, args: tc.ArgChunks}
		if c.id == "" {
			c.id = fmt.Sprintf("call_%d_%d", seq, i)
		}
		if c.args == nil {
			c.args = splitBytes(tc.Arguments, 8)
		}
		a.calls = append(a.calls, c)
	}
	if a.finish == "" {
		a.finish = "stop"
		if len(a.calls) > 0 {
			a.finish = "tool_calls"
		}
	}
	return a
}

// splitWords cuts text before each space that follows a non-space.
func splitWords(text string) []string {
	var out []string
	start := 0
	prevSpace := true
	for i, r := range text {
		space := unicode.IsSpace(r)
		if space && !prevSpace && i > start {
			out = append(out, text[start:i])
			start = i
		}
		prevSpace = space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// splitBytes cuts s into pieces of at most n bytes, on rune boundaries.
func splitBytes(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if cut == 0 {
			_, cut = utf8.DecodeRuneInString(s)
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// deltas are the answer's deltas, the role first, the finish_reason's
// empty delta not included.
func (a *chatAnswer) deltas() []map[string]any {
	out := []map[string]any{{"role": "assistant", "content": "", "refusal": nil}}
	for _, t := range a.text {
		out = append(out, map[string]any{"content": t})
	}
	// Each call's deltas: its header, then its argument pieces.
	perCall := make([][]map[string]any, len(a.calls))
	for i, c := range a.calls {
		perCall[i] = append(perCall[i], map[string]any{"tool_calls": []any{map[string]any{
			"index": i, "id": c.id, "type": "function",
			"function": map[string]any{"name": c.name, "arguments": ""},
		}}})
		for _, piece := range c.args {
			perCall[i] = append(perCall[i], map[string]any{"tool_calls": []any{map[string]any{
				"index": i, "function": map[string]any{"arguments": piece},
			}}})
		}
	}
	if !a.inter {
		for _, ds := range perCall {
			out = append(out, ds...)
		}
		return out
	}
	for j := 0; ; j++ {
		more := false
		for _, ds := range perCall {
			if j < len(ds) {
				out = append(out, ds[j])
				more = true
			}
		}
		if !more {
			return out
		}
	}
}

func (a *chatAnswer) chunk(delta map[string]any, finish any) map[string]any {
	return map[string]any{
		"id": a.id, "object": "chat.completion.chunk", "created": a.created, "model": a.model,
		"system_fingerprint": nil,
		"choices": []any{map[string]any{
			"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish,
		}},
	}
}

// completion is the answer as one chat.completion object.
func (a *chatAnswer) completion() map[string]any {
	text := strings.Join(a.text, "")
	msg := map[string]any{"role": "assistant", "content": text, "refusal": nil}
	if len(a.calls) > 0 {
		if text == "" {
			msg["content"] = nil
		}
		var calls []any
		for _, c := range a.calls {
			calls = append(calls, map[string]any{
				"id": c.id, "type": "function",
				"function": map[string]any{"name": c.name, "arguments": strings.Join(c.args, "")},
			})
		}
		msg["tool_calls"] = calls
	}
	words := len(strings.Fields(text))
	return map[string]any{
		"id": a.id, "object": "chat.completion", "created": a.created, "model": a.model,
		"system_fingerprint": nil,
		"choices": []any{map[string]any{
			"index": 0, "message": msg, "logprobs": nil, "finish_reason": a.finish,
		}},
		"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words},
	}
}

// streamChat sends the answer as server-sent events.
func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, a *chatAnswer, reply ChatReply) {
	chunks := []map[string]any{}
	for _, d := range a.deltas() {
		chunks = append(chunks, a.chunk(d, nil))
	}
	chunks = append(chunks, a.chunk(map[string]any{}, a.finish))

	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(data []byte) bool {
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	wait := func(ch <-chan struct{}, d time.Duration) bool {
		if d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return false
			}
		}
		if ch != nil {
			select {
			case <-ch:
			case <-r.Context().Done():
				return false
			}
		}
		return true
	}
	fail := func() {
		send([]byte(`{"error":{"message":"` + ChatErrorMessage + `","type":"server_error","param":null,"code":null}}`))
	}
	defer func() {
		if r.Context().Err() != nil {
			s.mu.Lock()
			s.chatAbandoned++
			s.mu.Unlock()
		}
	}()
	for i, c := range chunks {
		if reply.FailAfter > 0 && i == reply.FailAfter {
			fail()
			return
		}
		var delay time.Duration
		if i > 0 {
			delay = reply.ChunkDelay
		}
		var hold <-chan struct{}
		if i == len(chunks)-1 {
			hold = reply.Hold
		}
		if !wait(hold, delay) {
			return
		}
		data, _ := json.Marshal(c)
		if !send(data) {
			return
		}
	}
	if reply.FailAfter >= len(chunks) {
		fail()
		return
	}
	send([]byte("[DONE]"))
}

// ChatAbandoned counts the streamed answers whose client went away before
// they ended (a caller's barge-in cancels the model's answer).
func (s *Server) ChatAbandoned() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chatAbandoned
}
