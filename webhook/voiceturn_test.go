package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// guard bounds every wait on an event, so that a broken stream fails the
// test with a message instead of hanging until go test's own time-out.
const guard = 10 * time.Second

func turnRequest(url string) Request {
	return Request{
		URL: url, Secret: "whsec_turn", ID: "dlv_turn", Event: "agent.message",
		Body: []byte(`{"event":"agent.message","channel":"voice","data":{"callId":"call_1","transcript":"where is my order"}}`),
	}
}

// serveBody answers every request with contentType and body.
func serveBody(t *testing.T, contentType, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // as receivers do; net/http notices a client leaving only once the body is read
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func mustTurn(t *testing.T, url string, timeout time.Duration) *ReplyStream {
	t.Helper()
	rs, err := newSender(ClientOptions{}).Turn(context.Background(), turnRequest(url), timeout)
	if err != nil {
		t.Fatalf("Turn: %v", err)
	}
	t.Cleanup(func() { rs.Close() })
	return rs
}

// next calls rs.Next, failing the test if it does not return within guard.
func next(t *testing.T, rs *ReplyStream) (Reply, error) {
	t.Helper()
	type result struct {
		r   Reply
		err error
	}
	ch := make(chan result, 1)
	go func() {
		r, err := rs.Next()
		ch <- result{r, err}
	}()
	select {
	case res := <-ch:
		return res.r, res.err
	case <-time.After(guard):
		t.Fatalf("Next did not return within %s", guard)
		return Reply{}, nil
	}
}

// await fails the test unless ch is closed within guard.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(guard):
		t.Fatalf("%s did not happen within %s", what, guard)
	}
}

