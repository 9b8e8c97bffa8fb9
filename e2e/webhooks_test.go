//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone/webhook"
)

// crashReceiver is a webhook endpoint for TestWebhooksSurviveSIGKILL. It
// verifies every request's signature and counts requests per X-Webhook-ID.
// While hang is set it answers nothing: each request blocks until release
// is closed or the client goes away, so that its delivery stays in flight.
// Otherwise it answers 200 at once.
type crashReceiver struct {
	*httptest.Server
	release chan struct{} // closed to let hung requests return

	mu      sync.Mutex
	secret  string
	hang    bool
	hanging int            // requests blocked now
	seen    map[string]int // requests per delivery id
	ok      map[string]int // 200s answered per delivery id
	bad     []string       // why requests failed verification
	changed chan struct{}  // signalled (non-blocking) on every change
}

func newCrashReceiver(t *testing.T) *crashReceiver {
	rc := &crashReceiver{
		release: make(chan struct{}),
		hang:    true,
		seen:    map[string]int{},
		ok:      map[string]int{},
		changed: make(chan struct{}, 1),
	}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(func() {
		rc.releaseAll()
		rc.Close()
	})
	return rc
}

func (rc *crashReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	id := r.Header.Get(webhook.HeaderID)
	rc.mu.Lock()
	if err == nil {
		err = webhook.Verify(rc.secret, r.Header, body, time.Now())
	}
	if err != nil || id == "" {
		rc.bad = append(rc.bad, fmt.Sprintf("request for %q: %v", id, err))
		rc.mu.Unlock()
		rc.notify()
		http.Error(w, "bad request", http.StatusUnauthorized)
		return
	}
	rc.seen[id]++
	if !rc.hang {
		rc.ok[id]++
		rc.mu.Unlock()
		rc.notify()
		w.WriteHeader(http.StatusOK)
		return
	}
	rc.hanging++
	rc.mu.Unlock()
	rc.notify()
	select {
	case <-rc.release:
	case <-r.Context().Done(): // the server went away
	}
	rc.mu.Lock()
	rc.hanging--
	rc.mu.Unlock()
	rc.notify()
	w.WriteHeader(http.StatusServiceUnavailable) // no one is listening by now
}

func (rc *crashReceiver) notify() {
	select {
	case rc.changed <- struct{}{}:
	default:
	}
}

// stopHanging makes the receiver answer 200 from now on and lets the hung
// requests return.
func (rc *crashReceiver) stopHanging() {
	rc.mu.Lock()
	rc.hang = false
	rc.mu.Unlock()
	rc.releaseAll()
}

func (rc *crashReceiver) releaseAll() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	select {
	case <-rc.release:
	default:
		close(rc.release)
	}
}

// waitFor returns once cond, called with the receiver locked, holds; it
// fails the test after timeout, describing the state.
func (rc *crashReceiver) waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		rc.mu.Lock()
		done := cond()
		state := fmt.Sprintf("%d requests hanging, %d ids seen, %d answered 200, %d bad", rc.hanging, len(rc.seen), len(rc.ok), len(rc.bad))
		rc.mu.Unlock()
		if done {
			return
		}
		select {
		case <-rc.changed:
		case <-deadline.C:
			t.Fatalf("receiver: not %s after %s: %s", what, timeout, state)
		}
	}
}

