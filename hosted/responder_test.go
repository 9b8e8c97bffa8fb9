package hosted_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/hosted"
	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/openai/openaitest"
	"github.com/agentphone/agentphone/voice"
)

// The responder's tests run it against the OpenAI-protocol fake through
// the real chat adapter: what the model is sent is read off the wire.

type rig struct {
	llm    *openaitest.Server
	r      *hosted.Responder
	events *events
	msgs   *messenger
}

func newRig(t *testing.T) *rig {
	t.Helper()
	fake := openaitest.NewServer()
	t.Cleanup(fake.Close)
	rg := &rig{llm: fake, events: &events{}, msgs: &messenger{}}
	chat, err := openai.NewChat(openai.Config{BaseURL: fake.BaseURL()})
	if err != nil {
		t.Fatal(err)
	}
	rg.r = &hosted.Responder{LLM: chat, Models: map[string]string{"balanced": "m-balanced", "turbo": "m-turbo"},
		Messages: rg.msgs, Events: rg.events, Now: func() time.Time { return time.Date(2026, 3, 2, 17, 4, 0, 0, time.UTC) }}
	return rg
}

func turnRequest(text string, mod func(c *agentphone.Call, a *agentphone.Agent)) voice.TurnRequest {
	prompt, greeting := "You help {{name}} track orders.", "Hi, this is Ava."
	number := "num_1"
	a := &agentphone.Agent{ID: "agt_1", Name: "Ava", VoiceMode: agentphone.VoiceModeHosted, SystemPrompt: &prompt,
		ModelTier: "balanced", EnableMessaging: true}
	c := &agentphone.Call{ID: "call_1", AccountID: "acc_1", NumberID: &number, From: "+15555550100", To: "+15555550199",
		Direction: agentphone.DirectionInbound}
	name := "Jane"
	c.Options.Variables = map[string]*string{"name": &name}
	if mod != nil {
		mod(c, a)
	}
	return voice.TurnRequest{Call: c, Agent: a, Transcript: text, History: []*agentphone.Turn{
		{Role: agentphone.RoleAgent, Text: greeting},
	}}
}

// drain reads every reply until the final one.
func drain(t *testing.T, rs voice.ReplyStream) []voice.Reply {
	t.Helper()
	defer rs.Close()
	var out []voice.Reply
	for {
		r, err := rs.Next()
		if err != nil {
			t.Fatalf("after %d replies: %v", len(out), err)
		}
		out = append(out, r)
		if !r.Interim {
			return out
		}
	}
}

func texts(rs []voice.Reply) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Text)
	}
	return out
}

