package twiliotest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/agentphone/agentphone/twilio/twiliotest"
)

type result struct {
	status int
	header http.Header
	body   map[string]any
}

// call sends a raw request to the fake, with the account's credentials
// unless auth is false.
func call(t *testing.T, srv *twiliotest.Server, method, path string, form url.Values, auth bool) result {
	t.Helper()
	var body io.Reader
	u := srv.URL + "/2010-04-01/Accounts/" + srv.AccountSID + "/" + path
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else if form != nil {
		u += "?" + form.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth {
		req.SetBasicAuth(srv.AccountSID, srv.AuthToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := result{status: resp.StatusCode, header: resp.Header}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("body %q is not JSON: %v", raw, err)
		}
	}
	return r
}

// wantError checks Twilio's error JSON: exactly code, message, more_info
// and status.
func wantError(t *testing.T, r result, status, code int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("HTTP %d, want %d (%v)", r.status, status, r.body)
	}
	if len(r.body) != 4 || r.body["code"] != float64(code) || r.body["status"] != float64(status) ||
		r.body["message"] == "" || r.body["more_info"] != "https://www.twilio.com/docs/errors/"+itoa(code) {
		t.Fatalf("error body %v, want code %d", r.body, code)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestAuthentication(t *testing.T) {
	srv := twiliotest.NewServer()
	defer srv.Close()

	r := call(t, srv, http.MethodGet, "AvailablePhoneNumbers/US/Local.json", nil, false)
	wantError(t, r, 401, 20003)
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].User != "" {
		t.Errorf("unauthenticated request not recorded as such: %+v", reqs)
	}

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/2010-04-01/Accounts/"+srv.AccountSID+"/AvailablePhoneNumbers/US/Local.json", nil)
	req.SetBasicAuth(srv.APIKeySID, srv.APIKeySecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("API key: HTTP %d", resp.StatusCode)
	}
}

func TestRoutingErrors(t *testing.T) {
	srv := twiliotest.NewServer()
	defer srv.Close()
	wantError(t, call(t, srv, http.MethodGet, "Messages.json", nil, true), 405, 20004)
	wantError(t, call(t, srv, http.MethodPost, "Calls.json", url.Values{}, true), 404, 20404)
	wantError(t, call(t, srv, http.MethodGet, "AvailablePhoneNumbers/us/Local.json", nil, true), 404, 20404)
	wantError(t, call(t, srv, http.MethodDelete, "IncomingPhoneNumbers/PN0123456789abcdef0123456789abcdef.json", nil, true), 404, 20404)
	srv.FailNext(503, 20503, "Service is unavailable, please try again")
	wantError(t, call(t, srv, http.MethodGet, "AvailablePhoneNumbers/US/Local.json", nil, true), 503, 20503)
}

func TestSearchWireFormat(t *testing.T) {
	srv := twiliotest.NewServer()
	defer srv.Close()
	srv.AddAvailable(twiliotest.AvailableNumber{PhoneNumber: "+14155550999", Country: "US", Voice: true})

	r := call(t, srv, http.MethodGet, "AvailablePhoneNumbers/US/Local.json", url.Values{"AreaCode": {"415"}, "SmsEnabled": {"false"}}, true)
	if r.status != 200 {
		t.Fatalf("HTTP %d", r.status)
	}
	list := r.body["available_phone_numbers"].([]any)
	if len(list) != 1 {
		t.Fatalf("SmsEnabled=false: %v", list)
	}
	n := list[0].(map[string]any)
	caps := n["capabilities"].(map[string]any)
	if n["phone_number"] != "+14155550999" || caps["SMS"] != false || caps["voice"] != true || n["friendly_name"] != "(415) 555-0999" {
		t.Errorf("number %v", n)
	}
	for _, k := range []string{"uri", "page", "page_size", "start", "end", "first_page_uri", "next_page_uri"} {
		if _, ok := r.body[k]; !ok {
			t.Errorf("page without %q", k)
		}
	}
}

func TestBuyWireFormat(t *testing.T) {
	srv := twiliotest.NewServer()
	defer srv.Close()

	wantError(t, call(t, srv, http.MethodPost, "IncomingPhoneNumbers.json", url.Values{}, true), 400, 21421)
	wantError(t, call(t, srv, http.MethodPost, "IncomingPhoneNumbers.json", url.Values{"AreaCode": {"999"}}, true), 400, 21452)
	wantError(t, call(t, srv, http.MethodPost, "IncomingPhoneNumbers.json", url.Values{"PhoneNumber": {"+19995550100"}}, true), 400, 21422)

	r := call(t, srv, http.MethodPost, "IncomingPhoneNumbers.json", url.Values{"AreaCode": {"212"}, "SmsUrl": {"https://h.example/sms"}}, true)
	if r.status != 201 {
		t.Fatalf("HTTP %d %v", r.status, r.body)
	}
	caps := r.body["capabilities"].(map[string]any)
	if !strings.HasPrefix(r.body["phone_number"].(string), "+1212") || r.body["sms_method"] != "POST" || caps["sms"] != true {
		t.Errorf("incoming %v", r.body)
	}
	owned := srv.Owned()
	if len(owned) != 1 || owned[0].SID != r.body["sid"] || owned[0].SMSURL != "https://h.example/sms" {
		t.Errorf("owned %+v", owned)
	}
	r = call(t, srv, http.MethodDelete, "IncomingPhoneNumbers/"+owned[0].SID+".json", nil, true)
	if r.status != 204 || r.body != nil {
		t.Errorf("release: HTTP %d %v", r.status, r.body)
	}
}

func TestMessageWireFormat(t *testing.T) {
	srv := twiliotest.NewServer()
	defer srv.Close()
	r := call(t, srv, http.MethodPost, "IncomingPhoneNumbers.json", url.Values{"PhoneNumber": {"+14155550100"}}, true)
	if r.status != 201 {
		t.Fatal(r.body)
	}
	r = call(t, srv, http.MethodPost, "Messages.json", url.Values{
		"From": {"+14155550100"}, "To": {"+14155550111"},
		"MediaUrl": {"https://m.example/1.jpg", "https://m.example/2.jpg"},
	}, true)
	if r.status != 201 {
		t.Fatalf("HTTP %d %v", r.status, r.body)
	}
	if r.body["status"] != "queued" || r.body["num_media"] != "2" || r.body["error_code"] != nil ||
		r.body["direction"] != "outbound-api" || !strings.HasPrefix(r.body["sid"].(string), "SM") {
		t.Errorf("message %v", r.body)
	}
	if _, ok := r.body["error_message"]; !ok {
		t.Error("message without error_message (null)")
	}
}

func TestSignedURL(t *testing.T) {
	cases := map[string]string{
		"https://example.com:8443/a?b=1":       "https://example.com/a?b=1",
		"https://example.com:443/a":            "https://example.com/a",
		"https://u:p@example.com/a":            "https://example.com/a",
		"http://u:p@example.com:8080/a?x=y:z":  "http://example.com:8080/a?x=y:z",
		"http://example.com/a":                 "http://example.com/a",
		"https://[::1]:8443/a":                 "https://[::1]/a",
		"https://[::1]/a":                      "https://[::1]/a",
		"https://example.com:8443":             "https://example.com",
		"https://example.com/p%20q?r=%2B1#frg": "https://example.com/p%20q?r=%2B1#frg",
	}
	for in, want := range cases {
		if got := twiliotest.SignedURL(in); got != want {
			t.Errorf("SignedURL(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestSignatureDocumentedVector(t *testing.T) {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675310"}, "Digits": {"1234"},
		"From": {"+14158675310"}, "To": {"+18005551212"},
	}
	if got := twiliotest.Signature("12345", "https://example.com/myapp.php?foo=1&bar=2", params); got != "L/OH5YylLD5NRKLltdqwSvS0BnU=" {
		t.Fatalf("Signature = %s", got)
	}
}

func TestWebhookPreconditions(t *testing.T) {
	srv := twiliotest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	if _, err := srv.SendStatus(ctx, "SM0", "sent", 0); err == nil {
		t.Error("status callback for an unknown message")
	}
	if _, _, err := srv.SendInbound(ctx, twiliotest.InboundMessage{From: "+1", To: "+14155550100", Body: "x"}); err == nil {
		t.Error("inbound message to a number not owned")
	}
	if _, err := srv.Post(ctx, http.MethodPut, "http://127.0.0.1:1/", nil); err == nil {
		t.Error("PUT webhook")
	}
}

func TestWebhookHeaders(t *testing.T) {
	srv := twiliotest.NewServer()
	defer srv.Close()
	got := make(chan *http.Request, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got <- r
	}))
	defer ts.Close()

	form := srv.InboundForm("SM1", twiliotest.InboundMessage{From: "+14155550100", To: "+14155550101", Body: "hi",
		MediaURLs: []string{"https://m.example/1"}})
	if _, err := srv.Post(context.Background(), http.MethodPost, ts.URL+"/in?q=1", form); err != nil {
		t.Fatal(err)
	}
	r := <-got
	want := twiliotest.Signature(srv.AuthToken, ts.URL+"/in?q=1", form)
	if r.Header.Get("X-Twilio-Signature") != want || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		r.Header.Get("I-Twilio-Idempotency-Token") == "" {
		t.Errorf("headers %v", r.Header)
	}
	for _, k := range []string{"MessageSid", "SmsMessageSid", "SmsSid", "AccountSid", "From", "To", "Body", "NumMedia",
		"MediaUrl0", "MediaContentType0", "SmsStatus", "ApiVersion"} {
		if r.PostForm.Get(k) == "" {
			t.Errorf("inbound form without %s: %v", k, r.PostForm)
		}
	}
}
