package twilio_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/twilio"
	"github.com/agentphone/agentphone/twilio/twiliotest"
)

const publicURL = "https://phones.example.com"

// newProvider returns a Provider on a fresh fake, with publicURL.
func newProvider(t *testing.T) (*twilio.Provider, *twiliotest.Server) {
	t.Helper()
	srv := newFake(t)
	return &twilio.Provider{Client: newClient(t, srv), PublicURL: publicURL}, srv
}

// buyNumber buys the first free 415 number through p and returns it as
// NumberService would store it.
func buyNumber(t *testing.T, p *twilio.Provider) *agentphone.Number {
	t.Helper()
	ctx := context.Background()
	avail, err := p.Search(ctx, agentphone.NumberQuery{Country: "US", AreaCode: "415", Limit: 1})
	if err != nil || len(avail) != 1 {
		t.Fatalf("Search: %v, %v", avail, err)
	}
	pn, err := p.Purchase(ctx, avail[0])
	if err != nil {
		t.Fatal(err)
	}
	return &agentphone.Number{
		ID: "num_1", PhoneNumber: pn.PhoneNumber, Country: pn.Country, Status: agentphone.NumberActive,
		Provider: p.Name(), ProviderRef: pn.ProviderRef, Capabilities: pn.Capabilities,
	}
}

func isTemporary(err error) bool {
	var te *agentphone.TemporaryError
	return errors.As(err, &te)
}

func TestProvider_NameAndCountries(t *testing.T) {
	t.Parallel()
	p := &twilio.Provider{}
	if p.Name() != "twilio" {
		t.Errorf("Name() = %q", p.Name())
	}
	got := p.Countries()
	if !reflect.DeepEqual(got, []string{"US", "CA"}) {
		t.Errorf("default Countries() = %v", got)
	}
	got[0] = "XX"
	if p.Countries()[0] != "US" {
		t.Error("Countries() shares its slice with the caller")
	}
	p.CountryList = []string{"GB"}
	if got := p.Countries(); !reflect.DeepEqual(got, []string{"GB"}) {
		t.Errorf("Countries() = %v, want CountryList", got)
	}
}

func TestProvider_Search(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		p, srv := newProvider(t)
		got, err := p.Search(ctx, agentphone.NumberQuery{Country: "US", AreaCode: "415", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("got %d numbers, want 2", len(got))
		}
		for _, a := range got {
			want := agentphone.Capabilities{SMS: true, MMS: true, Voice: true}
			if !strings.HasPrefix(a.PhoneNumber, "+1415555") || a.Country != "US" || a.Capabilities != want {
				t.Errorf("number %+v", a)
			}
		}
		reqs := srv.Requests()
		q := reqs[len(reqs)-1].Query
		if q.Get("AreaCode") != "415" || q.Get("PageSize") != "2" || q.Get("SmsEnabled") != "true" {
			t.Errorf("query %v", q)
		}

		ca, err := p.Search(ctx, agentphone.NumberQuery{Country: "ca", Limit: 10})
		if err != nil || len(ca) != 3 || ca[0].Country != "CA" || !strings.HasPrefix(ca[0].PhoneNumber, "+1416") {
			t.Errorf("lower-case country: %+v, %v", ca, err)
		}
	})

	t.Run("Capabilities", func(t *testing.T) {
		p, srv := newProvider(t)
		srv.AddAvailable(twiliotest.AvailableNumber{PhoneNumber: "+13125550100", Country: "US", SMS: true})
		got, err := p.Search(ctx, agentphone.NumberQuery{Country: "US", AreaCode: "312"})
		if err != nil || len(got) != 1 || got[0].Capabilities != (agentphone.Capabilities{SMS: true}) {
			t.Errorf("SMS-only number: %+v, %v", got, err)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		p, _ := newProvider(t)
		for _, q := range []agentphone.NumberQuery{
			{Country: "US", AreaCode: "999", Limit: 5}, // no numbers there
			{Country: "ZZ", Limit: 5},                  // Twilio answers 404
		} {
			got, err := p.Search(ctx, q)
			if err != nil || got == nil || len(got) != 0 {
				t.Errorf("%+v: %v, %v; want an empty list", q, got, err)
			}
		}
	})

	t.Run("ErrUnavailable", func(t *testing.T) {
		p, srv := newProvider(t)
		srv.FailNext(503, twilio.CodeServiceUnavailable, "Service is unavailable")
		_, err := p.Search(ctx, agentphone.NumberQuery{Country: "US", Limit: 5})
		if agentphone.ErrorKind(err) != agentphone.KindUnavailable || twilio.ErrorCode(err) != twilio.CodeServiceUnavailable {
			t.Errorf("503: %v (kind %v)", err, agentphone.ErrorKind(err))
		}
		srv.FailNext(401, twilio.CodeAuthentication, "Authenticate")
		_, err = p.Search(ctx, agentphone.NumberQuery{Country: "US", Limit: 5})
		if err == nil || agentphone.ErrorKind(err) != agentphone.KindInternal {
			t.Errorf("401: %v (kind %v), want an internal error", err, agentphone.ErrorKind(err))
		}
	})
}