func TestRespondStreamsClauses(t *testing.T) {
	t.Parallel()
	rg := newRig(t)
	hold := make(chan struct{})
	rg.llm.ScriptChat(openaitest.ChatReply{Text: "Sure, I can check that. Your order shipped yesterday, and it arrives on Friday.", Hold: hold})
	rs, err := rg.r.Respond(t.Context(), turnRequest("Where is my order?", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	// The first clauses are heard while the model still holds its last
	// words back.
	first, err := rs.Next()
	if err != nil {
		t.Fatal(err)
	}
	if first.Text != "Sure, I can check that." || !first.Interim || first.FirstByte.IsZero() {
		t.Fatalf("first reply %+v", first)
	}
	second, err := rs.Next()
	if err != nil {
		t.Fatal(err)
	}
	if second.Text != "Your order shipped yesterday," || !second.Interim {
		t.Fatalf("second reply %+v", second)
	}
	close(hold)
	last, err := rs.Next()
	if err != nil {
		t.Fatal(err)
	}
	if last.Text != "and it arrives on Friday." || last.Interim {
		t.Fatalf("last reply %+v", last)
	}

	req := rg.llm.ChatRequests()[0]
	if req.Model != "m-balanced" || !req.Stream {
		t.Errorf("model %q stream %v", req.Model, req.Stream)
	}
	sys := req.Messages[0]
	if sys.Role != "system" || !strings.Contains(sys.Content, "You help Jane track orders.") || !strings.Contains(sys.Content, "Your name is Ava") {
		t.Errorf("system message: %+v", sys)
	}
	var roles []string
	for _, m := range req.Messages[1:] {
		roles = append(roles, m.Role+": "+m.Content)
	}
	want := "user: [The call was answered.]|assistant: Hi, this is Ava.|user: Where is my order?"
	if strings.Join(roles, "|") != want {
		t.Errorf("messages %q\nwant %q", strings.Join(roles, "|"), want)
	}
	names := map[string]bool{}
	for _, tl := range req.Tools {
		names[tl.Name] = true
	}
	if !names["end_call"] || !names["press_digits"] || !names["send_message"] || !names["read_messages"] || names["transfer_call"] {
		t.Errorf("tools offered: %v (no transferNumber: no transfer_call)", names)
	}
}

func TestRespondCustomTool(t *testing.T) {
	t.Parallel()
	rg := newRig(t)
	var got struct {
		City   string `json:"city"`
		CallID string
	}
	tool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		got.CallID = r.Header.Get("X-Agentphone-Call-Id")
		_, _ = io.WriteString(w, `{"forecast":"sunny","celsius":21}`)
	}))
	t.Cleanup(tool.Close)
	speak := true
	msg := "One moment while I look."
	rg.llm.ScriptChat(openaitest.ChatReply{Text: "Let me check.", ToolCalls: []openaitest.ChatToolCall{{ID: "call_w", Name: "weather", Arguments: `{"city":"Paris"}`}}})
	rg.llm.SetChat(func(req openaitest.ChatRequest) openaitest.ChatReply {
		last := req.Messages[len(req.Messages)-1]
		if last.Role == "tool" && last.ToolCallID == "call_w" && strings.Contains(last.Content, `"celsius":21`) {
			return openaitest.ChatReply{Text: "It is sunny and 21 degrees in Paris."}
		}
		return openaitest.ChatReply{Text: "The tool result did not come back."}
	})
	req := turnRequest("What's the weather in Paris?", func(c *agentphone.Call, a *agentphone.Agent) {
		a.CustomTools = []agentphone.CustomTool{{Name: "weather", Description: "Weather by city", URL: tool.URL, Method: "POST",
			Parameters:           json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
			SpeakDuringExecution: &speak, ExecutionMessage: &msg}}
	})
	replies := drain(t, mustRespond(t, rg, req))
	want := []string{"Let me check.", "One moment while I look.", "It is sunny and 21 degrees in Paris."}
	if strings.Join(texts(replies), "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q", texts(replies), want)
	}
	if got.City != "Paris" || got.CallID != "call_1" {
		t.Errorf("the tool got %+v", got)
	}
	ev := rg.events.only(t, "tool_call")
	if ev["name"] != "weather" || ev["ok"] != true || ev["status"] != 200 {
		t.Errorf("tool_call event %v", ev)
	}
	// The second request carried the assistant's tool call and its result.
	reqs := rg.llm.ChatRequests()
	if len(reqs) != 2 {
		t.Fatalf("%d chat requests, want 2", len(reqs))
	}
	msgs := reqs[1].Messages
	asst := msgs[len(msgs)-2]
	if asst.Role != "assistant" || len(asst.ToolCalls) != 1 || asst.ToolCalls[0].Name != "weather" || asst.Content != "Let me check." {
		t.Errorf("assistant message %+v", asst)
	}

	// The next turn: the model still sees what the tool answered, after
	// the caller's turn it answered.
	req.History = append(req.History,
		&agentphone.Turn{Role: agentphone.RoleUser, Text: "What's the weather in Paris?"},
		&agentphone.Turn{Role: agentphone.RoleAgent, Text: "Let me check. One moment while I look. It is sunny and 21 degrees in Paris."})
	req.Transcript = "And tomorrow?"
	drain(t, mustRespond(t, rg, req))
	var roles []string
	for _, m := range rg.llm.ChatRequests()[2].Messages[1:] {
		roles = append(roles, m.Role)
	}
	if got := strings.Join(roles, " "); got != "user assistant user assistant tool assistant user" {
		t.Fatalf("the next turn's messages: %s", got)
	}
	if m := rg.llm.ChatRequests()[2].Messages[5]; m.ToolCallID != "call_w" || !strings.Contains(m.Content, `"celsius":21`) {
		t.Fatalf("the tool's result in the next turn: %+v", m)
	}
}