// readAll returns every reply and the error that ended the stream.
func readAll(t *testing.T, rs *ReplyStream) ([]Reply, error) {
	t.Helper()
	var out []Reply
	for range 100 {
		r, err := next(t, rs)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	t.Fatal("Next returned more than 100 replies")
	return nil, nil
}

func TestTurn_SingleObjectSigned(t *testing.T) {
	t.Parallel()
	type seen struct {
		h    http.Header
		body []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Clone(), b}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"text": "**Your order** shipped.", "hangup": true, "dtmf": "12#", "extra": {"x": 1}}`)
	}))
	defer srv.Close()

	req := turnRequest(srv.URL + "/voice")
	rs := mustTurn(t, req.URL, 5*time.Second)
	if rs.Status != 200 || rs.Streaming {
		t.Fatalf("Status %d, Streaming %v", rs.Status, rs.Streaming)
	}
	if rs.Start.IsZero() || rs.FirstByte.Before(rs.Start) {
		t.Fatalf("Start %v, FirstByte %v", rs.Start, rs.FirstByte)
	}
	r, err := next(t, rs)
	if err != nil {
		t.Fatal(err)
	}
	want := Reply{Text: "Your order shipped.", Hangup: true, Digits: "12#",
		Raw: []byte(`{"text": "**Your order** shipped.", "hangup": true, "dtmf": "12#", "extra": {"x": 1}}`)}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("reply %+v, want %+v", r, want)
	}
	if _, err := next(t, rs); err != io.EOF {
		t.Fatalf("second Next: %v, want io.EOF", err)
	}
	if len(rs.Invalid) != 0 {
		t.Fatalf("Invalid %q", rs.Invalid)
	}

	s := <-got
	if string(s.body) != string(req.Body) {
		t.Fatalf("body sent %q", s.body)
	}
	if err := Verify(req.Secret, s.h, s.body, time.Now()); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for k, want := range map[string]string{HeaderID: "dlv_turn", HeaderEvent: "agent.message", "Content-Type": "application/json"} {
		if s.h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, s.h.Get(k), want)
		}
	}
	if !strings.Contains(s.h.Get("Accept"), "application/x-ndjson") {
		t.Errorf("Accept = %q", s.h.Get("Accept"))
	}
}

// The interim line reaches the engine while the receiver is still working:
// the receiver writes its final line only after the test has the interim one.
func TestTurn_NDJSONInterimArrivesFirst(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // as receivers do; net/http notices a client leaving only once the body is read
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, `{"text": "Let me check that for you.", "interim": true}`+"\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, `{"text": "Your order 4521 shipped yesterday."}`+"\n")
	}))
	defer srv.Close()

	rs := mustTurn(t, srv.URL, 5*time.Second)
	if !rs.Streaming {
		t.Fatal("Streaming is false for application/x-ndjson")
	}
	r, err := next(t, rs)
	if err != nil || !r.Interim || r.Text != "Let me check that for you." || r.Line != 1 {
		t.Fatalf("first reply %+v, %v", r, err)
	}
	close(release) // only now may the receiver write its final line
	r, err = next(t, rs)
	if err != nil || r.Interim || r.Text != "Your order 4521 shipped yesterday." || r.Line != 2 {
		t.Fatalf("second reply %+v, %v", r, err)
	}
	if _, err := next(t, rs); err != io.EOF {
		t.Fatalf("after the final line: %v, want io.EOF", err)
	}
	if len(rs.Invalid) != 0 {
		t.Fatalf("Invalid %q", rs.Invalid)
	}
}

// After the final line, whether "interim": false or absent, the rest is not
// read and the request is released without Close.
func TestTurn_FinalLineEndsTheReply(t *testing.T) {
	t.Parallel()
	for _, final := range []string{`{"text": "Done.", "interim": false}`, `{"text": "Done."}`} {
		t.Run(final, func(t *testing.T) {
			t.Parallel()
			released := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // as receivers do; net/http notices a client leaving only once the body is read
				w.Header().Set("Content-Type", "application/x-ndjson")
				io.WriteString(w, `{"text": "One moment.", "interim": true}`+"\n"+final+"\n"+`{"text": "never spoken"}`+"\n")
				w.(http.Flusher).Flush()
				// Keep writing until the client goes: only its leaving ends this.
				for {
					select {
					case <-r.Context().Done():
						close(released)
						return
					default:
					}
					if _, err := io.WriteString(w, `{"text": "never spoken either", "interim": true}`+"\n"); err != nil {
						close(released)
						return
					}
					w.(http.Flusher).Flush()
				}
			}))
			defer srv.Close()

			rs, err := newSender(ClientOptions{}).Turn(context.Background(), turnRequest(srv.URL), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			replies, err := readAll(t, rs)
			if err != io.EOF {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			if len(replies) != 2 || !replies[0].Interim || replies[1].Interim || replies[1].Text != "Done." {
				t.Fatalf("replies %+v", replies)
			}
			await(t, released, "the receiver seeing the request abandoned")
		})
	}
}

func TestTurn_NDJSONContentTypes(t *testing.T) {
	t.Parallel()
	body := `{"text": "a", "interim": true}` + "\n" + `{"text": "b"}`
	for ct, streaming := range map[string]bool{
		"application/x-ndjson":                true,
		"Application/X-NDJSON; charset=utf-8": true,
		"application/jsonl":                   true,
		"application/jsonlines":               true,
		"application/stream+json":             true,
		"application/json":                    false,
		"application/json-seq":                false,
		"text/plain":                          false,
		"":                                    false,
	} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			rs := mustTurn(t, serveBody(t, ct, body).URL, 5*time.Second)
			if rs.Streaming != streaming {
				t.Fatalf("Streaming = %v, want %v", rs.Streaming, streaming)
			}
			replies, err := readAll(t, rs)
			if err != io.EOF {
				t.Fatal(err)
			}
			if streaming {
				if len(replies) != 2 || replies[1].Text != "b" {
					t.Fatalf("replies %+v", replies)
				}
				return
			}
			// Not NDJSON: one object expected, two lines are not one.
			if len(replies) != 1 || !reflect.DeepEqual(replies[0], Reply{}) {
				t.Fatalf("replies %+v", replies)
			}
			if len(rs.Invalid) != 1 || !strings.HasPrefix(rs.Invalid[0], "reply body is not valid JSON: ") {
				t.Fatalf("Invalid %q", rs.Invalid)
			}
		})
	}
}

func TestTurn_NDJSONInvalidLinesSkipped(t *testing.T) {
	t.Parallel()
	body := strings.Join([]string{
		"",                                    // 1: empty, skipped silently
		"42",                                  // 2
		`"hello"`,                             // 3
		`[{"text": "in an array"}]`,           // 4
		`{"text": "unterminated`,              // 5
		"   ",                                 // 6: blank, skipped silently
		`{"text": 5, "interim": true}`,        // 7: an interim reply without text
		`null`,                                // 8
		"\r",                                  // 9: CRLF blank line
		`{"text": "Here you go.", "x": true}`, // 10: final
	}, "\n")
	rs := mustTurn(t, serveBody(t, "application/x-ndjson", body).URL, 5*time.Second)
	replies, err := readAll(t, rs)
	if err != io.EOF {
		t.Fatal(err)
	}
	if len(replies) != 2 {
		t.Fatalf("replies %+v", replies)
	}
	if r := replies[0]; !r.Interim || r.Text != "" || r.Line != 7 {
		t.Fatalf("first reply %+v", r)
	}
	if r := replies[1]; r.Interim || r.Text != "Here you go." || r.Line != 10 {
		t.Fatalf("second reply %+v", r)
	}
	want := []string{
		`reply line 2 is not a JSON object: "42"`,
		`reply line 3 is not a JSON object: "\"hello\""`,
		`reply line 4 is not a JSON object: "[{\"text\": \"in an array\"}]"`,
		`reply line 5 is not valid JSON: "{\"text\": \"unterminated"`,
		`reply line 7: field "text" is a number, not a string; ignored`,
		`reply line 8 is not a JSON object: "null"`,
	}
	if !reflect.DeepEqual(rs.Invalid, want) {
		t.Fatalf("Invalid\n%q\nwant\n%q", rs.Invalid, want)
	}
}

