package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"
)

// MaxBodyBytes is the largest request body the API reads (1 MiB).
const MaxBodyBytes = 1 << 20

// Canonical header keys, set directly in the header map to skip
// canonicalisation on the hot path.
const (
	hdrRequestID     = "X-Request-Id"
	hdrContentType   = "Content-Type"
	hdrContentLength = "Content-Length"
)

// requestState is what the server knows about one request. It is allocated
// once per request, lives in the request's context and doubles as the
// ResponseWriter handed to the routes, so that status and size are recorded
// without another allocation.
type requestState struct {
	id        string
	accountID string // the (sub-)account the request acts on, once authenticated
	rw        responseWriter
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// RequestID returns the id of the API request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.id
	}
	return ""
}

// ServeHTTP implements http.Handler: it assigns the request id, recovers
// from panics, routes, and records the access log line and metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	st := &requestState{id: requestID(r.Header.Get(hdrRequestID))}
	st.rw.ResponseWriter = w
	w.Header()[hdrRequestID] = []string{st.id}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	// The mux records the matched pattern in r.Pattern of this very request;
	// the writer reads it to recognise the mux's own 404 and 405 answers.
	st.rw.req = r
	defer func() {
		v := recover()
		if v == nil {
			s.finish(r, st, start)
			return
		}
		if v != http.ErrAbortHandler {
			s.logger.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
		}
		if v == http.ErrAbortHandler || st.rw.status != 0 {
			// Too late for an error response: let net/http abort the
			// connection rather than end a truncated body as if complete.
			s.finish(r, st, start)
			panic(http.ErrAbortHandler)
		}
		s.writeJSON(&st.rw, r, http.StatusInternalServerError, internalErrorBody)
		s.finish(r, st, start)
	}()
	s.mux.ServeHTTP(&st.rw, r)
}

// finish writes the access log line and the metrics of a request.
func (s *Server) finish(r *http.Request, st *requestState, start time.Time) {
	d := time.Since(start)
	status := st.rw.status
	if status == 0 {
		status = http.StatusOK // nothing written: net/http answers 200
	}
	route := routeLabel(r.Pattern)
	s.metrics.observe(r.Method, route, status, d)
	attrs := [...]slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int64("bytes", st.rw.bytes),
		slog.String("account_id", st.accountID),
	}
	n := len(attrs)
	if st.accountID == "" {
		n-- // not authenticated
	}
	s.logger.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs[:n]...)
}

// requestID returns the client's X-Request-Id when it is sane (1–128
// characters of a conservative set), else a new random id.
func requestID(in string) string {
	if n := len(in); n > 0 && n <= 128 {
		ok := true
		for i := 0; i < n && ok; i++ {
			c := in[i]
			ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=' || c == '@'
		}
		if ok {
			return in
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return hex.EncodeToString(b[:])
}

// limitBody rejects a request whose declared body exceeds MaxBodyBytes with
// 413 and caps the bytes read from any other (the decoder turns a cap hit
// into the same 413).
func limitBody(h http.Handler, s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			s.writeError(w, r, errBodyTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		h.ServeHTTP(w, r)
	})
}

// responseWriter records the status and size of a response, and replaces
// the plain-text 404 and 405 answers of the ServeMux with JSON bodies.
type responseWriter struct {
	http.ResponseWriter
	req     *http.Request // the routed request; Pattern "" means no route matched
	status  int
	bytes   int64
	discard bool // the mux's own text body is being dropped
}

var (
	notFoundBody         = []byte(`{"detail":"Not Found"}`)
	methodNotAllowedBody = []byte(`{"detail":"Method Not Allowed"}`)
)

func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 {
		w.ResponseWriter.WriteHeader(code) // let net/http report the superfluous call
		return
	}
	w.status = code
	if w.req.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		// http.Error of the mux is answering: an unknown path or a known
		// path with another method. Answer as FastAPI does, in JSON.
		body := notFoundBody
		if code == http.StatusMethodNotAllowed {
			body = methodNotAllowedBody
		}
		h := w.Header()
		h[hdrContentType] = jsonContentType
		h[hdrContentLength] = []string{strconv.Itoa(len(body))}
		w.ResponseWriter.WriteHeader(code)
		n, _ := w.ResponseWriter.Write(body)
		w.bytes += int64(n)
		w.discard = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.discard {
		return len(p), nil
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer
// (flushing for server-sent events, deadlines).
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