func TestProvider_Purchase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		p, srv := newProvider(t)
		p.PublicURL += "/" // a trailing slash is ignored
		avail, err := p.Search(ctx, agentphone.NumberQuery{Country: "US", AreaCode: "212", Limit: 1})
		if err != nil || len(avail) != 1 {
			t.Fatal(avail, err)
		}
		pn, err := p.Purchase(ctx, avail[0])
		if err != nil {
			t.Fatal(err)
		}
		owned := srv.Owned()
		if len(owned) != 1 {
			t.Fatalf("owned %+v", owned)
		}
		o := owned[0]
		if o.SMSURL != publicURL+"/twilio/messages" || o.SMSMethod != http.MethodPost {
			t.Errorf("SmsUrl %q %s, want %s/twilio/messages POST", o.SMSURL, o.SMSMethod, publicURL)
		}
		want := agentphone.ProvisionedNumber{
			PhoneNumber: avail[0].PhoneNumber, Country: "US", ProviderRef: o.SID,
			Capabilities: agentphone.Capabilities{SMS: true, MMS: true, Voice: true},
		}
		if pn != want {
			t.Errorf("got %+v, want %+v", pn, want)
		}

		// Bought in the meantime: Twilio's 21422, which NumberService
		// takes as a sign to try the next candidate.
		_, err = p.Purchase(ctx, avail[0])
		if twilio.ErrorCode(err) != twilio.CodeNumberUnavailable || !errors.Is(err, agentphone.ErrNumberTaken) {
			t.Errorf("second purchase: %v", err)
		}
	})

	t.Run("ErrPublicURL", func(t *testing.T) {
		for _, u := range []string{"", "phones.example.com", "ftp://phones.example.com"} {
			p, srv := newProvider(t)
			p.PublicURL = u
			_, err := p.Purchase(ctx, agentphone.AvailableNumber{PhoneNumber: "+14155550100", Country: "US"})
			if err == nil || !strings.Contains(err.Error(), "PublicURL") {
				t.Errorf("PublicURL %q: %v", u, err)
			}
			if len(srv.Requests()) != 0 || len(srv.Owned()) != 0 {
				t.Errorf("PublicURL %q: a number was bought", u)
			}
		}
	})
}

func TestProvider_Release(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, srv := newProvider(t)
	n := buyNumber(t, p)
	if err := p.Release(ctx, n); err != nil {
		t.Fatal(err)
	}
	if owned := srv.Owned(); len(owned) != 0 {
		t.Fatalf("still owned: %+v", owned)
	}
	// Gone on Twilio's side already: still released.
	if err := p.Release(ctx, n); err != nil {
		t.Errorf("second release: %v", err)
	}
	reqs := srv.Requests()
	if r := reqs[len(reqs)-1]; r.Method != http.MethodDelete || !strings.HasSuffix(r.Path, "/IncomingPhoneNumbers/"+n.ProviderRef+".json") {
		t.Errorf("request %s %s", r.Method, r.Path)
	}

	n2 := buyNumber(t, p)
	srv.FailNext(500, twilio.CodeInternal, "Internal error")
	err := p.Release(ctx, n2)
	if err == nil || twilio.ErrorCode(err) != twilio.CodeInternal || agentphone.ErrorKind(err) != agentphone.KindUnavailable {
		t.Errorf("500: %v", err)
	}
	if len(srv.Owned()) != 1 {
		t.Error("number released despite the error")
	}
}

