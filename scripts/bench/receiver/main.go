// Command receiver is a webhook receiver for scripts/bench-webhooks. It
// answers every delivery 200 at once and measures, per delivery, the time
// from the envelope's timestamp (set when the event was emitted) to the
// delivery's arrival, so that the figure covers the whole path: the emit's
// transaction, the job queue's poll, the worker and the HTTP request.
//
//	go run ./scripts/bench/receiver -addr 127.0.0.1:0
//
// It prints its URL (http://127.0.0.1:PORT/hook) on the first line of
// stdout and serves, on the same port:
//
//	POST /hook    a delivery (any path but the ones below is taken for one)
//	GET  /stats   JSON: received, distinct (X-Webhook-ID values), duplicates,
//	              p50Ms…maxMs of emit→arrival, perSecond (new distinct
//	              deliveries per second from the first to the last),
//	              windowPerSecond (over the last ?window=N seconds, default 10)
//	POST /reset   forget everything (and resume)
//	POST /pause   hold every delivery, unanswered, until /resume: a backlog
//	              builds in the server's queue, and its drain can be timed
//	POST /resume  answer the held deliveries and go on
//
// Deliveries held by /pause are recorded when they are released. With
// -secret every delivery's signature is checked with webhook.Verify and a
// bad one is answered 401 and counted (badSignature); off by default, as it
// costs an HMAC per delivery.
//
// Only loopback addresses are allowed.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/agentphone/agentphone/webhook"
)

// ringSeconds is how many seconds of per-second counts are kept for
// windowPerSecond.
const ringSeconds = 120

