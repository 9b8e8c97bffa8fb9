package openaitest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/openai/openaitest"
)

// chatPost posts body to the chat endpoint.
func chatPost(tb testing.TB, s *openaitest.Server, body string) *http.Response {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.BaseURL()+"/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-chat")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { res.Body.Close() })
	return res
}

// chunk is the part of a chat.completion.chunk the tests look at.
type chunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role      *string `json:"role"`
			Content   *string `json:"content"`
			ToolCalls []struct {
				Index    int     `json:"index"`
				ID       *string `json:"id"`
				Type     *string `json:"type"`
				Function struct {
					Name      *string `json:"name"`
					Arguments string  `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
}

// readSSE reads the raw event stream: each event's data, checking that
// every line is "data: …" followed by a blank line.
func readSSE(tb testing.TB, res *http.Response) []string {
	tb.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		tb.Fatalf("Content-Type %q", ct)
	}
	var events []string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			tb.Fatalf("line %q is not \"data: …\"", line)
		}
		events = append(events, data)
		if !sc.Scan() || sc.Text() != "" {
			tb.Fatalf("event %q not followed by a blank line", data)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return events
}

func decodeChunks(tb testing.TB, events []string) []chunk {
	tb.Helper()
	var out []chunk
	for _, e := range events {
		var c chunk
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			tb.Fatalf("event %q: %v", e, err)
		}
		if c.Object != "chat.completion.chunk" || c.ID == "" || c.Created == 0 || c.Model == "" || len(c.Choices) != 1 || c.Choices[0].Index != 0 {
			tb.Fatalf("chunk %s", e)
		}
		out = append(out, c)
	}
	return out
}

func TestChat_StreamsTextInOpenAIsFormat(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.ScriptChat(openaitest.ChatReply{Text: "Hello there, caller."})
	res := chatPost(t, s, `{"model":"gpt-4o-mini","stream":true,"max_tokens":50,"temperature":0.5,
		"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	events := readSSE(t, res)
	if len(events) == 0 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("events %q: want [DONE] last", events)
	}
	chunks := decodeChunks(t, events[:len(events)-1])
	first := chunks[0].Choices[0]
	if first.Delta.Role == nil || *first.Delta.Role != "assistant" {
		t.Errorf("first delta without role assistant: %s", events[0])
	}
	var pieces []string
	for i, c := range chunks {
		ch := c.Choices[0]
		if c.ID != chunks[0].ID || c.Model != "gpt-4o-mini" {
			t.Errorf("chunk %d: id %q model %q", i, c.ID, c.Model)
		}
		if last := i == len(chunks)-1; last != (ch.FinishReason != nil) {
			t.Errorf("chunk %d of %d: finish_reason %v", i, len(chunks), ch.FinishReason)
		}
		if i > 0 && ch.Delta.Content != nil {
			pieces = append(pieces, *ch.Delta.Content)
		}
	}
	if want := []string{"Hello", " there,", " caller."}; !slices.Equal(pieces, want) {
		t.Errorf("pieces %q, want %q", pieces, want)
	}
	if f := chunks[len(chunks)-1].Choices[0].FinishReason; *f != "stop" {
		t.Errorf("finish_reason %q", *f)
	}
	// Every key of OpenAI's chunk is there, finish_reason as null.
	if !strings.Contains(events[1], `"finish_reason":null`) || !strings.Contains(events[1], `"object":"chat.completion.chunk"`) {
		t.Errorf("chunk %s", events[1])
	}

	reqs := s.ChatRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Model != "gpt-4o-mini" || !r.Stream || r.MaxTokens != 50 || r.Temperature == nil || *r.Temperature != 0.5 || r.Authorization != "Bearer sk-chat" {
		t.Errorf("request %+v", r)
	}
	if len(r.Messages) != 2 || r.Messages[0].Role != "system" || r.Messages[0].Content != "Be brief." || r.Messages[1].Content != "Hi" {
		t.Errorf("messages %+v", r.Messages)
	}
	if !strings.Contains(string(r.Body), `"max_tokens":50`) {
		t.Errorf("body %s", r.Body)
	}
}

func TestChat_StreamsToolCalls(t *testing.T) {
	t.Parallel()
	for _, inter := range []bool{false, true} {
		s := newServer(t)
		s.ScriptChat(openaitest.ChatReply{
			InterleaveToolCalls: inter,
			ToolCalls: []openaitest.ChatToolCall{
				{ID: "call_a", Name: "lookup", ArgChunks: []string{`{"q":`, `"x"}`}},
				{Name: "hang_up", Arguments: `{"reason":"done talking"}`},
			},
		})
		res := chatPost(t, s, `{"model":"m","stream":true,"messages":[{"role":"user","content":"go"}],
			"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}},{"type":"function","function":{"name":"hang_up"}}]}`)
		events := readSSE(t, res)
		chunks := decodeChunks(t, events[:len(events)-1])
		ids, names, args := map[int]string{}, map[int]string{}, map[int]string{}
		var order []int
		for _, c := range chunks[1 : len(chunks)-1] {
			ch := c.Choices[0]
			if len(ch.Delta.ToolCalls) != 1 {
				t.Fatalf("delta %+v: want one tool call", ch.Delta)
			}
			tc := ch.Delta.ToolCalls[0]
			order = append(order, tc.Index)
			if tc.ID != nil {
				// A call's first delta: id, type, name and empty arguments.
				if _, seen := ids[tc.Index]; seen || tc.Type == nil || *tc.Type != "function" || tc.Function.Name == nil || tc.Function.Arguments != "" {
					t.Errorf("header delta %+v", tc)
				}
				ids[tc.Index], names[tc.Index] = *tc.ID, *tc.Function.Name
				continue
			}
			if _, seen := ids[tc.Index]; !seen || tc.Function.Name != nil || tc.Type != nil {
				t.Errorf("argument delta %+v", tc)
			}
			args[tc.Index] += tc.Function.Arguments
		}
		if ids[0] != "call_a" || !strings.HasPrefix(ids[1], "call_") || names[0] != "lookup" || names[1] != "hang_up" {
			t.Errorf("ids %v names %v", ids, names)
		}
		if args[0] != `{"q":"x"}` || args[1] != `{"reason":"done talking"}` {
			t.Errorf("arguments %v", args)
		}
		if interleaved := slices.Index(order, 1) < slices.Index(order, 0)+3; interleaved != inter {
			t.Errorf("interleave %v: order of indexes %v", inter, order)
		}
		if f := chunks[len(chunks)-1].Choices[0].FinishReason; f == nil || *f != "tool_calls" {
			t.Errorf("finish_reason %v", f)
		}
	}
}

func TestChat_ErrorEventHoldAndDelay(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	hold := make(chan struct{})
	s.ScriptChat(
		openaitest.ChatReply{Text: "one two three", FailAfter: 2},
		openaitest.ChatReply{Text: "held answer", Hold: hold, ChunkDelay: time.Millisecond},
	)
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`

	events := readSSE(t, chatPost(t, s, body))
	if len(events) != 3 || !strings.Contains(events[2], `"error":{`) || !strings.Contains(events[2], openaitest.ChatErrorMessage) || !strings.Contains(events[2], `"type":"server_error"`) {
		t.Errorf("events %q: want 2 chunks then the error event, no [DONE]", events)
	}

	res := chatPost(t, s, body)
	sc := bufio.NewScanner(res.Body)
	var got []string
	for len(got) < 3 && sc.Scan() { // role, "held", " answer": all but the last chunk
		if line := sc.Text(); line != "" {
			got = append(got, line)
		}
	}
	if len(got) != 3 || !strings.Contains(got[2], `" answer"`) {
		t.Fatalf("before the release: %q", got)
	}
	close(hold)
	var rest []string
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			rest = append(rest, line)
		}
	}
	if len(rest) != 2 || !strings.Contains(rest[0], `"finish_reason":"stop"`) || rest[1] != "data: [DONE]" {
		t.Errorf("after the release: %q", rest)
	}
}

func TestChat_NotStreamingAndFunction(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var seen []openaitest.ChatRequest
	s.SetChat(func(r openaitest.ChatRequest) openaitest.ChatReply {
		seen = append(seen, r) // one request at a time here
		return openaitest.ChatReply{Text: "summary", ToolCalls: []openaitest.ChatToolCall{{ID: "call_1", Name: "save", Arguments: `{"a":1}`}}}
	})
	res := chatPost(t, s, `{"model":"m","messages":[{"role":"user","content":"sum up"}]}`)
	var v struct {
		Object  string
		Choices []struct {
			Message struct {
				Role      string
				Content   string
				ToolCalls []struct {
					ID       string
					Type     string
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			}
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.Object != "chat.completion" || len(v.Choices) != 1 || v.Choices[0].Message.Content != "summary" || v.Choices[0].FinishReason != "tool_calls" || v.Usage.TotalTokens == 0 {
		t.Errorf("answer %+v", v)
	}
	if tc := v.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].ID != "call_1" || tc[0].Type != "function" || tc[0].Function.Arguments != `{"a":1}` {
		t.Errorf("tool calls %+v", tc)
	}
	if len(seen) != 1 || seen[0].Stream || seen[0].Messages[0].Content != "sum up" {
		t.Errorf("function saw %+v", seen)
	}

	s.SetChat(nil)
	res = chatPost(t, s, `{"model":"m","messages":[{"role":"user","content":"again"}]}`)
	_ = json.NewDecoder(res.Body).Decode(&v)
	if v.Choices[0].Message.Content != openaitest.DefaultChatText {
		t.Errorf("default answer %+v", v)
	}
}

func TestChat_Refusals(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetAPIKey("sk-chat")
	s.AllowModels("good")
	s.ScriptChat(openaitest.ChatReply{Status: 429, Message: "slow down"})
	for _, tt := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"model":"bad","messages":[{"role":"user","content":"x"}]}`, 404, "does not exist"},
		{`{"model":"good","messages":[]}`, 400, "too short"},
		{`{"model":"good","messages":[{"role":"robot","content":"x"}]}`, 400, "robot"},
		{`{"model":"good","messages":[{"role":"user"}]}`, 400, "content"},
		{`{"model":"good","messages":[{"role":"tool","content":"x","tool_call_id":"c1"}]}`, 400, "preceeding"},
		{`{"model":"good","messages":[{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{}"}}]}]}`, 400, "tool call"},
		{`{"model":"good","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"bad name"}}]}`, 400, "pattern"},
		{`{"model":"good","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`, 400, "schema"},
		{`{"model":"good","messages":[{"role":"user","content":"x"}],"max_tokens":0}`, 400, "max_tokens"},
		{`{"model":"good","messages":[{"role":"user","content":"x"}],"temperature":3}`, 400, "temperature"},
		{`{"model":"good","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}`, 400, "stream_options"},
		{`{"model":"good","messages":[{"role":"user","content":"x"}],"stream":true}`, 429, "slow down"},
	} {
		res := chatPost(t, s, tt.body)
		var b strings.Builder
		_, _ = bufio.NewReader(res.Body).WriteTo(&b)
		msg, _ := errorOf(t, []byte(b.String()))
		if res.StatusCode != tt.status || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: %d %q, want %d and %q", tt.body, res.StatusCode, msg, tt.status, tt.want)
		}
	}
	// A valid history with a tool call and its result is taken.
	s.FailNext(503, "down")
	good := `{"model":"good","messages":[{"role":"user","content":"x"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
		{"role":"tool","content":"42","tool_call_id":"c1"}]}`
	if res := chatPost(t, s, good); res.StatusCode != 503 {
		t.Errorf("FailNext: status %d", res.StatusCode)
	}
	if res := chatPost(t, s, good); res.StatusCode != 200 {
		t.Errorf("status %d", res.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, s.BaseURL()+"/chat/completions", strings.NewReader(good))
	if status, body := do(t, req); status != 401 {
		t.Errorf("without the key: %d %s", status, body)
	}

	reqs := s.ChatRequests()
	if len(reqs) != 2 || reqs[0].Reply.Status != 429 {
		t.Fatalf("recorded %d requests: %+v", len(reqs), reqs)
	}
	m := reqs[1].Messages
	if len(m) != 3 || !m[1].NullContent || len(m[1].ToolCalls) != 1 || m[1].ToolCalls[0].ID != "c1" || m[2].ToolCallID != "c1" || m[2].Content != "42" {
		t.Errorf("messages %+v", m)
	}
}

func TestChat_WaitChatRequests(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	hold := make(chan struct{})
	defer close(hold)
	s.ScriptChat(openaitest.ChatReply{Text: "x", Hold: hold})
	go func() {
		req, _ := http.NewRequest(http.MethodPost, s.BaseURL()+"/chat/completions", strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reqs, err := s.WaitChatRequests(ctx, 1)
	if err != nil || len(reqs) != 1 || reqs[0].Messages[0].Content != "hi" {
		t.Fatalf("%v %+v", err, reqs)
	}
	short, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := s.WaitChatRequests(short, 2); err != context.Canceled {
		t.Errorf("with ctx done: %v", err)
	}
}
