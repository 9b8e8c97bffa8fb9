package webhook

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/agentphone/agentphone"
)

// The outbox delivers events durably. The delivery log is the queue: a
// delivery is stored, pending and due, in the transaction of the change
// that causes it (sqlstore), and the store tells the outbox after the
// commit (Notify), so that a worker of this process attempts it at once.
//
// A dispatcher claims due deliveries in batches (one write each), as many
// as workers are free; claiming makes a delivery due again only at the end
// of a lease (RescueAfter), so that if the process dies during the attempt,
// the delivery is claimed again after the lease, by this server when it
// restarts or by another sharing the database: at least once; receivers
// de-duplicate on X-Webhook-ID. Workers make the attempts; a recorder
// writes their outcomes back in batches (one transaction each), each due
// again at its next retry, or finished. An outcome applies only while the
// delivery is still pending at the attempt count it was claimed with, so a
// delivery attempted twice (an attempt that outlived its lease) counts once.
//
// Deliveries written by another server (PostgreSQL) and leases that ended
// are found by polling the earliest due time every PollInterval.

// Outbox defaults.
const (
	DefaultOutboxWorkers = 50
	// DefaultPollInterval is how often the outbox looks for deliveries it
	// was not told of: retries and rescues of other servers sharing the
	// database. Its own deliveries are attempted when due, not polled for.
	DefaultPollInterval = time.Second
	// DefaultRescueAfter is the lease of an attempt: it exceeds the
	// longest attempt (the largest webhook timeout, 120 s) with a margin,
	// so that only a delivery whose worker died is claimed again. A
	// shorter lease makes an attempt to a slow receiver look lost: it is
	// claimed and attempted again alongside (a duplicate).
	DefaultRescueAfter = 120*time.Second + 60*time.Second
	// claimBatch bounds the deliveries claimed by one statement and the
	// outcomes written by one transaction.
	claimBatch = 100
	// retryPause is how long the dispatcher and the recorder wait after
	// the database failed before they try again.
	retryPause = time.Second
	// stopTries bounds the tries to record outcomes once stopping.
	stopTries = 3
	// maxFuture bounds the due times to come the outbox remembers.
	maxFuture = 100_000
)

// OutboxStore is what the outbox reads and writes of the domain
// (sqlstore.Store implements it).
type OutboxStore interface {
	ClaimDeliveries(ctx context.Context, now, leaseEnd time.Time, limit int) ([]*agentphone.Delivery, error)
	NextDeliveryDue(ctx context.Context) (due time.Time, ok bool, err error)
	RecordDeliveries(ctx context.Context, updates []agentphone.DeliveryUpdate) (stale int, err error)
	GetWebhookByID(ctx context.Context, accountID, id string) (*agentphone.Webhook, error)
}

// OutboxConfig configures NewOutbox. Zero values mean the defaults.
type OutboxConfig struct {
	Store  OutboxStore       // required
	Poster agentphone.Poster // makes each attempt; required
	// Schedule holds the delays before attempts 2…; nil: DefaultSchedule.
	// An empty, non-nil Schedule makes one attempt only.
	Schedule Schedule
	Workers  int // deliveries attempted at once; 0: DefaultOutboxWorkers
	// PollInterval: see DefaultPollInterval; 0: the default.
	PollInterval time.Duration
	// RescueAfter is the lease of an attempt: how long after it was
	// claimed a delivery still not recorded is taken for lost (its worker
	// died with the process) and claimed again; 0: DefaultRescueAfter.
	RescueAfter time.Duration

	Logger *slog.Logger // nil: discard
}

// Outbox attempts queued deliveries in the background.
type Outbox struct {
	store    OutboxStore
	poster   agentphone.Poster
	schedule Schedule
	workers  int
	poll     time.Duration
	lease    time.Duration
	logger   *slog.Logger
	now      func() time.Time

	wake chan struct{} // a buffered token: Notify has news for the dispatcher

	mu sync.Mutex
	// dueNow: a delivery known to be due may not be claimed yet. future:
	// due times to come (retries), earliest first, at most maxFuture (the
	// poll finds the others).
	dueNow  bool
	future  timeHeap
	running bool
	// stop ends the dispatcher; halt cuts attempts short (Stop gave up
	// waiting); done closes when the recorder has written every outcome.
	stop, halt       context.CancelFunc
	stopCtx, haltCtx context.Context
	done             chan struct{}
}

