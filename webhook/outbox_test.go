package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/espeak"
	"github.com/agentphone/agentphone/postgres"
	"github.com/agentphone/agentphone/sqlite"
	"github.com/agentphone/agentphone/sqlstore"
	"github.com/agentphone/agentphone/storetest"
	"github.com/agentphone/agentphone/webhook"
)

// testSchedule keeps retried tests short: 6 attempts within about 1.6 s.
var testSchedule = webhook.Schedule{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
	400 * time.Millisecond, 800 * time.Millisecond}

// hit is one request a receiver got.
type hit struct {
	h    http.Header
	body []byte
	at   time.Time
}

// receiver is a local webhook endpoint; answer decides the reply to the
// n-th request (from 1) and may block until the request is cancelled.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
	got  chan hit
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan hit, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h := hit{r.Header.Clone(), b, time.Now()}
		rc.mu.Lock()
		rc.hits = append(rc.hits, h)
		n := len(rc.hits)
		rc.mu.Unlock()
		rc.got <- h
		answer(n, w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.hits)
}

func status(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[min(n, len(codes))-1])
	}
}

// bundle is one store with an outbox and an account.
type bundle struct {
	store    *sqlstore.Store
	outbox   *webhook.Outbox
	webhooks *agentphone.WebhookService
	acct     string
}

func newOutbox(t *testing.T, store *sqlstore.Store, start bool) *webhook.Outbox {
	t.Helper()
	return newOutboxRescue(t, store, start, 0)
}

// newOutboxRescue is newOutbox with a RescueAfter (0: the default).
func newOutboxRescue(t *testing.T, store *sqlstore.Store, start bool, rescueAfter time.Duration) *webhook.Outbox {
	t.Helper()
	poster := &webhook.Poster{Sender: &webhook.Sender{Client: webhook.NewHTTPClient(webhook.ClientOptions{}), UserAgent: "agentphone/test"}}
	o, err := webhook.NewOutbox(webhook.OutboxConfig{
		Store: store, Poster: poster, Schedule: testSchedule, Workers: 10, RescueAfter: rescueAfter,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("new outbox: %v", err)
	}
	store.NotifyDeliveries(o.Notify)
	if start {
		startOutbox(t, o)
	}
	return o
}

func startOutbox(t *testing.T, o *webhook.Outbox) {
	t.Helper()
	if err := o.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopOutbox(t, o) })
}

func stopOutbox(t testing.TB, o *webhook.Outbox) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.Stop(ctx); err != nil {
		t.Errorf("stop outbox: %v", err)
	}
}

// testWriter sends the outbox's log to t.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func setup(t *testing.T, b storetest.Backend) *bundle {
	t.Helper()
	store := b.Open(t)
	return setupOn(t, store, newOutbox(t, store, true))
}

func setupOn(t *testing.T, store *sqlstore.Store, o *webhook.Outbox) *bundle {
	t.Helper()
	acct := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
	if err := store.CreateAccount(t.Context(), acct); err != nil {
		t.Fatal(err)
	}
	return &bundle{store: store, outbox: o, webhooks: &agentphone.WebhookService{Store: store}, acct: acct.ID}
}

