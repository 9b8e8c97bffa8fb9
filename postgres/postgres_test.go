package postgres_test

import (
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/postgres"
	"github.com/agentphone/agentphone/sqlstore"
	"github.com/agentphone/agentphone/storetest"
)

// baseURL returns the test server's URL or skips t.
func baseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(storetest.PostgresEnv)
	if u == "" {
		t.Skip(storetest.PostgresEnv + " not set: set it to a PostgreSQL URL on which tests may create schemas, " +
			"e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return u
}

func TestStore(t *testing.T) {
	base := baseURL(t)
	storetest.Run(t, func(t testing.TB) *sqlstore.Store { return storetest.OpenPostgres(t, base) })
}

// TestOpen_Concurrent starts two stores on one empty schema at once, as two
// servers starting together would: both migrate without error, once.
func TestOpen_Concurrent(t *testing.T) {
	ctx := t.Context()
	url := storetest.PostgresSchemaURL(t, baseURL(t))
	stores := make([]*sqlstore.Store, 3)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			s, err := postgres.Open(ctx, url)
			if err != nil {
				t.Error(err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	acct := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
	if err := stores[0].CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].GetAccount(ctx, acct.ID); err != nil {
		t.Fatal(err)
	}
	ms, err := sqlstore.Migrations(postgres.Dialect().Migrations)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := stores[2].DB().QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("schema_migrations: %d rows, %v; want %d", n, err, len(ms))
	}
	// And once more, sequentially, on a schema already migrated.
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestSearchPath checks that the schema of the URL is the one used: a
// store on another schema does not see the rows.
func TestSearchPath(t *testing.T) {
	ctx := t.Context()
	base := baseURL(t)
	s1 := storetest.OpenPostgres(t, base)
	s2 := storetest.OpenPostgres(t, base)
	acct := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
	if err := s1.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if n, err := s2.CountAccounts(ctx); err != nil || n != 0 {
		t.Fatalf("other schema counts %d accounts, %v", n, err)
	}
}

func open(b testing.TB) *sqlstore.Store { return storetest.OpenPostgres(b, baseURL(b)) }

// AGENTPHONE_TEST_POSTGRES_URL=… go test ./postgres -run '^$' -bench . -benchtime 3s
func BenchmarkGetAgent(b *testing.B)    { storetest.BenchGetAgent(b, open) }
func BenchmarkCreateAgent(b *testing.B) { storetest.BenchCreateAgent(b, open) }

// TestOpenPool shares a caller's pool: closing the store leaves it open.
func TestOpenPool(t *testing.T) {
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, storetest.PostgresSchemaURL(t, baseURL(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := postgres.OpenPool(ctx, pool)
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
	var name string
	if err := pool.QueryRow(ctx, `SELECT name FROM accounts WHERE id = $1`, acct.ID).Scan(&name); err != nil || name != "acme" {
		t.Fatalf("pool after store close: %q, %v", name, err)
	}
}
