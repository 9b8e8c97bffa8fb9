package anthropictest_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/agentphone/agentphone/anthropic/anthropictest"
)

func newServer(tb testing.TB) *anthropictest.Server {
	tb.Helper()
	s := anthropictest.NewServer()
	tb.Cleanup(s.Close)
	return s
}

// post sends body to /v1/messages with Anthropic's headers (version
// "2023-06-01" unless headers say otherwise; a header of value "" is
// left out).
func post(tb testing.TB, s *anthropictest.Server, headers map[string]string, body string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, s.BaseURL()+"/v1/messages", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	h := map[string]string{"anthropic-version": "2023-06-01", "content-type": "application/json", "x-api-key": "k"}
	for k, v := range headers {
		h[k] = v
	}
	for k, v := range h {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { res.Body.Close() })
	return res
}

// errorOf checks that res is an error answer in Anthropic's shape of
// status and type, and returns its message.
func errorOf(tb testing.TB, res *http.Response, status int, typ string) string {
	tb.Helper()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		tb.Fatalf("status %d, want %d; body %s", res.StatusCode, status, b)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type %q", ct)
	}
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		tb.Fatalf("error body %s: %v", b, err)
	}
	if e.Type != "error" || e.Error.Type != typ || e.Error.Message == "" {
		tb.Fatalf("error body %s, want type error with error.type %s and a message", b, typ)
	}
	return e.Error.Message
}

type event struct {
	name string
	data map[string]any
	raw  string
}

// readEvent reads the next server-sent event of r: its "event:" and
// "data:" lines up to the blank line. ok is false at the end.
func readEvent(tb testing.TB, r *bufio.Reader) (ev event, ok bool) {
	tb.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if line != "" {
				tb.Fatalf("unterminated line %q", line)
			}
			if ev.name != "" {
				tb.Fatalf("event %q not ended by a blank line", ev.name)
			}
			return ev, false
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.name == "" {
				tb.Fatal("blank line without an event")
			}
			if err := json.Unmarshal([]byte(ev.raw), &ev.data); err != nil {
				tb.Fatalf("event %s: data %q: %v", ev.name, ev.raw, err)
			}
			if ev.data["type"] != ev.name {
				tb.Fatalf("event %s has data of type %v", ev.name, ev.data["type"])
			}
			return ev, true
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if ev.raw != "" {
				tb.Fatalf("two data lines in event %s", ev.name)
			}
			ev.raw = strings.TrimPrefix(line, "data: ")
		default:
			tb.Fatalf("unexpected line %q", line)
		}
	}
}

func readEvents(tb testing.TB, res *http.Response) []event {
	tb.Helper()
	r := bufio.NewReader(res.Body)
	var out []event
	for {
		ev, ok := readEvent(tb, r)
		if !ok {
			return out
		}
		out = append(out, ev)
	}
}

func names(evs []event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.name)
	}
	return out
}

const hello = `{"model":"claude-test","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`