// TestWebhooksSurviveSIGKILL kills the server with SIGKILL while webhook
// deliveries are in flight (the receiver hangs) and others are still
// queued, restarts it on the same database and checks that every event
// arrives: the queued ones when the restarted server works its queue, the
// ones in flight when their lease (--webhook-rescue-after) ends.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	const (
		events      = 40
		workers     = 5
		rescueAfter = time.Second
		// Delivery is at least once: the deliveries in flight at the kill
		// reached the receiver before it and are sent again after the
		// restart. More than this many requests for one id is a bug.
		maxPerID = 3
	)
	forEachBackend(t, func(t *testing.T, databaseURL string) {
		began := time.Now()
		rc := newCrashReceiver(t)
		s := startServer(t, databaseURL,
			"--webhook-workers", fmt.Sprint(workers),
			"--webhook-retry-schedule", "200ms,200ms,200ms,200ms,200ms",
			"--webhook-rescue-after", rescueAfter.String())

		code, body := s.post(t, "/v1/agents", s.Key, `{"name": "Crash Test Bot"}`)
		if code != http.StatusOK {
			t.Fatalf("POST /v1/agents = %d %s", code, body)
		}
		var agent struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &agent); err != nil || agent.ID == "" {
			t.Fatalf("POST /v1/agents: no id in %s (%v)", body, err)
		}
		// The project webhook; the agent has none, so its events go here.
		// 5 s is the API's smallest timeout: the hung attempts outlive the
		// process.
		code, body = s.post(t, "/v1/webhooks", s.Key, fmt.Sprintf(`{"url": %q, "timeout": 5}`, rc.URL+"/hook"))
		if code != http.StatusOK {
			t.Fatalf("POST /v1/webhooks = %d %s", code, body)
		}
		var hook struct {
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal([]byte(body), &hook); err != nil || hook.Secret == "" {
			t.Fatalf("POST /v1/webhooks: no secret in %s (%v)", body, err)
		}
		rc.mu.Lock()
		rc.secret = hook.Secret
		rc.mu.Unlock()

		emitted := make([]string, 0, events)
		for i := range events {
			code, body := s.post(t, "/sandbox/v1/webhooks/emit", s.Key, fmt.Sprintf(`{"agentId": %q}`, agent.ID))
			if code != http.StatusOK {
				t.Fatalf("emit %d: %d %s", i+1, code, body)
			}
			var d struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			}
			if err := json.Unmarshal([]byte(body), &d); err != nil || d.ID == "" || d.Status != "pending" {
				t.Fatalf("emit %d: %s (%v), want a pending delivery", i+1, body, err)
			}
			emitted = append(emitted, d.ID)
		}

		// Phase 1: every worker is stuck in an attempt; the other events
		// wait in the queue.
		rc.waitFor(t, fmt.Sprintf("holding %d hung requests", workers), 30*time.Second, func() bool { return rc.hanging >= workers })
		rc.mu.Lock()
		inFlight, seenBefore := rc.hanging, len(rc.seen)
		rc.mu.Unlock()
		if inFlight != workers {
			t.Fatalf("%d requests hanging before the kill, want %d (one per worker)", inFlight, workers)
		}
		s.kill(t)
		killed := time.Now()
		t.Logf("killed with SIGKILL %s after start: %d deliveries in flight, %d of %d events never sent",
			killed.Sub(began).Round(time.Millisecond), inFlight, events-seenBefore, events)

		// Phase 2: the receiver answers 200; a new process on the same
		// database must deliver every event.
		rc.stopHanging()
		s = s.restart(t)
		rc.waitFor(t, fmt.Sprintf("answered 200 for all %d events", events), 60*time.Second, func() bool { return len(rc.ok) >= events })
		t.Logf("all %d events answered 200 %s after the kill", events, time.Since(killed).Round(time.Millisecond))

		// The server records an outcome just after the receiver answers:
		// poll the delivery log until nothing is pending any more.
		var page deliveryPage
		for deadline := time.Now().Add(10 * time.Second); ; {
			page = s.deliveries(t, "/v1/webhooks/deliveries?limit=100")
			pending := 0
			for _, d := range page.Items {
				if d.Status == "pending" {
					pending++
				}
			}
			if pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("delivery log: %d deliveries still pending 10 s after the receiver answered all", pending)
				break
			}
			time.Sleep(50 * time.Millisecond) // polling interval, not a wait for an outcome
		}
		if page.Total != events || len(page.Items) != events {
			t.Errorf("delivery log: total %d, %d items; want %d", page.Total, len(page.Items), events)
		}
		logged := map[string]bool{}
		for _, d := range page.Items {
			logged[d.ID] = true
			if d.Status != "success" {
				t.Errorf("delivery %s: status %s after %d attempts, want success", d.ID, d.Status, d.AttemptCount)
			}
		}

		rc.mu.Lock()
		seen, ok, bad := maps.Clone(rc.seen), maps.Clone(rc.ok), slices.Clone(rc.bad)
		rc.mu.Unlock()
		for _, b := range bad {
			t.Errorf("receiver: %s", b)
		}
		for _, id := range emitted {
			if ok[id] == 0 {
				t.Errorf("delivery %s: never answered 200 (%d requests)", id, seen[id])
			}
			if !logged[id] {
				t.Errorf("delivery %s: not in the delivery log", id)
			}
		}
		requests, dup := 0, 0
		for id, n := range seen {
			if !slices.Contains(emitted, id) {
				t.Errorf("receiver got X-Webhook-ID %s, which no emit returned", id)
			}
			requests += n
			if n > 1 {
				dup++
			}
			if n > maxPerID {
				t.Errorf("delivery %s: %d requests, want at most %d", id, n, maxPerID)
			}
		}
		t.Logf("receiver: %d requests for %d events; %d events sent more than once (%d were in flight at the kill)",
			requests, len(seen), dup, inFlight)
		s.stop(t)
		t.Logf("took %s", time.Since(began).Round(time.Millisecond))
	})
}

// deliveryPage is a page of GET /v1/webhooks/deliveries.
type deliveryPage struct {
	Items []struct {
		ID           string `json:"id"`
		Status       string `json:"status"`
		AttemptCount int    `json:"attemptCount"`
	} `json:"items"`
	Total int `json:"total"`
}

// deliveries gets a page of the delivery log.
func (s *server) deliveries(t *testing.T, path string) deliveryPage {
	t.Helper()
	code, body := s.get(t, path, s.Key)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, code, body)
	}
	var page deliveryPage
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return page
}
