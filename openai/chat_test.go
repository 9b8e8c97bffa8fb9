package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/openai/openaitest"
	"github.com/agentphone/agentphone/voice"
)

func newChat(tb testing.TB, c openai.Config) *openai.Chat {
	tb.Helper()
	ch, err := openai.NewChat(c)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

// userTurn is a request of one user message.
func userTurn(text string) voice.LLMRequest {
	return voice.LLMRequest{Model: "gpt-4o-mini", Messages: []voice.LLMMessage{{Role: voice.LLMUser, Text: text}}}
}

// drain reads st to its end: the events, and the error that ended it
// (nil for io.EOF).
func drain(tb testing.TB, st voice.LLMStream) ([]voice.LLMEvent, error) {
	tb.Helper()
	defer st.Close()
	var evs []voice.LLMEvent
	for range 100000 {
		ev, err := st.Next()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	tb.Fatal("stream does not end")
	return nil, nil
}

// summary writes events as text: T(text), C(id name args), S(stop).
func summary(evs []voice.LLMEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		switch {
		case ev.ToolCall != nil:
			fmt.Fprintf(&b, "C(%s %s %s)", ev.ToolCall.ID, ev.ToolCall.Name, ev.ToolCall.Arguments)
		case ev.Text != "":
			fmt.Fprintf(&b, "T(%s)", ev.Text)
		}
		if ev.Stop != "" {
			fmt.Fprintf(&b, "S(%s)", ev.Stop)
		}
	}
	return b.String()
}

// nextWithin runs Next and fails the test when it does not return within
// d (a bound for a broken adapter, not a wait for success).
func nextWithin(tb testing.TB, st voice.LLMStream, d time.Duration) (voice.LLMEvent, error) {
	tb.Helper()
	type result struct {
		ev  voice.LLMEvent
		err error
	}
	ch := make(chan result, 1)
	go func() {
		ev, err := st.Next()
		ch <- result{ev, err}
	}()
	select {
	case r := <-ch:
		return r.ev, r.err
	case <-time.After(d):
		tb.Fatalf("Next did not return within %v", d)
		return voice.LLMEvent{}, nil
	}
}

func TestChat_TextStreamsBeforeTheEnd(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	hold := make(chan struct{})
	srv.ScriptChat(openaitest.ChatReply{Text: "Thanks for calling, how can I help?", Hold: hold})
	chat := newChat(t, openai.Config{BaseURL: srv.BaseURL()})
	st, err := chat.Stream(context.Background(), userTurn("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// The fake holds the chunk with the finish_reason: every word must
	// come out before it is sent.
	var text []string
	for _, want := range []string{"Thanks", " for", " calling,", " how", " can", " I", " help?"} {
		ev, err := nextWithin(t, st, 10*time.Second)
		if err != nil || ev.Text != want || ev.ToolCall != nil || ev.Stop != "" {
			t.Fatalf("event %+v, %v; want text %q (after %q)", ev, err, want, text)
		}
		text = append(text, ev.Text)
	}
	close(hold)
	evs, err := drain(t, st)
	if err != nil || summary(evs) != "S(end)" {
		t.Errorf("after the release: %s, %v", summary(evs), err)
	}
}

func TestChat_RequestMapping(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.SetAPIKey("sk-chat")
	srv.AllowModels("llama-3.1-8b")
	chat := newChat(t, openai.Config{APIKey: "sk-chat", BaseURL: srv.BaseURL()})
	temp := 0.2
	req := voice.LLMRequest{
		Model:  "llama-3.1-8b",
		System: "You answer the phone for Bob's Plumbing.",
		Messages: []voice.LLMMessage{
			{Role: voice.LLMUser, Text: "Are you open on Sunday?"},
			{Role: voice.LLMAssistant, Text: "Let me check.", ToolCalls: []voice.ToolCall{
				{ID: "call_1", Name: "opening_hours", Arguments: json.RawMessage(`{"day":"sunday"}`)},
				{ID: "call_2", Name: "holidays"},
			}},
			{Role: voice.LLMTool, ToolCallID: "call_1", Text: `{"open":false}`},
			{Role: voice.LLMTool, ToolCallID: "call_2", Text: `[]`},
			{Role: voice.LLMAssistant, Text: "We are closed on Sunday."},
			{Role: voice.LLMUser, Text: "Thanks, bye."},
		},
		Tools: []voice.ToolSpec{
			{Name: "opening_hours", Description: "Hours of a day.", Parameters: json.RawMessage(`{"type":"object","properties":{"day":{"type":"string","maxLength":9}},"required":["day"]}`)},
			{Name: "hang_up"},
		},
		MaxTokens:   120,
		Temperature: &temp,
	}
	st, err := chat.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if evs, err := drain(t, st); err != nil || !strings.HasSuffix(summary(evs), "S(end)") {
		t.Fatalf("%s, %v", summary(evs), err)
	}

	r := srv.ChatRequests()[0]
	if r.Model != "llama-3.1-8b" || !r.Stream || r.MaxTokens != 120 || r.MaxCompletionTokens != 0 || r.Temperature == nil || *r.Temperature != 0.2 {
		t.Errorf("request model %q stream %v max_tokens %d max_completion_tokens %d temperature %v", r.Model, r.Stream, r.MaxTokens, r.MaxCompletionTokens, r.Temperature)
	}
	if r.Authorization != "Bearer sk-chat" {
		t.Errorf("Authorization %q", r.Authorization)
	}
	if r.StreamOptions != nil {
		t.Errorf("stream_options sent: %s", r.StreamOptions)
	}
	var got []string
	for _, m := range r.Messages {
		s := m.Role + ":" + m.Content
		if m.NullContent {
			s = m.Role + ":<null>"
		}
		for _, tc := range m.ToolCalls {
			s += fmt.Sprintf(" [%s %s %s %s]", tc.ID, tc.Type, tc.Name, tc.Arguments)
		}
		if m.ToolCallID != "" {
			s += " for " + m.ToolCallID
		}
		got = append(got, s)
	}
	want := []string{
		"system:You answer the phone for Bob's Plumbing.",
		"user:Are you open on Sunday?",
		`assistant:Let me check. [call_1 function opening_hours {"day":"sunday"}] [call_2 function holidays {}]`,
		`tool:{"open":false} for call_1`,
		"tool:[] for call_2",
		"assistant:We are closed on Sunday.",
		"user:Thanks, bye.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Tools) != 2 {
		t.Fatalf("tools %+v", r.Tools)
	}
	if tl := r.Tools[0]; tl.Type != "function" || tl.Name != "opening_hours" || tl.Description != "Hours of a day." || !jsonEqual(tl.Parameters, req.Tools[0].Parameters) {
		t.Errorf("tool 0 %+v %s", tl, tl.Parameters)
	}
	if tl := r.Tools[1]; tl.Name != "hang_up" || tl.Description != "" || !jsonEqual(tl.Parameters, []byte(`{"type":"object","properties":{}}`)) {
		t.Errorf("tool 1 %+v %s", tl, tl.Parameters)
	}

	// The defaults: max_tokens 300, no temperature, no tools; a
	// temperature of 0 is sent; an assistant message of tool calls only
	// has no content.
	zero := 0.0
	for _, tt := range []struct {
		req       voice.LLMRequest
		maxTokens int
		temp      *float64
	}{
		{voice.LLMRequest{Model: "llama-3.1-8b", Messages: []voice.LLMMessage{{Role: voice.LLMUser, Text: "hi"}}}, 300, nil},
		{voice.LLMRequest{Model: "llama-3.1-8b", Temperature: &zero, Messages: []voice.LLMMessage{
			{Role: voice.LLMUser, Text: "hi"},
			{Role: voice.LLMAssistant, ToolCalls: []voice.ToolCall{{ID: "c", Name: "f", Arguments: json.RawMessage(`{}`)}}},
			{Role: voice.LLMTool, ToolCallID: "c", Text: "ok"},
		}}, 300, &zero},
	} {
		st, err := chat.Stream(context.Background(), tt.req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := drain(t, st); err != nil {
			t.Fatal(err)
		}
		reqs := srv.ChatRequests()
		r := reqs[len(reqs)-1]
		if r.MaxTokens != tt.maxTokens || (r.Temperature == nil) != (tt.temp == nil) || (r.Temperature != nil && *r.Temperature != *tt.temp) || len(r.Tools) != 0 {
			t.Errorf("max_tokens %d temperature %v tools %d; body %s", r.MaxTokens, r.Temperature, len(r.Tools), r.Body)
		}
		if strings.Contains(string(r.Body), "tools") || strings.Contains(string(r.Body), "stream_options") || strings.Contains(string(r.Body), "max_completion_tokens") {
			t.Errorf("body %s", r.Body)
		}
		if len(r.Messages) == 3 && (!r.Messages[1].NullContent || len(r.Messages[1].ToolCalls) != 1) {
			t.Errorf("assistant message %+v", r.Messages[1])
		}
	}

	// What cannot be sent is refused before the request.
	for _, bad := range []voice.LLMRequest{
		{Model: "m", Messages: []voice.LLMMessage{{Role: "robot", Text: "x"}}},
		{Model: "m", Messages: []voice.LLMMessage{{Role: voice.LLMTool, Text: "x"}}},
		{Model: "m", Tools: []voice.ToolSpec{{Name: "f", Parameters: json.RawMessage(`[1]`)}}},
	} {
		if _, err := chat.Stream(context.Background(), bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if n := len(srv.ChatRequests()); n != 3 {
		t.Errorf("%d requests reached the server, want 3", n)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func TestChat_ToolCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply openaitest.ChatReply
		want  string
	}{
		{
			"arguments in many chunks",
			openaitest.ChatReply{ToolCalls: []openaitest.ChatToolCall{{ID: "call_x", Name: "book", ArgChunks: []string{`{`, `"da`, `y":`, ` "mon`, `day"`, `, "at`, `": 9`, `}`}}}},
			`C(call_x book {"day": "monday", "at": 9})S(tool_use)`,
		},
		{
			"two interleaved",
			openaitest.ChatReply{InterleaveToolCalls: true, ToolCalls: []openaitest.ChatToolCall{
				{ID: "call_a", Name: "lookup", ArgChunks: []string{`{"q"`, `:"pipes"`, `}`}},
				{ID: "call_b", Name: "note", ArgChunks: []string{`{"text"`, `:"leak"`, `}`}},
			}},
			`C(call_a lookup {"q":"pipes"})C(call_b note {"text":"leak"})S(tool_use)`,
		},
		{
			"text then a tool call",
			openaitest.ChatReply{Text: "One moment.", ToolCalls: []openaitest.ChatToolCall{{ID: "call_h", Name: "hang_up", Arguments: `{"reason":"done"}`}}},
			`T(One)T( moment.)C(call_h hang_up {"reason":"done"})S(tool_use)`,
		},
		{
			"no arguments",
			openaitest.ChatReply{ToolCalls: []openaitest.ChatToolCall{{ID: "call_n", Name: "hang_up", ArgChunks: []string{}}}},
			`C(call_n hang_up {})S(tool_use)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			srv.ScriptChat(tt.reply)
			st, err := newChat(t, openai.Config{BaseURL: srv.BaseURL()}).Stream(context.Background(), userTurn("hi"))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := drain(t, st)
			if err != nil || summary(evs) != tt.want {
				t.Errorf("got %s, %v\nwant %s", summary(evs), err, tt.want)
			}
		})
	}
}

func TestChat_StopReasons(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	chat := newChat(t, openai.Config{BaseURL: srv.BaseURL()})
	for finish, want := range map[string]string{"stop": "end", "tool_calls": "tool_use", "function_call": "tool_use", "length": "max_tokens", "content_filter": "content_filter"} {
		srv.ScriptChat(openaitest.ChatReply{Text: "Hi.", FinishReason: finish})
		st, err := chat.Stream(context.Background(), userTurn("hi"))
		if err != nil {
			t.Fatal(err)
		}
		evs, err := drain(t, st)
		if err != nil || summary(evs) != "T(Hi.)S("+want+")" {
			t.Errorf("finish_reason %q: %s, %v; want Stop %q", finish, summary(evs), err, want)
		}
		if last := evs[len(evs)-1]; last.Text != "" || last.ToolCall != nil {
			t.Errorf("last event %+v carries more than Stop", last)
		}
	}
}

func TestChat_RefusedBeforeTheStream(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.SetAPIKey("sk-right")
	chat := newChat(t, openai.Config{APIKey: "sk-wrong", BaseURL: srv.BaseURL()})
	_, err := chat.Stream(context.Background(), userTurn("hi"))
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" || apiErr.Temporary() {
		t.Errorf("wrong key: %v (%+v)", err, apiErr)
	}

	srv.SetAPIKey("")
	srv.ScriptChat(openaitest.ChatReply{Status: 429, Message: "Rate limit reached for requests"})
	_, err = chat.Stream(context.Background(), userTurn("hi"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || !apiErr.Temporary() || !strings.Contains(apiErr.Message, "Rate limit reached") {
		t.Errorf("rate limited: %v (%+v)", err, apiErr)
	}

	// A server that ignores "stream" and answers 200 with an error object.
	jsonSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"error":"model not loaded"}`)
	}))
	defer jsonSrv.Close()
	_, err = newChat(t, openai.Config{BaseURL: jsonSrv.URL + "/v1"}).Stream(context.Background(), userTurn("hi"))
	if !errors.As(err, &apiErr) || apiErr.Message != "model not loaded" {
		t.Errorf("200 with an error object: %v", err)
	}
}

func TestChat_ErrorEventMidStream(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.ScriptChat(openaitest.ChatReply{Text: "Our hours are nine to five.", FailAfter: 3})
	st, err := newChat(t, openai.Config{BaseURL: srv.BaseURL()}).Stream(context.Background(), userTurn("hours?"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var evs []voice.LLMEvent
	for {
		ev, err2 := nextWithin(t, st, 10*time.Second)
		if err2 != nil {
			err = err2
			break
		}
		evs = append(evs, ev)
	}
	if summary(evs) != "T(Our)T( hours)" {
		t.Errorf("events before the error: %s", summary(evs))
	}
	if err == nil || !strings.Contains(err.Error(), openaitest.ChatErrorMessage) {
		t.Errorf("error %v, want the server's message", err)
	}
	if _, again := st.Next(); again == nil || again.Error() != err.Error() {
		t.Errorf("Next after the error: %v", again)
	}
}

func TestChat_ContextCancelledMidStream(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	hold := make(chan struct{})
	defer close(hold)
	srv.ScriptChat(openaitest.ChatReply{Text: "Hello there.", Hold: hold})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := newChat(t, openai.Config{BaseURL: srv.BaseURL()}).Stream(ctx, userTurn("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for range 2 {
		if ev, err := nextWithin(t, st, 10*time.Second); err != nil || ev.Text == "" {
			t.Fatalf("%+v %v", ev, err)
		}
	}
	// Next now waits for the held chunk: cancelling must end it.
	type result struct{ err error }
	done := make(chan result, 1)
	go func() {
		_, err := st.Next()
		done <- result{err}
	}()
	cancel()
	select {
	case r := <-done:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("Next: %v, want context.Canceled", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after ctx was cancelled")
	}
	if _, err := st.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next again: %v", err)
	}
}

func TestChat_Close(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	hold := make(chan struct{})
	defer close(hold)
	srv.ScriptChat(openaitest.ChatReply{Text: "Hello there.", Hold: hold}, openaitest.ChatReply{Text: "Done."})
	chat := newChat(t, openai.Config{BaseURL: srv.BaseURL()})
	st, err := chat.Stream(context.Background(), userTurn("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := nextWithin(t, st, 10*time.Second); err != nil || ev.Text != "Hello" {
		t.Fatalf("%+v %v", ev, err)
	}
	// Close from another goroutine ends a Next that waits.
	done := make(chan error, 1)
	go func() {
		_, err := st.Next() // " there."
		if err == nil {
			_, err = st.Next() // waits for the held chunk
		}
		done <- err
	}()
	if err := st.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case err := <-done:
		if err == nil || errors.Is(err, io.EOF) {
			t.Errorf("Next after Close: %v, want an error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after Close")
	}

	// Close after io.EOF, twice.
	st, err = chat.Stream(context.Background(), userTurn("again"))
	if err != nil {
		t.Fatal(err)
	}
	if evs, err := drain(t, st); err != nil || summary(evs) != "T(Done.)S(end)" {
		t.Fatalf("%s %v", summary(evs), err)
	}
	for i := range 2 {
		if err := st.Close(); err != nil {
			t.Errorf("Close %d after the end: %v", i+1, err)
		}
	}
}

func TestChat_ArgumentsTooLong(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	pieces := []string{`{"text":"`}
	for range 70 {
		pieces = append(pieces, strings.Repeat("a", 1024))
	}
	pieces = append(pieces, `"}`)
	srv.ScriptChat(openaitest.ChatReply{Text: "Noting.", ToolCalls: []openaitest.ChatToolCall{{ID: "c", Name: "note", ArgChunks: pieces}}})
	st, err := newChat(t, openai.Config{BaseURL: srv.BaseURL()}).Stream(context.Background(), userTurn("hi"))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, st)
	if summary(evs) != "T(Noting.)" || err == nil || !strings.Contains(err.Error(), "64 KiB") {
		t.Errorf("%s, %v; want the text, then an error about 64 KiB", summary(evs), err)
	}
}

// TestChat_CompatibleServerWithoutFinishReason is a server that sends no
// finish_reason and no [DONE]: it closes the stream when done.
func TestChat_CompatibleServerWithoutFinishReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		deltas []string
		want   string
	}{
		{"text", []string{`{"role":"assistant"}`, `{"content":"Sure"}`, `{"content":", bye."}`}, "T(Sure)T(, bye.)S(end)"},
		{"tool calls", []string{
			`{"role":"assistant","content":null}`,
			`{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{\"y\""}}]}`,
			`{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f"}}]}`,
			`{"tool_calls":[{"index":1,"function":{"arguments":":2}"}}]}`,
		}, `C(a f {})C(b g {"y":2})S(tool_use)`},
		{"every call at index 0", []string{
			`{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]}`,
			`{"tool_calls":[{"index":0,"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]}`,
		}, `C(a f {"x":1})C(b g {})S(tool_use)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				for _, d := range tt.deltas {
					fmt.Fprintf(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":%s}]}\n\n", d)
					w.(http.Flusher).Flush()
				}
			}))
			defer srv.Close()
			st, err := newChat(t, openai.Config{BaseURL: srv.URL + "/v1"}).Stream(context.Background(), userTurn("hi"))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := drain(t, st)
			if err != nil || summary(evs) != tt.want {
				t.Errorf("got %s, %v\nwant %s", summary(evs), err, tt.want)
			}
		})
	}
}

func TestChat_AnswerWithoutChunks(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, ": keep-alive\n\n")
	}))
	defer srv.Close()
	st, err := newChat(t, openai.Config{BaseURL: srv.URL + "/v1"}).Stream(context.Background(), userTurn("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if evs, err := drain(t, st); err == nil || len(evs) != 0 {
		t.Errorf("%s, %v; want an error", summary(evs), err)
	}
}

func TestNewChat_BadBaseURL(t *testing.T) {
	t.Parallel()
	if _, err := openai.NewChat(openai.Config{BaseURL: "localhost:8080"}); err == nil {
		t.Error("no error")
	}
}