// hook configures a webhook for the account (agentID nil) or an agent,
// with a timeout in seconds; 0 means the default.
func (b *bundle) hook(t *testing.T, agentID *string, url string, timeout int) *agentphone.Webhook {
	t.Helper()
	now := agentphone.Now()
	w := &agentphone.Webhook{
		ID: agentphone.NewID(agentphone.PrefixWebhook), AccountID: b.acct, AgentID: agentID, URL: url,
		Secret: agentphone.NewWebhookSecret(), Status: agentphone.WebhookActive, ContextLimit: 10,
		Timeout: max(timeout, 0), CreatedAt: now, UpdatedAt: now,
	}
	if timeout == 0 {
		w.Timeout = agentphone.DefaultWebhookTimeout
	}
	w, err := b.store.UpsertWebhook(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (b *bundle) agent(t *testing.T) *agentphone.Agent {
	t.Helper()
	agents := &agentphone.AgentService{Store: b.store, Voices: espeak.Catalog{}}
	a, err := agents.Create(t.Context(), agentphone.Scope{KeyAccountID: b.acct, AccountID: b.acct},
		agentphone.AgentInput{Name: agentphone.Opt[string]{Set: true, Value: "bot"}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (b *bundle) emit(t *testing.T, agentID *string) *agentphone.Delivery {
	t.Helper()
	now := agentphone.Now()
	env := agentphone.Envelope{
		Event: agentphone.EventMessage, Channel: agentphone.ChannelSMS, Timestamp: agentphone.JSONTime(now), AgentID: agentID,
		Data: agentphone.SampleMessageData(nil, now), ConversationState: json.RawMessage("null"),
		RecentHistory: []agentphone.HistoryItem{},
	}
	d, err := b.webhooks.Emit(t.Context(), b.acct, agentID, env, nil)
	if err != nil {
		t.Fatalf("emit: %v", err)
	}
	return d
}

// wait polls the delivery until it is no longer pending.
func (b *bundle) wait(t *testing.T, id string) *agentphone.Delivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := b.store.GetDelivery(t.Context(), b.acct, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != agentphone.DeliveryPending {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s still pending after 20 s: %d attempts, error %v", id, d.AttemptCount, deref(d.ErrorMessage))
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func each(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

func TestOutbox_RetriedThenDelivered(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		b := setup(t, be)
		rc := newReceiver(t, status(500, 200))
		w := b.hook(t, nil, rc.URL, 0)
		d := b.emit(t, nil)
		if d.Status != agentphone.DeliveryPending || d.WebhookID == nil || *d.WebhookID != w.ID {
			t.Fatalf("emitted %+v", d)
		}
		got := b.wait(t, d.ID)
		if got.Status != agentphone.DeliverySuccess || got.AttemptCount != 2 || deref(got.HTTPStatus) != 200 ||
			got.NextRetryAt != nil || got.ErrorMessage != nil {
			t.Fatalf("delivery %+v, want success on attempt 2", got)
		}
		if rc.count() != 2 {
			t.Fatalf("receiver got %d requests", rc.count())
		}
		for i := range 2 {
			h := <-rc.got
			if err := webhook.Verify(w.Secret, h.h, h.body, time.Now()); err != nil {
				t.Errorf("attempt %d: %v", i+1, err)
			}
			if h.h.Get(webhook.HeaderID) != d.ID || h.h.Get(webhook.HeaderEvent) != agentphone.EventMessage {
				t.Errorf("attempt %d: X-Webhook-ID %q event %q, want %q", i+1, h.h.Get(webhook.HeaderID), h.h.Get(webhook.HeaderEvent), d.ID)
			}
			if string(h.body) != string(d.Payload) {
				t.Errorf("attempt %d: body %s", i+1, h.body)
			}
		}
	})
}

func TestOutbox_TimeoutRetried(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		b := setup(t, be)
		rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				<-r.Context().Done() // hang past the webhook's timeout
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		b.hook(t, nil, rc.URL, 1) // a timeout of 1 s, below the API's minimum, to keep the test short
		got := b.wait(t, b.emit(t, nil).ID)
		if got.Status != agentphone.DeliverySuccess || got.AttemptCount != 2 {
			t.Fatalf("delivery %+v, want success on attempt 2", got)
		}
	})
}

func TestOutbox_ReceiverDown(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		b := setup(t, be)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		b.hook(t, nil, "http://"+addr+"/hook", 0)
		got := b.wait(t, b.emit(t, nil).ID)
		if got.Status != agentphone.DeliveryFailed || got.AttemptCount != 6 || got.NextRetryAt != nil ||
			got.HTTPStatus != nil || got.ErrorMessage == nil {
			t.Fatalf("delivery %+v, want failed after 6 attempts", got)
		}
	})
}

func TestOutbox_FinalAnswer(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		b := setup(t, be)
		rc := newReceiver(t, status(400, 200))
		b.hook(t, nil, rc.URL, 0)
		got := b.wait(t, b.emit(t, nil).ID)
		if got.Status != agentphone.DeliveryFailed || got.AttemptCount != 1 || deref(got.HTTPStatus) != 400 ||
			deref(got.ErrorMessage) != "HTTP 400" || got.NextRetryAt != nil {
			t.Fatalf("delivery %+v, want failed after 1 attempt", got)
		}
		if rc.count() != 1 {
			t.Fatalf("receiver got %d requests", rc.count())
		}
	})
}

func TestOutbox_RetryAfter(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		b := setup(t, be)
		rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		b.hook(t, nil, rc.URL, 0)
		got := b.wait(t, b.emit(t, nil).ID)
		if got.Status != agentphone.DeliverySuccess || got.AttemptCount != 2 {
			t.Fatalf("delivery %+v", got)
		}
		first, second := <-rc.got, <-rc.got
		if gap := second.at.Sub(first.at); gap < 950*time.Millisecond {
			t.Fatalf("second attempt %s after the first, want about 1 s (Retry-After)", gap)
		}
	})
}

