package webhook

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/agentphone/agentphone"
)

// The outbox delivers events durably: a delivery row and its job are
// written in one transaction (sqlstore.Store.SetEnqueuer with EnqueueTx),
// and River (riverqueue.com) works the jobs from tables in the same
// database, on SQLite and on PostgreSQL alike. A crash or restart loses
// nothing: jobs not yet worked wait in the database, and a job that was
// running when the process died is rescued after RescueAfter: River's
// rescuer, run by the elected leader at its start and every 30 s, makes it
// retryable, and it is attempted again about a second later. Delivery is
// therefore at least once; receivers de-duplicate on X-Webhook-ID.
//
// The delivery row, not River, decides: its AttemptCount counts attempts
// against the Schedule and its NextRetryAt says when the next is due. A
// job whose delivery is no longer pending does nothing, so a job worked
// twice does no harm; retries are River snoozes, which do not use up River
// attempts. River's own retries are left for failures of the database.

// Outbox defaults.
const (
	DefaultOutboxWorkers = 50
	// DefaultFetchPollInterval and DefaultFetchCooldown bound how soon a
	// new job is picked up: River polls on these databases (no
	// LISTEN/NOTIFY through database/sql), so the first attempt follows
	// the commit within about one poll interval.
	DefaultFetchPollInterval = 50 * time.Millisecond
	DefaultFetchCooldown     = 10 * time.Millisecond
	// DefaultRescueAfter exceeds the longest attempt (the largest webhook
	// timeout, 120 s) with a margin, so that only a job whose worker died
	// is taken for stuck. A shorter RescueAfter makes a live attempt to a
	// slower receiver look stuck: it is attempted again alongside (a
	// duplicate), while the first attempt runs to its own end.
	DefaultRescueAfter = 120*time.Second + 60*time.Second
)

// QueueWebhooks is the River queue of deliveries.
const QueueWebhooks = "webhooks"

// OutboxStore is what the outbox reads and writes of the domain.
type OutboxStore interface {
	GetDelivery(ctx context.Context, accountID, id string) (*agentphone.Delivery, error)
	GetWebhookByID(ctx context.Context, accountID, id string) (*agentphone.Webhook, error)
	UpdateDeliveryAttempt(ctx context.Context, d *agentphone.Delivery) error
}

// OutboxConfig configures NewOutbox. Zero values mean the defaults.
type OutboxConfig struct {
	// DB is the store's write pool (sqlstore.Store.DB): River keeps its
	// tables in the same database so that jobs join the store's
	// transactions. On SQLite a one-connection pool, as River's SQLite
	// driver recommends. Required.
	DB *sql.DB
	// Database is "sqlite" or "postgres" (sqlstore.Dialect.Name). Required.
	Database string
	// MigrateLock, when set, is a statement that takes a transaction-level
	// lock (sqlstore.Dialect.LockMigrations); it is held while River's
	// migrations run, so that two servers starting together do not migrate
	// at once. It needs a pool of more than one connection.
	MigrateLock string

	Store  OutboxStore       // required
	Poster agentphone.Poster // makes each attempt; required
	// Schedule holds the delays before attempts 2…; nil: DefaultSchedule.
	// An empty, non-nil Schedule makes one attempt only.
	Schedule Schedule
	Workers  int // deliveries attempted at once; 0: DefaultOutboxWorkers

	FetchPollInterval time.Duration // 0: DefaultFetchPollInterval
	FetchCooldown     time.Duration // 0: DefaultFetchCooldown
	// RescueAfter is how long after its attempt began a job still running
	// is taken for stuck (its worker died with the process) and attempted
	// again; 0: DefaultRescueAfter.
	RescueAfter time.Duration

	Logger *slog.Logger // nil: discard
}

// Outbox queues deliveries and attempts them in the background.
type Outbox struct {
	client   *river.Client[*sql.Tx]
	store    OutboxStore
	poster   agentphone.Poster
	schedule Schedule
	logger   *slog.Logger
	now      func() time.Time

	mu sync.Mutex // guards halt and haltWork
	// halt ends when Stop gives up waiting: attempts under way are then
	// cut short. Work contexts follow it, not River's (see deliveryWorker).
	halt     context.Context
	haltWork context.CancelFunc
}

// deliveryArgs is the job of one delivery.
type deliveryArgs struct {
	DeliveryID string `json:"deliveryId"`
	AccountID  string `json:"accountId"`
}

func (deliveryArgs) Kind() string { return "webhook_delivery" }

// outboxMaxAttempts bounds River's own retries of a job whose work failed
// on the database (snoozes and delivery retries do not count); spread by
// River's backoff they cover several days.
const outboxMaxAttempts = 25

func (deliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueWebhooks, MaxAttempts: outboxMaxAttempts}
}