type receiver struct {
	secret string

	mu        sync.Mutex
	gate      chan struct{} // non-nil while paused; closed by resume
	received  int
	badSig    int
	noStamp   int // deliveries without a parsable envelope timestamp
	seen      map[string]struct{}
	latencies []int64 // emit→arrival in µs, one per delivery received
	first     time.Time
	lastNew   time.Time // arrival of the latest new distinct delivery
	ringSec   [ringSeconds]int64
	ringCount [ringSeconds]int
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// stampKey starts the envelope's timestamp. The envelope's fields are
// written in a fixed order with timestamp before data, so the first match
// is the envelope's own.
var stampKey = []byte(`"timestamp":"`)

// emitTime returns the envelope timestamp of body.
func emitTime(body []byte) (time.Time, bool) {
	if i := bytes.Index(body, stampKey); i >= 0 {
		rest := body[i+len(stampKey):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			if t, err := time.Parse(time.RFC3339Nano, string(rest[:j])); err == nil {
				return t, true
			}
		}
	}
	var env struct {
		Timestamp time.Time `json:"timestamp"`
	}
	if json.Unmarshal(body, &env) != nil || env.Timestamp.IsZero() {
		return time.Time{}, false
	}
	return env.Timestamp, true
}

func (rc *receiver) hook(w http.ResponseWriter, r *http.Request) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if _, err := buf.ReadFrom(r.Body); err != nil {
		http.Error(w, "read: "+err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	gate := rc.gate
	rc.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return // the sender gave up; it will retry
		}
	}
	now := time.Now()
	body := buf.Bytes()
	if rc.secret != "" {
		if err := webhook.Verify(rc.secret, r.Header, body, now); err != nil {
			rc.mu.Lock()
			rc.badSig++
			rc.mu.Unlock()
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	emitted, ok := emitTime(body)
	id := r.Header.Get(webhook.HeaderID)

	rc.mu.Lock()
	rc.received++
	if ok {
		rc.latencies = append(rc.latencies, now.Sub(emitted).Microseconds())
	} else {
		rc.noStamp++
	}
	if rc.first.IsZero() {
		rc.first = now
	}
	if _, dup := rc.seen[id]; !dup {
		rc.seen[id] = struct{}{}
		rc.lastNew = now
		sec := now.Unix()
		k := sec % ringSeconds
		if rc.ringSec[k] != sec {
			rc.ringSec[k], rc.ringCount[k] = sec, 0
		}
		rc.ringCount[k]++
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// stats is the body of GET /stats.
type stats struct {
	Received        int     `json:"received"`
	Distinct        int     `json:"distinct"`
	Duplicates      int     `json:"duplicates"`
	BadSignature    int     `json:"badSignature"`
	NoTimestamp     int     `json:"noTimestamp"`
	Held            bool    `json:"paused"`
	P50ms           float64 `json:"p50Ms"`
	P90ms           float64 `json:"p90Ms"`
	P99ms           float64 `json:"p99Ms"`
	MaxMs           float64 `json:"maxMs"`
	PerSecond       float64 `json:"perSecond"`       // distinct, first arrival to the last new one
	SpanSeconds     float64 `json:"spanSeconds"`     // first arrival to the last new one
	Window          int     `json:"windowSeconds"`   // of windowPerSecond
	WindowPerSecond float64 `json:"windowPerSecond"` // distinct, over the last Window whole seconds
	IdleSeconds     float64 `json:"idleSeconds"`     // since the last new delivery; -1 before the first
}

func (rc *receiver) stats(w http.ResponseWriter, r *http.Request) {
	window := 10
	if v := r.URL.Query().Get("window"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n >= ringSeconds {
			http.Error(w, fmt.Sprintf("window: want 1–%d seconds", ringSeconds-1), http.StatusBadRequest)
			return
		}
		window = n
	}
	now := time.Now()
	rc.mu.Lock()
	s := stats{
		Received: rc.received, Distinct: len(rc.seen), Duplicates: rc.received - len(rc.seen),
		BadSignature: rc.badSig, NoTimestamp: rc.noStamp, Held: rc.gate != nil, Window: window, IdleSeconds: -1,
	}
	lat := slices.Clone(rc.latencies)
	first, lastNew := rc.first, rc.lastNew
	// The current second is incomplete: the window is the whole seconds
	// before it.
	cur := now.Unix()
	var inWindow int
	for sec := cur - int64(window); sec < cur; sec++ {
		if k := sec % ringSeconds; rc.ringSec[k] == sec {
			inWindow += rc.ringCount[k]
		}
	}
	rc.mu.Unlock()

	s.WindowPerSecond = float64(inWindow) / float64(window)
	if !first.IsZero() {
		s.IdleSeconds = round2(now.Sub(lastNew).Seconds())
		span := lastNew.Sub(first).Seconds()
		s.SpanSeconds = round2(span)
		if span > 0 && s.Distinct > 1 {
			s.PerSecond = math.Round(float64(s.Distinct-1) / span)
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		pct := func(p float64) float64 {
			i := int(float64(len(lat))*p+0.5) - 1
			return msOf(lat[max(0, min(i, len(lat)-1))])
		}
		s.P50ms, s.P90ms, s.P99ms, s.MaxMs = pct(0.50), pct(0.90), pct(0.99), msOf(lat[len(lat)-1])
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}

func (rc *receiver) reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.gate != nil {
		close(rc.gate)
		rc.gate = nil
	}
	rc.received, rc.badSig, rc.noStamp = 0, 0, 0
	rc.seen = make(map[string]struct{})
	rc.latencies = nil
	rc.first, rc.lastNew = time.Time{}, time.Time{}
	rc.ringSec, rc.ringCount = [ringSeconds]int64{}, [ringSeconds]int{}
}

func (rc *receiver) pause() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.gate == nil {
		rc.gate = make(chan struct{})
	}
}

func (rc *receiver) resume() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.gate != nil {
		close(rc.gate)
		rc.gate = nil
	}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	control := func(f func()) {
		if r.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		f()
		w.WriteHeader(http.StatusNoContent)
	}
	switch r.URL.Path {
	case "/stats":
		rc.stats(w, r)
	case "/reset":
		control(rc.reset)
	case "/pause":
		control(rc.pause)
	case "/resume":
		control(rc.resume)
	default:
		rc.hook(w, r)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback only); port 0 picks a free one")
	secret := flag.String("secret", "", "verify each delivery's signature with this webhook secret (off when empty)")
	flag.Parse()
	if err := run(*addr, *secret); err != nil {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}

func run(addr, secret string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad -addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr must be a loopback address, not %q", host)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	rc := &receiver{secret: secret}
	rc.reset()
	fmt.Printf("http://%s/hook\n", ln.Addr())
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func msOf(us int64) float64    { return math.Round(float64(us)/10) / 100 }
func round2(f float64) float64 { return math.Round(f*100) / 100 }
