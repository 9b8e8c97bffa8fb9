package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/anthropic"
	"github.com/agentphone/agentphone/anthropic/anthropictest"
	"github.com/agentphone/agentphone/voice"
)

func newFake(tb testing.TB) *anthropictest.Server {
	tb.Helper()
	s := anthropictest.NewServer()
	tb.Cleanup(s.Close)
	return s
}

func newClient(tb testing.TB, cfg anthropic.Config) *anthropic.Client {
	tb.Helper()
	c, err := anthropic.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// ctx is the context of a test, bounded so that a hang fails it.
func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func userRequest(text string) voice.LLMRequest {
	return voice.LLMRequest{Model: "claude-test", Messages: []voice.LLMMessage{{Role: voice.LLMUser, Text: text}}}
}

func start(tb testing.TB, c *anthropic.Client, ctx context.Context, req voice.LLMRequest) voice.LLMStream {
	tb.Helper()
	st, err := c.Stream(ctx, req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// drain returns the events of st up to io.EOF, failing on an error.
func drain(tb testing.TB, st voice.LLMStream) []voice.LLMEvent {
	tb.Helper()
	var out []voice.LLMEvent
	for {
		ev, err := st.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("after %d events: %v", len(out), err)
		}
		out = append(out, ev)
	}
}

func texts(evs []voice.LLMEvent) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Text)
	}
	return b.String()
}

func TestStreamsTextAsItArrives(t *testing.T) {
	fake := newFake(t)
	hold := make(chan struct{})
	fake.Script(anthropictest.Reply{Text: "Hello there, how can I help?", Hold: hold})
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	st := start(t, c, testContext(t), userRequest("Hi"))

	// The fake holds its last delta: the first words arrive before it.
	ev, err := st.Next()
	if err != nil || ev.Text != "Hello" || ev.ToolCall != nil || ev.Stop != "" {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	ev, err = st.Next()
	if err != nil || ev.Text != " there," {
		t.Fatalf("second event %+v, %v", ev, err)
	}
	close(hold)
	rest := drain(t, st)
	if got := "Hello there," + texts(rest); got != "Hello there, how can I help?" {
		t.Errorf("text %q", got)
	}
	if len(rest) < 2 {
		t.Fatalf("events after release %+v", rest)
	}
	for _, e := range rest[:len(rest)-1] {
		if e.Text == "" || e.Stop != "" || e.ToolCall != nil {
			t.Errorf("event %+v: want text only", e)
		}
	}
	if last := rest[len(rest)-1]; last != (voice.LLMEvent{Stop: "end"}) {
		t.Errorf("last event %+v, want only Stop end", last)
	}
	for range 2 {
		if _, err := st.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("Next after the end: %v, want io.EOF", err)
		}
	}
	if err := st.Close(); err != nil {
		t.Errorf("Close after EOF: %v", err)
	}
}

