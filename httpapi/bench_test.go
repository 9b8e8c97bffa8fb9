package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentphone/agentphone/storetest"
)

// The benchmarks serve through the whole handler (request id, auth against
// the store, metrics, access log formatted as JSON and discarded) on SQLite.
//
//	go test -run '^$' -bench . -benchtime 3s ./httpapi
//
// "handler" calls ServeHTTP with a recorder; "http" goes through a real
// loopback connection with keep-alive, as a client would.

func benchEnv(b *testing.B) *env {
	return newEnv(b, storetest.Backend{Name: "sqlite", Open: storetest.OpenSQLite},
		func(o *envOptions) { o.logTo = io.Discard })
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkGetAgent(b *testing.B) {
	e := benchEnv(b)
	id := e.createAgent(fullAgent())["id"].(string)
	num := e.createNumber(nil)["id"].(string)
	e.do("POST", "/v1/agents/"+id+"/numbers", map[string]any{"numberId": num}).want(200)
	path := "/v1/agents/" + id

	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := httptest.NewRequest("GET", path, nil)
				r.Header.Set("Authorization", "Bearer "+e.key)
				w := httptest.NewRecorder()
				e.srv.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
		reportRate(b)
	})
	b.Run("http", func(b *testing.B) {
		srv := httptest.NewServer(e.srv)
		defer srv.Close()
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("GET", srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+e.key)
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
		reportRate(b)
	})
}

func BenchmarkCreateAgent(b *testing.B) {
	e := benchEnv(b)
	body := `{"name": "Support Bot", "voiceMode": "webhook", "voiceSpeed": 1.1, "language": "en-GB"}`
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("POST", "/v1/agents", strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+e.key)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	reportRate(b)
}
