package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/agentphone/agentphone"
)

// Dialect is what differs between the databases a Store runs on. The SQL
// text of the queries does not.
type Dialect struct {
	// Name identifies the database in errors: "sqlite", "postgres".
	Name string

	// LockRows is appended to a SELECT inside a transaction to lock the rows
	// it reads until the transaction ends. PostgreSQL: " FOR NO KEY UPDATE",
	// which unlike FOR UPDATE does not block inserts of rows that reference
	// the locked one. SQLite: "", since its write transactions (BEGIN
	// IMMEDIATE on a one-connection pool) already exclude each other.
	LockRows string

	// SkipLocked is appended to a SELECT inside a change to lock the rows
	// it reads and pass over those another transaction has locked, so that
	// servers sharing the database claim different rows. PostgreSQL: " FOR
	// UPDATE SKIP LOCKED"; SQLite: "", its writers excluding each other.
	SkipLocked string

	// LockMigrations runs first in every migration transaction so that two
	// servers starting together do not migrate at once; "" when the write
	// transaction excludes other writers by itself (SQLite).
	LockMigrations string

	// HourUTC is an SQL expression giving the UTC hour of a time column as
	// text "YYYY-MM-DD HH" (the layout of hourLayout), with %s standing for
	// the column. SQLite: "substr(%s, 1, 13)", the stored text being UTC in a
	// fixed layout; PostgreSQL: "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD
	// HH24')", whatever the session's time zone.
	HourUTC string

	// Migrations holds the schema as files named NNNN_description.sql,
	// applied in the order of NNNN. See Store.Migrate.
	Migrations fs.FS

	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation func(err error) bool
	// IsForeignKeyViolation reports whether err is a foreign-key failure.
	IsForeignKeyViolation func(err error) bool

	// Prepare makes the Store prepare its fixed queries once per connection
	// with database/sql. Worth it on SQLite, where compiling a statement can
	// cost more than running it; not on PostgreSQL through pgx, which caches
	// prepared statements per connection by itself and whose database/sql
	// pool hands out a different connection for every query.
	Prepare bool
}

// Config assembles a Store.
type Config struct {
	Dialect Dialect
	// Read serves plain reads. Required.
	Read *sql.DB
	// Write serves changes and transactions; nil means Read.
	Write *sql.DB
	// OnClose, when set, runs in Close after the pools are closed, e.g. to
	// close a driver pool beneath them.
	OnClose func() error
	// SingleWriter says that Write has one connection (SQLite); writers
	// then take turns in arrival order (see acquireWrite).
	SingleWriter bool
}

// Store is an agentphone.Store on database/sql. It is safe for concurrent
// use. Create it with New, or with sqlite.Open or postgres.Open.
type Store struct {
	d       Dialect
	read    *sql.DB
	write   *sql.DB
	onClose func() error
	// writeTurn, with SingleWriter, holds a token while a writer has its
	// turn; nil otherwise.
	writeTurn chan struct{}

	// Statements prepared on read and on write, by query text; used only
	// when d.Prepare. prepMu serialises preparing (not using) them.
	readStmts  sync.Map // string → *sql.Stmt
	writeStmts sync.Map // string → *sql.Stmt
	toPrepare  sync.Map // string → struct{}: met unprepared in a transaction
	prepMu     sync.Mutex

	// notifyDue hears of every delivery queued, after its commit; nil:
	// nobody listens. Set once, before use, by NotifyDeliveries.
	notifyDue func(due time.Time)
}

var _ agentphone.Store = (*Store)(nil)

// New returns a Store on the pools of cfg. It does not touch the database;
// call Migrate before use when the schema may be missing or old.
func New(cfg Config) *Store {
	w := cfg.Write
	if w == nil {
		w = cfg.Read
	}
	s := &Store{d: cfg.Dialect, read: cfg.Read, write: w, onClose: cfg.OnClose}
	if cfg.SingleWriter {
		s.writeTurn = make(chan struct{}, 1)
	}
	return s
}

// DB returns the write pool, for tests and tools that need plain SQL.
func (s *Store) DB() *sql.DB { return s.write }