func TestOutbox_Routing(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		b := setup(t, be)
		project, own := newReceiver(t, status(200)), newReceiver(t, status(200))
		pw := b.hook(t, nil, project.URL, 0)
		withHook, without := b.agent(t), b.agent(t)
		aw := b.hook(t, &withHook.ID, own.URL, 0)

		d := b.emit(t, &withHook.ID)
		if got := b.wait(t, d.ID); got.Status != agentphone.DeliverySuccess || deref(got.WebhookID) != aw.ID {
			t.Fatalf("agent event: %+v", got)
		}
		if project.count() != 0 || own.count() != 1 {
			t.Fatalf("project webhook got %d, agent webhook %d; want 0 and 1", project.count(), own.count())
		}
		h := <-own.got
		if err := webhook.Verify(aw.Secret, h.h, h.body, time.Now()); err != nil {
			t.Fatalf("agent webhook's delivery: %v", err)
		}

		// An agent without a webhook of its own falls back to the project's.
		d = b.emit(t, &without.ID)
		if got := b.wait(t, d.ID); got.Status != agentphone.DeliverySuccess || deref(got.WebhookID) != pw.ID {
			t.Fatalf("agent without webhook: %+v", got)
		}
		if project.count() != 1 || own.count() != 1 {
			t.Fatalf("project webhook got %d, agent webhook %d; want 1 and 1", project.count(), own.count())
		}

		unknown := "agt_unknown"
		_, err := b.webhooks.Emit(t.Context(), b.acct, &unknown, agentphone.Envelope{Event: agentphone.EventMessage}, nil)
		if agentphone.ErrorKind(err) != agentphone.KindNotFound {
			t.Fatalf("emit for an unknown agent: %v", err)
		}
	})
}

func TestOutbox_NoWebhook(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		b := setup(t, be)
		d := b.emit(t, nil)
		got, err := b.store.GetDelivery(t.Context(), b.acct, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != agentphone.DeliveryFailed || got.AttemptCount != 0 || got.WebhookID != nil ||
			deref(got.ErrorMessage) != agentphone.MsgNoWebhook || got.NextRetryAt != nil || got.LastAttemptAt != nil {
			t.Fatalf("delivery %+v, want recorded as undeliverable", got)
		}
		if _, ok, err := b.store.NextDeliveryDue(t.Context()); err != nil || ok {
			t.Fatalf("a delivery is queued (%v), want none", err)
		}
	})
}

// A delivery queued while no outbox runs is delivered when one starts.
func TestOutbox_QueuedWhileStopped(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		store := be.Open(t)
		o := newOutbox(t, store, false)
		b := setupOn(t, store, o)
		rc := newReceiver(t, status(200))
		b.hook(t, nil, rc.URL, 0)
		d := b.emit(t, nil)

		startOutbox(t, o)
		got := b.wait(t, d.ID)
		if got.Status != agentphone.DeliverySuccess || got.AttemptCount != 1 {
			t.Fatalf("delivery %+v", got)
		}

		// Stopped and started again, it goes on working.
		stopOutbox(t, o)
		d = b.emit(t, nil)
		startOutbox(t, o)
		if got := b.wait(t, d.ID); got.Status != agentphone.DeliverySuccess {
			t.Fatalf("after a restart: %+v", got)
		}
	})
}

// A delivery queued, and one due for a retry, survive closing the database:
// a new process delivers them.
func TestOutbox_SurvivesReopen(t *testing.T) {
	t.Parallel()
	opens := map[string]func(t *testing.T) func() *sqlstore.Store{
		"sqlite": func(t *testing.T) func() *sqlstore.Store {
			path := filepath.Join(t.TempDir(), "agentphone.db")
			return func() *sqlstore.Store {
				s, err := sqlite.Open(t.Context(), path)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
		},
	}
	if base := os.Getenv(storetest.PostgresEnv); base != "" {
		opens["postgres"] = func(t *testing.T) func() *sqlstore.Store {
			url := storetest.PostgresSchemaURL(t, base)
			return func() *sqlstore.Store {
				s, err := postgres.Open(t.Context(), url)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
		}
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reopen := open(t)
			rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", "1") // the retry falls after the restart
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.WriteHeader(http.StatusOK)
			})

			// First process: a delivery queued but never worked, and one
			// attempted once (503) and due again.
			store := reopen()
			o := newOutbox(t, store, true)
			b := setupOn(t, store, o)
			b.hook(t, nil, rc.URL, 0)
			d1 := b.emit(t, nil)
			<-rc.got // d1's first attempt
			for {    // until it is recorded, then stop before the retry is due
				got, err := store.GetDelivery(t.Context(), b.acct, d1.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.AttemptCount >= 1 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			stopOutbox(t, o)
			d2 := b.emit(t, nil)
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}

			// Second process.
			store = reopen()
			t.Cleanup(func() { store.Close() })
			b2 := &bundle{store: store, outbox: newOutbox(t, store, true), acct: b.acct}
			for _, id := range []string{d1.ID, d2.ID} {
				if got := b2.wait(t, id); got.Status != agentphone.DeliverySuccess {
					t.Fatalf("delivery %s after reopening: %+v", id, got)
				}
			}
		})
	}
}

