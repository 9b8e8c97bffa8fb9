package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

// fullAgent returns an agent whose every field differs from its default.
func fullAgent(accountID string) *agentphone.Agent {
	a := agentValue(accountID, "Support <Bot> & Co 😀")
	a.Description = ptr("Answers \"order\" questions.\nSecond line.")
	a.VoiceMode = "hosted"
	a.EnableMessaging = false
	a.ModelTier = "max"
	a.SystemPrompt = ptr("You answer questions about order status.")
	a.BeginMessage = ptr("") // empty, not null
	a.Voice = "11labs-Brian"
	a.TransferNumber = ptr("+14155551234")
	a.CustomTools = []agentphone.CustomTool{
		{
			Name: "lookup_order", Description: "Look <up> an order & its status", URL: "https://api.example.com/orders?x=1&y=2",
			Method: "GET", Headers: map[string]string{"Authorization": "Bearer t0k3n", "X-Empty": ""},
			Parameters:           json.RawMessage(`{"type":"object","properties":{"id":{"type":"string","pattern":"<[0-9]+>"}},"required":["id"]}`),
			TimeoutMs:            ptr(5000),
			SpeakDuringExecution: ptr(false),
			ExecutionMessage:     ptr("One moment…"),
		},
		{Name: "no-args", Description: "d", URL: "https://example.com/ping", Method: "POST"},
		{Name: "empty-headers", Description: "d", URL: "https://example.com/", Method: "POST", Headers: map[string]string{},
			Parameters: json.RawMessage(`{}`), ExecutionMessage: ptr("")},
	}
	a.VoicemailMessage = ptr("Please call back.")
	a.CallScreeningIdentity = ptr("Acme support")
	a.CallScreeningPurpose = ptr("About your order")
	a.STTMode = "accurate"
	a.AmbientSound = "coffee-shop"
	a.DenoisingMode = "noise-and-background-speech-cancellation"
	a.MaxSilenceMs = 12345
	a.VoiceSpeed = 1.2345678901234567
	a.InterruptionSensitivity = 0.1 + 0.2 // 0.30000000000000004
	a.EnableBackchannel = false
	a.Language = "yue-CN"
	a.UpdatedAt = a.CreatedAt.Add(1500*time.Millisecond + 7*time.Microsecond)
	return a
}

func wantAgent(t testing.TB, what string, got, want *agentphone.Agent) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("%s:\ngot  %s\nwant %s", what, g, w)
	}
	wantUTC(t, what+" CreatedAt", got.CreatedAt)
	wantUTC(t, what+" UpdatedAt", got.UpdatedAt)
}

func testAgentRoundTrip(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	want := fullAgent(acct.ID)
	must(t, s.CreateAgent(ctx, want))

	got, err := s.GetAgent(ctx, acct.ID, want.ID)
	must(t, err)
	wantAgent(t, "GetAgent", got, want)

	l, err := s.ListAgents(ctx, acct.ID, agentphone.Page{Limit: 20})
	must(t, err)
	if l.Total != 1 || len(l.Items) != 1 {
		t.Fatalf("ListAgents = %d items, total %d; want 1", len(l.Items), l.Total)
	}
	wantAgent(t, "ListAgents", l.Items[0], want)

	// What the API writes reads back byte for byte.
	gj, _ := json.Marshal(got.CustomTools)
	wj, _ := json.Marshal(want.CustomTools)
	if string(gj) != string(wj) {
		t.Errorf("custom tools JSON:\ngot  %s\nwant %s", gj, wj)
	}

	_, err = s.GetAgent(ctx, acct.ID, "agt_unknown")
	wantNotFound(t, err, "Agent not found")
}

