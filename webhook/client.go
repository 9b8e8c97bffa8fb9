package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// MaxResponseBody is how much of a receiver's answer is read and kept for
// the delivery log; the rest is discarded unread.
const MaxResponseBody = 4 << 10

// ErrBlockedDestination is returned when ClientOptions.BlockPrivate refuses
// the address a webhook URL resolves to.
var ErrBlockedDestination = errors.New("webhook: destination address is private, loopback or link-local")

// ClientOptions configures NewHTTPClient. The zero value suits a
// self-hosted server posting to the developer's own app, on localhost or a
// private network.
type ClientOptions struct {
	// BlockPrivate refuses to connect to loopback, private (RFC 1918, RFC
	// 4193), shared (RFC 6598), link-local, multicast and unspecified
	// addresses, to stop server-side request forgery when tenants are not
	// trusted. The check runs on the resolved address at dial time, so a
	// DNS name that points inside cannot slip through.
	BlockPrivate bool
	// MaxConnsPerHost bounds connections to one receiver; 0 means 64.
	MaxConnsPerHost int
}

// NewHTTPClient returns the client deliveries use: redirects are not
// followed (the 3xx is the answer), time-outs come from each request's
// context, and with BlockPrivate internal destinations are refused.
func NewHTTPClient(o ClientOptions) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if o.BlockPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !publicAddr(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrBlockedDestination, address)
			}
			return nil
		}
	}
	perHost := o.MaxConnsPerHost
	if perHost <= 0 {
		perHost = 64
	}
	t := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   perHost,
		MaxConnsPerHost:       perHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if !o.BlockPrivate {
		// An egress proxy would hide the real destination from the check.
		t.Proxy = http.ProxyFromEnvironment
	}
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// shared is 100.64.0.0/10 (RFC 6598, carrier-grade NAT), which netip does
// not count as private.
var shared = netip.MustParsePrefix("100.64.0.0/10")

func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !shared.Contains(a)
}

// Request is one signed POST of a delivery.
type Request struct {
	URL    string
	Secret string // the webhook's signing secret
	ID     string // X-Webhook-ID: the delivery id, the same on every attempt
	Event  string // X-Webhook-Event, e.g. "agent.message"
	Body   []byte // the JSON envelope, sent and signed exactly as is
}

// Sender signs and sends deliveries.
type Sender struct {
	Client    *http.Client     // from NewHTTPClient
	UserAgent string           // "agentphone/<version>"
	Now       func() time.Time // nil: time.Now
}

// NewRequest returns the signed HTTP request for r, stamped with the
// current time. The voice engine uses it to read a streamed reply itself.
func (s *Sender) NewRequest(ctx context.Context, r Request) (*http.Request, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ts := now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, fmt.Errorf("webhook: request to %q: %w", r.URL, err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", s.UserAgent)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(r.Secret, ts, r.Body))
	h.Set(HeaderID, r.ID)
	if r.Event != "" {
		h.Set(HeaderEvent, r.Event)
	}
	return req, nil
}

// Result is the outcome of one attempt.
type Result struct {
	Status     int           // HTTP status; 0 when no response arrived
	Body       []byte        // the first MaxResponseBody bytes of the answer
	RetryAfter time.Duration // the receiver's Retry-After on 429 or 503; 0 when none
	Duration   time.Duration // from sending to the end of the answer
	Err        error         // why no usable response arrived (connection, time-out, refused destination)
}

// OK reports whether the receiver accepted the delivery (any 2xx).
func (r Result) OK() bool { return r.Err == nil && r.Status >= 200 && r.Status <= 299 }

// Retryable reports whether another attempt may succeed: connection errors,
// time-outs, 5xx, 408 and 429 are retried; any other answer is final (the
// receiver refused the event), and so is a refused destination or a URL that
// cannot be requested.
func (r Result) Retryable() bool {
	if r.Err != nil {
		var ue *urlError
		return !errors.Is(r.Err, ErrBlockedDestination) && !errors.As(r.Err, &ue)
	}
	return r.Status >= 500 || r.Status == http.StatusRequestTimeout || r.Status == http.StatusTooManyRequests
}

// urlError marks a request that could not be built (a malformed URL).
type urlError struct{ err error }

func (e *urlError) Error() string { return e.err.Error() }
func (e *urlError) Unwrap() error { return e.err }

// Send makes one attempt of r, bounded by timeout (the webhook's timeout).
func (s *Sender) Send(ctx context.Context, r Request, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	req, err := s.NewRequest(ctx, r)
	if err != nil {
		return Result{Err: &urlError{err}}
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		return Result{Err: err, Duration: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	res := Result{Status: resp.StatusCode, Body: body, Duration: time.Since(start)}
	if err != nil {
		// The status arrived; a body cut short does not change the verdict.
		res.Body = append(res.Body, "…(body unreadable: "+err.Error()+")"...)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		res.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return res
}

// parseRetryAfter reads delay-seconds or an HTTP date (RFC 9110 §10.2.3);
// it returns 0 for anything else or a time in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// maxRetryAfter caps what a receiver can ask for.
const maxRetryAfter = 24 * time.Hour
