// Command loadgen sends HTTP requests at a fixed rate from a fixed number of
// concurrent clients and reports the latency percentiles, for the targets
// stated as "N requests/s at C concurrent clients with p99 < X" (wrk, which
// scripts/bench-api also runs, measures the saturated throughput instead).
//
// The URL and the body may vary per request: loadgen replaces
//
//	{n}  -first plus the request's index modulo -vary, zero-padded to 4
//	     digits (0000…), so that '+1415555{n}' names -vary distinct phones,
//	     each used in turn (scripts/bench-messages: many senders, many
//	     conversations)
//	{i}  the request's index (0, 1, 2…, over all clients)
//
// Consecutive requests (which are in flight together) use different values.
//
// Usage:
//
//	go run ./scripts/bench/loadgen -url http://127.0.0.1:8080/v1/agents -method POST \
//	    -body '{"name":"x"}' -header 'Authorization: Bearer KEY' -rate 1000 -clients 50 -duration 20s
//	go run ./scripts/bench/loadgen -url http://127.0.0.1:8080/sandbox/v1/numbers/ID/inbound -method POST \
//	    -body '{"from":"+1415555{n}","body":"bench {i}"}' -vary 1000 \
//	    -header 'Authorization: Bearer KEY' -rate 500 -clients 50 -duration 20s
//
// It prints one JSON object (rate, clients, sent, errors, achieved rate,
// latency percentiles from each request's scheduled send time, and the count
// of answers per HTTP status, 0 for transport errors). Only loopback targets
// are allowed.
package main

import (
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
	"strconv"
	"strings"
	"sync"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

// result is what one run measured; printed as JSON.
type result struct {
	Rate        float64        `json:"targetRate"`
	Clients     int            `json:"clients"`
	Sent        int            `json:"sent"`
	Errors      int            `json:"errors"` // transport errors and non-2xx answers
	AchievedRPS float64        `json:"achievedRps"`
	P50ms       float64        `json:"p50Ms"`
	P90ms       float64        `json:"p90Ms"`
	P99ms       float64        `json:"p99Ms"`
	MaxMs       float64        `json:"maxMs"`
	Statuses    map[string]int `json:"statuses"`
	FirstError  string         `json:"firstError,omitempty"`
}

func main() {
	var (
		target   = flag.String("url", "", "request URL (loopback only); {n} and {i} are replaced")
		method   = flag.String("method", "GET", "HTTP method")
		body     = flag.String("body", "", "request body; {n} and {i} are replaced")
		vary     = flag.Int("vary", 1000, "distinct values of {n}")
		first    = flag.Int("first", 0, "the first value of {n}; -first + -vary at most 10000")
		rate     = flag.Float64("rate", 1000, "requests per second, all clients together")
		clients  = flag.Int("clients", 50, "concurrent clients, one connection each")
		duration = flag.Duration("duration", 20*time.Second, "how long to send")
		hdrs     headers
	)
	flag.Var(&hdrs, "header", "a request header 'Name: value' (repeatable)")
	flag.Parse()
	if err := run(*target, *method, *body, hdrs, *first, *vary, *rate, *clients, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// template is a string split at its placeholders.
type template struct {
	parts []string // literal text, then a placeholder name ("{n}" or "{i}"), alternately
}

func parseTemplate(s string) template {
	var t template
	for {
		i := strings.IndexByte(s, '{')
		for i >= 0 && !strings.HasPrefix(s[i:], "{n}") && !strings.HasPrefix(s[i:], "{i}") {
			j := strings.IndexByte(s[i+1:], '{')
			if j < 0 {
				i = -1
				break
			}
			i += 1 + j
		}
		if i < 0 {
			t.parts = append(t.parts, s)
			return t
		}
		t.parts = append(t.parts, s[:i], s[i:i+3])
		s = s[i+3:]
	}
}

// expand appends t with the placeholders of request idx to b.
func (t template) expand(b []byte, idx, first, vary int) []byte {
	for k, p := range t.parts {
		switch {
		case k%2 == 0:
			b = append(b, p...)
		case p == "{n}":
			n := first + idx%vary
			b = append(b, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
		default:
			b = strconv.AppendInt(b, int64(idx), 10)
		}
	}
	return b
}

func run(target, method, body string, hdrs headers, first, vary int, rate float64, clients int, duration time.Duration) error {
	urlT := parseTemplate(target)
	u, err := url.Parse(string(urlT.expand(nil, 0, 0, 1)))
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad -url %q", target)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url must name a loopback address, not %s", u.Hostname())
	}
	if rate <= 0 || clients <= 0 || duration <= 0 {
		return errors.New("-rate, -clients and -duration must be positive")
	}
	if first < 0 || vary < 1 || first+vary > 10000 {
		return errors.New("-first must be 0 or more, -vary 1 or more, and -first + -vary at most 10000")
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
	bodyT := parseTemplate(body)

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
		statuses  = map[string]int{}
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
			localStatus := map[int]int{}
			var ub, bb []byte
			offset := time.Duration(int64(interval) * int64(c) / int64(clients))
			for k := 0; ; k++ {
				sched := start.Add(offset + time.Duration(k)*interval)
				if !sched.Before(deadline) {
					break
				}
				idx := k*clients + c
				ub = urlT.expand(ub[:0], idx, first, vary)
				bb = bodyT.expand(bb[:0], idx, first, vary)
				time.Sleep(time.Until(sched))
				req, err := http.NewRequestWithContext(ctx, method, string(ub), strings.NewReader(string(bb)))
				if err != nil {
					return
				}
				req.Header = header.Clone()
				resp, err := client.Do(req)
				code := 0
				if err == nil {
					code = resp.StatusCode
					var answer []byte
					answer, err = io.ReadAll(io.LimitReader(resp.Body, 4096))
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
						err = fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(answer)))
					}
				}
				localStatus[code]++
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
			for code, n := range localStatus {
				statuses[strconv.Itoa(code)] += n
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
	if len(firstErr) > 300 {
		firstErr = firstErr[:300] + "…"
	}
	res := result{
		Rate: rate, Clients: clients, Sent: len(latencies), Errors: errCount,
		AchievedRPS: math.Round(float64(len(latencies)) / elapsed.Seconds()),
		P50ms:       pct(0.50), P90ms: pct(0.90), P99ms: pct(0.99),
		MaxMs:      ms(latencies[len(latencies)-1]),
		Statuses:   statuses,
		FirstError: firstErr,
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// ms returns d in milliseconds, rounded to 0.01 ms.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