func TestTurn_NDJSONWithoutFinalLine(t *testing.T) {
	t.Parallel()
	t.Run("interim then end", func(t *testing.T) {
		t.Parallel()
		rs := mustTurn(t, serveBody(t, "application/x-ndjson", `{"text": "Still here.", "interim": true}`).URL, 5*time.Second)
		replies, err := readAll(t, rs)
		if err != io.EOF || len(replies) != 1 || replies[0].Text != "Still here." || !replies[0].Interim {
			t.Fatalf("replies %+v, %v", replies, err)
		}
		if want := []string{"reply stream ended without a final line"}; !reflect.DeepEqual(rs.Invalid, want) {
			t.Fatalf("Invalid %q", rs.Invalid)
		}
	})
	t.Run("empty body", func(t *testing.T) {
		t.Parallel()
		rs := mustTurn(t, serveBody(t, "application/x-ndjson", "").URL, 5*time.Second)
		if replies, err := readAll(t, rs); err != io.EOF || len(replies) != 0 {
			t.Fatalf("replies %+v, %v", replies, err)
		}
	})
}

func TestTurn_SingleObjectNotAnObject(t *testing.T) {
	t.Parallel()
	for body, invalid := range map[string]string{
		`"Hello there"`:            `reply body is not a JSON object: "\"Hello there\""`,
		`[1, 2]`:                   `reply body is not a JSON object: "[1, 2]"`,
		`12`:                       `reply body is not a JSON object: "12"`,
		`Hello, plain text`:        `reply body is not valid JSON: "Hello, plain text"`,
		"":                         "reply body is empty",
		"  \n ":                    "reply body is empty",
		`{"text": "hi"} {"x": 1}`:  `reply body is not valid JSON: "{\"text\": \"hi\"} {\"x\": 1}"`,
		strings.Repeat(" ", 70000): "reply body is larger than 64 KiB; ignored",
	} {
		t.Run(fmt.Sprintf("%.20q", body), func(t *testing.T) {
			t.Parallel()
			rs := mustTurn(t, serveBody(t, "application/json", body).URL, 5*time.Second)
			replies, err := readAll(t, rs)
			if err != io.EOF || len(replies) != 1 || !reflect.DeepEqual(replies[0], Reply{}) {
				t.Fatalf("replies %+v, %v: want one empty reply (silence)", replies, err)
			}
			if len(rs.Invalid) != 1 || rs.Invalid[0] != invalid {
				t.Fatalf("Invalid %q, want %q", rs.Invalid, invalid)
			}
		})
	}
}

func TestTurn_SingleObjectInterimIsFinal(t *testing.T) {
	t.Parallel()
	rs := mustTurn(t, serveBody(t, "application/json", `{"text": "Hi", "interim": true}`).URL, 5*time.Second)
	r, err := next(t, rs)
	if err != nil || r.Interim || r.Text != "Hi" {
		t.Fatalf("reply %+v, %v", r, err)
	}
	if len(rs.Invalid) != 1 || !strings.Contains(rs.Invalid[0], "only in NDJSON") {
		t.Fatalf("Invalid %q", rs.Invalid)
	}
}

