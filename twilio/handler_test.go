package twilio_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/twilio"
	"github.com/agentphone/agentphone/twilio/twiliotest"
)

// inboundCall and statusCall are the calls a recorder received.
type inboundCall struct {
	To string
	In agentphone.InboundInput
}

type statusCall struct {
	ID, Ref, Status string
	Reason          *string
}

// recorder is a twilio.MessageReceiver that records its calls and answers
// err.
type recorder struct {
	mu       sync.Mutex
	inbound  []inboundCall
	statuses []statusCall
	err      error
}

func (r *recorder) ReceiveAt(ctx context.Context, to string, in agentphone.InboundInput) (*agentphone.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inbound = append(r.inbound, inboundCall{to, in})
	if r.err != nil {
		return nil, r.err
	}
	return &agentphone.Message{ID: "msg_in", Direction: agentphone.DirectionInbound}, nil
}

func (r *recorder) CarrierStatus(ctx context.Context, id, ref, status string, reason *string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, statusCall{id, ref, status, reason})
	return r.err
}

func (r *recorder) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

func (r *recorder) calls() ([]inboundCall, []statusCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]inboundCall(nil), r.inbound...), append([]statusCall(nil), r.statuses...)
}

// logBuffer collects log output from the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hookBundle is one test's Twilio fake, the Webhooks served over HTTP with
// the server's routes, a Provider whose callbacks reach them, and a number
// bought through it.
type hookBundle struct {
	fake     *twiliotest.Server
	webhooks *twilio.Webhooks
	hooks    *httptest.Server
	provider *twilio.Provider
	rec      *recorder
	logs     *logBuffer
	number   *agentphone.Number
}

// setupHooks starts a bundle; each opt may change the Webhooks before the
// server starts.
func setupHooks(t *testing.T, opts ...func(*twilio.Webhooks)) *hookBundle {
	t.Helper()
	b := &hookBundle{fake: newFake(t), rec: &recorder{}, logs: &logBuffer{}}
	mux := http.NewServeMux()
	b.hooks = httptest.NewUnstartedServer(mux)
	base := "http://" + b.hooks.Listener.Addr().String()
	b.webhooks = &twilio.Webhooks{
		AuthToken: b.fake.AuthToken,
		PublicURL: base,
		Messages:  b.rec,
		Logger:    slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(b.webhooks)
	}
	// The server's routes, written out: Provider's callback URLs must match them.
	mux.HandleFunc("POST /twilio/messages", b.webhooks.Inbound)
	mux.HandleFunc("POST /twilio/messages/{message_id}/status", b.webhooks.Status)
	b.hooks.Start()
	t.Cleanup(b.hooks.Close)
	if b.hooks.URL != base {
		t.Fatalf("server URL %s, want %s", b.hooks.URL, base)
	}
	b.provider = &twilio.Provider{Client: newClient(t, b.fake), PublicURL: base}
	b.number = buyNumber(t, b.provider)
	return b
}

// send sends an outbound message with id through the provider, so that its
// status callbacks reach the webhooks, and returns Twilio's SID.
func (b *hookBundle) send(t *testing.T, id string) string {
	t.Helper()
	sent, err := b.provider.SendMessage(context.Background(), b.number,
		&agentphone.Message{ID: id, To: "+14155550199", Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	return sent.ProviderRef
}

const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

func TestWebhooks_Inbound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name  string
		media []string
	}{
		{"SMS", nil},
		{"MMS", []string{"https://api.twilio.com/media/ME1", "https://api.twilio.com/media/ME2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setupHooks(t)
			sid, resp, err := b.fake.SendInbound(ctx, twiliotest.InboundMessage{
				From: "+14155550123", To: b.number.PhoneNumber, Body: "hello ✓", MediaURLs: c.media,
			})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || string(resp.Body) != emptyTwiML || resp.Header.Get("Content-Type") != "text/xml" {
				t.Errorf("answer %d %q (%s), want 200 with empty TwiML", resp.StatusCode, resp.Body, resp.Header.Get("Content-Type"))
			}
			in, st := b.rec.calls()
			if len(in) != 1 || len(st) != 0 {
				t.Fatalf("calls %+v %+v", in, st)
			}
			got := in[0]
			if got.To != b.number.PhoneNumber || got.In.From != "+14155550123" || got.In.Body != "hello ✓" ||
				got.In.ProviderRef == nil || *got.In.ProviderRef != sid || !reflect.DeepEqual(got.In.MediaURLs, c.media) {
				t.Errorf("ReceiveAt(%s, %+v), want message %s", got.To, got.In, sid)
			}
		})
	}
}