// NewOutbox applies River's migrations to cfg.DB (idempotently) and returns
// an outbox that queues jobs but works none until Start.
func NewOutbox(ctx context.Context, cfg OutboxConfig) (*Outbox, error) {
	if cfg.DB == nil || cfg.Store == nil || cfg.Poster == nil {
		return nil, errors.New("webhook: outbox: DB, Store and Poster are required")
	}
	if cfg.RescueAfter < 0 {
		return nil, fmt.Errorf("webhook: outbox: RescueAfter %s is negative", cfg.RescueAfter)
	}
	driver, err := newDriver(cfg.DB, cfg.Database)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := migrate(ctx, driver, cfg.DB, cfg.MigrateLock, logger); err != nil {
		return nil, err
	}
	o := &Outbox{
		store: cfg.Store, poster: cfg.Poster, schedule: cfg.Schedule, logger: logger, now: time.Now,
	}
	if o.schedule == nil {
		o.schedule = DefaultSchedule
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &deliveryWorker{o: o})
	poll := cmp.Or(cfg.FetchPollInterval, DefaultFetchPollInterval)
	rescueAfter := cmp.Or(cfg.RescueAfter, DefaultRescueAfter)
	client, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{QueueWebhooks: {MaxWorkers: cmp.Or(cfg.Workers, DefaultOutboxWorkers)}},
		Workers:           workers,
		PollOnly:          true,
		FetchPollInterval: poll,
		FetchCooldown:     min(cmp.Or(cfg.FetchCooldown, DefaultFetchCooldown), poll),
		// River's rescuer leaves alone every job whose timeout is
		// infinite (-1), so a job running when the process died would
		// stay running, its delivery pending, forever: the job timeout
		// must be finite for rescue to work. It is rescueAfter, the
		// earliest the rescuer acts anyway; the worker does not let it
		// cut an attempt short (each attempt is bounded by its webhook's
		// timeout).
		JobTimeout:           rescueAfter,
		RescueStuckJobsAfter: rescueAfter,
		MaxAttempts:          outboxMaxAttempts,
		Logger:               logger,
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: outbox: %w", err)
	}
	o.client = client
	o.halt, o.haltWork = context.WithCancel(context.Background())
	return o, nil
}

// newDriver returns River's driver for database ("sqlite" or "postgres")
// over db.
func newDriver(db *sql.DB, database string) (riverdriver.Driver[*sql.Tx], error) {
	switch database {
	case "sqlite":
		return riversqlite.New(db), nil
	case "postgres":
		return riverdatabasesql.New(db), nil
	}
	return nil, fmt.Errorf("webhook: outbox: unsupported database %q", database)
}

// MigrateOutbox applies River's migrations to db, as NewOutbox does, for
// `agentphone migrate`. database and lock are as in OutboxConfig.
func MigrateOutbox(ctx context.Context, db *sql.DB, database, lock string) error {
	driver, err := newDriver(db, database)
	if err != nil {
		return err
	}
	return migrate(ctx, driver, db, lock, slog.New(slog.DiscardHandler))
}

// migrate applies River's migrations. River runs each in a transaction of
// its own: on PostgreSQL they cannot share one (a migration adds an enum
// value that the next one uses). When lock is set, a transaction holding it
// stays open on a connection of its own meanwhile, so that another server
// migrating at the same time waits.
func migrate(ctx context.Context, driver riverdriver.Driver[*sql.Tx], db *sql.DB, lock string, logger *slog.Logger) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("webhook: outbox: migrate: %w", err)
	}
	if lock != "" {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("webhook: outbox: migrate: %w", err)
		}
		defer func() { _ = tx.Rollback() }()
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return fmt.Errorf("webhook: outbox: migrate: lock: %w", err)
		}
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("webhook: outbox: migrate: %w", err)
	}
	return nil
}

// EnqueueTx queues delivery d inside tx, the transaction that stores it; it
// is an sqlstore.Enqueuer. The job runs when the outbox is started, at
// once if d is due.
func (o *Outbox) EnqueueTx(ctx context.Context, tx *sql.Tx, d *agentphone.Delivery) error {
	var opts *river.InsertOpts
	if d.NextRetryAt != nil && d.NextRetryAt.After(o.now()) {
		opts = &river.InsertOpts{ScheduledAt: *d.NextRetryAt}
	}
	if _, err := o.client.InsertTx(ctx, tx, deliveryArgs{DeliveryID: d.ID, AccountID: d.AccountID}, opts); err != nil {
		return fmt.Errorf("webhook: queue delivery %s: %w", d.ID, err)
	}
	return nil
}

// Start starts working queued deliveries, those left from before first.
// It returns at once; Stop ends the work.
func (o *Outbox) Start(ctx context.Context) error {
	o.mu.Lock()
	if o.halt.Err() != nil { // stopped hard before: a new run
		o.halt, o.haltWork = context.WithCancel(context.Background())
	}
	o.mu.Unlock()
	// River stops hard when the Start context ends; Stop decides instead.
	if err := o.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("webhook: outbox: start: %w", err)
	}
	return nil
}