func TestStreamWireFormat(t *testing.T) {
	s := newServer(t)
	s.Script(anthropictest.Reply{
		Text:     "Hello there, caller.",
		ToolUses: []anthropictest.ToolUse{{ID: "toolu_1", Name: "lookup", Input: `{"city":"Zürich, the largest one"}`}},
	})
	res := post(t, s, nil, hello)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	evs := readEvents(t, res)
	want := []string{"message_start", "content_block_start", "ping",
		"content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
		"message_delta", "message_stop"}
	if got := names(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v\nwant %v", got, want)
	}

	msg := evs[0].data["message"].(map[string]any)
	if msg["type"] != "message" || msg["role"] != "assistant" || msg["model"] != "claude-test" ||
		!strings.HasPrefix(msg["id"].(string), "msg_") || msg["stop_reason"] != nil || msg["stop_sequence"] != nil {
		t.Errorf("message_start message %s", evs[0].raw)
	}
	if c, ok := msg["content"].([]any); !ok || len(c) != 0 {
		t.Errorf("message_start content %v, want []", msg["content"])
	}
	if u, ok := msg["usage"].(map[string]any); !ok || u["input_tokens"].(float64) < 1 {
		t.Errorf("message_start usage %v", msg["usage"])
	}

	if got := evs[1].raw; got != `{"content_block":{"text":"","type":"text"},"index":0,"type":"content_block_start"}` {
		t.Errorf("text block start %s", got)
	}
	var text string
	for _, e := range evs[3:6] {
		d := e.data["delta"].(map[string]any)
		if e.data["index"] != 0.0 || d["type"] != "text_delta" {
			t.Errorf("text delta %s", e.raw)
		}
		text += d["text"].(string)
	}
	if text != "Hello there, caller." {
		t.Errorf("text %q", text)
	}
	if evs[3].data["delta"].(map[string]any)["text"] != "Hello" {
		t.Errorf("first chunk %s, want the first word", evs[3].raw)
	}

	cb := evs[7].data["content_block"].(map[string]any)
	if evs[7].data["index"] != 1.0 || cb["type"] != "tool_use" || cb["id"] != "toolu_1" || cb["name"] != "lookup" {
		t.Errorf("tool block start %s", evs[7].raw)
	}
	if in, ok := cb["input"].(map[string]any); !ok || len(in) != 0 {
		t.Errorf("tool block start input %v, want {}", cb["input"])
	}
	var input string
	for i, e := range evs[8:12] {
		d := e.data["delta"].(map[string]any)
		if e.data["index"] != 1.0 || d["type"] != "input_json_delta" {
			t.Errorf("input delta %s", e.raw)
		}
		if i == 0 && d["partial_json"] != "" {
			t.Errorf("first input piece %q, want empty", d["partial_json"])
		}
		input += d["partial_json"].(string)
	}
	if input != `{"city":"Zürich, the largest one"}` {
		t.Errorf("input %q", input)
	}
	if evs[12].data["index"] != 1.0 {
		t.Errorf("tool block stop %s", evs[12].raw)
	}
	d := evs[13].data["delta"].(map[string]any)
	if d["stop_reason"] != "tool_use" || d["stop_sequence"] != nil {
		t.Errorf("message_delta %s", evs[13].raw)
	}
	if _, ok := d["stop_sequence"]; !ok {
		t.Error("message_delta without stop_sequence: null")
	}
	if u := evs[13].data["usage"].(map[string]any); u["output_tokens"].(float64) < 1 {
		t.Errorf("message_delta usage %v", u)
	}
}