func TestProvider_SendMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, srv := newProvider(t)
	n := buyNumber(t, p)

	cases := []struct {
		name   string
		msg    agentphone.Message
		status string // StatusCallback after publicURL
	}{
		{"SMS", agentphone.Message{ID: "msg_sms1", To: "+14155550199", Body: "hello ✓"}, "/twilio/messages/msg_sms1/status"},
		{"MMS", agentphone.Message{ID: "msg_mms1", To: "+14155550199", Body: "look",
			MediaURLs: []string{"https://media.example.com/a.jpg", "https://media.example.com/b.png"}}, "/twilio/messages/msg_mms1/status"},
		{"MediaOnly", agentphone.Message{ID: "msg/odd id", To: "+14155550199",
			MediaURLs: []string{"https://media.example.com/c.gif"}}, "/twilio/messages/msg%2Fodd%20id/status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sent, err := p.SendMessage(ctx, n, &c.msg)
			if err != nil {
				t.Fatal(err)
			}
			msgs := srv.Messages()
			got := msgs[len(msgs)-1]
			if sent.ProviderRef != got.SID || !strings.HasPrefix(sent.ProviderRef, "SM") || sent.Status != agentphone.MessageSent {
				t.Errorf("sent %+v, Twilio's message %s", sent, got.SID)
			}
			if got.From != n.PhoneNumber || got.To != c.msg.To || got.Body != c.msg.Body ||
				len(got.MediaURLs) != len(c.msg.MediaURLs) || (len(got.MediaURLs) > 0 && !reflect.DeepEqual(got.MediaURLs, c.msg.MediaURLs)) {
				t.Errorf("Twilio got %+v, want %+v", got, c.msg)
			}
			if got.StatusCallback != publicURL+c.status {
				t.Errorf("StatusCallback %q, want %q", got.StatusCallback, publicURL+c.status)
			}
		})
	}
}