// A delivery claimed by a process that died mid-attempt is claimed again
// when its lease ends, and made.
func TestOutbox_RescuedAfterCrash(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		store := be.Open(t)
		o := newOutboxRescue(t, store, false, time.Second)
		b := setupOn(t, store, o)
		rc := newReceiver(t, status(200))
		b.hook(t, nil, rc.URL, 0)
		d := b.emit(t, nil)

		// Claimed, as by a worker that then died with its process.
		now := agentphone.Now()
		leaseEnd := now.Add(time.Second)
		if got, err := store.ClaimDeliveries(t.Context(), now, leaseEnd, 10); err != nil || len(got) != 1 || got[0].ID != d.ID {
			t.Fatalf("claim: %v, %v", got, err)
		}

		startOutbox(t, o)
		got := b.wait(t, d.ID)
		if got.Status != agentphone.DeliverySuccess || got.AttemptCount != 1 || rc.count() != 1 {
			t.Fatalf("delivery %+v after %d requests, want success on attempt 1", got, rc.count())
		}
		if h := <-rc.got; h.at.Before(leaseEnd) {
			t.Fatalf("attempted at %s, before the lease ended at %s", h.at, leaseEnd)
		}
	})
}

// An attempt that outlasts RescueAfter (a lease too short for its webhook's
// timeout) is not cut short: bounded by its webhook's timeout only, it is
// recorded. (Meanwhile its delivery was taken for lost and attempted again;
// that duplicate's outcome is stale and ignored.)
func TestOutbox_SlowAttemptNotCutAtRescueAfter(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		store := be.Open(t)
		b := setupOn(t, store, newOutboxRescue(t, store, true, 500*time.Millisecond))
		firstAnswered := make(chan bool, 1) // whether the first request ran to its answer
		rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(1500 * time.Millisecond):
				w.WriteHeader(http.StatusOK)
				if n == 1 {
					firstAnswered <- true
				}
			case <-r.Context().Done():
				if n == 1 {
					firstAnswered <- false
				}
			}
		})
		b.hook(t, nil, rc.URL, 0)
		got := b.wait(t, b.emit(t, nil).ID)
		if got.Status != agentphone.DeliverySuccess || got.AttemptCount != 1 {
			t.Fatalf("delivery %+v, want success on attempt 1", got)
		}
		// The first attempt began first and ends first unless cut short: by
		// the time an outcome is recorded, it has answered.
		select {
		case answered := <-firstAnswered:
			if !answered {
				t.Fatal("the first attempt was cut short at the end of its lease")
			}
		default:
			t.Fatal("an outcome was recorded before the first attempt ended")
		}
	})
}

// Stop cuts an attempt short when its context ends first; the delivery
// stays pending, unrecorded, and the next start makes it again.
func TestOutbox_StopCutsAttemptShort(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, be storetest.Backend) {
		store := be.Open(t)
		o := newOutbox(t, store, false)
		b := setupOn(t, store, o)
		rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				<-r.Context().Done() // hang until the attempt is cut short
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		b.hook(t, nil, rc.URL, 0)
		if err := o.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		d := b.emit(t, nil)
		<-rc.got
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		began := time.Now()
		if err := o.Stop(ctx); err == nil {
			t.Fatal("Stop returned nil with an attempt hanging, want its context's error")
		}
		if took := time.Since(began); took > 3*time.Second {
			t.Fatalf("Stop took %s with a 200 ms context", took)
		}
		got, err := store.GetDelivery(t.Context(), b.acct, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != agentphone.DeliveryPending || got.AttemptCount != 0 {
			t.Fatalf("delivery %+v after the cut, want pending with no attempt recorded", got)
		}

		startOutbox(t, o)
		if got := b.wait(t, d.ID); got.Status != agentphone.DeliverySuccess || got.AttemptCount != 1 || rc.count() != 2 {
			t.Fatalf("delivery %+v after %d requests, want success on attempt 1 of the new run", got, rc.count())
		}
	})
}