func TestRequestMapping(t *testing.T) {
	fake := newFake(t)
	fake.SetAPIKey("sk-test")
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL(), APIKey: "sk-test"})
	temp := 0.3
	req := voice.LLMRequest{
		Model:       "claude-sonnet-test",
		System:      "You answer the phone for Acme.",
		Temperature: &temp, // refused by API version 2026-10-21 (and the fake): must not be sent
		Tools: []voice.ToolSpec{
			{Name: "get_weather", Description: "Weather of a city", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`)},
			{Name: "hang_up", Description: "End the call"},
		},
		Messages: []voice.LLMMessage{
			{Role: voice.LLMUser, Text: "Hi,"},
			{Role: voice.LLMUser, Text: "what's the weather in Bern and Basel?"},
			{Role: voice.LLMAssistant, Text: "Let me check.", ToolCalls: []voice.ToolCall{
				{ID: "toolu_a", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Bern"}`)},
				{ID: "toolu_b", Name: "get_weather", Arguments: json.RawMessage(`{"city": "Bas`)}, // cut: invalid JSON
			}},
			{Role: voice.LLMTool, ToolCallID: "toolu_a", Text: `{"temp":21}`},
			{Role: voice.LLMTool, ToolCallID: "toolu_b", Text: `{"temp":23}`},
			{Role: voice.LLMAssistant, ToolCalls: []voice.ToolCall{{ID: "toolu_c", Name: "hang_up"}}}, // no text, no arguments
			{Role: voice.LLMTool, ToolCallID: "toolu_c", Text: ""},
			{Role: voice.LLMUser, Text: "Wait, one more thing."},
		},
	}
	st := start(t, c, testContext(t), req)
	drain(t, st)

	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Status != 200 {
		t.Fatalf("fake answered %d: %s", r.Status, r.Body)
	}
	if r.Header.Get("x-api-key") != "sk-test" || r.Header.Get("Authorization") != "" {
		t.Errorf("x-api-key %q, Authorization %q", r.Header.Get("x-api-key"), r.Header.Get("Authorization"))
	}
	if v := r.Header.Get("anthropic-version"); v != anthropictest.Version2026 {
		t.Errorf("anthropic-version %q", v)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if r.Model != "claude-sonnet-test" || r.System != "You answer the phone for Acme." || !r.Stream ||
		r.MaxTokens != anthropic.DefaultMaxTokens || r.Temperature != nil {
		t.Errorf("model %q, system %q, stream %v, max_tokens %d, temperature %v", r.Model, r.System, r.Stream, r.MaxTokens, r.Temperature)
	}
	want := []anthropictest.Message{
		{Role: "user", Content: []anthropictest.Block{
			{Type: "text", Text: "Hi,"},
			{Type: "text", Text: "what's the weather in Bern and Basel?"},
		}},
		{Role: "assistant", Content: []anthropictest.Block{
			{Type: "text", Text: "Let me check."},
			{Type: "tool_use", ID: "toolu_a", Name: "get_weather", Input: json.RawMessage(`{"city":"Bern"}`)},
			{Type: "tool_use", ID: "toolu_b", Name: "get_weather", Input: json.RawMessage(`{}`)},
		}},
		{Role: "user", Content: []anthropictest.Block{
			{Type: "tool_result", ToolUseID: "toolu_a", Text: `{"temp":21}`},
			{Type: "tool_result", ToolUseID: "toolu_b", Text: `{"temp":23}`},
		}},
		{Role: "assistant", Content: []anthropictest.Block{
			{Type: "tool_use", ID: "toolu_c", Name: "hang_up", Input: json.RawMessage(`{}`)},
		}},
		{Role: "user", Content: []anthropictest.Block{
			{Type: "tool_result", ToolUseID: "toolu_c"},
			{Type: "text", Text: "Wait, one more thing."},
		}},
	}
	if !reflect.DeepEqual(r.Messages, want) {
		t.Errorf("messages\n%+v\nwant\n%+v", r.Messages, want)
	}
	if len(r.Tools) != 2 {
		t.Fatalf("tools %+v", r.Tools)
	}
	if r.Tools[0].Name != "get_weather" || r.Tools[0].Description != "Weather of a city" {
		t.Errorf("tool 0 %+v", r.Tools[0])
	}
	var schema, wantSchema any
	_ = json.Unmarshal(r.Tools[0].InputSchema, &schema)
	_ = json.Unmarshal(req.Tools[0].Parameters, &wantSchema)
	if !reflect.DeepEqual(schema, wantSchema) {
		t.Errorf("input_schema %s, want %s", r.Tools[0].InputSchema, req.Tools[0].Parameters)
	}
	if r.Tools[1].Name != "hang_up" || r.Tools[1].Description != "End the call" || string(r.Tools[1].InputSchema) != `{"properties":{},"type":"object"}` {
		t.Errorf("tool 1 %+v (schema %s)", r.Tools[1], r.Tools[1].InputSchema)
	}
	if strings.Contains(string(r.Body), "temperature") {
		t.Errorf("body has a temperature: %s", r.Body)
	}
}

func TestRequestStartsWithUser(t *testing.T) {
	fake := newFake(t)
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	ctx := testContext(t)

	// The agent greeted first.
	drain(t, start(t, c, ctx, voice.LLMRequest{Model: "m", MaxTokens: 50, Messages: []voice.LLMMessage{
		{Role: voice.LLMAssistant, Text: "Acme, how can I help?"},
		{Role: voice.LLMUser, Text: ""}, // nothing heard: left out
		{Role: voice.LLMUser, Text: "Opening hours?"},
	}}))
	// Nothing said yet: the model opens the call.
	drain(t, start(t, c, ctx, voice.LLMRequest{Model: "m", System: "Greet the caller."}))

	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].Status != 200 || reqs[1].Status != 200 {
		t.Fatalf("requests %+v", reqs)
	}
	want := []anthropictest.Message{
		{Role: "user", Content: []anthropictest.Block{{Type: "text", Text: anthropic.StartText}}},
		{Role: "assistant", Content: []anthropictest.Block{{Type: "text", Text: "Acme, how can I help?"}}},
		{Role: "user", Content: []anthropictest.Block{{Type: "text", Text: "Opening hours?"}}},
	}
	if !reflect.DeepEqual(reqs[0].Messages, want) {
		t.Errorf("messages %+v\nwant %+v", reqs[0].Messages, want)
	}
	if reqs[0].MaxTokens != 50 {
		t.Errorf("max_tokens %d, want 50", reqs[0].MaxTokens)
	}
	if !reflect.DeepEqual(reqs[1].Messages, want[:1]) || reqs[1].System != "Greet the caller." {
		t.Errorf("messages %+v, system %q", reqs[1].Messages, reqs[1].System)
	}
}