func TestProvider_SendMessageErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	msg := &agentphone.Message{ID: "msg_1", To: "+14155550199", Body: "hi"}

	t.Run("Temporary", func(t *testing.T) {
		p, srv := newProvider(t)
		n := buyNumber(t, p)
		for _, f := range []struct{ status, code int }{{503, 20503}, {429, 20429}, {500, 20500}, {502, 0}} {
			srv.FailNext(f.status, f.code, "try later")
			_, err := p.SendMessage(ctx, n, msg)
			if !isTemporary(err) || !twilio.IsRetryable(err) {
				t.Errorf("HTTP %d: %v is not temporary", f.status, err)
			}
			if f.code != 0 && !strings.Contains(err.Error(), "error "+strconv.Itoa(f.code)) {
				t.Errorf("HTTP %d: %q does not name the code", f.status, err)
			}
		}
		if got := len(srv.Messages()); got != 0 {
			t.Errorf("%d messages created", got)
		}
	})

	t.Run("Credentials", func(t *testing.T) {
		// A 401 is this server's configuration, not the message's fault:
		// the message waits for the credentials to be fixed.
		p, srv := newProvider(t)
		n := buyNumber(t, p)
		srv.FailNext(401, twilio.CodeAuthentication, "Authenticate")
		_, err := p.SendMessage(ctx, n, msg)
		if !isTemporary(err) || !strings.Contains(err.Error(), "TWILIO_AUTH_TOKEN") {
			t.Fatalf("401: %v, want a temporary error naming the credentials", err)
		}
	})

	t.Run("Permanent", func(t *testing.T) {
		p, srv := newProvider(t)
		n := buyNumber(t, p)
		srv.FailNext(400, twilio.CodeInvalidTo, "The 'To' number +1555 is not a valid phone number.")
		_, err := p.SendMessage(ctx, n, msg)
		if err == nil || isTemporary(err) {
			t.Fatalf("400: %v, want a permanent error", err)
		}
		const want = "Twilio refused the message (error 21211): The 'To' number +1555 is not a valid phone number."
		if err.Error() != want {
			t.Errorf("text %q, want %q", err, want)
		}
		if twilio.ErrorCode(err) != twilio.CodeInvalidTo {
			t.Errorf("error does not wrap Twilio's: %v", err)
		}

		// Eleven media: the API allows 20, Twilio 10, and says so.
		many := &agentphone.Message{ID: "msg_2", To: "+14155550199"}
		for range 11 {
			many.MediaURLs = append(many.MediaURLs, "https://media.example.com/x.jpg")
		}
		_, err = p.SendMessage(ctx, n, many)
		if err == nil || isTemporary(err) || !strings.Contains(err.Error(), "(error 21623)") {
			t.Errorf("11 media: %v", err)
		}
		reqs := srv.Requests()
		if got := reqs[len(reqs)-1].Form["MediaUrl"]; len(got) != 11 {
			t.Errorf("sent %d MediaUrl, want all 11", len(got))
		}

		// Not Twilio's JSON: the HTTP status names it.
		srv.FailNext(403, 0, "")
		_, err = p.SendMessage(ctx, n, msg)
		if err == nil || isTemporary(err) {
			t.Errorf("403: %v", err)
		}
	})

	t.Run("ConnectionRefused", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		c, err := twilio.New(twilio.Config{AccountSID: acct, AuthToken: "t", BaseURL: closed.URL})
		if err != nil {
			t.Fatal(err)
		}
		p := &twilio.Provider{Client: c, PublicURL: publicURL}
		_, err = p.SendMessage(ctx, &agentphone.Number{PhoneNumber: "+14155550100"}, msg)
		if !isTemporary(err) {
			t.Fatalf("closed server: %v is not temporary", err)
		}
		if !strings.HasPrefix(err.Error(), "Twilio could not be reached: ") || strings.Contains(err.Error(), acct) {
			t.Errorf("text %q", err)
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		srv := newFake(t)
		c, err := twilio.New(twilio.Config{AccountSID: srv.AccountSID, AuthToken: srv.AuthToken, BaseURL: srv.URL,
			HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		srv.SetDelay(time.Minute)
		p := &twilio.Provider{Client: c, PublicURL: publicURL}
		_, err = p.SendMessage(ctx, &agentphone.Number{PhoneNumber: "+14155550100"}, msg)
		if !isTemporary(err) {
			t.Errorf("timeout: %v is not temporary", err)
		}
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		p, _ := newProvider(t)
		n := buyNumber(t, p)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := p.SendMessage(cctx, n, msg)
		if err == nil || isTemporary(err) || !errors.Is(err, context.Canceled) {
			t.Errorf("canceled: %v, want a non-temporary error wrapping context.Canceled", err)
		}
	})

	t.Run("FailedAtOnce", func(t *testing.T) {
		// Twilio may answer 201 with a message already failed.
		for _, c := range []struct{ body, want string }{
			{`{"sid":"SM1","status":"failed","error_code":30007,"error_message":"filtered"}`,
				"Twilio refused the message (error 30007): Message filtered"},
			{`{"sid":"SM1","status":"undelivered","error_code":39999,"error_message":"Something new"}`,
				"Twilio refused the message (error 39999): Something new"},
			{`{"sid":"SM1","status":"failed","error_code":null,"error_message":null}`,
				"Twilio refused the message"},
		} {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte(c.body))
			}))
			c2, err := twilio.New(twilio.Config{AccountSID: acct, AuthToken: "t", BaseURL: ts.URL})
			if err != nil {
				t.Fatal(err)
			}
			p := &twilio.Provider{Client: c2, PublicURL: publicURL}
			_, err = p.SendMessage(ctx, &agentphone.Number{PhoneNumber: "+14155550100"}, msg)
			ts.Close()
			if err == nil || isTemporary(err) || err.Error() != c.want {
				t.Errorf("%s: %v, want %q", c.body, err, c.want)
			}
		}
	})

	t.Run("ErrPublicURL", func(t *testing.T) {
		p, srv := newProvider(t)
		n := buyNumber(t, p)
		p.PublicURL = ""
		before := len(srv.Requests())
		_, err := p.SendMessage(ctx, n, msg)
		if err == nil || isTemporary(err) || len(srv.Requests()) != before {
			t.Errorf("empty PublicURL: %v", err)
		}
	})
}
