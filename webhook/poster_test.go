package webhook_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
	"github.com/agentphone/agentphone/webhook"
)

func TestPoster(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
		if r.URL.Path == "/busy" {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "thanks")
	}))
	defer srv.Close()
	p := &webhook.Poster{Sender: &webhook.Sender{Client: webhook.NewHTTPClient(webhook.ClientOptions{}), UserAgent: "agentphone/test"}}
	w := &agentphone.Webhook{URL: srv.URL + "/ok", Secret: "whsec_x", Timeout: 5}
	d := &agentphone.Delivery{ID: "dlv_1", EventType: agentphone.EventMessage, Payload: []byte(`{"event":"agent.message"}`)}

	a := p.Post(t.Context(), w, d)
	r, body := <-got, <-bodies
	if !a.OK() || a.Status != 200 || string(a.Body) != "thanks" || a.Retryable {
		t.Fatalf("attempt %+v", a)
	}
	if err := webhook.Verify("whsec_x", r.Header, body, time.Now()); err != nil || r.Header.Get(webhook.HeaderID) != "dlv_1" ||
		r.Header.Get(webhook.HeaderEvent) != "agent.message" || string(body) != string(d.Payload) {
		t.Fatalf("request: verify %v, headers %v, body %s", err, r.Header, body)
	}

	w.URL = srv.URL + "/busy"
	a = p.Post(t.Context(), w, d)
	<-got
	<-bodies
	if a.OK() || !a.Retryable || a.RetryAfter != 3*time.Second || a.Status != 429 {
		t.Fatalf("429 attempt %+v", a)
	}
}

func TestPruner(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t)
			acct := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
			if err := s.CreateAccount(ctx, acct); err != nil {
				t.Fatal(err)
			}
			now := agentphone.Now()
			add := func(status string, age time.Duration) string {
				d := &agentphone.Delivery{ID: agentphone.NewID(agentphone.PrefixDelivery), AccountID: acct.ID,
					EventType: agentphone.EventMessage, Payload: []byte("{}"), Status: status, CreatedAt: now.Add(-age)}
				if err := s.CreateDelivery(ctx, d); err != nil {
					t.Fatal(err)
				}
				return d.ID
			}
			oldOK, oldFailed := add(agentphone.DeliverySuccess, 48*time.Hour), add(agentphone.DeliveryFailed, 48*time.Hour)
			oldPending, recent := add(agentphone.DeliveryPending, 48*time.Hour), add(agentphone.DeliverySuccess, time.Hour)

			p := &webhook.Pruner{Store: s, Retention: 24 * time.Hour, Logger: slog.New(slog.DiscardHandler)}
			n, err := p.PruneOnce(ctx, now)
			if err != nil || n != 2 {
				t.Fatalf("PruneOnce = %d, %v; want 2", n, err)
			}
			for id, kept := range map[string]bool{oldOK: false, oldFailed: false, oldPending: true, recent: true} {
				_, err := s.GetDelivery(ctx, acct.ID, id)
				if (err == nil) != kept {
					t.Errorf("delivery %s kept = %v, want %v", id, err == nil, kept)
				}
			}
		})
	}
}
