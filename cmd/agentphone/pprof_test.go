package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPprof: --pprof-addr serves Go's profiles, and stops with the server.
func TestPprof(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := startPprof(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "TestPprof") {
		t.Fatalf("goroutine profile: %d %.200s", resp.StatusCode, body)
	}
	cancel()
	// The server closes as soon as its goroutine sees ctx end: from then on
	// a request fails.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if _, err := http.Get("http://" + addr.String() + "/debug/pprof/"); err != nil {
			return
		}
	}
	t.Fatal("the pprof server still answers 5 s after its context ended")
}
