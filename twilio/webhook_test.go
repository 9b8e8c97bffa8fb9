package twilio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/agentphone/agentphone/twilio"
	"github.com/agentphone/agentphone/twilio/twiliotest"
)

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestParseInbound(t *testing.T) {
	base := []string{"MessageSid", "SM0123", "AccountSid", acct, "From", "+14155550100", "To", "+12125550100", "Body", "hi"}

	in, err := twilio.ParseInbound(form(append(base, "NumMedia", "0")...))
	if err != nil {
		t.Fatal(err)
	}
	want := twilio.Inbound{MessageSID: "SM0123", AccountSID: acct, From: "+14155550100", To: "+12125550100", Body: "hi"}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("got %+v, want %+v", in, want)
	}

	if in, err := twilio.ParseInbound(form(base...)); err != nil || len(in.MediaURLs) != 0 {
		t.Errorf("without NumMedia: %+v, %v", in, err)
	}

	mms := form(append(base,
		"NumMedia", "2",
		"MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME0",
		"MediaContentType0", "image/jpeg",
		"MediaUrl1", "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1",
		"MediaUrl2", "https://ignored.example.com/beyond-NumMedia",
	)...)
	in, err = twilio.ParseInbound(mms)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.MediaURLs) != 2 || !strings.HasSuffix(in.MediaURLs[1], "/ME1") ||
		!reflect.DeepEqual(in.MediaContentTypes, []string{"image/jpeg", ""}) {
		t.Errorf("media %q %q", in.MediaURLs, in.MediaContentTypes)
	}

	// The SMS-era name is accepted when MessageSid is absent.
	legacy := form(base...)
	legacy.Del("MessageSid")
	legacy.Set("SmsMessageSid", "SM9")
	if in, err := twilio.ParseInbound(legacy); err != nil || in.MessageSID != "SM9" {
		t.Errorf("SmsMessageSid: %+v, %v", in, err)
	}

	bad := map[string]url.Values{
		"NumMedia not a number": form(append(base, "NumMedia", "two")...),
		"NumMedia negative":     form(append(base, "NumMedia", "-1")...),
		"NumMedia huge":         form(append(base, "NumMedia", "99999999999999999999")...),
		"NumMedia float":        form(append(base, "NumMedia", "1.0")...),
		"NumMedia, no MediaUrl": form(append(base, "NumMedia", "2", "MediaUrl0", "https://x/0")...),
		"no MessageSid":         form("From", "+1", "To", "+2", "Body", "x"),
		"no From":               form("MessageSid", "SM1", "To", "+2"),
		"no To":                 form("MessageSid", "SM1", "From", "+1"),
		"empty":                 {},
	}
	for name, f := range bad {
		if in, err := twilio.ParseInbound(f); err == nil {
			t.Errorf("%s: accepted as %+v", name, in)
		}
	}
}

func TestParseStatus(t *testing.T) {
	st, err := twilio.ParseStatus(form("MessageSid", "SM1", "MessageStatus", "delivered", "AccountSid", acct))
	if err != nil || st.MessageSID != "SM1" || st.Status != "delivered" || st.AccountSID != acct || st.ErrorCode != nil {
		t.Errorf("%+v, %v", st, err)
	}
	st, err = twilio.ParseStatus(form("MessageSid", "SM1", "MessageStatus", "undelivered", "ErrorCode", "30003"))
	if err != nil || st.ErrorCode == nil || *st.ErrorCode != 30003 {
		t.Errorf("%+v, %v", st, err)
	}
	st, err = twilio.ParseStatus(form("SmsSid", "SM2", "SmsStatus", "sent", "ErrorCode", ""))
	if err != nil || st.MessageSID != "SM2" || st.Status != "sent" || st.ErrorCode != nil {
		t.Errorf("legacy names: %+v, %v", st, err)
	}
	for name, f := range map[string]url.Values{
		"no status":          form("MessageSid", "SM1"),
		"no sid":             form("MessageStatus", "sent"),
		"malformed code":     form("MessageSid", "SM1", "MessageStatus", "failed", "ErrorCode", "30003x"),
		"out of range code":  form("MessageSid", "SM1", "MessageStatus", "failed", "ErrorCode", "99999999999999999999"),
		"empty":              {},
		"whitespace in code": form("MessageSid", "SM1", "MessageStatus", "failed", "ErrorCode", " 1"),
	} {
		if st, err := twilio.ParseStatus(f); err == nil {
			t.Errorf("%s: accepted as %+v", name, st)
		}
	}
}