func testAgentNullsAndEmpties(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	plain := newAgent(t, s, acct.ID, "plain") // every nullable field nil, tools nil
	empty := agentValue(acct.ID, "empty")
	empty.CustomTools = []agentphone.CustomTool{}
	empty.Description = ptr("")
	must(t, s.CreateAgent(ctx, empty))

	got, err := s.GetAgent(ctx, acct.ID, plain.ID)
	must(t, err)
	wantAgent(t, "plain", got, plain)
	if got.CustomTools != nil {
		t.Errorf("nil CustomTools read back as %#v", got.CustomTools)
	}
	if got.Numbers == nil {
		t.Errorf("Numbers is nil, want empty (the API writes [])")
	}
	got, err = s.GetAgent(ctx, acct.ID, empty.ID)
	must(t, err)
	wantAgent(t, "empty", got, empty)
	if got.CustomTools == nil || len(got.CustomTools) != 0 {
		t.Errorf("empty CustomTools read back as %#v", got.CustomTools)
	}
	if b, _ := json.Marshal(got.CustomTools); string(b) != "[]" {
		t.Errorf("empty CustomTools marshal to %s", b)
	}
}

func testUpdateAgent(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	orig := newAgent(t, s, acct.ID, "bot")
	n := newNumber(t, s, acct.ID, "+14155550100")
	_, err := s.AttachNumber(ctx, acct.ID, orig.ID, n.ID)
	must(t, err)

	want := fullAgent(acct.ID)
	want.ID, want.CreatedAt = orig.ID, orig.CreatedAt
	want.UpdatedAt = orig.CreatedAt.Add(time.Minute)
	calls := 0
	got, err := s.UpdateAgent(ctx, acct.ID, orig.ID, func(a *agentphone.Agent) error {
		calls++
		if len(a.Numbers) != 1 || a.Numbers[0].ID != n.ID {
			t.Errorf("fn sees Numbers %+v, want the attached number", a.Numbers)
		}
		numbers := a.Numbers
		*a = *want
		a.Numbers = numbers
		a.ID = "agt_moved"                        // ignored
		a.AccountID = "acct_moved"                // ignored
		a.CreatedAt = a.CreatedAt.Add(-time.Hour) // ignored
		return nil
	})
	must(t, err)
	if calls != 1 {
		t.Errorf("fn called %d times", calls)
	}
	want.Numbers = []agentphone.AgentNumber{{ID: n.ID, PhoneNumber: n.PhoneNumber, Status: agentphone.NumberActive, Type: n.Type}}
	wantAgent(t, "UpdateAgent result", got, want)
	read, err := s.GetAgent(ctx, acct.ID, orig.ID)
	must(t, err)
	wantAgent(t, "GetAgent after update", read, want)

	// Back to nulls and no tools.
	got, err = s.UpdateAgent(ctx, acct.ID, orig.ID, func(a *agentphone.Agent) error {
		a.Description, a.SystemPrompt, a.TransferNumber, a.CustomTools = nil, nil, nil, nil
		return nil
	})
	must(t, err)
	read, err = s.GetAgent(ctx, acct.ID, orig.ID)
	must(t, err)
	wantAgent(t, "GetAgent after clearing", read, got)
	if read.Description != nil || read.CustomTools != nil {
		t.Errorf("cleared fields read back %v, %v", read.Description, read.CustomTools)
	}

	_, err = s.UpdateAgent(ctx, acct.ID, "agt_unknown", func(*agentphone.Agent) error {
		t.Error("fn called for an unknown agent")
		return nil
	})
	wantNotFound(t, err, "Agent not found")
}