func TestRequestRefusedBeforeSending(t *testing.T) {
	fake := newFake(t)
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	ctx := testContext(t)
	bad := []voice.LLMRequest{
		{Messages: []voice.LLMMessage{{Role: voice.LLMUser, Text: "hi"}}},                      // no model
		{Model: "m", Messages: []voice.LLMMessage{{Role: "system", Text: "hi"}}},               // unknown role
		{Model: "m", Tools: []voice.ToolSpec{{Name: "f", Parameters: json.RawMessage(`[1]`)}}}, // not an object
		{Model: "m", Tools: []voice.ToolSpec{{Name: "f", Parameters: json.RawMessage(`{"type":"string"}`)}}},
		{Model: "m", Tools: []voice.ToolSpec{{Name: "f", Parameters: json.RawMessage(`{"type":"object","required":"x"}`)}}},
	}
	for i, req := range bad {
		st, err := c.Stream(ctx, req)
		if err == nil {
			st.Close()
			t.Errorf("request %d: no error", i)
			continue
		}
		if !strings.HasPrefix(err.Error(), "anthropic: ") {
			t.Errorf("request %d: error %q", i, err)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestToolInputInPieces(t *testing.T) {
	fake := newFake(t)
	input := `{"city":"Zürich","days":[1,2,3],"note":"a \"quoted\" word"}`
	var pieces []string
	for _, r := range input {
		pieces = append(pieces, string(r))
	}
	fake.Script(anthropictest.Reply{ToolUses: []anthropictest.ToolUse{{ID: "toolu_x", Name: "forecast", InputChunks: append([]string{""}, pieces...)}}})
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	evs := drain(t, start(t, c, testContext(t), userRequest("Weather?")))
	want := []voice.LLMEvent{
		{ToolCall: &voice.ToolCall{ID: "toolu_x", Name: "forecast", Arguments: json.RawMessage(input)}},
		{Stop: "tool_use"},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("events %s\nwant %s", show(evs), show(want))
	}
}

func show(evs []voice.LLMEvent) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString("{")
		if e.Text != "" {
			b.WriteString("Text:" + e.Text + " ")
		}
		if e.ToolCall != nil {
			b.WriteString("ToolCall:" + e.ToolCall.ID + "/" + e.ToolCall.Name + "/" + string(e.ToolCall.Arguments) + " ")
		}
		if e.Stop != "" {
			b.WriteString("Stop:" + e.Stop)
		}
		b.WriteString("} ")
	}
	return b.String()
}

func TestTextThenTwoToolCalls(t *testing.T) {
	fake := newFake(t)
	fake.Script(anthropictest.Reply{
		Text: "One moment.",
		ToolUses: []anthropictest.ToolUse{
			{ID: "toolu_1", Name: "lookup_order", Input: `{"order_id":"A-17","include_items":true}`},
			{ID: "toolu_2", Name: "hold_music"}, // no input: only an empty piece
		},
	})
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	evs := drain(t, start(t, c, testContext(t), userRequest("Where is my order?")))
	want := []voice.LLMEvent{
		{Text: "One"},
		{Text: " moment."},
		{ToolCall: &voice.ToolCall{ID: "toolu_1", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id":"A-17","include_items":true}`)}},
		{ToolCall: &voice.ToolCall{ID: "toolu_2", Name: "hold_music", Arguments: json.RawMessage(`{}`)}},
		{Stop: "tool_use"},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("events %s\nwant %s", show(evs), show(want))
	}
}

func TestStopValues(t *testing.T) {
	fake := newFake(t)
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	ctx := testContext(t)
	for _, tt := range []struct{ reason, want string }{
		{"end_turn", "end"},
		{"stop_sequence", "end"},
		{"max_tokens", "max_tokens"},
		{"tool_use", "tool_use"},
		{"refusal", "refusal"},
		{"pause_turn", "pause_turn"},
	} {
		fake.Script(anthropictest.Reply{Text: "Hi", StopReason: tt.reason})
		evs := drain(t, start(t, c, ctx, userRequest("x")))
		if len(evs) != 2 || evs[0].Text != "Hi" || evs[1] != (voice.LLMEvent{Stop: tt.want}) {
			t.Errorf("stop_reason %s: events %s, want Stop %s", tt.reason, show(evs), tt.want)
		}
	}
}

func TestRefusedBeforeTheStream(t *testing.T) {
	fake := newFake(t)
	fake.SetAPIKey("sk-right")
	ctx := testContext(t)

	wrong := newClient(t, anthropic.Config{BaseURL: fake.BaseURL(), APIKey: "sk-wrong"})
	_, err := wrong.Stream(ctx, userRequest("hi"))
	var apiErr *anthropic.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("wrong key: %v, want an *APIError", err)
	}
	if apiErr.StatusCode != 401 || apiErr.Type != "authentication_error" || apiErr.Message != "invalid x-api-key" || apiErr.Temporary() || apiErr.RequestID == "" {
		t.Errorf("wrong key: %+v (temporary %v)", apiErr, apiErr.Temporary())
	}
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "invalid x-api-key") {
		t.Errorf("error text %q", err)
	}

	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL(), APIKey: "sk-right"})
	for _, tt := range []struct {
		status    int
		typ, msg  string
		temporary bool
	}{
		{429, "rate_limit_error", "Number of requests has exceeded your rate limit.", true},
		{529, "overloaded_error", "Overloaded", true},
		{500, "api_error", "Internal server error", true},
		{400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum", false},
	} {
		fake.Script(anthropictest.Reply{Status: tt.status, Message: tt.msg})
		st, err := c.Stream(ctx, userRequest("hi"))
		if st != nil {
			t.Errorf("%d: a stream", tt.status)
		}
		var apiErr *anthropic.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("%d: %v, want an *APIError", tt.status, err)
		}
		if apiErr.StatusCode != tt.status || apiErr.Type != tt.typ || apiErr.Message != tt.msg || apiErr.Temporary() != tt.temporary {
			t.Errorf("%d: %+v, temporary %v", tt.status, apiErr, apiErr.Temporary())
		}
	}
	// MaxRetries 0: a 529 is not sent again.
	if n := len(fake.Requests()); n != 5 {
		t.Errorf("%d requests, want 5 (no retries)", n)
	}
}