func TestTurn_NDJSONLimits(t *testing.T) {
	t.Parallel()
	t.Run("long line skipped", func(t *testing.T) {
		t.Parallel()
		long := `{"text": "` + strings.Repeat("a", MaxReplyLine) + `", "interim": true}`
		body := long + "\n" + `{"text": "ok", "interim": true}` + "\n" + long + "\n" + `{"text": "end"}`
		rs := mustTurn(t, serveBody(t, "application/x-ndjson", body).URL, 5*time.Second)
		replies, err := readAll(t, rs)
		if err != io.EOF || len(replies) != 2 || replies[0].Text != "ok" || replies[1].Text != "end" || replies[1].Line != 4 {
			t.Fatalf("replies %+v, %v", replies, err)
		}
		want := []string{"reply line 1 is longer than 64 KiB; skipped", "reply line 3 is longer than 64 KiB; skipped"}
		if !reflect.DeepEqual(rs.Invalid, want) {
			t.Fatalf("Invalid %q", rs.Invalid)
		}
	})
	t.Run("line of exactly the limit", func(t *testing.T) {
		t.Parallel()
		pad := MaxReplyLine - len(`{"text": "", "interim": true}`)
		body := `{"text": "` + strings.Repeat("b", pad) + `", "interim": true}` + "\n" + `{}`
		rs := mustTurn(t, serveBody(t, "application/x-ndjson", body).URL, 5*time.Second)
		replies, err := readAll(t, rs)
		if err != io.EOF || len(replies) != 2 || len(replies[0].Text) != pad {
			t.Fatalf("%d replies, %v, Invalid %q", len(replies), err, rs.Invalid)
		}
	})
	t.Run("whole stream bounded", func(t *testing.T) {
		t.Parallel()
		line := `{"text": "` + strings.Repeat("c", 60<<10) + `", "interim": true}` + "\n"
		rs := mustTurn(t, serveBody(t, "application/x-ndjson", strings.Repeat(line, 40)).URL, 5*time.Second)
		replies, err := readAll(t, rs)
		if !errors.Is(err, ErrReplyTooLarge) {
			t.Fatalf("stream ended with %v, want ErrReplyTooLarge", err)
		}
		if n := len(replies); n != MaxReplyStream/len(line) {
			t.Fatalf("%d replies before the limit, want %d", n, MaxReplyStream/len(line))
		}
		if _, err2 := rs.Next(); err2 != err {
			t.Fatalf("Next after the end: %v, want the same %v", err2, err)
		}
	})
}

func TestTurn_Rejected(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error": "upstream down"}`)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, strings.Repeat("x", 10000))
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := newSender(ClientOptions{})

	_, err := s.Turn(context.Background(), turnRequest(srv.URL+"/500"), 5*time.Second)
	var te *TurnError
	if !errors.As(err, &te) || te.Failure != TurnRejected || te.Status != 500 || string(te.Body) != `{"error": "upstream down"}` {
		t.Fatalf("error %#v", err)
	}
	if want := `webhook: receiver answered 500 Internal Server Error: "{\"error\": \"upstream down\"}"`; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}

	_, err = s.Turn(context.Background(), turnRequest(srv.URL+"/big"), 5*time.Second)
	if !errors.As(err, &te) || te.Status != 502 || len(te.Body) != MaxResponseBody {
		t.Fatalf("error %v", err)
	}
	if msg := err.Error(); !strings.HasSuffix(msg, `"…`) || len(msg) > 300 {
		t.Fatalf("message not cut short: %q", msg)
	}

	_, err = s.Turn(context.Background(), turnRequest(srv.URL+"/moved"), 5*time.Second)
	if !errors.As(err, &te) || te.Failure != TurnRejected || te.Status != 301 {
		t.Fatalf("redirect: %v", err)
	}
}

// The timeout bounds the wait for the answer to start, and the receiver sees
// the abandoned request.
func TestTurn_NoAnswerWithinTimeout(t *testing.T) {
	t.Parallel()
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // as receivers do; net/http notices a client leaving only once the body is read
		<-r.Context().Done()
		close(gone)
	}))
	defer srv.Close()

	const timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := newSender(ClientOptions{}).Turn(context.Background(), turnRequest(srv.URL), timeout)
	elapsed := time.Since(start)
	var te *TurnError
	if !errors.As(err, &te) || te.Failure != TurnNoAnswer || te.Timeout != timeout {
		t.Fatalf("error %v", err)
	}
	if err.Error() != "webhook: no answer within 100ms" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("message %q", err)
	}
	if elapsed < timeout || elapsed > guard/2 {
		t.Fatalf("gave up after %s, timeout %s", elapsed, timeout)
	}
	await(t, gone, "the receiver seeing the request abandoned")
}