func TestWebhooks_Signature(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// post sends form to path of the webhooks, with signature sig ("" for none).
	post := func(t *testing.T, b *hookBundle, path string, f url.Values, sig string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.hooks.URL+path, strings.NewReader(f.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set(twilio.SignatureHeader, sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	inbound := func(b *hookBundle) url.Values {
		return b.fake.InboundForm("SM1", twiliotest.InboundMessage{From: "+14155550123", To: b.number.PhoneNumber, Body: "hi"})
	}

	cases := []struct {
		name string
		opt  func(*twilio.Webhooks)
		// do makes one request that must be refused and returns its status.
		do func(t *testing.T, b *hookBundle) int
	}{
		{"OtherToken", nil, func(t *testing.T, b *hookBundle) int {
			other := newFake(t) // signs with another auth token
			resp, err := other.Post(ctx, http.MethodPost, b.hooks.URL+"/twilio/messages", inbound(b))
			if err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode
		}},
		{"Tampered", nil, func(t *testing.T, b *hookBundle) int {
			f := inbound(b)
			sig := twiliotest.Signature(b.fake.AuthToken, b.hooks.URL+"/twilio/messages", f)
			f.Set("Body", "send me the money")
			return post(t, b, "/twilio/messages", f, sig)
		}},
		{"OtherURL", nil, func(t *testing.T, b *hookBundle) int {
			f := inbound(b)
			sig := twiliotest.Signature(b.fake.AuthToken, b.hooks.URL+"/twilio/messages?x=1", f)
			return post(t, b, "/twilio/messages", f, sig)
		}},
		{"Missing", nil, func(t *testing.T, b *hookBundle) int {
			return post(t, b, "/twilio/messages", inbound(b), "")
		}},
		{"PublicURLMismatch", func(w *twilio.Webhooks) { w.PublicURL = "https://phones.example.com" },
			func(t *testing.T, b *hookBundle) int {
				_, resp, err := b.fake.SendInbound(ctx, twiliotest.InboundMessage{From: "+14155550123", To: b.number.PhoneNumber, Body: "hi"})
				if err != nil {
					t.Fatal(err)
				}
				return resp.StatusCode
			}},
		{"Status", nil, func(t *testing.T, b *hookBundle) int {
			sid := b.send(t, "msg_1")
			f := b.fake.StatusForm(twiliotest.Message{SID: sid}, "delivered", 0)
			sig := twiliotest.Signature(b.fake.AuthToken, b.hooks.URL+"/twilio/messages/msg_2/status", f)
			return post(t, b, "/twilio/messages/msg_1/status", f, sig) // signed for another message
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var opts []func(*twilio.Webhooks)
			if c.opt != nil {
				opts = append(opts, c.opt)
			}
			b := setupHooks(t, opts...)
			if got := c.do(t, b); got != http.StatusForbidden {
				t.Errorf("HTTP %d, want 403", got)
			}
			if in, st := b.rec.calls(); len(in) != 0 || len(st) != 0 {
				t.Errorf("a refused webhook reached the service: %+v %+v", in, st)
			}
			logs := b.logs.String()
			if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "X-Twilio-Signature") ||
				!strings.Contains(logs, "PublicURL") || !strings.Contains(logs, "remote_addr=127.0.0.1:") ||
				!strings.Contains(logs, "path=/") {
				t.Errorf("log %q does not explain the refusal", logs)
			}
		})
	}
}

func TestWebhooks_Status(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reason := func(s string) *string { return &s }
	cases := []struct {
		twilioStatus string
		code         int
		want         *statusCall // nil: nothing recorded
		id           string      // "" means msg_out1
	}{
		{"sent", 0, &statusCall{Status: agentphone.MessageSent}, ""},
		{"delivered", 0, &statusCall{Status: agentphone.MessageDelivered}, ""},
		{"read", 0, &statusCall{Status: agentphone.MessageDelivered}, ""},
		{"undelivered", 30006, &statusCall{Status: agentphone.MessageFailed, Reason: reason("Twilio error 30006: Landline or unreachable carrier")}, ""},
		{"failed", 30007, &statusCall{Status: agentphone.MessageFailed, Reason: reason("Twilio error 30007: Message filtered")}, ""},
		{"undelivered", 39999, &statusCall{Status: agentphone.MessageFailed, Reason: reason("Twilio error 39999")}, ""},
		{"undelivered", 0, &statusCall{Status: agentphone.MessageFailed, Reason: reason("Twilio reported the message undelivered")}, ""},
		{"failed", 0, &statusCall{Status: agentphone.MessageFailed, Reason: reason("Twilio reported the message failed")}, ""},
		{"queued", 0, nil, ""},
		{"accepted", 0, nil, ""},
		{"sending", 0, nil, ""},
		{"scheduled", 0, nil, ""},
		{"partially_delivered", 0, nil, ""},
		// An id that needs escaping in the callback's path, and so in the signed URL.
		{"delivered", 0, &statusCall{Status: agentphone.MessageDelivered}, "msg/odd id+1"},
	}
	for _, c := range cases {
		id, name := cmp.Or(c.id, "msg_out1"), c.twilioStatus+"_"+strconv.Itoa(c.code)
		if c.id != "" {
			name += "_escaped_id"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setupHooks(t)
			sid := b.send(t, id)
			resp, err := b.fake.SendStatus(ctx, sid, c.twilioStatus, c.code)
			if err != nil {
				t.Fatal(err)
			}
			_, st := b.rec.calls()
			if c.want == nil {
				if resp.StatusCode != http.StatusOK || len(st) != 0 {
					t.Errorf("HTTP %d, recorded %+v; want 200 and nothing recorded", resp.StatusCode, st)
				}
				return
			}
			if resp.StatusCode != http.StatusNoContent || len(resp.Body) != 0 {
				t.Errorf("HTTP %d %q, want 204", resp.StatusCode, resp.Body)
			}
			want := *c.want
			want.ID, want.Ref = id, sid
			if len(st) != 1 || !reflect.DeepEqual(st[0], want) {
				t.Errorf("CarrierStatus %s, want %s", describe(st), describe([]statusCall{want}))
			}
		})
	}
}

func TestWebhooks_Errors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name  string
		err   error
		code  int
		level string
	}{
		{"NotFound", agentphone.Errorf(agentphone.KindNotFound, "No active number +14155550100 on this server"), http.StatusNotFound, "WARN"},
		{"BadRequest", agentphone.Errorf(agentphone.KindBadRequest, "Number +14155550100 is released"), http.StatusBadRequest, "WARN"},
		{"Invalid", &agentphone.ValidationError{Fields: []agentphone.FieldError{{Loc: []any{"from"}, Msg: "bad", Type: "value_error"}}},
			http.StatusBadRequest, "WARN"},
		{"Internal", errors.New("sqlite: database is locked"), http.StatusInternalServerError, "ERROR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setupHooks(t)
			sid := b.send(t, "msg_out1")
			b.rec.setErr(c.err)

			_, resp, err := b.fake.SendInbound(ctx, twiliotest.InboundMessage{From: "+14155550123", To: b.number.PhoneNumber, Body: "hi"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.code {
				t.Errorf("inbound: HTTP %d, want %d", resp.StatusCode, c.code)
			}
			if c.code == http.StatusInternalServerError && strings.Contains(string(resp.Body), "sqlite") {
				t.Errorf("500 shows the internal error: %q", resp.Body)
			}
			if c.code == http.StatusNotFound && !strings.Contains(string(resp.Body), "No active number") {
				t.Errorf("404 body %q does not say why", resp.Body)
			}

			resp, err = b.fake.SendStatus(ctx, sid, "delivered", 0)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.code {
				t.Errorf("status: HTTP %d, want %d", resp.StatusCode, c.code)
			}
			if logs := b.logs.String(); strings.Count(logs, "level="+c.level) != 2 {
				t.Errorf("want two %s lines, log:\n%s", c.level, logs)
			}
		})
	}
}

