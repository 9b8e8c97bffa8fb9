package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// SignatureHeader is the header in which Twilio signs its webhook requests.
const SignatureHeader = "X-Twilio-Signature"

// Signature returns the X-Twilio-Signature of a form-encoded request to
// fullURL with POST parameters form, as Twilio documents it: fullURL (with
// its query string), then each parameter sorted by name, the name
// immediately followed by its value, no delimiters; HMAC-SHA1 keyed with
// the auth token; base64. A name sent several times contributes each of its
// values, in sorted order, as Twilio's SDKs do. For a GET webhook, form is
// empty and the parameters are in fullURL's query.
func Signature(authToken, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidateSignature reports whether signature (the X-Twilio-Signature
// header) is Twilio's for a request to fullURL with POST parameters form
// (an http.Request's PostForm, not its Form, which also holds the query).
//
// fullURL must be the URL Twilio was given, as Twilio called it: scheme and
// host as configured (not as seen behind a TLS-terminating proxy), path and
// query string unchanged. Twilio documents that it drops the username and
// password from the URL before signing, and the port for HTTPS; its SDKs
// accept a signature over the URL with or without the port (the default
// one added when none is written), because Twilio has signed both ways.
// ValidateSignature accepts the same variants, comparing each in constant
// time. An empty authToken or signature never validates.
//
// JSON-bodied webhooks (bodySHA256 in the query) are not handled; the
// messaging webhooks this package parses are form-encoded.
func ValidateSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	got := []byte(signature)
	ok := false
	for _, u := range signedURLVariants(fullURL) {
		// No early return: every variant costs the same.
		if hmac.Equal([]byte(Signature(authToken, u, form)), got) {
			ok = true
		}
	}
	return ok
}

// signedURLVariants lists the URLs Twilio may have signed for rawURL: as
// given, without user information, and each of those without its port or
// with the scheme's default port added. Only the authority changes; the
// rest of rawURL is kept byte for byte, since any re-encoding of the path
// or query would change the signature.
func signedURLVariants(rawURL string) []string {
	out := []string{rawURL}
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	i := strings.Index(rawURL, "://")
	if i <= 0 {
		return out
	}
	prefix, rest := rawURL[:i+3], rawURL[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo := ""
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo, authority = authority[:at+1], authority[at+1:]
	}
	host, port := splitPort(authority)
	if host == "" {
		return out
	}
	defaultPort := map[string]string{"https": "443", "http": "80"}[strings.ToLower(rawURL[:i])]
	for _, ui := range []string{userinfo, ""} {
		if port != "" {
			add(prefix + ui + host + ":" + port + tail)
		}
		add(prefix + ui + host + tail)
		if port == "" && defaultPort != "" {
			add(prefix + ui + host + ":" + defaultPort + tail)
		}
	}
	return out
}

// splitPort splits "host:port" (host may be a bracketed IPv6 literal);
// port is "" when hostport has none.
func splitPort(hostport string) (host, port string) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 || strings.Contains(hostport[i:], "]") || i == len(hostport)-1 {
		return hostport, ""
	}
	for _, r := range hostport[i+1:] {
		if r < '0' || r > '9' {
			return hostport, ""
		}
	}
	return hostport[:i], hostport[i+1:]
}

// Inbound is a message Twilio received for one of the account's numbers,
// as posted to the number's SmsUrl. MediaContentTypes[i] is the type
// Twilio reported for MediaURLs[i] ("" when it sent none).
type Inbound struct {
	MessageSID        string
	AccountSID        string
	From, To          string
	Body              string
	MediaURLs         []string
	MediaContentTypes []string
}

// maxInboundMedia bounds NumMedia. Twilio delivers at most 10 media per
// message; the bound only keeps a forged form from allocating much.
const maxInboundMedia = 100

// ParseInbound reads an inbound-message webhook: MessageSid, AccountSid,
// From, To, Body, NumMedia and, for i < NumMedia, MediaUrl{i} and
// MediaContentType{i}. MessageSid, From and To are required; NumMedia, when
// present, must be a count whose every MediaUrl{i} is present. Validate the
// signature first: the form is the sender's word.
func ParseInbound(form url.Values) (Inbound, error) {
	in := Inbound{
		MessageSID: first(form, "MessageSid", "SmsMessageSid", "SmsSid"),
		AccountSID: form.Get("AccountSid"),
		From:       form.Get("From"),
		To:         form.Get("To"),
		Body:       form.Get("Body"),
	}
	if in.MessageSID == "" {
		return Inbound{}, errors.New("twilio: inbound message without MessageSid")
	}
	if in.From == "" || in.To == "" {
		return Inbound{}, errors.New("twilio: inbound message without From or To")
	}
	n := 0
	if s := form.Get("NumMedia"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		if err != nil || n < 0 || n > maxInboundMedia {
			return Inbound{}, fmt.Errorf("twilio: inbound message with malformed NumMedia %q", s)
		}
	}
	for i := range n {
		u := form.Get("MediaUrl" + strconv.Itoa(i))
		if u == "" {
			return Inbound{}, fmt.Errorf("twilio: inbound message with NumMedia %d but no MediaUrl%d", n, i)
		}
		in.MediaURLs = append(in.MediaURLs, u)
		in.MediaContentTypes = append(in.MediaContentTypes, form.Get("MediaContentType"+strconv.Itoa(i)))
	}
	return in, nil
}

// StatusUpdate is a message status callback. Status is Twilio's status
// (see MapStatus); ErrorCode is set when Twilio sent one (failed and
// undelivered messages).
type StatusUpdate struct {
	MessageSID string
	AccountSID string
	Status     string
	ErrorCode  *int
}

// ParseStatus reads a message status callback: MessageSid, MessageStatus
// (both required), AccountSid and ErrorCode (empty or an integer).
func ParseStatus(form url.Values) (StatusUpdate, error) {
	st := StatusUpdate{
		MessageSID: first(form, "MessageSid", "SmsSid"),
		AccountSID: form.Get("AccountSid"),
		Status:     first(form, "MessageStatus", "SmsStatus"),
	}
	if st.MessageSID == "" || st.Status == "" {
		return StatusUpdate{}, errors.New("twilio: status callback without MessageSid or MessageStatus")
	}
	if s := form.Get("ErrorCode"); s != "" {
		code, err := strconv.Atoi(s)
		if err != nil {
			return StatusUpdate{}, fmt.Errorf("twilio: status callback with malformed ErrorCode %q", s)
		}
		st.ErrorCode = &code
	}
	return st, nil
}

// MapStatus converts a Twilio message status to agentphone's:
//
//	queued, accepted, scheduled, sending → "queued"
//	sent                                 → "sent"
//	delivered, read                      → "delivered"
//	failed, undelivered, canceled        → "failed"
//	received                             → "received"
//
// ok is false for any other status (receiving, partially_delivered, or one
// Twilio adds later): the caller should keep the status it has.
func MapStatus(twilioStatus string) (status string, ok bool) {
	switch strings.ToLower(strings.TrimSpace(twilioStatus)) {
	case "queued", "accepted", "scheduled", "sending":
		return "queued", true
	case "sent":
		return "sent", true
	case "delivered", "read":
		return "delivered", true
	case "failed", "undelivered", "canceled":
		return "failed", true
	case "received":
		return "received", true
	}
	return "", false
}

// first returns the first non-empty value of the named form fields.
func first(form url.Values, names ...string) string {
	for _, n := range names {
		if v := form.Get(n); v != "" {
			return v
		}
	}
	return ""
}