func TestRetries(t *testing.T) {
	fake := newFake(t)
	fake.Script(anthropictest.Reply{Status: 529}, anthropictest.Reply{Text: "Now it works"})
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL(), MaxRetries: 1})
	evs := drain(t, start(t, c, testContext(t), userRequest("hi")))
	if texts(evs) != "Now it works" || len(fake.Requests()) != 2 {
		t.Errorf("events %s after %d requests", show(evs), len(fake.Requests()))
	}
}

func TestInvalidRequestNamesTheProblem(t *testing.T) {
	fake := newFake(t)
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	// A tool_result that answers no tool_use: the fake refuses it as
	// Anthropic does.
	_, err := c.Stream(testContext(t), voice.LLMRequest{Model: "m", Messages: []voice.LLMMessage{
		{Role: voice.LLMUser, Text: "hi"},
		{Role: voice.LLMAssistant, ToolCalls: []voice.ToolCall{{ID: "toolu_1", Name: "f"}}},
		{Role: voice.LLMTool, ToolCallID: "toolu_2", Text: "r"},
	}})
	var apiErr *anthropic.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type != "invalid_request_error" || !strings.Contains(apiErr.Message, "toolu_2") {
		t.Fatalf("%v", err)
	}
}

func TestErrorEventMidStream(t *testing.T) {
	fake := newFake(t)
	fake.Script(anthropictest.Reply{Text: "one two three four", ErrorAfter: 2})
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	st := start(t, c, testContext(t), userRequest("count"))
	var got []string
	var err error
	for {
		var ev voice.LLMEvent
		ev, err = st.Next()
		if err != nil {
			break
		}
		got = append(got, ev.Text)
	}
	if !reflect.DeepEqual(got, []string{"one", " two"}) {
		t.Errorf("events before the error %q", got)
	}
	var apiErr *anthropic.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v, want an *APIError", err)
	}
	if apiErr.Type != "overloaded_error" || apiErr.Message != "Overloaded" || apiErr.StatusCode != 529 || !apiErr.Temporary() {
		t.Errorf("%+v, temporary %v", apiErr, apiErr.Temporary())
	}
	if _, again := st.Next(); again != err {
		t.Errorf("Next after the error: %v, want the same error", again)
	}
}