// NewOutbox returns an outbox that attempts nothing until Start.
func NewOutbox(cfg OutboxConfig) (*Outbox, error) {
	if cfg.Store == nil || cfg.Poster == nil {
		return nil, errors.New("webhook: outbox: Store and Poster are required")
	}
	if cfg.RescueAfter < 0 || cfg.PollInterval < 0 || cfg.Workers < 0 {
		return nil, fmt.Errorf("webhook: outbox: negative RescueAfter, PollInterval or Workers")
	}
	o := &Outbox{
		store: cfg.Store, poster: cfg.Poster, schedule: cfg.Schedule,
		workers: cmp.Or(cfg.Workers, DefaultOutboxWorkers),
		poll:    cmp.Or(cfg.PollInterval, DefaultPollInterval),
		lease:   cmp.Or(cfg.RescueAfter, DefaultRescueAfter),
		logger:  cfg.Logger, now: time.Now,
		wake: make(chan struct{}, 1),
	}
	if o.schedule == nil {
		o.schedule = DefaultSchedule
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Notify tells the outbox that a delivery is queued, due at due; the store
// calls it after the commit (sqlstore.Store.NotifyDeliveries). It never
// blocks.
func (o *Outbox) Notify(due time.Time) {
	o.mu.Lock()
	o.noteDue(due)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// claim is one claimed delivery on its way to a worker.
type claim struct {
	d        *agentphone.Delivery
	wh       *agentphone.Webhook // nil when the delivery can no longer be attempted
	whGone   string              // why wh is nil
	attempts int                 // d.AttemptCount when claimed
}

// Start starts attempting queued deliveries, those left from before first.
// It returns at once; Stop ends the work. An outbox may be started again
// after Stop.
func (o *Outbox) Start(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.running {
		return errors.New("webhook: outbox: already started")
	}
	o.running = true
	base := context.WithoutCancel(ctx) // Stop decides when the work ends
	o.stopCtx, o.stop = context.WithCancel(base)
	o.haltCtx, o.halt = context.WithCancel(base)
	o.done = make(chan struct{})

	// Up to claimBatch claimed deliveries wait for a worker, so that
	// workers do not idle while the next claim waits for its turn to write.
	jobs := make(chan claim, claimBatch)
	results := make(chan agentphone.DeliveryUpdate, o.workers)
	freed := make(chan struct{}, o.workers+claimBatch)
	var workers sync.WaitGroup
	for range o.workers {
		workers.Go(func() {
			for c := range jobs {
				if o.stopCtx.Err() != nil {
					results <- o.putBack(c) // stopping: not begun, not to begin
				} else {
					results <- o.attempt(o.haltCtx, c)
				}
				freed <- struct{}{}
			}
		})
	}
	go func() {
		o.dispatch(o.stopCtx, jobs, freed)
		close(jobs)
		workers.Wait()
		close(results)
	}()
	go func() {
		defer close(o.done)
		o.record(results)
	}()
	return nil
}

// Stop stops claiming deliveries and waits for the attempts under way until
// ctx ends; then it cuts them short, and each is put back, unrecorded, to
// be attempted again on the next start. It returns ctx's error in that case.
func (o *Outbox) Stop(ctx context.Context) error {
	o.mu.Lock()
	if !o.running {
		o.mu.Unlock()
		return nil
	}
	o.running = false
	stop, halt, done := o.stop, o.halt, o.done
	o.mu.Unlock()
	stop()
	select {
	case <-done:
		halt()
		return nil
	case <-ctx.Done():
	}
	halt()
	<-done // cut short, the attempts end and are put back at once
	return ctx.Err()
}

// noteDue remembers that a delivery is due at due; o.mu is held.
func (o *Outbox) noteDue(due time.Time) {
	switch {
	case !due.After(o.now()):
		o.dueNow = true
	case len(o.future) < maxFuture:
		heap.Push(&o.future, due)
	}
}

// takeDue reports whether a delivery is known to be due at now, and
// forgets it: the caller is about to claim. A Notify after this returns
// makes it true again.
func (o *Outbox) takeDue(now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	due := o.dueNow
	o.dueNow = false
	for len(o.future) > 0 && !o.future[0].After(now) {
		heap.Pop(&o.future)
		due = true
	}
	return due
}

// dispatch claims due deliveries for free workers (and claimBatch more,
// to wait for them) and sends them on jobs until ctx ends. freed receives a
// token each time a worker is done with one.
//
// It claims when a delivery is known to be due (Notify, the retries it
// scheduled) and again after a full claim, as more may wait; the store is
// asked for the earliest due time only at start and every poll interval,
// for deliveries this process was not told of.
func (o *Outbox) dispatch(ctx context.Context, jobs chan<- claim, freed <-chan struct{}) {
	free := o.workers + claimBatch
	more := true // deliveries left from before
	o.refreshDue(ctx)
	poll := time.NewTicker(o.poll)
	defer poll.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for ctx.Err() == nil {
		for drained := false; !drained; { // take back the workers freed meanwhile
			select {
			case <-freed:
				free++
			default:
				drained = true
			}
		}
		if free > 0 {
			now := o.now()
			if due := o.takeDue(now); due || more {
				n := min(free, claimBatch)
				claimed, err := o.claim(ctx, now, n)
				if err != nil {
					if ctx.Err() == nil {
						o.logger.ErrorContext(ctx, "claiming webhook deliveries failed; retrying", "err", err)
						o.sleep(ctx, retryPause)
					}
					more = true
					continue
				}
				for _, c := range claimed {
					jobs <- c
					free--
				}
				more = len(claimed) == n
				continue
			}
		}
		wait := o.poll // no worker free: a freed one wakes the loop
		o.mu.Lock()
		if len(o.future) > 0 && free > 0 {
			wait = min(wait, o.future[0].Sub(o.now()))
		}
		o.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-o.wake:
		case <-freed:
			free++
		case <-timer.C:
		case <-poll.C:
			o.refreshDue(ctx) // deliveries of other servers, leases that ended
		}
		timer.Stop()
	}
}

// refreshDue notes the store's earliest due time.
func (o *Outbox) refreshDue(ctx context.Context) {
	due, ok, err := o.store.NextDeliveryDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			o.logger.ErrorContext(ctx, "reading the webhook delivery queue failed", "err", err)
		}
		return
	}
	if ok {
		o.mu.Lock()
		o.noteDue(due)
		o.mu.Unlock()
	}
}