// NotifyDeliveries makes the Store call fn with the due time of every
// delivery it queues, once the transaction that stores it has committed, so
// that a delivery worker in this process can claim it at once (see
// webhook.Outbox). fn must not block. Call it before the Store is used
// concurrently.
func (s *Store) NotifyDeliveries(fn func(due time.Time)) { s.notifyDue = fn }

// Dialect returns the dialect the Store was created with.
func (s *Store) Dialect() Dialect { return s.d }

// Ping checks that both pools reach the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping %s: %w", s.d.Name, err)
	}
	if s.write != s.read {
		if err := s.write.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlstore: ping %s: %w", s.d.Name, err)
		}
	}
	return nil
}

// Close closes the prepared statements, the pools and then runs OnClose.
func (s *Store) Close() error {
	var errs []error
	for _, m := range []*sync.Map{&s.readStmts, &s.writeStmts} {
		m.Range(func(k, v any) bool {
			errs = append(errs, v.(*sql.Stmt).Close())
			m.Delete(k)
			return true
		})
	}
	errs = append(errs, s.read.Close())
	if s.write != s.read {
		errs = append(errs, s.write.Close())
	}
	if s.onClose != nil {
		errs = append(errs, s.onClose())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// stmt returns query prepared on db, preparing it on first use. A failed
// preparation is not remembered, so a query prepared before the schema
// existed is prepared again on the next call.
func (s *Store) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	m := &s.readStmts
	if db == s.write {
		m = &s.writeStmts
	}
	if st, ok := m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if st, ok := m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	m.Store(query, st)
	return st, nil
}

// query runs a fixed read query on the read pool, prepared when the dialect
// asks for it.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if !s.d.Prepare {
		return s.read.QueryContext(ctx, query, args...)
	}
	st, err := s.stmt(ctx, s.read, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// exec runs a fixed single-statement change on the write pool, outside any
// transaction, prepared when the dialect asks for it.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	release, err := s.acquireWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if !s.d.Prepare {
		return s.write.ExecContext(ctx, query, args...)
	}
	st, err := s.stmt(ctx, s.write, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// writeRow runs a fixed single-statement change that returns one row
// (UPDATE … RETURNING) on the write pool and scans it into dest; it returns
// sql.ErrNoRows when the statement changed nothing.
func (s *Store) writeRow(ctx context.Context, query string, args []any, dest ...any) error {
	release, err := s.acquireWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	if !s.d.Prepare {
		rows, err := s.write.QueryContext(ctx, query, args...)
		return scanOne(rows, err, dest...)
	}
	st, err := s.stmt(ctx, s.write, query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	return scanOne(rows, err, dest...)
}

// writeRows runs a fixed single-statement change that returns rows
// (UPDATE … RETURNING) on the write pool and calls scan for each.
func (s *Store) writeRows(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	release, err := s.acquireWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	var rows *sql.Rows
	if !s.d.Prepare {
		rows, err = s.write.QueryContext(ctx, query, args...)
	} else {
		var st *sql.Stmt
		if st, err = s.stmt(ctx, s.write, query); err == nil {
			rows, err = st.QueryContext(ctx, args...)
		}
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// prepareWrite returns query prepared on the write pool when the dialect
// prepares statements, for use in a transaction with txStmt; nil
// otherwise. Call it outside any transaction: on SQLite preparing needs the
// write pool's only connection.
func (s *Store) prepareWrite(ctx context.Context, query string) (*sql.Stmt, error) {
	if !s.d.Prepare {
		return nil, nil
	}
	return s.stmt(ctx, s.write, query)
}

// txStmt returns query for repeated use in tx: st (from prepareWrite)
// bound to tx, or, when st is nil, query prepared in tx. The caller closes
// it.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, st *sql.Stmt, query string) (*sql.Stmt, error) {
	if st == nil {
		return tx.PrepareContext(ctx, query)
	}
	return tx.StmtContext(ctx, st), nil
}

// txExec runs query in tx: through the statement prepared on the write
// pool when the dialect prepares and it is ready, else as plain text and
// marked to be prepared once the transaction is over (preparing inside it
// would wait for SQLite's only write connection, which tx holds).
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.readyStmt(query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// txQuery is txExec for a statement that returns rows.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := s.readyStmt(query); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// readyStmt returns query prepared on the write pool, or nil when it is not
// prepared yet (then it is queued for prepareQueued) or the dialect does not
// prepare.
func (s *Store) readyStmt(query string) *sql.Stmt {
	if !s.d.Prepare {
		return nil
	}
	if st, ok := s.writeStmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	s.toPrepare.Store(query, struct{}{})
	return nil
}

// prepareQueued prepares the statements txExec and txQuery met unprepared.
// It runs after a transaction, outside any write turn; a failure is left
// for the next time.
func (s *Store) prepareQueued(ctx context.Context) {
	s.toPrepare.Range(func(q, _ any) bool {
		s.toPrepare.Delete(q)
		_, _ = s.stmt(ctx, s.write, q.(string))
		return true
	})
}

// acquireWrite waits for the turn of the caller to write when the store has
// a single writer, and returns the function that ends the turn. Turns are
// given in arrival order: database/sql hands a freed connection to a random
// waiter, so with many writers queued on one connection, some would wait
// far longer than the queue is long (a p99 several times the mean).
func (s *Store) acquireWrite(ctx context.Context) (release func(), err error) {
	if s.writeTurn == nil {
		return func() {}, nil
	}
	select {
	case s.writeTurn <- struct{}{}: // a channel's waiting senders are served first come, first served
		return func() { <-s.writeTurn }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// inTx runs fn in a transaction on the write pool and commits when fn
// returns nil; any error rolls everything back.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	defer s.prepareQueued(ctx)
	release, err := s.acquireWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// scanOne scans the first row of rows into dest and closes rows. It returns
// sql.ErrNoRows when there is none, like sql.Row.
func scanOne(rows *sql.Rows, err error, dest ...any) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// wrap adds op to an internal error; domain errors, whose messages are for
// API users, pass unchanged.
func wrap(op string, err error) error {
	if err == nil || agentphone.ErrorKind(err) != agentphone.KindInternal {
		return err
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// notFound maps sql.ErrNoRows to a not-found domain error with msg.
func notFound(err error, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return agentphone.Errorf(agentphone.KindNotFound, "%s", msg)
	}
	return err
}

// Messages of the not-found errors, as API users read them.
const (
	msgAccountNotFound    = "Account not found"
	msgSubAccountNotFound = "Sub-account not found"
	msgAPIKeyNotFound     = "API key not found"
	msgAgentNotFound      = "Agent not found"
	msgNumberNotFound     = "Phone number not found"
	msgWebhookNotFound    = "Webhook not found"
	msgDeliveryNotFound   = "Delivery not found"
)

// limitOffset returns the LIMIT and OFFSET of p. A Limit of 0 or less means
// no limit; a negative Offset counts as 0.
// scanRows scans every row of rows with scan and closes rows. The result is
// never nil, so that an empty list encodes as [].
func scanRows[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// listPage reads one page of a list: listSQL takes the filter arguments
// followed by LIMIT and OFFSET, countSQL the filter arguments alone.
func listPage[T any](ctx context.Context, s *Store, p agentphone.Page, listSQL, countSQL string, filter []any,
	scan func(*sql.Rows) (T, error)) (agentphone.List[T], error) {
	var l agentphone.List[T]
	limit, offset := limitOffset(p)
	rows, err := s.query(ctx, listSQL, append(filter[:len(filter):len(filter)], limit, offset)...)
	if err != nil {
		return l, err
	}
	if l.Items, err = scanRows(rows, scan); err != nil {
		return l, err
	}
	rows, err = s.query(ctx, countSQL, filter...)
	return l, scanOne(rows, err, &l.Total)
}

func limitOffset(p agentphone.Page) (limit, offset int64) {
	limit = int64(p.Limit)
	if limit <= 0 {
		limit = 1<<31 - 1
	}
	return limit, int64(max(p.Offset, 0))
}

// placeholders returns "$from, $from+1, …" for n arguments.
func placeholders(from, n int) string {
	b := make([]byte, 0, n*5)
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "$%d", from+i)
	}
	return string(b)
}