func TestRespondToolErrorsGoBackToTheModel(t *testing.T) {
	t.Parallel()
	rg := newRig(t)
	rg.llm.ScriptChat(openaitest.ChatReply{ToolCalls: []openaitest.ChatToolCall{
		{ID: "c1", Name: "no_such_tool", Arguments: `{}`},
		{ID: "c2", Name: "weather", Arguments: `{"city": 5}`},
	}})
	var results []string
	rg.llm.SetChat(func(req openaitest.ChatRequest) openaitest.ChatReply {
		for _, m := range req.Messages {
			if m.Role == "tool" {
				results = append(results, m.ToolCallID+" "+m.Content)
			}
		}
		return openaitest.ChatReply{Text: "Sorry, I can't check that right now."}
	})
	req := turnRequest("Weather?", func(c *agentphone.Call, a *agentphone.Agent) {
		a.CustomTools = []agentphone.CustomTool{{Name: "weather", Description: "d", URL: "http://127.0.0.1:1/never", Method: "POST",
			Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}
	})
	replies := drain(t, mustRespond(t, rg, req))
	if last := replies[len(replies)-1]; last.Text != "Sorry, I can't check that right now." {
		t.Fatalf("last reply %+v", last)
	}
	if len(results) != 2 || !strings.Contains(results[0], `no tool named \"no_such_tool\"`) || !strings.Contains(results[1], "city") ||
		!strings.Contains(results[1], "error") {
		t.Fatalf("tool results the model read: %q", results)
	}
}

func TestRespondEndCallAndDigits(t *testing.T) {
	t.Parallel()
	rg := newRig(t)
	rg.llm.ScriptChat(
		openaitest.ChatReply{Text: "Thanks for calling, goodbye!", ToolCalls: []openaitest.ChatToolCall{{Name: "end_call", Arguments: `{"reason":"done"}`}}},
		openaitest.ChatReply{ToolCalls: []openaitest.ChatToolCall{{Name: "press_digits", Arguments: `{"digits":"2#"}`}}},
		openaitest.ChatReply{ToolCalls: []openaitest.ChatToolCall{{Name: "end_call"}}},
	)
	replies := drain(t, mustRespond(t, rg, turnRequest("Bye.", nil)))
	last := replies[len(replies)-1]
	if strings.Join(texts(replies), " ") != "Thanks for calling, goodbye! " || !last.Hangup {
		t.Fatalf("end_call replies %+v", replies)
	}
	replies = drain(t, mustRespond(t, rg, turnRequest("Press 2 for sales.", nil)))
	if last := replies[len(replies)-1]; last.Digits != "2#" || last.Hangup {
		t.Fatalf("press_digits reply %+v", last)
	}
	replies = drain(t, mustRespond(t, rg, turnRequest("Bye.", nil)))
	if last := replies[len(replies)-1]; last.Text != "Goodbye." || !last.Hangup {
		t.Fatalf("a silent end_call: %+v", last)
	}
	if n := len(rg.llm.ChatRequests()); n != 3 {
		t.Errorf("%d chat requests: a tool that ends the turn needs no second one", n)
	}
}

func TestRespondTransferAndMessaging(t *testing.T) {
	t.Parallel()
	rg := newRig(t)
	to := "+15555550111"
	rg.msgs.thread = []*agentphone.Message{{From: "+15555550100", To: "+15555550199", Direction: "inbound", Body: "my order is A-7"}}
	rg.llm.ScriptChat(
		openaitest.ChatReply{ToolCalls: []openaitest.ChatToolCall{{Name: "read_messages", Arguments: `{"limit":5}`}}},
		openaitest.ChatReply{Text: "I'll text you the link.", ToolCalls: []openaitest.ChatToolCall{{Name: "send_message", Arguments: `{"body":"Track A-7: https://x.test/a7"}`}}},
		openaitest.ChatReply{Text: "Done. Let me transfer you.", ToolCalls: []openaitest.ChatToolCall{{Name: "transfer_call"}}},
	)
	req := turnRequest("Can you text me?", func(c *agentphone.Call, a *agentphone.Agent) { a.TransferNumber = &to })
	replies := drain(t, mustRespond(t, rg, req))
	if last := replies[len(replies)-1]; !last.Transfer {
		t.Fatalf("last reply %+v", last)
	}
	if len(rg.msgs.sent) != 1 || rg.msgs.sent[0] != "+15555550100: Track A-7: https://x.test/a7" {
		t.Fatalf("sent %q", rg.msgs.sent)
	}
	reqs := rg.llm.ChatRequests()
	if last := reqs[1].Messages[len(reqs[1].Messages)-1]; last.Role != "tool" || !strings.Contains(last.Content, "my order is A-7") {
		t.Fatalf("read_messages result %+v", last)
	}
	// Without enableMessaging the model is not offered the messaging tools.
	rg.llm.ScriptChat(openaitest.ChatReply{Text: "Hi."})
	drain(t, mustRespond(t, rg, turnRequest("Hi", func(c *agentphone.Call, a *agentphone.Agent) { a.EnableMessaging = false })))
	for _, tl := range rg.llm.ChatRequests()[3].Tools {
		if tl.Name == "send_message" || tl.Name == "read_messages" {
			t.Errorf("tool %s offered with enableMessaging false", tl.Name)
		}
	}
}

func TestRespondCancelStopsTheModel(t *testing.T) {
	t.Parallel()
	rg := newRig(t)
	hold := make(chan struct{}) // never released: the answer only ends if the client goes
	rg.llm.ScriptChat(openaitest.ChatReply{Text: "This is a long answer. It goes on and on.", Hold: hold})
	ctx, cancel := context.WithCancel(t.Context())
	rs, err := rg.r.Respond(ctx, turnRequest("Tell me everything.", nil))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := rs.Next(); err != nil || r.Text != "This is a long answer." {
		t.Fatalf("first reply %+v, %v", r, err)
	}
	cancel() // the caller barged in
	if _, err := rs.Next(); err == nil {
		t.Fatal("Next after the cancel: no error")
	}
	rs.Close()
	// The fake sees the model's request end early.
	deadline := time.Now().Add(5 * time.Second)
	for rg.llm.ChatAbandoned() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the model's request was not cancelled")
		}
		time.Sleep(10 * time.Millisecond) // polling an outcome the fake has no event for
	}
}

