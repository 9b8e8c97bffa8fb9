// Package twiliotest is a local fake of the parts of Twilio's REST API
// (2010-04-01) that package twilio uses, speaking Twilio's documented wire
// format, and a sender of the webhooks Twilio makes, signed as Twilio signs
// them. It lets the adapter, and later the server's webhook routes, be
// tested end to end without network access.
//
// The fake serves:
//
//	POST   /2010-04-01/Accounts/{AccountSid}/Messages.json
//	GET    /2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{Country}/Local.json
//	POST   /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json
//	DELETE /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{PNSid}.json
//
// with HTTP basic auth (AccountSID:AuthToken or APIKeySID:APIKeySecret) and
// Twilio's error JSON {"code", "message", "more_info", "status"}: 401 with
// 20003 for missing or wrong credentials; 400 with 21604/21603 for a missing
// To/From, 21211/21212 for an invalid one, 21606 for a From the account does
// not own, 21602 for no Body and no media, 21617 for a Body over 1,600
// characters, 21623 for more than 10 MediaUrl, 21620 for an invalid one,
// 21609 for an invalid StatusCallback; 21421 for a missing or invalid
// PhoneNumber, 21422 for one that is not available, 21452 for an AreaCode
// without numbers; 404 with 20404 for unknown resources and 405 with 20004
// for wrong methods. Error texts are close to Twilio's, not guaranteed equal.
//
// It does not model pricing, paging beyond the first page, messaging
// services, alphanumeric senders or rate limits (FailNext injects any error).
// It does not import package twilio: its signing is a second, independent
// implementation of Twilio's algorithm.
package twiliotest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// APIVersion is the version segment of every path and of webhook forms.
const APIVersion = "2010-04-01"

// Request is one request the fake received, recorded before validation.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Form   url.Values // form-encoded body parameters (POST)
	User   string     // basic-auth user name, "" when none was sent
	Header http.Header
}

// AvailableNumber is a number the fake offers for sale.
type AvailableNumber struct {
	PhoneNumber     string // E.164
	Country         string // ISO 3166-1 alpha-2
	Locality        string
	Region          string
	SMS, MMS, Voice bool
}

// areaCode returns the NANP area code of an E.164 +1 number, else "".
func (a AvailableNumber) areaCode() string {
	if strings.HasPrefix(a.PhoneNumber, "+1") && len(a.PhoneNumber) == 12 {
		return a.PhoneNumber[2:5]
	}
	return ""
}

// IncomingNumber is a number the account bought.
type IncomingNumber struct {
	SID                  string
	PhoneNumber          string
	SMSURL               string
	SMSMethod            string
	StatusCallback       string
	StatusCallbackMethod string
	Number               AvailableNumber // what was bought
}

// Message is a message the fake created (Direction "outbound-api") or
// received for an owned number through SendInbound ("inbound").
type Message struct {
	SID            string
	Direction      string
	From, To       string
	Body           string
	MediaURLs      []string
	StatusCallback string
	Status         string
	ErrorCode      int
}

// Response is what a webhook receiver answered.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

type failure struct {
	status, code int
	message      string
}

// Server is the fake. Its URL is the BaseURL for twilio.Config. The
// exported credential fields must not change after NewServer.
type Server struct {
	*httptest.Server

	AccountSID   string
	AuthToken    string
	APIKeySID    string
	APIKeySecret string

	// CallbackClient sends the webhooks; NewServer sets a client with a
	// 10 s timeout. Set it (before use) to reach an httptest TLS server.
	CallbackClient *http.Client

	mu        sync.Mutex
	requests  []Request
	available []AvailableNumber
	owned     []*IncomingNumber
	messages  []*Message
	failures  []failure
	delay     time.Duration
}

// NewServer starts a fake with fresh random credentials and an inventory
// of fictional numbers (555-0100…0199 of the North American plan): five in
// each of the US area codes 415 and 212, three in Canada's 416.
func NewServer() *Server {
	s := &Server{
		AccountSID:     "AC" + randomHex(),
		AuthToken:      randomHex(),
		APIKeySID:      "SK" + randomHex(),
		APIKeySecret:   randomHex(),
		CallbackClient: &http.Client{Timeout: 10 * time.Second},
	}
	seed := []struct{ country, npa, locality, region string }{
		{"US", "415", "San Francisco", "CA"},
		{"US", "212", "New York", "NY"},
		{"CA", "416", "Toronto", "ON"},
	}
	for _, sd := range seed {
		n := 5
		if sd.country == "CA" {
			n = 3
		}
		for i := range n {
			s.available = append(s.available, AvailableNumber{
				PhoneNumber: fmt.Sprintf("+1%s555%04d", sd.npa, 100+i),
				Country:     sd.country, Locality: sd.locality, Region: sd.region,
				SMS: true, MMS: true, Voice: true,
			})
		}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddAvailable adds numbers to the inventory.
func (s *Server) AddAvailable(nums ...AvailableNumber) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.available = append(s.available, nums...)
}

// FailNext makes the next authenticated API request fail with Twilio's
// error JSON for status and code (queued: several calls fail several
// requests in order).
func (s *Server) FailNext(status, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{status, code, message})
}

