package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func newSender(o ClientOptions) *Sender {
	return &Sender{Client: NewHTTPClient(o), UserAgent: "agentphone/test"}
}

func TestSender_SignedRequest(t *testing.T) {
	t.Parallel()
	type seen struct {
		h    http.Header
		body []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	body := []byte(`{"event":"agent.message","channel":"sms","data":{}}`)
	res := newSender(ClientOptions{}).Send(context.Background(), Request{
		URL: srv.URL + "/hook", Secret: "whsec_abc", ID: "dlv_1", Event: "agent.message", Body: body,
	}, 5*time.Second)
	if !res.OK() || res.Status != 204 {
		t.Fatalf("result %+v", res)
	}
	s := <-got
	if string(s.body) != string(body) {
		t.Fatalf("body %q", s.body)
	}
	for k, want := range map[string]string{
		"Content-Type": "application/json", "User-Agent": "agentphone/test",
		HeaderID: "dlv_1", HeaderEvent: "agent.message",
	} {
		if s.h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, s.h.Get(k), want)
		}
	}
	if err := Verify("whsec_abc", s.h, s.body, time.Now()); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// And by hand, as a receiver in another language would.
	m := hmac.New(sha256.New, []byte("whsec_abc"))
	m.Write([]byte(s.h.Get(HeaderTimestamp) + "." + string(s.body)))
	if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); s.h.Get(HeaderSignature) != want {
		t.Fatalf("signature %s, want %s", s.h.Get(HeaderSignature), want)
	}
	ts, _ := strconv.ParseInt(s.h.Get(HeaderTimestamp), 10, 64)
	if d := time.Since(time.Unix(ts, 0)); d < -time.Second || d > 5*time.Second {
		t.Fatalf("timestamp %d is not now", ts)
	}
}

func TestSender_Outcomes(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	for _, code := range []int{200, 202, 301, 400, 404, 408, 410, 429, 500, 502, 503} {
		mux.HandleFunc("/"+strconv.Itoa(code), func(w http.ResponseWriter, r *http.Request) {
			if code == 301 {
				http.Redirect(w, r, "/redirected", code)
				return
			}
			w.WriteHeader(code)
		})
	}
	var redirected atomic.Bool
	mux.HandleFunc("/redirected", func(http.ResponseWriter, *http.Request) { redirected.Store(true) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := newSender(ClientOptions{})
	tests := []struct {
		code          int
		ok, retryable bool
	}{
		{200, true, false}, {202, true, false}, {301, false, false}, {400, false, false}, {404, false, false},
		{408, false, true}, {410, false, false}, {429, false, true}, {500, false, true}, {502, false, true}, {503, false, true},
	}
	for _, tt := range tests {
		res := s.Send(context.Background(), Request{URL: srv.URL + "/" + strconv.Itoa(tt.code), Secret: "s", ID: "d"}, 5*time.Second)
		if res.Status != tt.code || res.OK() != tt.ok || res.Retryable() != tt.retryable {
			t.Errorf("%d: status %d ok %v retryable %v, want ok %v retryable %v (err %v)",
				tt.code, res.Status, res.OK(), res.Retryable(), tt.ok, tt.retryable, res.Err)
		}
	}
	if redirected.Load() {
		t.Error("a redirect was followed")
	}
}

func TestSender_RetryAfterAndBodyCap(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/seconds":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/date":
			w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/big":
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, strings.Repeat("x", 3*MaxResponseBody))
		}
	}))
	defer srv.Close()
	s := newSender(ClientOptions{})
	send := func(path string) Result {
		return s.Send(context.Background(), Request{URL: srv.URL + path, Secret: "s", ID: "d"}, 5*time.Second)
	}
	if r := send("/seconds"); r.RetryAfter != 7*time.Second || !r.Retryable() {
		t.Errorf("Retry-After seconds: %+v", r)
	}
	if r := send("/date"); r.RetryAfter < 80*time.Second || r.RetryAfter > 91*time.Second {
		t.Errorf("Retry-After date: %v", r.RetryAfter)
	}
	if r := send("/big"); len(r.Body) != MaxResponseBody || r.Status != 500 {
		t.Errorf("body of %d bytes kept, status %d; want %d", len(r.Body), r.Status, MaxResponseBody)
	}
}

func TestSender_Timeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	res := newSender(ClientOptions{}).Send(context.Background(), Request{URL: srv.URL, Secret: "s", ID: "d"}, 50*time.Millisecond)
	if res.Err == nil || !errors.Is(res.Err, context.DeadlineExceeded) || !res.Retryable() || res.Status != 0 {
		t.Fatalf("result %+v, want a retryable time-out", res)
	}
}

func TestSender_ConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res := newSender(ClientOptions{}).Send(context.Background(), Request{URL: "http://" + addr, Secret: "s", ID: "d"}, time.Second)
	if res.Err == nil || !res.Retryable() {
		t.Fatalf("result %+v, want a retryable connection error", res)
	}
	res = newSender(ClientOptions{}).Send(context.Background(), Request{URL: "http://[::1", Secret: "s", ID: "d"}, time.Second)
	if res.Err == nil || res.Retryable() {
		t.Fatalf("malformed URL: %+v, want a final error", res)
	}
}

func TestBlockPrivate(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	blocked := newSender(ClientOptions{BlockPrivate: true}).Send(context.Background(), Request{URL: srv.URL, Secret: "s", ID: "d"}, time.Second)
	if !errors.Is(blocked.Err, ErrBlockedDestination) || blocked.Retryable() {
		t.Fatalf("loopback with BlockPrivate: %+v", blocked)
	}
	// A name that resolves to loopback is refused as well.
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if r := newSender(ClientOptions{BlockPrivate: true}).Send(context.Background(), Request{URL: u, Secret: "s", ID: "d"}, time.Second); !errors.Is(r.Err, ErrBlockedDestination) {
		t.Fatalf("localhost with BlockPrivate: %+v", r)
	}
	if r := newSender(ClientOptions{}).Send(context.Background(), Request{URL: srv.URL, Secret: "s", ID: "d"}, time.Second); !r.OK() {
		t.Fatalf("loopback by default: %+v", r)
	}

	for addr, public := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1111": true, "127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false,
		"192.168.1.1": false, "169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "::1": false,
		"fe80::1": false, "fd00::1": false, "::ffff:127.0.0.1": false, "224.0.0.1": false,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != public {
			t.Errorf("publicAddr(%s) = %v, want %v", addr, got, public)
		}
	}
}