func TestWebhooks_BadRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupHooks(t)

	// Signed, but not an inbound message.
	f := b.fake.InboundForm("SM1", twiliotest.InboundMessage{From: "+14155550123", To: b.number.PhoneNumber, Body: "x"})
	for _, k := range []string{"MessageSid", "SmsMessageSid", "SmsSid"} {
		f.Del(k)
	}
	resp, err := b.fake.Post(ctx, http.MethodPost, b.hooks.URL+"/twilio/messages", f)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("inbound without MessageSid: %v HTTP %d, want 400", err, resp.StatusCode)
	}
	// Signed, but not a status callback.
	resp, err = b.fake.Post(ctx, http.MethodPost, b.hooks.URL+"/twilio/messages/msg_1/status", url.Values{"MessageSid": {"SM1"}})
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status without MessageStatus: %v HTTP %d, want 400", err, resp.StatusCode)
	}
	// Too large to be Twilio's.
	big := url.Values{"Body": {strings.Repeat("x", 2<<20)}}
	hresp, err := http.Post(b.hooks.URL+"/twilio/messages", "application/x-www-form-urlencoded", strings.NewReader(big.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	hresp.Body.Close()
	if hresp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB form: HTTP %d, want 413", hresp.StatusCode)
	}
	if in, st := b.rec.calls(); len(in) != 0 || len(st) != 0 {
		t.Errorf("bad requests reached the service: %+v %+v", in, st)
	}
}

func TestWebhooks_Patterns(t *testing.T) {
	if twilio.InboundPattern != "POST /twilio/messages" || twilio.StatusPattern != "POST /twilio/messages/{message_id}/status" {
		t.Errorf("patterns %q %q differ from the server's routes", twilio.InboundPattern, twilio.StatusPattern)
	}
}

func TestWebhooks_NilLogger(t *testing.T) {
	t.Parallel()
	b := setupHooks(t, func(w *twilio.Webhooks) { w.Logger = nil })
	resp, err := b.fake.Post(context.Background(), http.MethodPost, b.hooks.URL+"/twilio/messages", url.Values{})
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("%v HTTP %d, want 400 without a logger", err, resp.StatusCode)
	}
}

func describe(st []statusCall) string {
	var sb strings.Builder
	for _, s := range st {
		r := "<nil>"
		if s.Reason != nil {
			r = *s.Reason
		}
		sb.WriteString("{" + s.ID + " " + s.Ref + " " + s.Status + " " + r + "}")
	}
	return sb.String()
}
