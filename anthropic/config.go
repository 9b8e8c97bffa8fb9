package anthropic

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// DefaultBaseURL is Anthropic's API, without its version: the SDK's base,
// as ANTHROPIC_BASE_URL gives it.
const DefaultBaseURL = "https://api.anthropic.com"

// Bounds of what is read from a server.
const (
	// maxErrorBytes bounds what is read of an error answer.
	maxErrorBytes = 64 << 10
	// maxMessageRunes bounds the message kept from an error answer.
	maxMessageRunes = 500
)

// Config is what the Client needs. Its zero value speaks to Anthropic
// without an API key; every empty field takes its default. Nothing is read
// from the environment.
type Config struct {
	// APIKey is sent as the "x-api-key" header. Empty sends none, for
	// servers that want none (Anthropic answers 401).
	APIKey string
	// BaseURL is the root of the API without its version: requests go to
	// BaseURL + "/v1/messages". Default DefaultBaseURL.
	BaseURL string
	// HTTPClient makes the requests; nil means http.DefaultClient. Leave
	// its Timeout at 0: an answer streams for as long as the model writes,
	// and every call's deadline comes from its context.
	HTTPClient *http.Client
	// MaxRetries is how many times a request answered 408, 409, 429 or
	// 5xx (529 overloaded included), or that failed to connect, is sent
	// again (after the SDK's backoff or the server's Retry-After). 0, the
	// default, means never: on a live call an answer that comes seconds
	// late is worth little. Negative is 0.
	MaxRetries int
}

// withDefaults returns c with its empty fields set to their defaults.
func (c Config) withDefaults() Config {
	c.BaseURL = strings.TrimRight(cmp.Or(c.BaseURL, DefaultBaseURL), "/")
	c.MaxRetries = max(c.MaxRetries, 0)
	return c
}

// validate checks c (with its defaults).
func (c Config) validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return fmt.Errorf("anthropic: base url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("anthropic: base url %q: not an absolute http or https URL", c.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("anthropic: base url %q: has a query or fragment", c.BaseURL)
	}
	if strings.HasSuffix(u.Path, "/v1") {
		return fmt.Errorf("anthropic: base url %q: give it without /v1 (requests go to <base>/v1/messages)", c.BaseURL)
	}
	return nil
}

// requestOptions are the SDK options of every request. They leave nothing
// to the environment: the service is built with sdk.NewMessageService,
// which (unlike sdk.NewClient) does not add the SDK's DefaultClientOptions
// (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL,
// ANTHROPIC_PROFILE, ANTHROPIC_CUSTOM_HEADERS, profile files on disk), and
// the OpenTelemetry spans are turned off explicitly (the SDK would
// otherwise ask ANTHROPIC_OPEN_TELEMETRY).
//
// The key goes in "x-api-key", the header Anthropic documents and every
// server copying the API reads; the SDK's option.WithAPIKey would send it
// as "Authorization: Bearer", which Anthropic also accepts since API
// version 2026-10-21 but proxies and older servers may not.
func (c Config) requestOptions() []option.RequestOption {
	opts := []option.RequestOption{
		option.WithBaseURL(c.BaseURL),
		option.WithHTTPClient(cmp.Or(c.HTTPClient, http.DefaultClient)),
		option.WithMaxRetries(c.MaxRetries),
		option.WithoutOpenTelemetry(),
		option.WithOpenTelemetryPropagation(false),
		option.WithMiddleware(boundErrors),
	}
	if c.APIKey != "" {
		opts = append(opts, option.WithHeader("x-api-key", c.APIKey))
	}
	return opts
}

// boundErrors bounds what the SDK reads of an error answer (it reads the
// whole body).
func boundErrors(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	res, err := next(req)
	if err != nil || res == nil || res.StatusCode < 400 || res.Body == nil {
		return res, err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBytes))
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Del("Content-Encoding")
	return res, nil
}

