// Package postgres opens an agentphone store in a PostgreSQL database,
// through pgx. The queries live in sqlstore; this package owns the
// connection pool, the PostgreSQL dialect and the PostgreSQL migrations.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/agentphone/agentphone/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SQLSTATE codes of the errors the store turns into domain errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// migrationLock is taken in every migration transaction. The two-key form
// keeps it apart from single-key advisory locks (a library's, say); the second key
// is the schema, so that databases holding several schemas (tests) migrate
// them in parallel.
const migrationLock = `SELECT pg_advisory_xact_lock(hashtext('agentphone.migrate'), hashtext(current_schema()))`

// Dialect returns the PostgreSQL dialect of sqlstore.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at compile time
	}
	return sqlstore.Dialect{
		Name:                  "postgres",
		LockRows:              " FOR NO KEY UPDATE",
		SkipLocked:            " FOR UPDATE SKIP LOCKED",
		LockMigrations:        migrationLock,
		HourUTC:               `to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')`,
		Migrations:            sub,
		IsUniqueViolation:     func(err error) bool { return sqlState(err) == uniqueViolation },
		IsForeignKeyViolation: func(err error) bool { return sqlState(err) == foreignKeyViolation },
		Prepare:               false, // pgx caches prepared statements per connection
	}
}

func sqlState(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// DefaultMaxConns is the pool size Open uses unless the URL says otherwise.
const DefaultMaxConns = 20

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string; unknown parameters such as search_path are sent to the
// server as run-time parameters), applies the migrations and returns the
// store. The store owns its pool and closes it on Close.
//
// Unless the URL sets pool_max_conns, the pool holds up to
// DefaultMaxConns connections: pgxpool's own default (4 on a small
// machine) is shared by API requests and every webhook worker, and starved
// delivery to about a hundred per second.
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, DefaultMaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s, err := open(ctx, pool, func() error { pool.Close(); return nil })
	if err != nil {
		return nil, err
	}
	return s, nil
}

// OpenPool returns a store on pool, which the caller may share (with a job
// queue, say) and closes itself after the store. Applies the migrations.
func OpenPool(ctx context.Context, pool *pgxpool.Pool) (*sqlstore.Store, error) {
	return open(ctx, pool, nil)
}

func open(ctx context.Context, pool *pgxpool.Pool, onClose func() error) (*sqlstore.Store, error) {
	db := stdlib.OpenDBFromPool(pool)
	s := sqlstore.New(sqlstore.Config{Dialect: Dialect(), Read: db, OnClose: onClose})
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return s, nil
}
