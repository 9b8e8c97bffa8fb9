package twilio_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/agentphone/agentphone/twilio"
)

// FuzzParseInbound feeds arbitrary form bodies to the webhook parsers: they
// must not panic, and an accepted inbound message must be consistent.
func FuzzParseInbound(f *testing.F) {
	f.Add("MessageSid=SM1&From=%2B14155550100&To=%2B14155550101&Body=hi&NumMedia=0")
	f.Add("MessageSid=SM1&From=a&To=b&NumMedia=2&MediaUrl0=x&MediaUrl1=y&MediaContentType1=image%2Fpng")
	f.Add("MessageSid=SM1&From=a&To=b&NumMedia=-3")
	f.Add("MessageSid=SM1&From=a&To=b&NumMedia=100&MediaUrl99=x")
	f.Add("MessageSid=SM1&MessageStatus=failed&ErrorCode=30003")
	f.Add("NumMedia=%zz&;;&&==")
	f.Fuzz(func(t *testing.T, body string) {
		form, _ := url.ParseQuery(body) // keeps what parsed before an error
		in, err := twilio.ParseInbound(form)
		if err == nil {
			if in.MessageSID == "" || in.From == "" || in.To == "" {
				t.Fatalf("accepted without required fields: %+v", in)
			}
			if len(in.MediaURLs) != len(in.MediaContentTypes) {
				t.Fatalf("media %d, types %d", len(in.MediaURLs), len(in.MediaContentTypes))
			}
			n, _ := strconv.Atoi(form.Get("NumMedia"))
			if len(in.MediaURLs) != n {
				t.Fatalf("NumMedia %d, parsed %d", n, len(in.MediaURLs))
			}
		}
		st, err := twilio.ParseStatus(form)
		if err == nil && (st.MessageSID == "" || st.Status == "") {
			t.Fatalf("status accepted without required fields: %+v", st)
		}
		_, _ = twilio.MapStatus(form.Get("MessageStatus"))
	})
}

// FuzzValidateSignature: no input panics, a signature computed for the
// exact request always validates, and empty tokens or signatures never do.
func FuzzValidateSignature(f *testing.F) {
	f.Add("12345", "https://example.com/myapp.php?foo=1&bar=2", "CallSid=CA1&Digits=1234", "L/OH5YylLD5NRKLltdqwSvS0BnU=")
	f.Add("t", "https://user:pw@[::1]:443/x#frag", "a=1&a=2&b=", "")
	f.Add("t", "http://host:/p", "", "x")
	f.Add("t", "://", "=", "=")
	f.Add("", "https://example.com:99999999999999999999/", "%", "AAAA")
	f.Fuzz(func(t *testing.T, token, rawURL, body, sig string) {
		form, _ := url.ParseQuery(body)
		_ = twilio.ValidateSignature(token, rawURL, form, sig)
		if twilio.ValidateSignature(token, rawURL, form, "") {
			t.Fatal("empty signature validated")
		}
		if token == "" {
			if twilio.ValidateSignature(token, rawURL, form, sig) {
				t.Fatal("empty token validated")
			}
			return
		}
		if !twilio.ValidateSignature(token, rawURL, form, twilio.Signature(token, rawURL, form)) {
			t.Fatalf("own signature rejected for %q %v", rawURL, form)
		}
	})
}

// FuzzWebhooks sends arbitrary, correctly signed forms to both webhook
// handlers: they must not panic, must answer one of their documented
// statuses, and must hand the service only what the parsers accepted.
func FuzzWebhooks(f *testing.F) {
	f.Add("MessageSid=SM1&From=%2B14155550100&To=%2B14155550101&Body=hi&NumMedia=0", "msg_1")
	f.Add("MessageSid=SM1&From=a&To=b&NumMedia=2&MediaUrl0=x&MediaUrl1=y", "msg_1")
	f.Add("MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30006", "msg_1")
	f.Add("MessageSid=SM1&MessageStatus=failed&ErrorCode=-1", "msg%2F..")
	f.Add("MessageSid=SM1&MessageStatus=sending", "")
	f.Add("NumMedia=%zz&;;&&==", "ünï code")
	const token, base = "token", "https://phones.example.com"
	f.Fuzz(func(t *testing.T, body, id string) {
		rec := &recorder{}
		h := &twilio.Webhooks{AuthToken: token, PublicURL: base, Messages: rec}
		mux := http.NewServeMux()
		mux.HandleFunc(twilio.InboundPattern, h.Inbound)
		mux.HandleFunc(twilio.StatusPattern, h.Status)
		form, _ := url.ParseQuery(body)
		for _, path := range []string{"/twilio/messages", "/twilio/messages/" + url.PathEscape(id) + "/status"} {
			req := httptest.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(twilio.SignatureHeader, twilio.Signature(token, base+req.URL.RequestURI(), form))
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			switch w.Code {
			case http.StatusOK, http.StatusNoContent, http.StatusBadRequest, http.StatusNotFound, http.StatusForbidden:
			case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
				// The mux cleaning a path such as "/twilio/messages//status".
			default:
				t.Fatalf("POST %s %q: HTTP %d", path, body, w.Code)
			}
		}
		in, st := rec.calls()
		for _, c := range in {
			if c.To == "" || c.In.From == "" || c.In.ProviderRef == nil || *c.In.ProviderRef == "" {
				t.Fatalf("ReceiveAt with missing fields: %+v", c)
			}
		}
		for _, c := range st {
			if c.ID == "" || c.Ref == "" || (c.Status == "failed") != (c.Reason != nil) {
				t.Fatalf("CarrierStatus %+v", c)
			}
		}
	})
}