func TestRespondModelFailure(t *testing.T) {
	t.Parallel()
	rg := newRig(t)
	rg.llm.ScriptChat(openaitest.ChatReply{Status: http.StatusTooManyRequests, Message: "slow down"})
	rs, err := rg.r.Respond(t.Context(), turnRequest("Hi", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	_, err = rs.Next()
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("err = %v, want the 429", err)
	}
	if _, err := (&hosted.Responder{}).Respond(t.Context(), turnRequest("Hi", nil)); !errors.Is(err, hosted.ErrNoLLM) {
		t.Fatalf("a responder without a model: %v", err)
	}
}

func mustRespond(t *testing.T, rg *rig, req voice.TurnRequest) voice.ReplyStream {
	t.Helper()
	rs, err := rg.r.Respond(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// events records the call's events.
type events struct {
	mu  sync.Mutex
	got []map[string]any
}

func (e *events) AddEvent(_ context.Context, callID, typ string, data any) error {
	b, _ := json.Marshal(data)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["type"] = typ
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, m)
	return nil
}

func (e *events) only(t *testing.T, typ string) map[string]any {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []map[string]any
	for _, m := range e.got {
		if m["type"] == typ {
			out = append(out, m)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d %s events: %v", len(out), typ, e.got)
	}
	if s, ok := out[0]["status"].(float64); ok {
		out[0]["status"] = int(s)
	}
	return out[0]
}

// messenger is the messaging service as the responder sees it.
type messenger struct {
	mu     sync.Mutex
	sent   []string
	thread []*agentphone.Message
}

func (m *messenger) Send(_ context.Context, c *agentphone.Call, to, body string) (*agentphone.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, to+": "+body)
	return &agentphone.Message{ID: "msg_1", To: to, Status: "queued"}, nil
}

func (m *messenger) Thread(context.Context, *agentphone.Call, string, int) ([]*agentphone.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.thread, nil
}

// TestRespondFirstEventTimeout: a model that does not start its answer in
// time fails the turn (the engine then apologises), and its request is
// abandoned.
func TestRespondFirstEventTimeout(t *testing.T) {
	t.Parallel()
	rg := newRig(t)
	rg.r.FirstEventTimeout = 300 * time.Millisecond
	never := make(chan struct{})
	rg.llm.ScriptChat(openaitest.ChatReply{Hold: never})
	rs := mustRespond(t, rg, turnRequest("Hello?", nil))
	defer rs.Close()
	start := time.Now()
	_, err := rs.Next()
	if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("err = %v, want the time-out", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the time-out took %s", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for rg.llm.ChatAbandoned() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the model's request was not abandoned")
		}
		time.Sleep(10 * time.Millisecond) // the fake has no event for it
	}
}
