package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

func testMigrate(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	// Again, and from several goroutines at once: nothing is applied twice
	// and nothing is lost.
	must(t, s.Migrate(ctx))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	if _, err := s.GetAccount(ctx, acct.ID); err != nil {
		t.Fatalf("account lost after migrating again: %v", err)
	}
	ms, err := sqlstore.Migrations(s.Dialect().Migrations)
	must(t, err)
	var n int
	must(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n))
	if n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

func testPing(t *testing.T, s *sqlstore.Store) {
	must(t, s.Ping(t.Context()))
}

func testAccount(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	if n, err := s.CountAccounts(ctx); err != nil || n != 0 {
		t.Fatalf("CountAccounts on a fresh store = %d, %v; want 0", n, err)
	}
	top := newAccount(t, s, nil, "acme")
	sub := newAccount(t, s, top, "acme-eu")

	got, err := s.GetAccount(ctx, top.ID)
	must(t, err)
	if !reflect.DeepEqual(got, top) {
		t.Errorf("GetAccount(top) = %+v, want %+v", got, top)
	}
	wantUTC(t, "CreatedAt", got.CreatedAt)
	got, err = s.GetAccount(ctx, sub.ID)
	must(t, err)
	if !reflect.DeepEqual(got, sub) {
		t.Errorf("GetAccount(sub) = %+v, want %+v", got, sub)
	}
	if n, err := s.CountAccounts(ctx); err != nil || n != 2 {
		t.Errorf("CountAccounts = %d, %v; want 2", n, err)
	}
	_, err = s.GetAccount(ctx, "acct_unknown")
	wantNotFound(t, err, "Account not found")

	orphan := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), ParentID: ptr("acct_unknown"), Name: "x", CreatedAt: agentphone.Now()}
	wantNotFound(t, s.CreateAccount(ctx, orphan), "not found")
}

func testAccountByName(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	_, err := s.AccountByName(ctx, "acme")
	wantNotFound(t, err, "Account not found")

	first := newAccount(t, s, nil, "acme")
	newAccount(t, s, first, "other") // sub-accounts never match
	newAccount(t, s, first, "acme")
	second := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: first.CreatedAt.Add(time.Second)}
	must(t, s.CreateAccount(ctx, second))

	got, err := s.AccountByName(ctx, "acme")
	must(t, err)
	if got.ID != first.ID {
		t.Errorf("AccountByName = %s, want the oldest, %s", got.ID, first.ID)
	}
	_, err = s.AccountByName(ctx, "other")
	wantNotFound(t, err, "Account not found")
}

func testSubAccount(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	top := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	sub := newAccount(t, s, top, "eu")

	l, err := s.ListSubAccounts(ctx, top.ID, agentphone.Page{Limit: 10})
	must(t, err)
	if l.Total != 1 || len(l.Items) != 1 || !reflect.DeepEqual(l.Items[0], sub) {
		t.Fatalf("ListSubAccounts = %+v (total %d), want [%+v]", l.Items, l.Total, sub)
	}
	l, err = s.ListSubAccounts(ctx, other.ID, agentphone.Page{Limit: 10})
	must(t, err)
	if l.Total != 0 || l.Items == nil || len(l.Items) != 0 {
		t.Fatalf("ListSubAccounts(other) = %#v, want an empty non-nil list", l)
	}

	got, err := s.RenameSubAccount(ctx, top.ID, sub.ID, "europe")
	must(t, err)
	if got.Name != "europe" || got.ID != sub.ID || !got.CreatedAt.Equal(sub.CreatedAt) || *got.ParentID != top.ID {
		t.Errorf("RenameSubAccount = %+v", got)
	}
	if got, _ := s.GetAccount(ctx, sub.ID); got.Name != "europe" {
		t.Errorf("after rename, name = %q", got.Name)
	}
	_, err = s.RenameSubAccount(ctx, other.ID, sub.ID, "stolen")
	wantNotFound(t, err, "Sub-account not found")
	_, err = s.RenameSubAccount(ctx, top.ID, top.ID, "self") // not a sub-account
	wantNotFound(t, err, "Sub-account not found")
	_, err = s.RenameSubAccount(ctx, top.ID, "acct_unknown", "x")
	wantNotFound(t, err, "Sub-account not found")
}