// Once the headers are in, the timeout no longer applies: a receiver may
// work for longer than it before its lines (spec §16.3).
func TestTurn_SlowStreamNotCutByTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 50 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // as receivers do; net/http notices a client leaving only once the body is read
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		// Elapsed time is what is tested here: the lines come well after
		// the timeout, which must have passed unseen.
		for i, line := range []string{`{"text": "Checking.", "interim": true}`, `{"text": "Found it."}`} {
			select {
			case <-time.After(4 * timeout):
			case <-r.Context().Done():
				return
			}
			fmt.Fprintln(w, line)
			if i == 0 {
				w.(http.Flusher).Flush()
			}
		}
	}))
	defer srv.Close()

	rs := mustTurn(t, srv.URL, timeout)
	replies, err := readAll(t, rs)
	if err != io.EOF || len(replies) != 2 || replies[1].Text != "Found it." {
		t.Fatalf("replies %+v, %v", replies, err)
	}
	// The lines took 8 timeouts to come; the clocks of the two ends differ
	// by the headers' way, so the check leaves room.
	if d := time.Since(rs.FirstByte); d < 6*timeout {
		t.Fatalf("the stream took %s after its headers; the test proves nothing", d)
	}
}

// Close (a barge-in) abandons the stream: a Next waiting for a line returns,
// and the receiver's request context ends.
func TestReplyStream_CloseCancelsTheRequest(t *testing.T) {
	t.Parallel()
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // as receivers do; net/http notices a client leaving only once the body is read
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, `{"text": "Let me look.", "interim": true}`+"\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(gone)
	}))
	defer srv.Close()

	rs := mustTurn(t, srv.URL, 5*time.Second)
	if r, err := next(t, rs); err != nil || !r.Interim {
		t.Fatalf("first reply %+v, %v", r, err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := rs.Next() // blocks: the receiver sends nothing more
		waiting <- err
	}()
	if err := rs.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waiting:
		if !errors.Is(err, ErrReplyClosed) {
			t.Fatalf("waiting Next: %v, want ErrReplyClosed", err)
		}
	case <-time.After(guard):
		t.Fatal("Close did not wake the waiting Next")
	}
	await(t, gone, "the receiver seeing the request cancelled")
	if _, err := rs.Next(); !errors.Is(err, ErrReplyClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if err := rs.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Close after the final reply changes nothing: the stream had ended.
func TestReplyStream_CloseAfterEnd(t *testing.T) {
	t.Parallel()
	rs := mustTurn(t, serveBody(t, "application/json", `{"text": "bye", "action": "hangup"}`).URL, 5*time.Second)
	if r, err := next(t, rs); err != nil || !r.Hangup {
		t.Fatalf("reply %+v, %v", r, err)
	}
	rs.Close()
	if _, err := rs.Next(); err != io.EOF {
		t.Fatalf("Next: %v, want io.EOF", err)
	}
}

func TestTurn_ConnectionFailures(t *testing.T) {
	t.Parallel()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = newSender(ClientOptions{}).Turn(context.Background(), turnRequest("http://"+addr+"/voice"), 5*time.Second)
		var te *TurnError
		if !errors.As(err, &te) || te.Failure != TurnUnreachable || !strings.HasPrefix(err.Error(), "webhook: cannot reach the receiver: ") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("blocked destination", func(t *testing.T) {
		t.Parallel()
		srv := serveBody(t, "application/json", `{}`)
		_, err := newSender(ClientOptions{BlockPrivate: true}).Turn(context.Background(), turnRequest(srv.URL), 5*time.Second)
		var te *TurnError
		if !errors.As(err, &te) || te.Failure != TurnUnreachable || !errors.Is(err, ErrBlockedDestination) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("bad url", func(t *testing.T) {
		t.Parallel()
		_, err := newSender(ClientOptions{}).Turn(context.Background(), turnRequest("http://[::1"), 5*time.Second)
		var te *TurnError
		if !errors.As(err, &te) || te.Failure != TurnBadURL || !strings.HasPrefix(err.Error(), "webhook: request to ") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		t.Parallel()
		srv := serveBody(t, "application/json", `{}`)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newSender(ClientOptions{}).Turn(ctx, turnRequest(srv.URL), 5*time.Second)
		var te *TurnError
		if !errors.As(err, &te) || te.Failure != TurnCanceled || !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("broken mid-stream", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // as receivers do; net/http notices a client leaving only once the body is read
			w.Header().Set("Content-Type", "application/x-ndjson")
			io.WriteString(w, `{"text": "Hold on.", "interim": true}`+"\n"+`{"text": "cut sh`)
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drops the connection
		}))
		defer srv.Close()
		rs := mustTurn(t, srv.URL, 5*time.Second)
		replies, err := readAll(t, rs)
		if len(replies) != 1 || err == io.EOF || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("replies %+v, %v: want one reply then a broken stream", replies, err)
		}
	})
	t.Run("caller's context ends mid-stream", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // as receivers do; net/http notices a client leaving only once the body is read
			w.Header().Set("Content-Type", "application/x-ndjson")
			io.WriteString(w, `{"text": "Hold on.", "interim": true}`+"\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}))
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rs, err := newSender(ClientOptions{}).Turn(ctx, turnRequest(srv.URL), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		if _, err := next(t, rs); err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := next(t, rs); !errors.Is(err, context.Canceled) {
			t.Fatalf("Next: %v, want context.Canceled", err)
		}
	})
}

func TestReply_Fields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		want     Reply
		problems []string
	}{
		{in: `{}`},
		{in: `{"text": null, "hangup": null, "digits": null}`},
		{in: `{"text": "Goodbye!", "hangup": true}`, want: Reply{Text: "Goodbye!", Hangup: true}},
		{in: `{"text": "Bye", "action": "hangup"}`, want: Reply{Text: "Bye", Hangup: true}},
		{in: `{"text": "Connecting you.", "action": "transfer"}`, want: Reply{Text: "Connecting you.", Transfer: true}},
		{in: `{"action": " Transfer "}`, want: Reply{Transfer: true}},
		{in: `{"action": "dance"}`, problems: []string{`unknown action "dance"; ignored`}},
		{in: `{"action": 3}`, problems: []string{`field "action" is a number, not a string; ignored`}},
		{in: `{"text": "Hi", "interim": true}`, want: Reply{Text: "Hi", Interim: true}},
		{in: `{"interim": "true"}`, want: Reply{Interim: true}, problems: []string{`field "interim" is the string "true", not a boolean; read as true`}},
		{in: `{"interim": 1}`, problems: []string{`field "interim" is a number, not a boolean; ignored`}},
		{in: `{"hangup": "yes"}`, problems: []string{`field "hangup" is a string, not a boolean; ignored`}},
		{in: `{"hangup": false, "action": "hangup"}`, want: Reply{Hangup: true}},
		{in: `{"text": 5}`, problems: []string{`field "text" is a number, not a string; ignored`}},
		{in: `{"text": ["a"]}`, problems: []string{`field "text" is an array, not a string; ignored`}},
		{in: `{"text": "  __Hello__  there "}`, want: Reply{Text: "Hello there"}},
		{in: `{"digits": "1234#"}`, want: Reply{Digits: "1234#"}},
		{in: `{"press_digit": "*9"}`, want: Reply{Digits: "*9"}},
		{in: `{"dtmf": "a b C d"}`, want: Reply{Digits: "ABCD"}},
		{in: `{"digits": 4521}`, want: Reply{Digits: "4521"}},
		{in: `{"digits": 0}`, want: Reply{Digits: "0"}},
		{in: `{"digits": "1-800 x5"}`, want: Reply{Digits: "18005"}, problems: []string{`field "digits": kept only the keys 0-9 * # A-D of "\"1-800 x5\""`}},
		{in: `{"digits": 1.5}`, problems: []string{`field "digits" is a number, not a string of keys; ignored`}},
		{in: `{"digits": -3}`, problems: []string{`field "digits" is a number, not a string of keys; ignored`}},
		{in: `{"digits": true}`, problems: []string{`field "digits" is a boolean, not a string of keys; ignored`}},
		{in: `{"digits": "", "dtmf": "5"}`, want: Reply{Digits: "5"}},
		{in: `{"digits": "1", "dtmf": "2", "press_digit": "3"}`, want: Reply{Digits: "1"}},
		{in: `{"Text": "case matters", "unknown": {"deep": [1, 2]}}`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, problems, ok := parseReply([]byte(tc.in))
			if !ok {
				t.Fatalf("not an object: %q", problems)
			}
			tc.want.Raw = []byte(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if !reflect.DeepEqual(problems, tc.problems) {
				t.Fatalf("problems %q, want %q", problems, tc.problems)
			}
		})
	}
}

