package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

func webhookValue(accountID string, agentID *string) *agentphone.Webhook {
	now := agentphone.Now()
	return &agentphone.Webhook{
		ID: agentphone.NewID(agentphone.PrefixWebhook), AccountID: accountID, AgentID: agentID,
		URL: "https://example.com/hook?a=1&b=<2>", Secret: agentphone.NewWebhookSecret(), Status: agentphone.WebhookActive,
		ContextLimit: agentphone.DefaultWebhookContextLimit, Timeout: agentphone.DefaultWebhookTimeout,
		CreatedAt: now, UpdatedAt: now,
	}
}

func testWebhookUpsert(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	a := newAgent(t, s, acct.ID, "bot")
	for _, agentID := range []*string{nil, &a.ID} {
		first := webhookValue(acct.ID, agentID)
		got, err := s.UpsertWebhook(ctx, first)
		must(t, err)
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("first upsert = %+v, want %+v", got, first)
		}
		wantUTC(t, "CreatedAt", got.CreatedAt)

		second := webhookValue(acct.ID, agentID)
		second.URL, second.ContextLimit, second.Timeout = "https://example.org/new", 0, 120
		second.CreatedAt = first.CreatedAt.Add(time.Hour)
		second.UpdatedAt = first.CreatedAt.Add(time.Hour + time.Microsecond)
		got, err = s.UpsertWebhook(ctx, second)
		must(t, err)
		want := *second
		want.ID, want.CreatedAt = first.ID, first.CreatedAt
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("second upsert = %+v, want %+v (first id and creation time, the rest new)", got, &want)
		}
		if got.Secret == first.Secret {
			t.Error("secret did not change")
		}
		read, err := s.GetWebhook(ctx, acct.ID, agentID)
		must(t, err)
		if !reflect.DeepEqual(read, &want) {
			t.Errorf("GetWebhook = %+v, want %+v", read, &want)
		}
	}
}

func testWebhookScopes(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	a1 := newAgent(t, s, acct.ID, "one")
	a2 := newAgent(t, s, acct.ID, "two")
	_, err := s.GetWebhook(ctx, acct.ID, nil)
	wantNotFound(t, err, "Webhook not found")
	wantNotFound(t, s.DeleteWebhook(ctx, acct.ID, nil), "Webhook not found")

	project, err := s.UpsertWebhook(ctx, webhookValue(acct.ID, nil))
	must(t, err)
	agentHook, err := s.UpsertWebhook(ctx, webhookValue(acct.ID, &a1.ID))
	must(t, err)
	if project.ID == agentHook.ID {
		t.Fatal("agent webhook replaced the project webhook")
	}
	_, err = s.GetWebhook(ctx, acct.ID, &a2.ID)
	wantNotFound(t, err, "Webhook not found")

	got, err := s.GetWebhook(ctx, acct.ID, nil)
	must(t, err)
	if got.ID != project.ID || got.AgentID != nil {
		t.Errorf("project webhook = %+v", got)
	}
	got, err = s.GetWebhook(ctx, acct.ID, &a1.ID)
	must(t, err)
	if got.ID != agentHook.ID || got.AgentID == nil || *got.AgentID != a1.ID {
		t.Errorf("agent webhook = %+v", got)
	}

	must(t, s.DeleteWebhook(ctx, acct.ID, nil))
	wantNotFound(t, s.DeleteWebhook(ctx, acct.ID, nil), "Webhook not found")
	if _, err := s.GetWebhook(ctx, acct.ID, &a1.ID); err != nil {
		t.Errorf("deleting the project webhook deleted the agent's: %v", err)
	}
	project, err = s.UpsertWebhook(ctx, webhookValue(acct.ID, nil))
	must(t, err)
	must(t, s.DeleteWebhook(ctx, acct.ID, &a1.ID))
	wantNotFound(t, s.DeleteWebhook(ctx, acct.ID, &a1.ID), "Webhook not found")
	if got, err := s.GetWebhook(ctx, acct.ID, nil); err != nil || got.ID != project.ID {
		t.Errorf("deleting the agent webhook touched the project's: %v, %v", got, err)
	}
}

func testWebhookUnknownAgent(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	foreign := newAgent(t, s, other.ID, "foreign")
	_, err := s.UpsertWebhook(ctx, webhookValue(acct.ID, ptr("agt_unknown")))
	wantNotFound(t, err, "Agent not found")
	_, err = s.UpsertWebhook(ctx, webhookValue(acct.ID, &foreign.ID))
	wantNotFound(t, err, "Agent not found")
	_, err = s.GetWebhook(ctx, acct.ID, &foreign.ID)
	wantNotFound(t, err, "Webhook not found")
}

