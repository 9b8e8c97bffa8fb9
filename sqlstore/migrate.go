package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The migrator is written by hand on purpose: a migration framework would
// be one dependency and one set of conventions too many for the handful of
// files each backend has.

// Migration is one schema change of a backend.
type Migration struct {
	Version int    // NNNN of the file name
	Name    string // the file name
	SQL     string
}

// Migrations reads the files NNNN_description.sql at the root of fsys,
// sorted by version. Other files are ignored; two files with the same
// version are an error.
func Migrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s: name must be NNNN_description.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s have the same version", out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}

// createMigrationsTable is the same on every dialect; applied_at is kept as
// the database's own text of the current time.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`

// Migrate applies the dialect's migrations that the database has not
// recorded in schema_migrations, in order, each in its own transaction
// together with its record. Safe to call on every start and from several
// processes at once: each transaction first takes the dialect's migration
// lock and then checks again whether its migration is recorded.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := Migrations(s.d.Migrations)
	if err != nil {
		return err
	}
	lock := func(tx *sql.Tx) error {
		if s.d.LockMigrations == "" {
			return nil
		}
		_, err := tx.ExecContext(ctx, s.d.LockMigrations)
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := lock(tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, createMigrationsTable)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if err := lock(tx); err != nil {
				return err
			}
			var n int
			err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n)
			if err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano))
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlstore: migrate %s %s: %w", s.d.Name, m.Name, err)
		}
	}
	return nil
}