// timeHeap is a min-heap of times (container/heap).
type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// claim claims up to n due deliveries and loads their webhooks.
func (o *Outbox) claim(ctx context.Context, now time.Time, n int) ([]claim, error) {
	ds, err := o.store.ClaimDeliveries(ctx, now, now.Add(o.lease), n)
	if err != nil {
		return nil, err
	}
	hooks := map[string]*agentphone.Webhook{} // one read per webhook of the batch
	out := make([]claim, 0, len(ds))
	for _, d := range ds {
		c := claim{d: d, attempts: d.AttemptCount}
		if d.WebhookID == nil {
			c.whGone = agentphone.MsgNoWebhook
			out = append(out, c)
			continue
		}
		wh, seen := hooks[*d.WebhookID]
		if !seen {
			wh, err = o.store.GetWebhookByID(ctx, d.AccountID, *d.WebhookID)
			switch {
			case agentphone.ErrorKind(err) == agentphone.KindNotFound:
				wh = nil
			case err != nil:
				// The claimed deliveries go back to the queue at their
				// lease's end, as after a crash: better than guessing.
				return nil, fmt.Errorf("load webhook %s: %w", *d.WebhookID, err)
			}
			hooks[*d.WebhookID] = wh
		}
		c.wh = wh
		if wh == nil {
			c.whGone = "webhook deleted"
		}
		out = append(out, c)
	}
	return out, nil
}