func testDeleteSubAccount(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	top := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	sub := newAccount(t, s, top, "eu")
	agent := newAgent(t, s, sub.ID, "bot")
	n := newNumber(t, s, sub.ID, "+14155550100")
	_, err := s.AttachNumber(ctx, sub.ID, agent.ID, n.ID)
	must(t, err)
	_, err = s.UpsertWebhook(ctx, webhookValue(sub.ID, nil))
	must(t, err)
	_, err = s.UpsertWebhook(ctx, webhookValue(sub.ID, &agent.ID))
	must(t, err)
	_, key := newKey(t, s, sub.ID)
	topAgent := newAgent(t, s, top.ID, "top-bot")

	_, err = s.DeleteSubAccount(ctx, top.ID, sub.ID)
	wantErr(t, err, agentphone.KindConflict, "Sub-account still holds 1 active numbers; release them first")
	if _, err := s.GetAgent(ctx, sub.ID, agent.ID); err != nil {
		t.Fatalf("refused delete removed the agent: %v", err)
	}

	_, err = s.DeleteSubAccount(ctx, other.ID, sub.ID)
	wantNotFound(t, err, "Sub-account not found")
	_, err = s.DeleteSubAccount(ctx, top.ID, top.ID)
	wantNotFound(t, err, "Sub-account not found")

	_, err = s.ReleaseNumber(ctx, sub.ID, n.ID, agentphone.Now())
	must(t, err)
	got, err := s.DeleteSubAccount(ctx, top.ID, sub.ID)
	must(t, err)
	if got.ID != sub.ID || got.Name != "eu" {
		t.Errorf("DeleteSubAccount = %+v", got)
	}
	_, err = s.GetAccount(ctx, sub.ID)
	wantNotFound(t, err, "not found")
	_, err = s.GetAgent(ctx, sub.ID, agent.ID)
	wantNotFound(t, err, "Agent not found")
	_, err = s.GetWebhook(ctx, sub.ID, nil)
	wantNotFound(t, err, "Webhook not found")
	_, err = s.GetWebhook(ctx, sub.ID, &agent.ID)
	wantNotFound(t, err, "Webhook not found")
	_, err = s.GetNumber(ctx, sub.ID, n.ID)
	wantNotFound(t, err, "Phone number not found")
	_, err = s.APIKeyByHash(ctx, key.Hash)
	wantNotFound(t, err, "API key not found")
	if _, err := s.GetAgent(ctx, top.ID, topAgent.ID); err != nil {
		t.Errorf("parent's agent gone: %v", err)
	}
	_, err = s.DeleteSubAccount(ctx, top.ID, sub.ID)
	wantNotFound(t, err, "Sub-account not found")
	// The released phone number may be bought again.
	newNumber(t, s, top.ID, "+14155550100")
}

func newKey(t testing.TB, s agentphone.Store, accountID string) (string, *agentphone.APIKey) {
	t.Helper()
	key, rec := agentphone.NewAPIKey(accountID, "test")
	if err := s.CreateAPIKey(t.Context(), rec); err != nil {
		t.Fatalf("create key: %v", err)
	}
	return key, rec
}

func testAPIKey(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	_, k1 := newKey(t, s, acct.ID)
	key2, k2 := newKey(t, s, acct.ID)
	_, k3 := agentphone.NewAPIKey(acct.ID, "later")
	k3.CreatedAt = k1.CreatedAt.Add(time.Second)
	must(t, s.CreateAPIKey(ctx, k3))
	newKey(t, s, other.ID)

	got, err := s.APIKeyByHash(ctx, agentphone.HashAPIKey(key2))
	must(t, err)
	if !reflect.DeepEqual(got, k2) {
		t.Errorf("APIKeyByHash = %+v, want %+v", got, k2)
	}
	_, err = s.APIKeyByHash(ctx, agentphone.HashAPIKey("sk_live_unknown"))
	wantNotFound(t, err, "API key not found")

	dup := *k1
	dup.ID = agentphone.NewID(agentphone.PrefixAPIKey)
	wantErr(t, s.CreateAPIKey(ctx, &dup), agentphone.KindConflict, "")

	keys, err := s.ListAPIKeys(ctx, acct.ID)
	must(t, err)
	if len(keys) != 3 || keys[0].ID != k3.ID {
		t.Fatalf("ListAPIKeys = %d keys, first %v; want 3, newest (%s) first", len(keys), keys, k3.ID)
	}

	at := agentphone.Now()
	rk, err := s.RevokeAPIKey(ctx, k1.ID, at)
	must(t, err)
	if rk.RevokedAt == nil || !rk.RevokedAt.Equal(at) || rk.ID != k1.ID {
		t.Fatalf("RevokeAPIKey = %+v, want revoked at %v", rk, at)
	}
	wantUTC(t, "RevokedAt", *rk.RevokedAt)
	// Without the prefix, and again later: the first time stays.
	rk, err = s.RevokeAPIKey(ctx, k1.ID[len(agentphone.PrefixAPIKey):], at.Add(time.Hour))
	must(t, err)
	if !rk.RevokedAt.Equal(at) {
		t.Errorf("second revoke moved RevokedAt to %v, want %v", rk.RevokedAt, at)
	}
	got, err = s.APIKeyByHash(ctx, k1.Hash)
	must(t, err)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Errorf("revoked key reads RevokedAt %v", got.RevokedAt)
	}
	_, err = s.RevokeAPIKey(ctx, "key_unknown", at)
	wantNotFound(t, err, "API key not found")
}