func TestMapStatus(t *testing.T) {
	cases := map[string]string{
		"queued": "queued", "accepted": "queued", "scheduled": "queued", "sending": "queued",
		"sent":      "sent",
		"delivered": "delivered", "read": "delivered",
		"failed": "failed", "undelivered": "failed", "canceled": "failed",
		"received":  "received",
		"Delivered": "delivered",
	}
	for in, want := range cases {
		if got, ok := twilio.MapStatus(in); !ok || got != want {
			t.Errorf("MapStatus(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "receiving", "partially_delivered", "bogus"} {
		if got, ok := twilio.MapStatus(in); ok {
			t.Errorf("MapStatus(%q) = %q, true; want not ok", in, got)
		}
	}
}

// receiver is a webhook endpoint as a server route would be: it rebuilds
// the URL Twilio called from the request, validates X-Twilio-Signature
// with its token, and parses the form.
type receiver struct {
	token string
	mu    sync.Mutex
	in    []twilio.Inbound
	st    []twilio.StatusUpdate
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	full := scheme + "://" + r.Host + r.URL.RequestURI()
	if !twilio.ValidateSignature(rc.token, full, r.PostForm, r.Header.Get(twilio.SignatureHeader)) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch r.URL.Path {
	case "/sms":
		f := r.PostForm
		if r.Method == http.MethodGet {
			f = r.URL.Query()
		}
		in, err := twilio.ParseInbound(f)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rc.in = append(rc.in, in)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte("<Response/>"))
	case "/status":
		st, err := twilio.ParseStatus(r.PostForm)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rc.st = append(rc.st, st)
	default:
		http.NotFound(w, r)
	}
}

func TestWebhooksEndToEnd(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := "http"
		if tls {
			name = "https" // Twilio signs HTTPS URLs without their port
		}
		t.Run(name, func(t *testing.T) {
			srv := newFake(t)
			c := newClient(t, srv)
			rc := &receiver{token: srv.AuthToken}
			var hooks *httptest.Server
			if tls {
				hooks = httptest.NewTLSServer(rc)
				srv.CallbackClient = hooks.Client()
			} else {
				hooks = httptest.NewServer(rc)
			}
			defer hooks.Close()
			ctx := context.Background()

			avail, err := c.SearchNumbers(ctx, "US", "212", 1)
			if err != nil {
				t.Fatal(err)
			}
			num, err := c.BuyNumber(ctx, avail[0].PhoneNumber, hooks.URL+"/sms?tenant=a%20b&x=1", "")
			if err != nil {
				t.Fatal(err)
			}

			// Inbound MMS.
			sid, resp, err := srv.SendInbound(ctx, twiliotest.InboundMessage{
				From: "+14155550123", To: num.PhoneNumber, Body: "look ✓",
				MediaURLs: []string{"https://media.example.com/1", "https://media.example.com/2"}, MediaContentTypes: []string{"image/png"},
			})
			if err != nil || resp.StatusCode != 200 || string(resp.Body) != "<Response/>" {
				t.Fatalf("inbound: %v %+v", err, resp)
			}
			rc.mu.Lock()
			if len(rc.in) != 1 {
				t.Fatalf("received %d inbound", len(rc.in))
			}
			in := rc.in[0]
			rc.mu.Unlock()
			if in.MessageSID != sid || in.From != "+14155550123" || in.To != num.PhoneNumber || in.Body != "look ✓" ||
				in.AccountSID != srv.AccountSID || len(in.MediaURLs) != 2 ||
				!reflect.DeepEqual(in.MediaContentTypes, []string{"image/png", "image/jpeg"}) {
				t.Errorf("inbound %+v", in)
			}

			// Outbound message and its status callbacks.
			m, err := c.SendMessage(ctx, twilio.SendParams{From: num.PhoneNumber, To: "+14155550123", Body: "re", StatusCallback: hooks.URL + "/status"})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []struct {
				status string
				code   int
			}{{"sent", 0}, {"undelivered", 30003}} {
				resp, err := srv.SendStatus(ctx, m.SID, s.status, s.code)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("status %s: %v %+v", s.status, err, resp)
				}
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if len(rc.st) != 2 || rc.st[0].MessageSID != m.SID || rc.st[0].Status != "sent" || rc.st[0].ErrorCode != nil ||
				rc.st[1].Status != "undelivered" || rc.st[1].ErrorCode == nil || *rc.st[1].ErrorCode != 30003 {
				t.Errorf("status updates %+v", rc.st)
			}
			if got, _ := twilio.MapStatus(rc.st[1].Status); got != "failed" {
				t.Errorf("undelivered maps to %q", got)
			}
		})
	}
}

func TestWebhookRejectedWithOtherToken(t *testing.T) {
	srv := newFake(t)
	rc := &receiver{token: "not-the-auth-token"}
	hooks := httptest.NewServer(rc)
	defer hooks.Close()

	resp, err := srv.Post(context.Background(), http.MethodPost, hooks.URL+"/sms",
		srv.InboundForm("SM1", twiliotest.InboundMessage{From: "+14155550100", To: "+14155550101", Body: "x"}))
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("%v %+v, want 403", err, resp)
	}
	if len(rc.in) != 0 {
		t.Fatal("a forged webhook was parsed")
	}
}

func TestWebhookGET(t *testing.T) {
	srv := newFake(t)
	rc := &receiver{token: srv.AuthToken}
	hooks := httptest.NewServer(rc)
	defer hooks.Close()

	resp, err := srv.Post(context.Background(), http.MethodGet, hooks.URL+"/sms?k=v",
		srv.InboundForm("SM7", twiliotest.InboundMessage{From: "+14155550100", To: "+14155550101", Body: "q"}))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %+v", err, resp)
	}
	if len(rc.in) != 1 || rc.in[0].MessageSID != "SM7" || rc.in[0].Body != "q" {
		t.Fatalf("inbound %+v", rc.in)
	}
}
