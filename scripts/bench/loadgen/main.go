// Command loadgen sends HTTP requests at a fixed rate from a fixed number of
// concurrent clients and reports the latency percentiles, for the targets
// stated as "N requests/s at C concurrent clients with p99 < X" (wrk, which
// scripts/bench-api also runs, measures the saturated throughput instead).
//
// Each client owns one keep-alive connection and sends on a fixed schedule
// (rate/clients per second, the clients' schedules interleaved). Latency is
// measured from the scheduled send time, not the actual one, so a stalled
// server is charged for the requests it delayed (no coordinated omission).
//
//	go run ./scripts/bench/loadgen -url http://127.0.0.1:8080/v1/agents -method POST \
//	    -body '{"name":"x"}' -header 'Authorization: Bearer KEY' -rate 1000 -clients 50 -duration 20s
//
// Only loopback targets are allowed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

// result is what one run measured; printed as JSON.
type result struct {
	Rate        float64 `json:"targetRate"`
	Clients     int     `json:"clients"`
	Sent        int     `json:"sent"`
	Errors      int     `json:"errors"` // transport errors and non-2xx answers
	AchievedRPS float64 `json:"achievedRps"`
	P50ms       float64 `json:"p50Ms"`
	P90ms       float64 `json:"p90Ms"`
	P99ms       float64 `json:"p99Ms"`
	MaxMs       float64 `json:"maxMs"`
	FirstError  string  `json:"firstError,omitempty"`
}

func main() {
	var (
		target   = flag.String("url", "", "request URL (loopback only)")
		method   = flag.String("method", "GET", "HTTP method")
		body     = flag.String("body", "", "request body")
		rate     = flag.Float64("rate", 1000, "requests per second, all clients together")
		clients  = flag.Int("clients", 50, "concurrent clients, one connection each")
		duration = flag.Duration("duration", 20*time.Second, "how long to send")
		hdrs     headers
	)
	flag.Var(&hdrs, "header", "a request header 'Name: value' (repeatable)")
	flag.Parse()
	if err := run(*target, *method, *body, hdrs, *rate, *clients, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(target, method, body string, hdrs headers, rate float64, clients int, duration time.Duration) error {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad -url %q", target)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url must name a loopback address, not %s", u.Hostname())
	}
	if rate <= 0 || clients <= 0 || duration <= 0 {
		return errors.New("-rate, -clients and -duration must be positive")
	}
	header := http.Header{}
	for _, h := range hdrs {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("bad -header %q: want 'Name: value'", h)
		}
		header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if body != "" && header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/json")
	}

	interval := time.Duration(float64(time.Second) * float64(clients) / rate) // per client
	start := time.Now().Add(100 * time.Millisecond)
	deadline := start.Add(duration)
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(10*time.Second))
	defer cancel()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		errCount  int
		firstErr  string
		wg        sync.WaitGroup
	)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
			var local []time.Duration
			var localErrs int
			var localFirst string
			offset := time.Duration(int64(interval) * int64(c) / int64(clients))
			for k := 0; ; k++ {
				sched := start.Add(offset + time.Duration(k)*interval)
				if !sched.Before(deadline) {
					break
				}
				time.Sleep(time.Until(sched))
				req, _ := http.NewRequestWithContext(ctx, method, target, bytes.NewReader([]byte(body)))
				req.Header = header.Clone()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				local = append(local, time.Since(sched))
				if err != nil {
					localErrs++
					if localFirst == "" {
						localFirst = err.Error()
					}
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			errCount += localErrs
			if firstErr == "" {
				firstErr = localFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(latencies) == 0 {
		return errors.New("no request was sent")
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		i := int(float64(len(latencies))*p+0.5) - 1
		i = max(0, min(i, len(latencies)-1))
		return ms(latencies[i])
	}
	res := result{
		Rate: rate, Clients: clients, Sent: len(latencies), Errors: errCount,
		AchievedRPS: math.Round(float64(len(latencies)) / elapsed.Seconds()),
		P50ms:       pct(0.50), P90ms: pct(0.90), P99ms: pct(0.99),
		MaxMs:      ms(latencies[len(latencies)-1]),
		FirstError: firstErr,
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// ms returns d in milliseconds, rounded to 0.01 ms.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