func testTenantIsolation(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acctA := newAccount(t, s, nil, "acme")
	acctB := newAccount(t, s, nil, "globex")
	agentA := newAgent(t, s, acctA.ID, "a")
	agentB := newAgent(t, s, acctB.ID, "b")
	numA := newNumber(t, s, acctA.ID, "+14155550100")
	numB := newNumber(t, s, acctB.ID, "+14155550200")
	_, err := s.AttachNumber(ctx, acctA.ID, agentA.ID, numA.ID)
	must(t, err)
	_, err = s.UpsertWebhook(ctx, webhookValue(acctA.ID, nil))
	must(t, err)
	_, err = s.UpsertWebhook(ctx, webhookValue(acctA.ID, &agentA.ID))
	must(t, err)
	before, err := s.GetAgent(ctx, acctA.ID, agentA.ID)
	must(t, err)

	// Account B acting on A's rows.
	b := acctB.ID
	_, err = s.GetAgent(ctx, b, agentA.ID)
	wantNotFound(t, err, "Agent not found")
	_, err = s.UpdateAgent(ctx, b, agentA.ID, func(a *agentphone.Agent) error {
		t.Error("fn called for another account's agent")
		a.Name = "pwned"
		return nil
	})
	wantNotFound(t, err, "Agent not found")
	_, err = s.DeleteAgent(ctx, b, agentA.ID)
	wantNotFound(t, err, "Agent not found")
	_, err = s.GetNumber(ctx, b, numA.ID)
	wantNotFound(t, err, "Phone number not found")
	_, err = s.AttachNumber(ctx, b, agentB.ID, numA.ID)
	wantNotFound(t, err, "Phone number not found")
	_, err = s.AttachNumber(ctx, b, agentA.ID, numB.ID)
	wantNotFound(t, err, "Agent not found")
	wantNotFound(t, s.DetachNumber(ctx, b, agentA.ID, numA.ID), "not found")
	_, err = s.ReleaseNumber(ctx, b, numA.ID, agentphone.Now())
	wantNotFound(t, err, "Phone number not found")
	_, err = s.GetWebhook(ctx, b, &agentA.ID)
	wantNotFound(t, err, "Webhook not found")
	_, err = s.GetWebhook(ctx, b, nil)
	wantNotFound(t, err, "Webhook not found")
	wantNotFound(t, s.DeleteWebhook(ctx, b, &agentA.ID), "Webhook not found")
	wantNotFound(t, s.DeleteWebhook(ctx, b, nil), "Webhook not found")
	_, err = s.UpsertWebhook(ctx, webhookValue(b, &agentA.ID))
	wantNotFound(t, err, "Agent not found")
	// A's agent from A's account, attached from B's: refused above; A's
	// number into B's account through CreateNumber with A's agent:
	n := numberValue(b, "+14155550300")
	n.AgentID = &agentA.ID
	wantNotFound(t, s.CreateNumber(ctx, n, 0), "Agent not found")

	agents, err := s.ListAgents(ctx, b, agentphone.Page{Limit: 100})
	must(t, err)
	if agents.Total != 1 || len(agents.Items) != 1 || agents.Items[0].ID != agentB.ID {
		t.Errorf("B lists agents %d (total %d)", len(agents.Items), agents.Total)
	}
	numbers, err := s.ListNumbers(ctx, b, agentphone.Page{Limit: 100})
	must(t, err)
	if numbers.Total != 1 || len(numbers.Items) != 1 || numbers.Items[0].ID != numB.ID {
		t.Errorf("B lists numbers %d (total %d)", len(numbers.Items), numbers.Total)
	}

	// A's rows are untouched.
	after, err := s.GetAgent(ctx, acctA.ID, agentA.ID)
	must(t, err)
	wantAgent(t, "A's agent", after, before)
	gotNum, err := s.GetNumber(ctx, acctA.ID, numA.ID)
	must(t, err)
	if gotNum.Status != agentphone.NumberActive || gotNum.AgentID == nil || *gotNum.AgentID != agentA.ID {
		t.Errorf("A's number = %+v", gotNum)
	}
	if _, err := s.GetWebhook(ctx, acctA.ID, nil); err != nil {
		t.Errorf("A's project webhook: %v", err)
	}
	if _, err := s.GetWebhook(ctx, acctA.ID, &agentA.ID); err != nil {
		t.Errorf("A's agent webhook: %v", err)
	}
}

func testWebhookByID(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct, other := newAccount(t, s, nil, "acme"), newAccount(t, s, nil, "other")
	a := newAgent(t, s, acct.ID, "bot")
	for _, agentID := range []*string{nil, &a.ID} {
		w, err := s.UpsertWebhook(ctx, webhookValue(acct.ID, agentID))
		must(t, err)
		got, err := s.GetWebhookByID(ctx, acct.ID, w.ID)
		must(t, err)
		if !reflect.DeepEqual(got, w) {
			t.Errorf("GetWebhookByID = %+v, want %+v", got, w)
		}
		if _, err := s.GetWebhookByID(ctx, other.ID, w.ID); agentphone.ErrorMessage(err) != "Webhook not found" {
			t.Errorf("another account's webhook: %v", err)
		}
	}
	if _, err := s.GetWebhookByID(ctx, acct.ID, "wh_unknown"); agentphone.ErrorKind(err) != agentphone.KindNotFound {
		t.Errorf("unknown webhook: %v", err)
	}
}
