package agentphone_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
)

func TestFillVariables(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"name": "Jane", "order.id": "A-7", "empty": ""}
	tests := []struct{ in, want string }{
		{"Hi {{name}}!", "Hi Jane!"},
		{"Hi {{ name }}, order {{order.id}}.", "Hi Jane, order A-7."},
		{"{{missing}}Hello{{empty}}", "Hello"},
		{"{name} {{name} {{ }}", "{name} {{name} {{ }}"},
		{"no placeholders", "no placeholders"},
	}
	for _, tt := range tests {
		if got := agentphone.FillVariables(tt.in, vars); got != tt.want {
			t.Errorf("FillVariables(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCallVariables(t *testing.T) {
	t.Parallel()
	jane := "Jane"
	c := &agentphone.Call{ID: "call_1", From: "+15555550100", To: "+15555550199", Direction: agentphone.DirectionOutbound,
		Options: agentphone.CallOptions{Variables: map[string]*string{"name": &jane, "gone": nil, "agent_name": &jane}}}
	a := &agentphone.Agent{Name: "Ava"}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data on this machine:", err)
	}
	now := time.Date(2026, 3, 2, 17, 4, 0, 0, time.UTC) // a Monday, 12:04 in New York
	got := agentphone.CallVariables(c, a, now, ny)
	want := map[string]string{
		"name": "Jane", "gone": "", "agent_name": "Jane", // the call's variables win
		"agent_number": "+15555550100", "caller_number": "+15555550199", "user_number": "+15555550199",
		"from_number": "+15555550100", "to_number": "+15555550199", "direction": "outbound", "call_id": "call_1",
		"current_date": "2026-03-02", "current_time": "12:04 EST", "current_weekday": "Monday",
		"current_datetime": "2026-03-02T12:04:00-05:00",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CallVariables =\n%v\nwant\n%v", got, want)
	}
	in := &agentphone.Call{From: "+1555", To: "+1666", Direction: agentphone.DirectionInbound}
	if v := agentphone.CallVariables(in, a, now, nil); v["agent_number"] != "+1666" || v["caller_number"] != "+1555" || v["current_time"] != "17:04 UTC" {
		t.Errorf("inbound: agent_number %q caller_number %q current_time %q", v["agent_number"], v["caller_number"], v["current_time"])
	}
}

func TestHosted(t *testing.T) {
	t.Parallel()
	prompt := "Be brief."
	webhookAgent := &agentphone.Agent{VoiceMode: agentphone.VoiceModeWebhook}
	hostedAgent := &agentphone.Agent{VoiceMode: agentphone.VoiceModeHosted}
	if agentphone.Hosted(&agentphone.Call{}, webhookAgent) {
		t.Error("a webhook agent's call without a systemPrompt is hosted")
	}
	if !agentphone.Hosted(&agentphone.Call{}, hostedAgent) {
		t.Error("a hosted agent's call is not hosted")
	}
	if !agentphone.Hosted(&agentphone.Call{Options: agentphone.CallOptions{SystemPrompt: &prompt}}, webhookAgent) {
		t.Error("a conversation call (systemPrompt) on a webhook agent is not hosted")
	}
}

func TestAgentService_HostedUnavailable(t *testing.T) {
	t.Parallel()
	f := newCallFixture(t)
	ctx := t.Context()
	svc := &agentphone.AgentService{Store: f.store, Voices: testCatalog{}, HostedUnavailable: "no LLM: set OPENAI_API_KEY"}
	hosted := agentphone.AgentInput{Name: agentphone.Some("H"), VoiceMode: agentphone.Some("hosted"), SystemPrompt: agentphone.Some("Help.")}
	_, err := svc.Create(ctx, f.sc, hosted)
	assertKind(t, err, agentphone.KindBadRequest, "OPENAI_API_KEY")
	_, err = svc.Update(ctx, f.sc, f.agent.ID, agentphone.AgentInput{VoiceMode: agentphone.Some("hosted"), SystemPrompt: agentphone.Some("Help.")})
	assertKind(t, err, agentphone.KindBadRequest, "OPENAI_API_KEY")
	if err := svc.Validate(ctx, f.sc, "", hosted); err == nil {
		t.Error("Validate accepted a hosted agent on a server without an LLM")
	}
	// A webhook agent is still fine, and one already hosted may change.
	if _, err := svc.Create(ctx, f.sc, agentphone.AgentInput{Name: agentphone.Some("W")}); err != nil {
		t.Fatal(err)
	}
	open := &agentphone.AgentService{Store: f.store, Voices: testCatalog{}}
	h, err := open.Create(ctx, f.sc, hosted)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, f.sc, h.ID, agentphone.AgentInput{Name: agentphone.Some("H2")}); err != nil {
		t.Errorf("renaming an agent already hosted: %v", err)
	}
}

func TestCallService_CreateHostedChecks(t *testing.T) {
	t.Parallel()
	f := newCallFixture(t)
	ctx := t.Context()
	jane := "Jane"
	in := agentphone.CallInput{AgentID: agentphone.Some(f.agent.ID), ToNumber: agentphone.Some("+15555550123"),
		Variables: agentphone.Some(map[string]*string{"name": &jane})}
	_, err := f.svc.Create(ctx, f.sc, in)
	var ve *agentphone.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 1 || !reflect.DeepEqual(ve.Fields[0].Loc, []any{"variables"}) ||
		!strings.Contains(ve.Fields[0].Msg, "systemPrompt") {
		t.Fatalf("variables on a webhook call without systemPrompt: err = %v, want a 422 on variables", err)
	}
	// With a systemPrompt the variables pass; without a model the call is
	// refused with what to configure.
	in.SystemPrompt = agentphone.Some("Call {{name}}.")
	f.svc.HostedUnavailable = "no LLM: set ANTHROPIC_API_KEY"
	_, err = f.svc.Create(ctx, f.sc, in)
	assertKind(t, err, agentphone.KindBadRequest, "ANTHROPIC_API_KEY")
	// A blank prompt asks for no LLM: the variables are refused again.
	in.SystemPrompt = agentphone.Some("  ")
	if _, err := f.svc.Create(ctx, f.sc, in); !errors.As(err, &ve) {
		t.Errorf("blank systemPrompt with variables: err = %v, want a 422", err)
	}
}

func assertKind(t *testing.T, err error, kind agentphone.Kind, contains string) {
	t.Helper()
	var e *agentphone.Error
	if !errors.As(err, &e) || e.Kind != kind || !strings.Contains(e.Error(), contains) {
		t.Fatalf("err = %v, want a %v error mentioning %q", err, kind, contains)
	}
}