func TestContextCancelledMidStream(t *testing.T) {
	fake := newFake(t)
	hold := make(chan struct{})
	defer close(hold)
	fake.Script(anthropictest.Reply{Text: "one two three", Hold: hold})
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	ctx, cancel := context.WithCancel(testContext(t))
	st := start(t, c, ctx, userRequest("hi"))
	if ev, err := st.Next(); err != nil || ev.Text != "one" {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	if ev, err := st.Next(); err != nil || ev.Text != " two" {
		t.Fatalf("second event %+v, %v", ev, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := st.Next() // waits for the held delta
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Next: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after the context was cancelled")
	}

	// A context that ended before: no request.
	if _, err := c.Stream(ctx, userRequest("hi")); !errors.Is(err, context.Canceled) {
		t.Errorf("Stream with a cancelled context: %v", err)
	}
}

func TestClose(t *testing.T) {
	fake := newFake(t)
	hold := make(chan struct{})
	defer close(hold)
	fake.Script(anthropictest.Reply{Text: "one two three", Hold: hold})
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	st := start(t, c, testContext(t), userRequest("hi"))
	if ev, err := st.Next(); err != nil || ev.Text != "one" {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	if _, err := st.Next(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := st.Next() // waits for the held delta
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
			t.Errorf("Next waiting during Close: %v, want an error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after Close")
	}
	if _, err := st.Next(); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("Next after Close: %v, want an error", err)
	}
}

func TestOversizedToolInput(t *testing.T) {
	// exactly is a JSON object of exactly n bytes.
	exactly := func(n int) string {
		return `{"a":"` + strings.Repeat("x", n-len(`{"a":""}`)) + `"}`
	}
	fake := newFake(t)
	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL()})
	ctx := testContext(t)

	fits := exactly(anthropic.MaxToolInputBytes)
	fake.Script(anthropictest.Reply{ToolUses: []anthropictest.ToolUse{{ID: "toolu_1", Name: "f", Input: fits, InputChunks: split(fits, 1000)}}})
	evs := drain(t, start(t, c, ctx, userRequest("hi")))
	if len(evs) != 2 || evs[0].ToolCall == nil || string(evs[0].ToolCall.Arguments) != fits {
		t.Fatalf("input of %d bytes: %d events", len(fits), len(evs))
	}

	tooLong := exactly(anthropic.MaxToolInputBytes + 1)
	fake.Script(anthropictest.Reply{Text: "Sure.", ToolUses: []anthropictest.ToolUse{{ID: "toolu_2", Name: "f", InputChunks: split(tooLong, 1000)}}})
	st := start(t, c, ctx, userRequest("hi"))
	if ev, err := st.Next(); err != nil || ev.Text != "Sure." {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	ev, err := st.Next()
	if err == nil || !strings.Contains(err.Error(), "64 KiB") || !strings.Contains(err.Error(), `"f"`) {
		t.Fatalf("oversized input: %+v, %v", ev, err)
	}
}

func split(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func TestConfig(t *testing.T) {
	for _, base := range []string{"api.anthropic.com", "ftp://x", "http://x/?q=1", "https://api.anthropic.com/v1", "http://%zz"} {
		if _, err := anthropic.New(anthropic.Config{BaseURL: base}); err == nil {
			t.Errorf("base url %q: no error", base)
		}
	}
	if _, err := anthropic.New(anthropic.Config{}); err != nil {
		t.Errorf("zero Config: %v", err)
	}
}

func TestNothingFromTheEnvironment(t *testing.T) {
	fake := newFake(t)
	t.Setenv("ANTHROPIC_API_KEY", "sk-from-env")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "token-from-env")
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1") // nothing listens there
	t.Setenv("ANTHROPIC_CUSTOM_HEADERS", "X-From-Env: yes")
	t.Setenv("ANTHROPIC_CONFIG_DIR", t.TempDir())

	c := newClient(t, anthropic.Config{BaseURL: fake.BaseURL(), HTTPClient: &http.Client{}, MaxRetries: -1})
	drain(t, start(t, c, testContext(t), userRequest("hi")))
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests reached the configured server", len(reqs))
	}
	h := reqs[0].Header
	if h.Get("x-api-key") != "" || h.Get("Authorization") != "" || h.Get("X-From-Env") != "" {
		t.Errorf("headers from the environment: %v", h)
	}
}