// attempt makes claim c's attempt and returns the update to record. When
// ctx ends first (Stop gave up waiting), the delivery is put back
// unattempted, due at once.
func (o *Outbox) attempt(ctx context.Context, c claim) agentphone.DeliveryUpdate {
	d := c.d
	u := agentphone.DeliveryUpdate{Delivery: d, ClaimedAttempts: c.attempts}
	if c.wh == nil {
		// No attempt can be made: the webhook was deleted since, or none
		// was configured when the event happened.
		msg := c.whGone
		d.Status, d.NextRetryAt, d.ErrorMessage = agentphone.DeliveryFailed, nil, &msg
		o.logger.WarnContext(ctx, "webhook delivery failed", "delivery_id", d.ID, "account_id", d.AccountID,
			"err", msg, "attempts", d.AttemptCount)
		return u
	}
	if ctx.Err() != nil {
		return o.putBack(c)
	}
	a := o.poster.Post(ctx, c.wh, d)
	at := o.now()
	if ctx.Err() != nil && !a.OK() {
		// Stop cut the attempt short: not the receiver's failure. The next
		// start makes it again (the receiver may have seen it: at least
		// once).
		u.DueAt = &at
		return u
	}
	var next *time.Time
	if !a.OK() && a.Retryable {
		if delay, ok := o.schedule.Next(d.AttemptCount+1, a.RetryAfter, nil); ok {
			t := at.Add(delay)
			next = &t
		}
	}
	d.Record(a, at, next)
	u.DueAt = next
	log := o.logger.With("delivery_id", d.ID, "account_id", d.AccountID, "webhook_id", c.wh.ID,
		"attempt", d.AttemptCount, "http_status", a.Status)
	switch {
	case next != nil:
		log.DebugContext(ctx, "webhook delivery attempt failed; will retry", "err", a.Err, "next_retry_at", *next)
	case d.Status == agentphone.DeliveryFailed:
		log.WarnContext(ctx, "webhook delivery failed", "err", *d.ErrorMessage)
	}
	return u
}

// putBack returns the update that puts claim c back unattempted, due at
// once.
func (o *Outbox) putBack(c claim) agentphone.DeliveryUpdate {
	now := o.now()
	return agentphone.DeliveryUpdate{Delivery: c.d, ClaimedAttempts: c.attempts, DueAt: &now}
}

// record writes the updates from results in batches until results closes,
// and tells the dispatcher of the retries.
func (o *Outbox) record(results <-chan agentphone.DeliveryUpdate) {
	ctx := context.Background() // outcomes are written even during shutdown
	batch := make([]agentphone.DeliveryUpdate, 0, claimBatch)
	for u := range results {
		batch = append(batch[:0], u)
		for full := false; !full && len(batch) < claimBatch; {
			select {
			case u, ok := <-results:
				if !ok {
					full = true
					break
				}
				batch = append(batch, u)
			default:
				full = true
			}
		}
		for try := 1; ; try++ {
			stale, err := o.store.RecordDeliveries(ctx, batch)
			if err == nil {
				if stale > 0 {
					o.logger.WarnContext(ctx, "webhook delivery outcomes arrived after their lease ended; the later attempt's stand",
						"deliveries", stale)
				}
				break
			}
			// While running, keep trying, lest the outcomes be lost; once
			// stopping, give up after a few tries: the deliveries stay
			// claimed and are attempted again when their lease ends.
			if o.stopCtx.Err() != nil && try >= stopTries {
				o.logger.ErrorContext(ctx, "recording webhook delivery outcomes failed; they will be attempted again",
					"err", err, "deliveries", len(batch), "after", o.lease)
				break
			}
			o.logger.ErrorContext(ctx, "recording webhook delivery outcomes failed; retrying", "err", err,
				"deliveries", len(batch))
			time.Sleep(retryPause)
		}
		for _, u := range batch {
			if u.DueAt != nil {
				o.Notify(*u.DueAt)
			}
		}
	}
}

// sleep waits d or until ctx ends.
func (o *Outbox) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