// APIError is a request the server refused (an answer of status 400 or
// more, before the stream) or an error event in the middle of the stream.
// It unwraps to the SDK's *anthropic.Error.
type APIError struct {
	// StatusCode is the HTTP status of a refused request. For an error
	// event, whose answer had status 200, it is the status Anthropic gives
	// the event's Type outside a stream (529 for "overloaded_error"), or 0
	// for a type it does not know.
	StatusCode int
	// Message is Anthropic's error.message, or the status text when the
	// server sent none.
	Message string
	// Type is Anthropic's error.type, e.g. "overloaded_error",
	// "rate_limit_error", "authentication_error", "invalid_request_error";
	// empty when the server sent none.
	Type string
	// RequestID is the answer's "request-id" header, for Anthropic's
	// support.
	RequestID string

	err error
}

// Error is "<status> <status text>: <message> (<type>)".
func (e *APIError) Error() string {
	var b strings.Builder
	text := http.StatusText(e.StatusCode)
	if e.StatusCode == 529 {
		text = "Overloaded"
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "%d %s", e.StatusCode, text)
	} else {
		b.WriteString("error event")
	}
	if e.Message != "" && e.Message != text {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Type != "" {
		fmt.Fprintf(&b, " (%s)", e.Type)
	}
	return b.String()
}

// Unwrap returns the SDK's error, if any.
func (e *APIError) Unwrap() error { return e.err }

// Temporary reports whether the same request may succeed later: the
// server timed out (408), was rate limited (429), failed or was
// overloaded (5xx, 529), or an error event says so (overloaded_error,
// rate_limit_error, api_error, timeout_error).
func (e *APIError) Temporary() bool {
	switch e.Type {
	case "overloaded_error", "rate_limit_error", "api_error", "timeout_error":
		return true
	}
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// typeStatus is the status Anthropic answers each error type with.
var typeStatus = map[string]int{
	"invalid_request_error": 400,
	"authentication_error":  401,
	"billing_error":         402,
	"permission_error":      403,
	"not_found_error":       404,
	"request_too_large":     413,
	"rate_limit_error":      429,
	"api_error":             500,
	"timeout_error":         504,
	"overloaded_error":      529,
}

// errorBody is Anthropic's error answer {"type": "error", "error":
// {"type", "message"}}.
type errorBody struct {
	Error struct {
		Type    json.RawMessage `json:"type"`
		Message json.RawMessage `json:"message"`
	} `json:"error"`
}

// parseError reads the type and message of Anthropic's error JSON; empty
// when raw is not that.
func parseError(raw []byte) (typ, message string) {
	var body errorBody
	if json.Unmarshal(raw, &body) != nil {
		return "", ""
	}
	return cleanMessage(jsonString(body.Error.Type)), cleanMessage(jsonString(body.Error.Message))
}

// jsonString is a JSON string's text, "" for anything else.
func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// newAPIError makes the *APIError of the SDK's error. inStream tells an
// error event (whose status is the answer's 200) from a refused request.
func newAPIError(sdkErr *sdk.Error, inStream bool) *APIError {
	typ, msg := parseError([]byte(sdkErr.RawJSON()))
	if typ == "" {
		typ = cleanMessage(string(sdkErr.Type()))
	}
	if msg == "" {
		msg = cleanMessage(sdkErr.Message)
	}
	e := &APIError{StatusCode: sdkErr.StatusCode, Message: msg, Type: typ, RequestID: sdkErr.RequestID, err: sdkErr}
	if inStream {
		e.StatusCode = typeStatus[typ]
	}
	if e.Message == "" && e.StatusCode != 0 {
		e.Message = cmp.Or(http.StatusText(e.StatusCode), fmt.Sprintf("status %d", e.StatusCode))
	}
	return e
}

// wrapError returns err of the request op as an error of this package: an
// *APIError for the SDK's *anthropic.Error, ctx's error when ctx ended.
func wrapError(ctx context.Context, op string, err error, inStream bool) error {
	var sdkErr *sdk.Error
	if errors.As(err, &sdkErr) {
		return fmt.Errorf("anthropic: %s: %w", op, newAPIError(sdkErr, inStream))
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("anthropic: %s: %w (%v)", op, ctx.Err(), err)
	}
	return fmt.Errorf("anthropic: %s: %w", op, err)
}

// cleanMessage makes a server's text fit for an error string and a log
// line: valid UTF-8, control characters as spaces, runs of space as one,
// at most maxMessageRunes runes.
func cleanMessage(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxMessageRunes {
		r := []rune(s)
		s = string(r[:maxMessageRunes]) + "…"
	}
	return s
}
