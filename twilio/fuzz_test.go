package twilio_test

import (
	"net/url"
	"strconv"
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
