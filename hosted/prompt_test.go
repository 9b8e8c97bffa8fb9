package hosted

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/voice"
)

func TestSystemPrompt(t *testing.T) {
	t.Parallel()
	agentPrompt, callPrompt := "You help {{name}} with orders.", "Remind {{name}} of order {{order}}."
	a := &agentphone.Agent{Name: "Ava", SystemPrompt: &agentPrompt}
	c := &agentphone.Call{ID: "call_1", From: "+15555550100", To: "+15555550199", Direction: agentphone.DirectionInbound}
	name := "Jane"
	c.Options.Variables = map[string]*string{"name": &name}
	vars := agentphone.CallVariables(c, a, time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC), nil)
	got := systemPrompt(c, a, vars, []voice.ToolSpec{endCallSpec})
	for _, want := range []string{"live phone call", "Your name is Ava", "+15555550100", "2026-01-05T09:30:00Z", "end_call",
		"You help Jane with orders."} {
		if !strings.Contains(got, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, got)
		}
	}
	c.Options.SystemPrompt = &callPrompt // the call's prompt replaces the agent's
	got = systemPrompt(c, a, vars, nil)
	if !strings.HasSuffix(got, "Remind Jane of order .") || strings.Contains(got, "orders") {
		t.Errorf("call prompt: got\n%s", got)
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	keys := "12#"
	turns := []*agentphone.Turn{
		{Role: agentphone.RoleAgent, Text: "Hello, this is Ava."},
		{Role: agentphone.RoleUser, Text: "Hi."},
		{Role: agentphone.RoleUser, Text: "", DTMF: &keys},
		{Role: agentphone.RoleAgent, Text: "How can I"}, // interrupted: as heard
		{Role: agentphone.RoleUser, Text: "My order."},
	}
	lookup := []voice.LLMMessage{
		{Role: voice.LLMAssistant, ToolCalls: []voice.ToolCall{{ID: "c1", Name: "lookup", Arguments: []byte(`{}`)}}},
		{Role: voice.LLMTool, ToolCallID: "c1", Text: `{"order":"A-7"}`},
	}
	got := history(turns, agentphone.DirectionOutbound, map[int][]voice.LLMMessage{2: lookup})
	want := []voice.LLMMessage{
		{Role: voice.LLMUser, Text: "[The person you called answered.]"},
		{Role: voice.LLMAssistant, Text: "Hello, this is Ava."},
		{Role: voice.LLMUser, Text: "Hi.\n[The caller pressed the keys 12# on their keypad.]"},
		lookup[0], lookup[1], // the tools of the turn they answered
		{Role: voice.LLMAssistant, Text: "How can I"},
		{Role: voice.LLMUser, Text: "My order."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("history =\n%#v\nwant\n%#v", got, want)
	}
}

func TestModelTier(t *testing.T) {
	t.Parallel()
	turbo := "turbo"
	a := &agentphone.Agent{ModelTier: "max"}
	if got := modelTier(&agentphone.Call{}, a); got != "max" {
		t.Errorf("agent's tier: %q", got)
	}
	if got := modelTier(&agentphone.Call{Options: agentphone.CallOptions{ModelTier: &turbo}}, a); got != "turbo" {
		t.Errorf("call's tier: %q", got)
	}
	r := &Responder{Models: map[string]string{"balanced": "m-b", "max": "m-x"}}
	if r.model("max") != "m-x" || r.model("turbo") != "m-b" {
		t.Errorf("model(max) = %q, model(turbo) = %q", r.model("max"), r.model("turbo"))
	}
}