func TestTurnError_Messages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  *TurnError
		want string
	}{
		{&TurnError{Failure: TurnNoAnswer, Timeout: 30 * time.Second}, "webhook: no answer within 30s"},
		{&TurnError{Failure: TurnRejected, Status: 404}, "webhook: receiver answered 404 Not Found"},
		{&TurnError{Failure: TurnRejected, Status: 599, Body: []byte("x\ny")}, `webhook: receiver answered 599: "x\ny"`},
		{&TurnError{Failure: TurnCanceled, Err: context.Canceled}, "webhook: turn abandoned before the answer: context canceled"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	if TurnNoAnswer.String() != "no answer" || TurnFailure(42).String() != "TurnFailure(42)" {
		t.Error("TurnFailure.String")
	}
}

func TestCleanSpeech(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Hello there.", "Hello there."},
		{"Hello **world**!", "Hello world!"},
		{"__Bold__ and _italic_ and *it* and ***both*** and ~~old~~", "Bold and italic and it and both and old"},
		{"**Note:** read *this*, then `npm install`.", "Note: read this, then npm install."},
		{"```json\n{\"a\": 1}\n```\nDone.", `{"a": 1} Done.`},
		{"# Order status\nIt shipped.", "Order status It shipped."},
		{"## Steps ##\n1. First\n2. Second", "Steps 1. First 2. Second"},
		{"- one\n- two\n  * three\n+ four\n• five", "one two three four five"},
		{"> Quoted text\n---\nAfter the rule", "Quoted text After the rule"},
		{"Title\n=====\nBody", "Title Body"},
		{"See [our site](https://example.com/a_(b)) today.", "See our site today."},
		{"![logo](https://x.test/l.png \"Logo\") Welcome", "logo Welcome"},
		{"Sure.<function_call>{\"name\": \"lookup\"}</function_call> One moment.", "Sure. One moment."},
		{"<tool_call>\n{\"name\": \"get_order\", \"arguments\": {\"id\": 4521}}\n</tool_call>Your order shipped.", "Your order shipped."},
		{"<function_calls><invoke name=\"x\"><parameter name=\"y\">1</parameter></invoke></function_calls>Done", "Done"},
		{"Let me check <TOOL_CALL>{\"name\": \"x\"", "Let me check"},
		{"<think>The user wants a refund.</think>Sure, I can help.", "Sure, I can help."},
		{"<function=get_weather>{\"city\": \"Paris\"}</function>It is sunny.", "It is sunny."},
		{"Wait<tool_call name=\"ping\"/>, done", "Wait , done"},
		{"<speak>Hello <break time=\"1s\"/> there</speak>", "Hello there"},
		{"<p>One</p><p>Two</p>", "One Two"},
		{"It is <b>very</b>, <em>very</em> good", "It is very, very good"},
		{"<|python_tag|>Hi<|eot_id|>", "Hi"},
		{"<!-- hidden -->Shown", "Shown"},
		{"Visit <https://example.com> or mail <jane@example.com>.", "Visit https://example.com or mail jane@example.com."},
		{"  lots   of\n\n white\tspace ", "lots of white space"},
		// Ordinary text survives.
		{"5 * 3 = 15", "5 * 3 = 15"},
		{"5*3 and 2*4", "5*3 and 2*4"},
		{"2**10 is 1024", "2**10 is 1024"},
		{"I love C# and F#", "I love C# and F#"},
		{"#1 fan", "#1 fan"},
		{"We're #1!", "We're #1!"},
		{"Mail john_doe@example.com, it's snake_case_name", "Mail john_doe@example.com, it's snake_case_name"},
		{"5 < 6 and 7 > 3", "5 < 6 and 7 > 3"},
		{"if x<y and y>z", "if x<y and y>z"},
		{"I <3 you", "I <3 you"},
		{"-5 degrees", "-5 degrees"},
		{"It costs $5 - $10", "It costs $5 - $10"},
		{"~5 minutes", "~5 minutes"},
		{"A * B", "A * B"},
		{"__init__ method", "init method"},
		{"Café **crème**", "Café crème"},
	} {
		if got := CleanSpeech(tc.in); got != tc.want {
			t.Errorf("CleanSpeech(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