// SetDelay makes every API request wait d before it is answered (or until
// the client goes away).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the messages created or received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = *m
		out[i].MediaURLs = append([]string(nil), m.MediaURLs...)
	}
	return out
}

// Owned returns the numbers the account owns, in order of purchase.
func (s *Server) Owned() []IncomingNumber {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]IncomingNumber, len(s.owned))
	for i, n := range s.owned {
		out[i] = *n
	}
	return out
}

// --- REST API ---------------------------------------------------------

var (
	e164       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	countryRe  = regexp.MustCompile(`^[A-Z]{2}$`)
	numberPath = regexp.MustCompile(`^IncomingPhoneNumbers/(PN[0-9a-fA-F]{32})\.json$`)
	searchPath = regexp.MustCompile(`^AvailablePhoneNumbers/([^/]+)/Local\.json$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	user, pass, hasAuth := r.BasicAuth()
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.Query(),
		Form:   cloneValues(r.PostForm),
		User:   user,
		Header: r.Header.Clone(),
	})
	delay := s.delay
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}

	if !hasAuth {
		writeError(w, http.StatusUnauthorized, 20003, "Authentication Error - No credentials provided")
		return
	}
	if !(user == s.AccountSID && pass == s.AuthToken) &&
		!(s.APIKeySID != "" && user == s.APIKeySID && pass == s.APIKeySecret) {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}

	prefix := "/" + APIVersion + "/Accounts/" + s.AccountSID + "/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		notFound(w, r)
		return
	}

	s.mu.Lock()
	var fail *failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.mu.Unlock()
	if fail != nil {
		writeError(w, fail.status, fail.code, fail.message)
		return
	}

	switch {
	case rest == "Messages.json":
		if allow(w, r, http.MethodPost) {
			s.createMessage(w, r)
		}
	case rest == "IncomingPhoneNumbers.json":
		if allow(w, r, http.MethodPost) {
			s.buyNumber(w, r)
		}
	case numberPath.MatchString(rest):
		if allow(w, r, http.MethodDelete) {
			s.releaseNumber(w, r, numberPath.FindStringSubmatch(rest)[1])
		}
	case searchPath.MatchString(rest):
		if allow(w, r, http.MethodGet) {
			s.search(w, r, searchPath.FindStringSubmatch(rest)[1])
		}
	default:
		notFound(w, r)
	}
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	to, from, body, media, cb := f.Get("To"), f.Get("From"), f.Get("Body"), f["MediaUrl"], f.Get("StatusCallback")
	switch {
	case to == "":
		writeError(w, 400, 21604, "A 'To' phone number is required.")
		return
	case from == "":
		writeError(w, 400, 21603, "A 'From' phone number is required.")
		return
	case !e164.MatchString(to):
		writeError(w, 400, 21211, fmt.Sprintf("Invalid 'To' Phone Number: %s", to))
		return
	case !e164.MatchString(from):
		writeError(w, 400, 21212, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from))
		return
	case body == "" && len(media) == 0:
		writeError(w, 400, 21602, "Message body is required.")
		return
	case utf8.RuneCountInString(body) > 1600:
		writeError(w, 400, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	case len(media) > 10:
		writeError(w, 400, 21623, "Number of media files exceeds allowed limit")
		return
	case cb != "" && !httpURL(cb):
		writeError(w, 400, 21609, fmt.Sprintf("The StatusCallback URL %s is not a valid URL.", cb))
		return
	}
	for _, m := range media {
		if !httpURL(m) {
			writeError(w, 400, 21620, fmt.Sprintf("Media urls: %s are invalid. Please use only valid http and https urls", m))
			return
		}
	}

	s.mu.Lock()
	own := s.ownedLocked(from)
	if own == nil || !own.Number.SMS {
		s.mu.Unlock()
		writeError(w, 400, 21606, fmt.Sprintf("The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", from))
		return
	}
	m := &Message{
		SID: "SM" + randomHex(), Direction: "outbound-api",
		From: from, To: to, Body: body, MediaURLs: append([]string(nil), media...),
		StatusCallback: cb, Status: "queued",
	}
	s.messages = append(s.messages, m)
	s.mu.Unlock()

	writeJSON(w, http.StatusCreated, s.messageJSON(m))
}

func (s *Server) messageJSON(m *Message) map[string]any {
	now := time.Now().UTC().Format(time.RFC1123Z)
	uri := "/" + APIVersion + "/Accounts/" + s.AccountSID + "/Messages/" + m.SID
	var code, msg any // JSON null unless failed
	if m.ErrorCode != 0 {
		code, msg = m.ErrorCode, "failed"
	}
	return map[string]any{
		"account_sid":           s.AccountSID,
		"api_version":           APIVersion,
		"body":                  m.Body,
		"date_created":          now,
		"date_sent":             nil,
		"date_updated":          now,
		"direction":             m.Direction,
		"error_code":            code,
		"error_message":         msg,
		"from":                  m.From,
		"messaging_service_sid": nil,
		"num_media":             strconv.Itoa(len(m.MediaURLs)),
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.SID,
		"status":                m.Status,
		"subresource_uris":      map[string]string{"media": uri + "/Media.json"},
		"to":                    m.To,
		"uri":                   uri + ".json",
	}
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, country string) {
	q := r.URL.Query()
	s.mu.Lock()
	known := false
	var found []AvailableNumber
	pageSize := 50
	if n, err := strconv.Atoi(q.Get("PageSize")); err == nil && n > 0 {
		pageSize = min(n, 1000)
	}
	for _, a := range s.available {
		if a.Country != country {
			continue
		}
		known = true
		if ac := q.Get("AreaCode"); ac != "" && a.areaCode() != ac {
			continue
		}
		if !capMatches(q.Get("SmsEnabled"), a.SMS) || !capMatches(q.Get("MmsEnabled"), a.MMS) ||
			!capMatches(q.Get("VoiceEnabled"), a.Voice) {
			continue
		}
		if len(found) < pageSize {
			found = append(found, a)
		}
	}
	s.mu.Unlock()
	if !countryRe.MatchString(country) || !known {
		notFound(w, r)
		return
	}

	list := make([]map[string]any, 0, len(found))
	for _, a := range found {
		list = append(list, map[string]any{
			"friendly_name":        friendly(a.PhoneNumber),
			"phone_number":         a.PhoneNumber,
			"lata":                 "722",
			"locality":             a.Locality,
			"rate_center":          strings.ToUpper(a.Locality),
			"latitude":             "37.780000", // Twilio sends these as strings
			"longitude":            "-122.420000",
			"region":               a.Region,
			"postal_code":          "94103",
			"iso_country":          a.Country,
			"address_requirements": "none",
			"beta":                 false,
			// Twilio capitalises these two keys on this resource only.
			"capabilities": map[string]bool{"voice": a.Voice, "SMS": a.SMS, "MMS": a.MMS, "fax": false},
		})
	}
	uri := r.URL.RequestURI()
	writeJSON(w, http.StatusOK, map[string]any{
		"available_phone_numbers": list,
		"end":                     max(len(list)-1, 0),
		"first_page_uri":          uri,
		"next_page_uri":           nil,
		"page":                    0,
		"page_size":               pageSize,
		"previous_page_uri":       nil,
		"start":                   0,
		"uri":                     uri,
	})
}

// capMatches applies a SmsEnabled-style filter: empty or unparsable means
// no filter.
func capMatches(param string, has bool) bool {
	want, err := strconv.ParseBool(param)
	return err != nil || want == has
}

func (s *Server) buyNumber(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	pn, ac := f.Get("PhoneNumber"), f.Get("AreaCode")
	if pn == "" && ac == "" {
		writeError(w, 400, 21421, "A PhoneNumber or AreaCode is required.")
		return
	}
	if pn != "" && !e164.MatchString(pn) {
		writeError(w, 400, 21421, fmt.Sprintf("PhoneNumber %s is invalid.", pn))
		return
	}

	s.mu.Lock()
	idx := -1
	for i, a := range s.available {
		if (pn != "" && a.PhoneNumber == pn) || (pn == "" && a.areaCode() == ac) {
			idx = i
			break
		}
	}
	if idx < 0 {
		s.mu.Unlock()
		if pn != "" {
			writeError(w, 400, 21422, fmt.Sprintf("Phone number %s is not available.", pn))
		} else {
			writeError(w, 400, 21452, fmt.Sprintf("No phone numbers found in area code %s.", ac))
		}
		return
	}
	a := s.available[idx]
	s.available = append(s.available[:idx:idx], s.available[idx+1:]...)
	n := &IncomingNumber{
		SID:                  "PN" + randomHex(),
		PhoneNumber:          a.PhoneNumber,
		SMSURL:               f.Get("SmsUrl"),
		SMSMethod:            orDefault(strings.ToUpper(f.Get("SmsMethod")), http.MethodPost),
		StatusCallback:       f.Get("StatusCallback"),
		StatusCallbackMethod: orDefault(strings.ToUpper(f.Get("StatusCallbackMethod")), http.MethodPost),
		Number:               a,
	}
	s.owned = append(s.owned, n)
	s.mu.Unlock()

	now := time.Now().UTC().Format(time.RFC1123Z)
	uri := "/" + APIVersion + "/Accounts/" + s.AccountSID + "/IncomingPhoneNumbers/" + n.SID
	writeJSON(w, http.StatusCreated, map[string]any{
		"account_sid":            s.AccountSID,
		"address_requirements":   "none",
		"address_sid":            nil,
		"api_version":            APIVersion,
		"beta":                   false,
		"bundle_sid":             nil,
		"capabilities":           map[string]bool{"voice": a.Voice, "sms": a.SMS, "mms": a.MMS, "fax": false},
		"date_created":           now,
		"date_updated":           now,
		"emergency_status":       "Inactive",
		"friendly_name":          friendly(a.PhoneNumber),
		"identity_sid":           nil,
		"origin":                 "twilio",
		"phone_number":           a.PhoneNumber,
		"sid":                    n.SID,
		"sms_application_sid":    "",
		"sms_fallback_method":    "POST",
		"sms_fallback_url":       "",
		"sms_method":             n.SMSMethod,
		"sms_url":                n.SMSURL,
		"status":                 "in-use",
		"status_callback":        n.StatusCallback,
		"status_callback_method": n.StatusCallbackMethod,
		"trunk_sid":              nil,
		"uri":                    uri + ".json",
		"voice_application_sid":  "",
		"voice_caller_id_lookup": false,
		"voice_fallback_method":  "POST",
		"voice_fallback_url":     nil,
		"voice_method":           "POST",
		"voice_url":              nil,
		"subresource_uris":       map[string]string{"assigned_add_ons": uri + "/AssignedAddOns.json"},
	})
}

func (s *Server) releaseNumber(w http.ResponseWriter, r *http.Request, sid string) {
	s.mu.Lock()
	for i, n := range s.owned {
		if n.SID == sid {
			s.owned = append(s.owned[:i:i], s.owned[i+1:]...)
			s.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	s.mu.Unlock()
	notFound(w, r)
}

func (s *Server) ownedLocked(phone string) *IncomingNumber {
	for _, n := range s.owned {
		if n.PhoneNumber == phone {
			return n
		}
	}
	return nil
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	return false
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, 20404, fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
}

// writeError writes Twilio's error JSON.
func writeError(w http.ResponseWriter, status, code int, message string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
	}
	writeJSON(w, status, map[string]any{
		"code":      code,
		"message":   message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// --- webhooks ---------------------------------------------------------

// StatusForm returns the form of a message status callback, as Twilio
// posts it: MessageSid/SmsSid, MessageStatus/SmsStatus, AccountSid, From,
// To, ApiVersion, and ErrorCode when errorCode is not 0.
func (s *Server) StatusForm(m Message, status string, errorCode int) url.Values {
	f := url.Values{
		"AccountSid":    {s.AccountSID},
		"ApiVersion":    {APIVersion},
		"From":          {m.From},
		"To":            {m.To},
		"MessageSid":    {m.SID},
		"SmsSid":        {m.SID},
		"MessageStatus": {status},
		"SmsStatus":     {status},
	}
	if errorCode != 0 {
		f.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	return f
}

// InboundMessage is a message sent to one of the account's numbers.
type InboundMessage struct {
	From, To          string
	Body              string
	MediaURLs         []string
	MediaContentTypes []string // parallel to MediaURLs; "" becomes image/jpeg
}

// InboundForm returns the form of an inbound-message webhook for message
// sid, as Twilio posts it to the number's SmsUrl.
func (s *Server) InboundForm(sid string, in InboundMessage) url.Values {
	f := url.Values{
		"ToCountry":     {"US"},
		"ToState":       {""},
		"SmsMessageSid": {sid},
		"NumMedia":      {strconv.Itoa(len(in.MediaURLs))},
		"ToCity":        {""},
		"FromZip":       {""},
		"SmsSid":        {sid},
		"FromState":     {""},
		"SmsStatus":     {"received"},
		"FromCity":      {""},
		"Body":          {in.Body},
		"FromCountry":   {"US"},
		"To":            {in.To},
		"ToZip":         {""},
		"NumSegments":   {"1"},
		"MessageSid":    {sid},
		"AccountSid":    {s.AccountSID},
		"From":          {in.From},
		"ApiVersion":    {APIVersion},
	}
	for i, u := range in.MediaURLs {
		ct := "image/jpeg"
		if i < len(in.MediaContentTypes) && in.MediaContentTypes[i] != "" {
			ct = in.MediaContentTypes[i]
		}
		f.Set("MediaUrl"+strconv.Itoa(i), u)
		f.Set("MediaContentType"+strconv.Itoa(i), ct)
	}
	return f
}

// SendStatus sets the status of message sid (one the fake created) and
// posts the status callback to the message's StatusCallback, signed.
func (s *Server) SendStatus(ctx context.Context, sid, status string, errorCode int) (Response, error) {
	s.mu.Lock()
	var m *Message
	for _, x := range s.messages {
		if x.SID == sid {
			m = x
		}
	}
	if m == nil || m.StatusCallback == "" {
		s.mu.Unlock()
		return Response{}, fmt.Errorf("twiliotest: no message %s with a StatusCallback", sid)
	}
	m.Status, m.ErrorCode = status, errorCode
	form, target := s.StatusForm(*m, status, errorCode), m.StatusCallback
	s.mu.Unlock()
	return s.Post(ctx, http.MethodPost, target, form)
}

// SendInbound delivers in to the SmsUrl of the owned number in.To, with
// the number's SmsMethod, signed, and records it as a received message.
func (s *Server) SendInbound(ctx context.Context, in InboundMessage) (sid string, resp Response, err error) {
	s.mu.Lock()
	n := s.ownedLocked(in.To)
	if n == nil || n.SMSURL == "" {
		s.mu.Unlock()
		return "", Response{}, fmt.Errorf("twiliotest: %s is not an owned number with an SmsUrl", in.To)
	}
	sid = "SM" + randomHex()
	s.messages = append(s.messages, &Message{
		SID: sid, Direction: "inbound", From: in.From, To: in.To, Body: in.Body,
		MediaURLs: append([]string(nil), in.MediaURLs...), Status: "received",
	})
	target, method := n.SMSURL, n.SMSMethod
	s.mu.Unlock()
	resp, err = s.Post(ctx, method, target, s.InboundForm(sid, in))
	return sid, resp, err
}

// Post makes a webhook request as Twilio does: form-encoded params in the
// body for POST, or appended to the query string for GET, and an
// X-Twilio-Signature computed with AuthToken over SignedURL(the final URL)
// and, for POST, the params.
func (s *Server) Post(ctx context.Context, method, target string, params url.Values) (Response, error) {
	var body io.Reader
	sig := ""
	switch method {
	case http.MethodPost:
		body = strings.NewReader(params.Encode())
		sig = Signature(s.AuthToken, SignedURL(target), params)
	case http.MethodGet:
		if len(params) > 0 {
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + params.Encode()
		}
		sig = Signature(s.AuthToken, SignedURL(target), nil)
	default:
		return Response{}, fmt.Errorf("twiliotest: webhook method %q", method)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Twilio-Signature", sig)
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("I-Twilio-Idempotency-Token", randomHex())
	resp, err := s.CallbackClient.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// SignedURL returns the URL Twilio signs for a webhook to rawURL: Twilio
// documents that it drops the username and password, and for HTTPS also
// the port, before computing the signature.
func SignedURL(rawURL string) string {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return rawURL
	}
	scheme, rest := strings.ToLower(rawURL[:i]), rawURL[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	if scheme == "https" {
		if c := strings.LastIndex(host, ":"); c >= 0 && !strings.Contains(host[c:], "]") {
			host = host[:c]
		}
	}
	return rawURL[:i+3] + host + rest[end:]
}

// Signature computes X-Twilio-Signature: base64 of the HMAC-SHA1, keyed
// with authToken, of signedURL followed by every parameter, sorted by name,
// as name then value (values of a repeated name in sorted order).
func Signature(authToken, signedURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(signedURL)
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k + v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// --- helpers ----------------------------------------------------------

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func friendly(e string) string {
	if strings.HasPrefix(e, "+1") && len(e) == 12 {
		return fmt.Sprintf("(%s) %s-%s", e[2:5], e[5:8], e[8:])
	}
	return e
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