func TestStreamChunksAndStopReason(t *testing.T) {
	s := newServer(t)
	s.Script(
		anthropictest.Reply{Chunks: []string{"a", "b c"}, StopReason: "max_tokens"},
		anthropictest.Reply{ToolUses: []anthropictest.ToolUse{{Name: "t", InputChunks: []string{`{"x"`, `:1}`}}}},
		anthropictest.Reply{},
	)
	evs := readEvents(t, post(t, s, nil, hello))
	if len(evs) != 8 || evs[3].data["delta"].(map[string]any)["text"] != "a" || evs[4].data["delta"].(map[string]any)["text"] != "b c" {
		t.Fatalf("events %v", names(evs))
	}
	if evs[6].data["delta"].(map[string]any)["stop_reason"] != "max_tokens" {
		t.Errorf("message_delta %s", evs[6].raw)
	}

	evs = readEvents(t, post(t, s, nil, hello))
	if got := names(evs); len(got) != 8 {
		t.Fatalf("events %v", got)
	}
	if id := evs[1].data["content_block"].(map[string]any)["id"].(string); !strings.HasPrefix(id, "toolu_") {
		t.Errorf("default tool id %q", id)
	}
	if evs[3].data["delta"].(map[string]any)["partial_json"] != `{"x"` || evs[4].data["delta"].(map[string]any)["partial_json"] != `:1}` {
		t.Errorf("input chunks %s %s", evs[3].raw, evs[4].raw)
	}
	if evs[6].data["delta"].(map[string]any)["stop_reason"] != "tool_use" {
		t.Errorf("default stop_reason with tool uses: %s", evs[6].raw)
	}

	// The empty reply: no block, end_turn.
	evs = readEvents(t, post(t, s, nil, hello))
	if got, want := names(evs), []string{"message_start", "ping", "message_delta", "message_stop"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if evs[2].data["delta"].(map[string]any)["stop_reason"] != "end_turn" {
		t.Errorf("message_delta %s", evs[2].raw)
	}
}

func TestStreamErrorAfter(t *testing.T) {
	s := newServer(t)
	s.Script(
		anthropictest.Reply{Text: "one two three", ErrorAfter: 2},
		anthropictest.Reply{Text: "one", ErrorAfter: 5, ErrorType: "api_error", Message: "Internal"},
	)
	evs := readEvents(t, post(t, s, nil, hello))
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "error"}
	if got := names(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if got := evs[5].raw; got != `{"error":{"message":"Overloaded","type":"overloaded_error"},"type":"error"}` {
		t.Errorf("error event %s", got)
	}

	// Fewer deltas than ErrorAfter: the error comes after the last.
	evs = readEvents(t, post(t, s, nil, hello))
	want = []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop", "error"}
	if got := names(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if e := evs[5].data["error"].(map[string]any); e["type"] != "api_error" || e["message"] != "Internal" {
		t.Errorf("error event %s", evs[5].raw)
	}
}

func TestStreamHold(t *testing.T) {
	s := newServer(t)
	hold := make(chan struct{})
	s.Script(anthropictest.Reply{Text: "one two three", Hold: hold})
	res := post(t, s, nil, hello)
	r := bufio.NewReader(res.Body)
	// Everything up to the second delta arrives while the last is held.
	var got []string
	for range 5 {
		ev, ok := readEvent(t, r)
		if !ok {
			t.Fatal("answer ended while held")
		}
		got = append(got, ev.name)
	}
	if want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events before release %v, want %v", got, want)
	}
	close(hold)
	ev, ok := readEvent(t, r)
	if !ok || ev.name != "content_block_delta" || ev.data["delta"].(map[string]any)["text"] != " three" {
		t.Fatalf("after release: %v %s", ok, ev.raw)
	}
	var rest []string
	for {
		ev, ok := readEvent(t, r)
		if !ok {
			break
		}
		rest = append(rest, ev.name)
	}
	if want := []string{"content_block_stop", "message_delta", "message_stop"}; !reflect.DeepEqual(rest, want) {
		t.Fatalf("events after release %v, want %v", rest, want)
	}
}

func TestNotStreaming(t *testing.T) {
	s := newServer(t)
	s.Script(anthropictest.Reply{Text: "A summary.", ToolUses: []anthropictest.ToolUse{{ID: "toolu_9", Name: "save", Input: `{"ok":true}`}}, StopReason: "end_turn"})
	res := post(t, s, nil, `{"model":"claude-test","max_tokens":100,"messages":[{"role":"user","content":"Sum up"}]}`)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q: %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	var msg struct {
		ID           string            `json:"id"`
		Type         string            `json:"type"`
		Role         string            `json:"role"`
		Model        string            `json:"model"`
		Content      []json.RawMessage `json:"content"`
		StopReason   string            `json:"stop_reason"`
		StopSequence *string           `json:"stop_sequence"`
		Usage        struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.ID, "msg_") || msg.Type != "message" || msg.Role != "assistant" || msg.Model != "claude-test" ||
		msg.StopReason != "end_turn" || msg.StopSequence != nil || msg.Usage.InputTokens < 1 || msg.Usage.OutputTokens < 1 {
		t.Errorf("message %s", b)
	}
	if len(msg.Content) != 2 || string(msg.Content[0]) != `{"text":"A summary.","type":"text"}` ||
		string(msg.Content[1]) != `{"id":"toolu_9","input":{"ok":true},"name":"save","type":"tool_use"}` {
		t.Errorf("content %s", b)
	}
}

func TestHTTPErrors(t *testing.T) {
	s := newServer(t)
	s.Script(
		anthropictest.Reply{Status: 429},
		anthropictest.Reply{Status: 529},
		anthropictest.Reply{Status: 500, ErrorType: "api_error", Message: "boom"},
	)
	res := post(t, s, nil, hello)
	errorOf(t, res, 429, "rate_limit_error")
	if res.Header.Get("retry-after") == "" {
		t.Error("429 without retry-after")
	}
	if msg := errorOf(t, post(t, s, nil, hello), 529, "overloaded_error"); msg != "Overloaded" {
		t.Errorf("529 message %q", msg)
	}
	if msg := errorOf(t, post(t, s, nil, hello), 500, "api_error"); msg != "boom" {
		t.Errorf("500 message %q", msg)
	}
	errorOf(t, post(t, s, map[string]string{"anthropic-version": ""}, hello), 400, "invalid_request_error")
	errorOf(t, post(t, s, map[string]string{"content-type": "text/plain"}, hello), 400, "invalid_request_error")
	errorOf(t, post(t, s, nil, `{"model":`), 400, "invalid_request_error")

	req, _ := http.NewRequest(http.MethodPost, s.BaseURL()+"/v1/complete", strings.NewReader("{}"))
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Body.Close()
	errorOf(t, res2, 404, "not_found_error")
}

func TestAPIKey(t *testing.T) {
	s := newServer(t)
	s.SetAPIKey("sk-right")
	if msg := errorOf(t, post(t, s, map[string]string{"x-api-key": ""}, hello), 401, "authentication_error"); !strings.Contains(msg, "x-api-key") {
		t.Errorf("message %q", msg)
	}
	errorOf(t, post(t, s, map[string]string{"x-api-key": "sk-wrong"}, hello), 401, "authentication_error")
	if res := post(t, s, map[string]string{"x-api-key": "sk-right"}, hello); res.StatusCode != 200 {
		t.Errorf("right key: status %d", res.StatusCode)
	}
	if res := post(t, s, map[string]string{"x-api-key": "", "authorization": "Bearer sk-right"}, hello); res.StatusCode != 200 {
		t.Errorf("right key as a bearer token: status %d", res.StatusCode)
	}
	reqs := s.Requests()
	if len(reqs) != 4 || reqs[0].Status != 401 || reqs[1].Status != 401 || reqs[2].Status != 200 || reqs[2].Header.Get("x-api-key") != "sk-right" {
		t.Errorf("requests recorded: %d, statuses %v", len(reqs), statuses(reqs))
	}
}

func statuses(reqs []anthropictest.Request) []int {
	var out []int
	for _, r := range reqs {
		out = append(out, r.Status)
	}
	return out
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name, version, body, want string // want: a piece of the message; "" accepted
	}{
		{"ok", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, ""},
		{"no model", "", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "model: Field required"},
		{"empty model", "", `{"model":"","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "model"},
		{"no max_tokens", "", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Field required"},
		{"zero max_tokens", "", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens"},
		{"no messages", "", `{"model":"m","max_tokens":5,"messages":[]}`, "at least one message"},
		{"assistant first", "", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":"hi"},{"role":"user","content":"yo"}]}`, `first message must use the "user" role`},
		{"two users", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`, `multiple "user" roles in a row`},
		{"two assistants", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"assistant","content":"c"},{"role":"user","content":"d"}]}`, `multiple "assistant" roles`},
		{"bad role", "", `{"model":"m","max_tokens":5,"messages":[{"role":"tool","content":"a"}]}`, "messages.0.role"},
		{"empty text", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, "text content blocks must be non-empty"},
		{"empty content", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[]}]}`, "non-empty content"},
		{"final assistant may be empty", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[]}]}`, ""},
		{"tool round", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},
			{"role":"assistant","content":[{"type":"text","text":"let me see"},{"type":"tool_use","id":"t1","name":"f","input":{}},{"type":"tool_use","id":"t2","name":"g","input":{"a":1}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r1"},{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"r2"}]},{"type":"text","text":"and?"}]}]}`, ""},
		{"unknown tool_result", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},
			{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r1"},{"type":"tool_result","tool_use_id":"t9","content":"r"}]}]}`, "unexpected `tool_use_id` found in `tool_result` blocks: t9"},
		{"tool_use unanswered", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},
			{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}},{"type":"tool_use","id":"t2","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r1"}]}]}`, "without `tool_result` blocks immediately after: t2"},
		{"tool results split", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},
			{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}},{"type":"tool_use","id":"t2","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r1"}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t2","content":"r2"}]}]}`, "without `tool_result` blocks immediately after: t2"},
		{"text before tool_result", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},
			{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"text","text":"x"},{"type":"tool_result","tool_use_id":"t1","content":"r1"}]}]}`, "must come before any other content"},
		{"tool_use last", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},
			{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]}]}`, "without `tool_result`"},
		{"tool input not an object", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},
			{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":"x"}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]}`, "valid dictionary"},
		{"tool", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"}],"tools":[{"name":"get_time","description":"d","input_schema":{"type":"object","properties":{}}}]}`, ""},
		{"tool name", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"}],"tools":[{"name":"get time","input_schema":{"type":"object"}}]}`, "tools.0.custom.name"},
		{"tool names unique", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"}],"tools":[{"name":"f","input_schema":{"type":"object"}},{"name":"f","input_schema":{"type":"object"}}]}`, "unique"},
		{"tool schema", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"}],"tools":[{"name":"f","input_schema":{"type":"string"}}]}`, "input_schema.type"},
		{"tool without schema", "", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"}],"tools":[{"name":"f"}]}`, "input_schema: Field required"},
		{"temperature 2023", "2023-06-01", `{"model":"m","max_tokens":5,"temperature":0.5,"messages":[{"role":"user","content":"a"}]}`, ""},
		{"temperature 2026", anthropictest.Version2026, `{"model":"m","max_tokens":5,"temperature":1,"messages":[{"role":"user","content":"a"}]}`, "temperature: Extra inputs are not permitted"},
		{"top_p 2026", anthropictest.Version2026, `{"model":"m","max_tokens":5,"top_p":1,"messages":[{"role":"user","content":"a"}]}`, "top_p"},
		{"system blocks", "", `{"model":"m","max_tokens":5,"system":[{"type":"text","text":"be brief"}],"messages":[{"role":"user","content":"a"}]}`, ""},
		{"system empty block", "", `{"model":"m","max_tokens":5,"system":[{"type":"text","text":""}],"messages":[{"role":"user","content":"a"}]}`, "system.0.text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			h := map[string]string{}
			if tt.version != "" {
				h["anthropic-version"] = tt.version
			}
			res := post(t, s, h, tt.body)
			if tt.want == "" {
				if res.StatusCode != 200 {
					b, _ := io.ReadAll(res.Body)
					t.Fatalf("status %d: %s", res.StatusCode, b)
				}
				return
			}
			if msg := errorOf(t, res, 400, "invalid_request_error"); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q, want it to contain %q", msg, tt.want)
			}
		})
	}
}

func TestRequestsDecoded(t *testing.T) {
	s := newServer(t)
	var mu sync.Mutex
	var seen []anthropictest.Request
	s.SetReply(func(r anthropictest.Request) anthropictest.Reply {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r)
		return anthropictest.Reply{Text: "from the function"}
	})
	body := `{"model":"claude-x","max_tokens":42,"temperature":0.25,"stream":false,
		"system":[{"type":"text","text":"Be "},{"type":"text","text":"brief."}],
		"tools":[{"name":"lookup","description":"Find it","input_schema":{"type":"object","properties":{"q":{"type":"string"}}}}],
		"messages":[{"role":"user","content":"a"},
		{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"lookup","input":{"q":"x"}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"found"}],"is_error":true}]}]}`
	res := post(t, s, map[string]string{"x-api-key": "sk-1"}, body)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(b), "from the function") {
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	reqs := s.Requests()
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != 1 || len(seen) != 1 {
		t.Fatalf("%d requests, %d seen by the function", len(reqs), len(seen))
	}
	r := reqs[0]
	if r.Model != "claude-x" || r.MaxTokens != 42 || r.Temperature == nil || *r.Temperature != 0.25 || r.Stream ||
		r.System != "Be brief." || r.Status != 200 || r.Header.Get("x-api-key") != "sk-1" || string(r.Body) != body {
		t.Errorf("request %+v", r)
	}
	if len(r.Tools) != 1 || r.Tools[0].Name != "lookup" || r.Tools[0].Description != "Find it" ||
		string(r.Tools[0].InputSchema) != `{"type":"object","properties":{"q":{"type":"string"}}}` {
		t.Errorf("tools %+v", r.Tools)
	}
	want := []anthropictest.Message{
		{Role: "user", Content: []anthropictest.Block{{Type: "text", Text: "a"}}},
		{Role: "assistant", Content: []anthropictest.Block{{Type: "tool_use", ID: "t1", Name: "lookup", Input: json.RawMessage(`{"q":"x"}`)}}},
		{Role: "user", Content: []anthropictest.Block{{Type: "tool_result", ToolUseID: "t1", Text: "found", IsError: true}}},
	}
	if !reflect.DeepEqual(r.Messages, want) {
		t.Errorf("messages %+v\nwant %+v", r.Messages, want)
	}
}
