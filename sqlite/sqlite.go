// Package sqlite opens an agentphone store in a SQLite file, through
// modernc.org/sqlite (pure Go, no cgo). The queries live in sqlstore; this
// package owns the connection settings, the SQLite dialect and the SQLite
// migrations.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/agentphone/agentphone/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Connection settings. Both pools: a busy timeout for the rare lock another
// process holds; foreign keys, which SQLite enforces only when asked on
// every connection; times written in a layout that sorts and that sqlstore
// reads. The writer also turns on WAL (a property of the file, so readers
// opened after it use it), which lets readers run beside the writer, and
// NORMAL synchronisation, durable across process crashes and, in WAL mode,
// fast; its transactions begin IMMEDIATE, taking the write lock at BEGIN
// rather than failing on a later upgrade. Readers are query-only.
const (
	common    = "_busy_timeout=5000&_foreign_keys=1&_time_format=sqlite"
	writeOpts = common + "&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate"
	readOpts  = common + "&_query_only=1"
)

// Dialect returns the SQLite dialect of sqlstore.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at compile time
	}
	return sqlstore.Dialect{
		Name:           "sqlite",
		LockRows:       "",
		SkipLocked:     "",
		LockMigrations: "",
		HourUTC:        "substr(%s, 1, 13)", // times are stored as UTC text, "2006-01-02 15:…"
		Migrations:     sub,
		IsUniqueViolation: func(err error) bool {
			c := code(err)
			return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		},
		IsForeignKeyViolation: func(err error) bool { return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY },
		Prepare:               true,
	}
}

func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// Open opens (creating when missing, with its parent directory) the SQLite
// database at path, applies the migrations and returns the store. path is a
// file name, relative or absolute; in-memory databases are not supported.
//
// Writes go through a pool of one connection whose transactions begin
// IMMEDIATE, so concurrent writers wait their turn in Go instead of failing
// with "database is locked"; reads use a pool of query-only connections.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: open %q: want a plain file path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write, err := sql.Open("sqlite", path+"?"+writeOpts)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	// The first connection creates the file and switches it to WAL before
	// any reader opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", path+"?"+readOpts)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	s := sqlstore.New(sqlstore.Config{Dialect: Dialect(), Read: read, Write: write, SingleWriter: true})
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}
