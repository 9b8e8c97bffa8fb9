package deepgram

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors wrapped by this package's errors.
var (
	// ErrUnknownVoice: a voice id that is not a Deepgram voice id
	// ("deepgram-aura-…").
	ErrUnknownVoice = errors.New("deepgram: unknown voice")
	// ErrQueueFull: the stream's audio queue overflowed because Deepgram did
	// not take the audio as fast as the call sent it; the stream failed.
	ErrQueueFull = errors.New("deepgram: audio queue full")
	// ErrClosed: Send on a stream that Close has ended.
	ErrClosed = errors.New("deepgram: stream closed")
)

// Error is a failure Deepgram reported: an HTTP error answer to /v1/speak
// or to the /v1/listen handshake (Status set), an Error message on a live
// stream, or a close frame other than a normal closure (CloseCode set).
type Error struct {
	// Status is the HTTP status; 0 on a live stream.
	Status int
	// CloseCode is the WebSocket close code (1011, 1008…) when Deepgram
	// ended a live stream; 0 otherwise.
	CloseCode int
	// Code is Deepgram's err_code or category ("INVALID_AUTH", "Bad
	// Request"), or the close frame's reason code ("NET-0001",
	// "DATA-0000").
	Code string
	// Message is Deepgram's err_msg, message or description, or the
	// close frame's reason; a snippet of the body when it was not JSON.
	Message   string
	RequestID string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("deepgram: ")
	switch {
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	case e.CloseCode != 0:
		fmt.Fprintf(&b, "stream closed by Deepgram (%d)", e.CloseCode)
	default:
		b.WriteString("stream error")
	}
	if e.Code != "" && e.Code != e.Message {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: rate
// limiting (429), server errors (5xx) and streams Deepgram closed for an
// internal or network reason (1011).
func (e *Error) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500 || e.CloseCode == 1011
}

// errorBody is the union of the error JSON shapes Deepgram documents.
type errorBody struct {
	ErrCode     string `json:"err_code"`
	ErrMsg      string `json:"err_msg"`
	Category    string `json:"category"`
	Message     string `json:"message"`
	Details     string `json:"details"`
	Description string `json:"description"`
	Variant     string `json:"variant"`
	RequestID   string `json:"request_id"`
}

// fill copies the body's fields into e and reports whether it held any.
func (b errorBody) fill(e *Error) bool {
	e.Code = clean(firstNonEmpty(b.ErrCode, b.Category, b.Variant))
	msg := firstNonEmpty(b.ErrMsg, b.Description, b.Message)
	if b.Description != "" && b.Message != "" && b.Message != msg {
		msg += " (" + b.Message + ")" // the live Error message: description, then message
	}
	if b.Details != "" && b.Details != msg {
		msg = strings.TrimSpace(msg + " " + b.Details)
	}
	e.Message = clean(msg)
	e.RequestID = clean(b.RequestID)
	return e.Code != "" || e.Message != ""
}

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 64 << 10

// responseError builds the *Error of a non-2xx answer from its body (read
// up to maxErrorBody) and its dg-error and dg-request-id headers.
func responseError(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode}
	var body []byte
	if resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	}
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil || !eb.fill(e) {
		e.Message = snippet(body)
	}
	if e.Message == "" {
		e.Message = clean(resp.Header.Get("dg-error"))
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if e.RequestID == "" {
		e.RequestID = clean(resp.Header.Get("dg-request-id"))
	}
	return e
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// maxText bounds the strings of an *Error taken from the network.
const maxText = 300

// clean makes untrusted text safe to log and show: valid UTF-8, no
// control characters, at most maxText bytes.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxText {
		cut := maxText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// snippet is the start of a body that was not Deepgram's JSON (a proxy's
// error page), cleaned.
func snippet(body []byte) string {
	return clean(string(body))
}

// endpoint joins base (a scheme, host and optional path prefix) and path,
// mapping the scheme to the WebSocket one (ws true: http→ws, https→wss)
// or to the HTTP one (ws false: ws→http, wss→https).
func endpoint(base, path string, ws bool) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("deepgram: base URL %q: %w", base, err)
	}
	var secure bool
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
	case "https", "wss":
		secure = true
	default:
		return nil, fmt.Errorf("deepgram: base URL %q: scheme must be http, https, ws or wss", base)
	}
	switch {
	case ws && secure:
		u.Scheme = "wss"
	case ws:
		u.Scheme = "ws"
	case secure:
		u.Scheme = "https"
	default:
		u.Scheme = "http"
	}
	if u.Host == "" {
		return nil, fmt.Errorf("deepgram: base URL %q has no host", base)
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = ""
	u.Fragment = ""
	return u, nil
}