// stopGrace is how long cancelled attempts get to put their jobs back
// when Stop's context has ended.
const stopGrace = 5 * time.Second

// Stop stops fetching jobs and waits for the attempts under way until ctx
// ends; then it cancels them, and each puts its job back, unrecorded, to be
// attempted again on the next start. It returns ctx's error in that case.
func (o *Outbox) Stop(ctx context.Context) error {
	err := o.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	o.mu.Lock()
	o.haltWork()
	o.mu.Unlock()
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
	defer cancel()
	if herr := o.client.StopAndCancel(hctx); herr != nil {
		return fmt.Errorf("webhook: outbox: stop: %w", herr)
	}
	return err
}

// deliveryWorker works deliveryArgs jobs.
type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	o *Outbox
}

// Work makes the job's attempt under a context of its own: River's ends at
// the job timeout (RescueAfter), which is there only for the rescuer, and
// an attempt is bounded by its webhook's timeout instead. It ends when
// Stop gives up waiting (Outbox.halt).
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	w.o.mu.Lock()
	halt := w.o.halt
	w.o.mu.Unlock()
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(halt, cancel)()
	return w.o.deliver(wctx, job.Args.AccountID, job.Args.DeliveryID)
}

// deliver makes the delivery's next attempt when it is due and records its
// outcome. It returns nil when nothing remains to do, a River snooze until
// the next attempt, or an error (River retries the job) when the database
// failed.
func (o *Outbox) deliver(ctx context.Context, accountID, id string) error {
	if ctx.Err() != nil {
		return river.JobSnooze(0) // shutting down: the next start takes it
	}
	log := o.logger.With("delivery_id", id, "account_id", accountID)
	d, err := o.store.GetDelivery(ctx, accountID, id)
	switch {
	case agentphone.ErrorKind(err) == agentphone.KindNotFound:
		log.InfoContext(ctx, "webhook delivery gone before its attempt (pruned or account deleted)")
		return nil
	case err != nil:
		if ctx.Err() != nil {
			return river.JobSnooze(0)
		}
		return fmt.Errorf("load delivery %s: %w", id, err)
	case d.Status != agentphone.DeliveryPending:
		return nil // done already: this job ran twice
	}
	if now := o.now(); d.NextRetryAt != nil && d.NextRetryAt.After(now) {
		return river.JobSnooze(d.NextRetryAt.Sub(now)) // woken early, e.g. rescued
	}

	// Outcomes are written even when shutdown cancels ctx meanwhile.
	wctx := context.WithoutCancel(ctx)
	var wh *agentphone.Webhook
	if d.WebhookID != nil {
		wh, err = o.store.GetWebhookByID(ctx, accountID, *d.WebhookID)
	}
	switch {
	case d.WebhookID == nil || agentphone.ErrorKind(err) == agentphone.KindNotFound:
		// No attempt can be made: the webhook was deleted since.
		msg := "webhook deleted"
		if d.WebhookID == nil {
			msg = agentphone.MsgNoWebhook
		}
		d.Status, d.NextRetryAt, d.ErrorMessage = agentphone.DeliveryFailed, nil, &msg
		if err := o.store.UpdateDeliveryAttempt(wctx, d); err != nil {
			return fmt.Errorf("record delivery %s: %w", id, err)
		}
		log.WarnContext(ctx, "webhook delivery failed", "err", msg, "attempts", d.AttemptCount)
		return nil
	case err != nil:
		if ctx.Err() != nil {
			return river.JobSnooze(0)
		}
		return fmt.Errorf("load webhook of delivery %s: %w", id, err)
	}

	a := o.poster.Post(ctx, wh, d)
	if ctx.Err() != nil && !a.OK() {
		// Shutdown cut the attempt short: not the receiver's failure. The
		// next start makes it again (the receiver may have seen it: at
		// least once).
		return river.JobSnooze(0)
	}
	at := o.now()
	var next *time.Time
	if !a.OK() && a.Retryable {
		if delay, ok := o.schedule.Next(d.AttemptCount+1, a.RetryAfter, nil); ok {
			t := at.Add(delay)
			next = &t
		}
	}
	d.Record(a, at, next)
	if err := o.store.UpdateDeliveryAttempt(wctx, d); err != nil {
		return fmt.Errorf("record delivery %s: %w", id, err)
	}
	switch {
	case next != nil:
		log.DebugContext(ctx, "webhook delivery attempt failed; will retry",
			"attempt", d.AttemptCount, "http_status", a.Status, "err", a.Err, "next_retry_at", *next)
		return river.JobSnooze(max(next.Sub(o.now()), 0))
	case d.Status == agentphone.DeliveryFailed:
		log.WarnContext(ctx, "webhook delivery failed", "attempts", d.AttemptCount,
			"http_status", a.Status, "err", *d.ErrorMessage, "webhook_id", wh.ID)
	}
	return nil
}
