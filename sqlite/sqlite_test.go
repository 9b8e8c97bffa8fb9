package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlite"
	"github.com/agentphone/agentphone/sqlstore"
	"github.com/agentphone/agentphone/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, storetest.OpenSQLite)
}

// TestOpen_Twice opens one file twice in turn and then twice at once: the
// migrations apply once, and data survives.
func TestOpen_Twice(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nested", "dir", "agentphone.db") // parents created
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	acct := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
	if err := s.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	ms, err := sqlstore.Migrations(sqlite.Dialect().Migrations)
	if err != nil {
		t.Fatal(err)
	}
	migrations := len(ms)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			if got, err := s.GetAccount(ctx, acct.ID); err != nil || got.Name != "acme" {
				t.Errorf("after reopening: %v, %v", got, err)
			}
			var n int
			if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != migrations {
				t.Errorf("schema_migrations: %d rows, %v; want %d", n, err, migrations)
			}
		})
	}
	wg.Wait()
}

func TestOpen_BadPath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if s, err := sqlite.Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// TestConcurrentWriters checks that writers queue rather than fail with
// "database is locked" (SQLITE_BUSY), with readers running beside them.
func TestConcurrentWriters(t *testing.T) {
	ctx := t.Context()
	s := storetest.OpenSQLite(t)
	acct := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
	if err := s.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	const writers, each = 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				now := agentphone.Now()
				a := &agentphone.Agent{
					ID: agentphone.NewID(agentphone.PrefixAgent), AccountID: acct.ID, Name: fmt.Sprintf("w%d-%d", w, i),
					VoiceMode: "webhook", ModelTier: "balanced", Voice: "v", STTMode: "fast", AmbientSound: "none",
					DenoisingMode: "noise-cancellation", Language: "en-US", CreatedAt: now, UpdatedAt: now,
				}
				if err := s.CreateAgent(ctx, a); err != nil {
					errs <- err
					continue
				}
				// A transaction and a read in between.
				if _, err := s.UpdateAgent(ctx, acct.ID, a.ID, func(a *agentphone.Agent) error { a.Name += "!"; return nil }); err != nil {
					errs <- err
				}
				if _, err := s.GetAgent(ctx, acct.ID, a.ID); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "SQLITE_BUSY") {
			t.Fatalf("writer failed with a lock error: %v", err)
		}
		t.Fatalf("writer failed: %v", err)
	}
	l, err := s.ListAgents(ctx, acct.ID, agentphone.Page{Limit: 1})
	if err != nil || l.Total != writers*each {
		t.Fatalf("ListAgents total = %d, %v; want %d", l.Total, err, writers*each)
	}
}

// go test ./sqlite -run '^$' -bench . -benchtime 3s
func BenchmarkGetAgent(b *testing.B)    { storetest.BenchGetAgent(b, storetest.OpenSQLite) }
func BenchmarkCreateAgent(b *testing.B) { storetest.BenchCreateAgent(b, storetest.OpenSQLite) }

// TestWriterWaitHonoursContext: while one writer holds the single write
// connection, another writer whose context ends gives up with the context's
// error instead of waiting on, and writes nothing.
func TestWriterWaitHonoursContext(t *testing.T) {
	ctx := t.Context()
	s := storetest.OpenSQLite(t)
	acct := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
	if err := s.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	first := &agentphone.Agent{ID: agentphone.NewID(agentphone.PrefixAgent), AccountID: acct.ID, Name: "first",
		CreatedAt: agentphone.Now(), UpdatedAt: agentphone.Now()}
	if err := s.CreateAgent(ctx, first); err != nil {
		t.Fatal(err)
	}

	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := s.UpdateAgent(ctx, acct.ID, first.ID, func(a *agentphone.Agent) error {
			close(holding)
			<-release // keep the write turn
			return nil
		})
		done <- err
	}()
	<-holding

	wctx, cancel := context.WithCancel(ctx)
	second := *first
	second.ID = agentphone.NewID(agentphone.PrefixAgent)
	errc := make(chan error, 1)
	go func() { errc <- s.CreateAgent(wctx, &second) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting writer returned %v, want context.Canceled", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAgent(ctx, acct.ID, second.ID); !errors.Is(err, agentphone.ErrNotFound) {
		t.Fatalf("the cancelled write was stored: %v", err)
	}
}
