package twilio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/twilio"
	"github.com/agentphone/agentphone/twilio/twiliotest"
)

func newFake(t *testing.T) *twiliotest.Server {
	t.Helper()
	srv := twiliotest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func newClient(t *testing.T, srv *twiliotest.Server) *twilio.Client {
	t.Helper()
	c, err := twilio.New(twilio.Config{AccountSID: srv.AccountSID, AuthToken: srv.AuthToken, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ownNumber buys the first free 415 number and returns it.
func ownNumber(t *testing.T, c *twilio.Client) twilio.Incoming {
	t.Helper()
	ctx := context.Background()
	avail, err := c.SearchNumbers(ctx, "US", "415", 1)
	if err != nil || len(avail) != 1 {
		t.Fatalf("SearchNumbers: %v, %v", avail, err)
	}
	in, err := c.BuyNumber(ctx, avail[0].PhoneNumber, "https://hooks.example.com/sms", "")
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func asError(t *testing.T, err error) *twilio.Error {
	t.Helper()
	var e *twilio.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *twilio.Error", err, err)
	}
	return e
}

const (
	acct = "AC0123456789abcdef0123456789abcdef"
	key  = "SK0123456789abcdef0123456789abcdef"
)

func TestNewValidatesConfig(t *testing.T) {
	bad := []twilio.Config{
		{},
		{AccountSID: "AC123", AuthToken: "t"},
		{AccountSID: "XX0123456789abcdef0123456789abcdef", AuthToken: "t"},
		{AccountSID: "AC0123456789abcdef0123456789abcdeg", AuthToken: "t"},
		{AccountSID: acct},
		{AccountSID: acct, APIKeySID: key},
		{AccountSID: acct, APIKeySecret: "s"},
		{AccountSID: acct, AuthToken: "t", APIKeySID: "SKnope", APIKeySecret: "s"},
		{AccountSID: acct, AuthToken: "t", BaseURL: "ftp://api.twilio.com"},
		{AccountSID: acct, AuthToken: "t", BaseURL: "api.twilio.com"},
		{AccountSID: acct, AuthToken: "t", BaseURL: "https://u:p@api.twilio.com"},
		{AccountSID: acct, AuthToken: "t", BaseURL: "https://api.twilio.com/?x=1"},
	}
	for i, cfg := range bad {
		if _, err := twilio.New(cfg); err == nil {
			t.Errorf("%d: New(%+v) accepted", i, cfg)
		}
	}
	good := []twilio.Config{
		{AccountSID: acct, AuthToken: "t"},
		{AccountSID: acct, APIKeySID: key, APIKeySecret: "s"},
		{AccountSID: acct, AuthToken: "t", APIKeySID: key, APIKeySecret: "s", BaseURL: "http://127.0.0.1:1/"},
	}
	for i, cfg := range good {
		if _, err := twilio.New(cfg); err != nil {
			t.Errorf("%d: New: %v", i, err)
		}
	}
}

func TestSearchNumbers(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	ctx := context.Background()

	got, err := c.SearchNumbers(ctx, "us", "415", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d numbers, want 3", len(got))
	}
	for _, a := range got {
		if !strings.HasPrefix(a.PhoneNumber, "+1415555") || a.ISOCountry != "US" || a.Region != "CA" {
			t.Errorf("unexpected number %+v", a)
		}
		// The fake capitalises "SMS"/"MMS" on this resource, as Twilio does.
		if a.Capabilities != (twilio.Capabilities{SMS: true, MMS: true, Voice: true}) {
			t.Errorf("capabilities %+v", a.Capabilities)
		}
	}

	reqs := srv.Requests()
	r := reqs[len(reqs)-1]
	if r.Method != http.MethodGet || r.Path != "/2010-04-01/Accounts/"+srv.AccountSID+"/AvailablePhoneNumbers/US/Local.json" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	if r.Query.Get("AreaCode") != "415" || r.Query.Get("SmsEnabled") != "true" || r.Query.Get("PageSize") != "3" {
		t.Errorf("query %v", r.Query)
	}
	if r.User != srv.AccountSID || r.Header.Get("Accept") != "application/json" {
		t.Errorf("user %q, accept %q", r.User, r.Header.Get("Accept"))
	}

	all, err := c.SearchNumbers(ctx, "US", "", 0)
	if err != nil || len(all) != 10 {
		t.Errorf("whole US inventory: %d numbers, %v", len(all), err)
	}

	none, err := c.SearchNumbers(ctx, "US", "999", 5)
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("area code without numbers: %v, %v; want empty list", none, err)
	}

	_, err = c.SearchNumbers(ctx, "ZZ", "", 5)
	if e := asError(t, err); e.Status != 404 || e.Code != twilio.CodeNotFound || !e.Permanent() {
		t.Errorf("unknown country: %+v", e)
	}

	n := len(srv.Requests())
	for _, bad := range []string{"USA", "U", "U1", "../"} {
		if _, err := c.SearchNumbers(ctx, bad, "", 1); err == nil {
			t.Errorf("country %q accepted", bad)
		}
	}
	if _, err := c.SearchNumbers(ctx, "US", "", -1); err == nil {
		t.Error("negative limit accepted")
	}
	if len(srv.Requests()) != n {
		t.Error("invalid arguments reached the API")
	}
}

func TestBuyAndReleaseNumber(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	ctx := context.Background()

	avail, err := c.SearchNumbers(ctx, "CA", "416", 1)
	if err != nil || len(avail) != 1 {
		t.Fatalf("search: %v %v", avail, err)
	}
	in, err := c.BuyNumber(ctx, avail[0].PhoneNumber, "https://hooks.example.com/sms?n=1", "https://hooks.example.com/calls")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(in.SID, "PN") || len(in.SID) != 34 || in.PhoneNumber != avail[0].PhoneNumber {
		t.Errorf("incoming %+v", in)
	}
	if in.SMSURL != "https://hooks.example.com/sms?n=1" || in.SMSMethod != "POST" || in.StatusCallback != "https://hooks.example.com/calls" {
		t.Errorf("incoming %+v", in)
	}
	if in.Capabilities != (twilio.Capabilities{SMS: true, MMS: true, Voice: true}) {
		t.Errorf("capabilities %+v", in.Capabilities)
	}

	reqs := srv.Requests()
	r := reqs[len(reqs)-1]
	if r.Method != http.MethodPost || r.Path != "/2010-04-01/Accounts/"+srv.AccountSID+"/IncomingPhoneNumbers.json" ||
		r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("request %s %s %s", r.Method, r.Path, r.Header.Get("Content-Type"))
	}
	want := map[string]string{
		"PhoneNumber": in.PhoneNumber, "SmsUrl": "https://hooks.example.com/sms?n=1", "SmsMethod": "POST",
		"StatusCallback": "https://hooks.example.com/calls", "StatusCallbackMethod": "POST",
	}
	for k, v := range want {
		if r.Form.Get(k) != v {
			t.Errorf("form %s = %q, want %q", k, r.Form.Get(k), v)
		}
	}
	if owned := srv.Owned(); len(owned) != 1 || owned[0].SID != in.SID {
		t.Fatalf("owned %+v", owned)
	}

	// Bought numbers leave the inventory.
	_, err = c.BuyNumber(ctx, in.PhoneNumber, "", "")
	if e := asError(t, err); e.Status != 400 || e.Code != twilio.CodeNumberUnavailable || !e.Permanent() || e.Retryable() {
		t.Errorf("buying twice: %+v", e)
	}
	_, err = c.BuyNumber(ctx, "4165550100", "", "")
	if e := asError(t, err); e.Code != twilio.CodeInvalidPhoneNumber {
		t.Errorf("invalid number: %+v", e)
	}

	if err := c.ReleaseNumber(ctx, in.SID); err != nil {
		t.Fatal(err)
	}
	r = srv.Requests()[len(srv.Requests())-1]
	if r.Method != http.MethodDelete || r.Path != "/2010-04-01/Accounts/"+srv.AccountSID+"/IncomingPhoneNumbers/"+in.SID+".json" {
		t.Errorf("release request %s %s", r.Method, r.Path)
	}
	if owned := srv.Owned(); len(owned) != 0 {
		t.Errorf("still owned: %+v", owned)
	}
	err = c.ReleaseNumber(ctx, in.SID)
	if e := asError(t, err); e.Status != 404 || e.Code != twilio.CodeNotFound {
		t.Errorf("releasing twice: %+v", e)
	}
	for _, bad := range []string{"", "PN123", "../Messages", "SM0123456789abcdef0123456789abcdef"} {
		if err := c.ReleaseNumber(ctx, bad); err == nil || errors.As(err, new(*twilio.Error)) {
			t.Errorf("ReleaseNumber(%q) = %v, want a local error", bad, err)
		}
	}
}

func TestSendSMS(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	from := ownNumber(t, c)

	m, err := c.SendMessage(context.Background(), twilio.SendParams{
		From: from.PhoneNumber, To: "+14155550199", Body: "hello & bye",
		StatusCallback: "https://hooks.example.com/status",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.SID, "SM") || m.Status != "queued" || m.ErrorCode != nil || m.ErrorMessage != nil ||
		m.From != from.PhoneNumber || m.To != "+14155550199" || m.Body != "hello & bye" || m.AccountSID != srv.AccountSID {
		t.Errorf("message %+v", m)
	}
	r := srv.Requests()[len(srv.Requests())-1]
	if r.Path != "/2010-04-01/Accounts/"+srv.AccountSID+"/Messages.json" {
		t.Errorf("path %s", r.Path)
	}
	if r.Form.Get("Body") != "hello & bye" || r.Form.Get("StatusCallback") != "https://hooks.example.com/status" ||
		r.Form.Has("MediaUrl") {
		t.Errorf("form %v", r.Form)
	}
	if ms := srv.Messages(); len(ms) != 1 || ms[0].SID != m.SID || ms[0].StatusCallback == "" {
		t.Errorf("fake messages %+v", ms)
	}
}

func TestSendMMS(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	from := ownNumber(t, c)
	media := []string{"https://cdn.example.com/a.jpg", "https://cdn.example.com/b.png?x=1&y=2"}

	m, err := c.SendMessage(context.Background(), twilio.SendParams{From: from.PhoneNumber, To: "+12125550100", MediaURLs: media})
	if err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[len(srv.Requests())-1]
	if !reflect.DeepEqual(r.Form["MediaUrl"], media) {
		t.Errorf("MediaUrl = %q, want %q (repeated, in order)", r.Form["MediaUrl"], media)
	}
	if r.Form.Has("Body") {
		t.Errorf("empty Body was sent: %v", r.Form)
	}
	if ms := srv.Messages(); len(ms) != 1 || ms[0].SID != m.SID || !reflect.DeepEqual(ms[0].MediaURLs, media) {
		t.Errorf("fake messages %+v", ms)
	}
}

func TestSendMessageErrors(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	from := ownNumber(t, c).PhoneNumber
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("https://cdn.example.com/%d.jpg", i)
	}
	cases := []struct {
		name string
		p    twilio.SendParams
		code int
	}{
		{"missing To", twilio.SendParams{From: from, Body: "x"}, twilio.CodeToRequired},
		{"invalid To", twilio.SendParams{From: from, To: "555-0100", Body: "x"}, twilio.CodeInvalidTo},
		{"missing From", twilio.SendParams{To: "+14155550100", Body: "x"}, twilio.CodeFromRequired},
		{"invalid From", twilio.SendParams{From: "me", To: "+14155550100", Body: "x"}, twilio.CodeInvalidFrom},
		{"From not owned", twilio.SendParams{From: "+12125550100", To: "+14155550100", Body: "x"}, twilio.CodeFromNotOwned},
		{"no body, no media", twilio.SendParams{From: from, To: "+14155550100"}, twilio.CodeBodyRequired},
		{"body too long", twilio.SendParams{From: from, To: "+14155550100", Body: strings.Repeat("é", 1601)}, twilio.CodeBodyTooLong},
		{"too many media", twilio.SendParams{From: from, To: "+14155550100", MediaURLs: eleven}, twilio.CodeTooManyMedia},
		{"invalid media", twilio.SendParams{From: from, To: "+14155550100", MediaURLs: []string{"file:///etc/passwd"}}, twilio.CodeInvalidMediaURL},
		{"invalid callback", twilio.SendParams{From: from, To: "+14155550100", Body: "x", StatusCallback: "not a url"}, twilio.CodeInvalidCallback},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.SendMessage(context.Background(), tc.p)
			e := asError(t, err)
			if e.Status != 400 || e.Code != tc.code || e.Message == "" ||
				e.MoreInfo != fmt.Sprintf("https://www.twilio.com/docs/errors/%d", tc.code) {
				t.Errorf("error %+v, want 400 / %d", e, tc.code)
			}
			if !e.Permanent() || e.Retryable() || !twilio.IsPermanent(err) || twilio.IsRetryable(err) || twilio.ErrorCode(err) != tc.code {
				t.Errorf("classification of %v", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tc.code)) {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	srv := newFake(t)
	ctx := context.Background()

	viaKey, err := twilio.New(twilio.Config{AccountSID: srv.AccountSID, APIKeySID: srv.APIKeySID, APIKeySecret: srv.APIKeySecret, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := viaKey.SearchNumbers(ctx, "US", "", 1); err != nil {
		t.Fatalf("API key: %v", err)
	}
	if u := srv.Requests()[0].User; u != srv.APIKeySID {
		t.Errorf("basic-auth user %q, want the API key SID", u)
	}

	bad := []twilio.Config{
		{AccountSID: srv.AccountSID, AuthToken: "wrong", BaseURL: srv.URL},
		{AccountSID: srv.AccountSID, APIKeySID: srv.APIKeySID, APIKeySecret: srv.AuthToken, BaseURL: srv.URL},
		{AccountSID: srv.AccountSID, APIKeySID: "SK" + srv.AccountSID[2:], APIKeySecret: srv.APIKeySecret, BaseURL: srv.URL},
	}
	for i, cfg := range bad {
		c, err := twilio.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SearchNumbers(ctx, "US", "", 1)
		e := asError(t, err)
		if e.Status != http.StatusUnauthorized || e.Code != twilio.CodeAuthentication || !e.Permanent() {
			t.Errorf("%d: %+v, want 401 / 20003", i, e)
		}
	}

	// Good credentials, but a path naming another account.
	other, _ := twilio.New(twilio.Config{AccountSID: acct, AuthToken: srv.AuthToken, BaseURL: srv.URL})
	if _, err := other.SearchNumbers(ctx, "US", "", 1); err == nil {
		t.Error("another account's resources were served")
	}
}

func TestRetryableErrors(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	cases := []struct {
		status, code int
		retryable    bool
	}{
		{429, twilio.CodeTooManyRequests, true},
		{500, twilio.CodeInternal, true},
		{503, twilio.CodeServiceUnavailable, true},
		{404, twilio.CodeNotFound, false},
		{401, twilio.CodeAuthentication, false},
	}
	for _, tc := range cases {
		srv.FailNext(tc.status, tc.code, "injected")
		_, err := c.SearchNumbers(context.Background(), "US", "", 1)
		wrapped := fmt.Errorf("provider: %w", err)
		e := asError(t, wrapped)
		if e.Status != tc.status || e.Code != tc.code || e.Message != "injected" {
			t.Errorf("%+v", e)
		}
		if twilio.IsRetryable(wrapped) != tc.retryable || twilio.IsPermanent(wrapped) == tc.retryable {
			t.Errorf("%d: retryable %v, permanent %v", tc.status, twilio.IsRetryable(wrapped), twilio.IsPermanent(wrapped))
		}
	}
	// The injected failures are used up.
	if _, err := c.SearchNumbers(context.Background(), "US", "", 1); err != nil {
		t.Fatal(err)
	}
	if twilio.IsRetryable(errors.New("x")) || twilio.IsPermanent(nil) || twilio.ErrorCode(context.Canceled) != 0 {
		t.Error("helpers on non-Twilio errors")
	}
}

func TestNonJSONError(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>\n<body>upstream   down</body></html>")
	}))
	defer proxy.Close()
	c, err := twilio.New(twilio.Config{AccountSID: acct, AuthToken: "t", BaseURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	err = c.ReleaseNumber(context.Background(), "PN0123456789abcdef0123456789abcdef")
	e := asError(t, err)
	if e.Status != 502 || e.Code != 0 || !strings.HasPrefix(e.Message, "Bad Gateway: <html> <body>upstream down") || !e.Retryable() {
		t.Errorf("%+v", e)
	}
}

func TestMalformedSuccessBody(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"sid": 12`)
	}))
	defer bad.Close()
	c, _ := twilio.New(twilio.Config{AccountSID: acct, AuthToken: "t", BaseURL: bad.URL})
	_, err := c.SendMessage(context.Background(), twilio.SendParams{From: "+1", To: "+1", Body: "x"})
	if err == nil || errors.As(err, new(*twilio.Error)) {
		t.Errorf("err = %v, want a decoding error", err)
	}
}

func TestContextCancellation(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	srv.SetDelay(30 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.SendMessage(ctx, twilio.SendParams{From: "+14155550100", To: "+14155550101", Body: "x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("the request outlived its context")
	}
	if twilio.IsRetryable(err) || twilio.IsPermanent(err) {
		t.Error("a cancelled request classified as a Twilio error")
	}

	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := c.SearchNumbers(cancelled, "US", "", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