func testUpdateAgentRollback(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	orig := newAgent(t, s, acct.ID, "bot")
	errBoom := errors.New("boom")
	_, err := s.UpdateAgent(ctx, acct.ID, orig.ID, func(a *agentphone.Agent) error {
		a.Name = "changed"
		a.CustomTools = []agentphone.CustomTool{}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("UpdateAgent error = %v, want fn's error", err)
	}
	verr := &agentphone.ValidationError{Fields: []agentphone.FieldError{{Loc: []any{"name"}, Msg: "bad", Type: "x"}}}
	_, err = s.UpdateAgent(ctx, acct.ID, orig.ID, func(a *agentphone.Agent) error {
		a.Name = "changed again"
		return verr
	})
	var got *agentphone.ValidationError
	if !errors.As(err, &got) || got != verr {
		t.Fatalf("UpdateAgent error = %v, want fn's validation error", err)
	}
	read, err := s.GetAgent(ctx, acct.ID, orig.ID)
	must(t, err)
	wantAgent(t, "agent after aborted updates", read, orig)
	// The store is still writable (the transaction was rolled back).
	_, err = s.UpdateAgent(ctx, acct.ID, orig.ID, func(a *agentphone.Agent) error { a.Name = "ok"; return nil })
	must(t, err)
}

func testDeleteAgent(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	doomed := newAgent(t, s, acct.ID, "doomed")
	keeper := newAgent(t, s, acct.ID, "keeper")
	n1 := newNumber(t, s, acct.ID, "+14155550101")
	n2 := newNumber(t, s, acct.ID, "+14155550102")
	n3 := newNumber(t, s, acct.ID, "+14155550103")
	for _, n := range []*agentphone.Number{n1, n2} {
		_, err := s.AttachNumber(ctx, acct.ID, doomed.ID, n.ID)
		must(t, err)
	}
	_, err := s.AttachNumber(ctx, acct.ID, keeper.ID, n3.ID)
	must(t, err)
	project, err := s.UpsertWebhook(ctx, webhookValue(acct.ID, nil))
	must(t, err)
	_, err = s.UpsertWebhook(ctx, webhookValue(acct.ID, &doomed.ID))
	must(t, err)
	keeperHook, err := s.UpsertWebhook(ctx, webhookValue(acct.ID, &keeper.ID))
	must(t, err)

	got, err := s.DeleteAgent(ctx, acct.ID, doomed.ID)
	must(t, err)
	if got.ID != doomed.ID || got.Name != "doomed" || len(got.Numbers) != 2 {
		t.Errorf("DeleteAgent = %+v, want the agent with its 2 numbers", got)
	}
	_, err = s.GetAgent(ctx, acct.ID, doomed.ID)
	wantNotFound(t, err, "Agent not found")
	for _, n := range []*agentphone.Number{n1, n2} {
		got, err := s.GetNumber(ctx, acct.ID, n.ID)
		must(t, err)
		if got.AgentID != nil || got.AttachedAt != nil || got.Status != agentphone.NumberActive {
			t.Errorf("number of deleted agent: agent %v, attached %v, status %s; want detached and active", got.AgentID, got.AttachedAt, got.Status)
		}
	}
	if got, _ := s.GetNumber(ctx, acct.ID, n3.ID); got.AgentID == nil || *got.AgentID != keeper.ID {
		t.Errorf("other agent's number detached")
	}
	_, err = s.GetWebhook(ctx, acct.ID, &doomed.ID)
	wantNotFound(t, err, "Webhook not found")
	if w, err := s.GetWebhook(ctx, acct.ID, nil); err != nil || w.ID != project.ID {
		t.Errorf("project webhook after agent delete: %v, %v", w, err)
	}
	if w, err := s.GetWebhook(ctx, acct.ID, &keeper.ID); err != nil || w.ID != keeperHook.ID {
		t.Errorf("other agent's webhook after agent delete: %v, %v", w, err)
	}
	l, err := s.ListAgents(ctx, acct.ID, agentphone.Page{Limit: 20})
	must(t, err)
	if l.Total != 1 || len(l.Items) != 1 || l.Items[0].ID != keeper.ID {
		t.Errorf("ListAgents after delete: %d items, total %d", len(l.Items), l.Total)
	}
	_, err = s.DeleteAgent(ctx, acct.ID, doomed.ID)
	wantNotFound(t, err, "Agent not found")
	// Its numbers can be attached again.
	_, err = s.AttachNumber(ctx, acct.ID, keeper.ID, n1.ID)
	must(t, err)
}
