package hosted

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/agentphone/agentphone"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Custom tools (spec §2.3, decision 20): the developer's HTTP endpoints a
// hosted agent's model may call. POST sends the model's arguments as the
// JSON body, GET as query parameters; both add X-Agentphone-Call-Id and
// X-Agentphone-Agent-Id.
const (
	// DefaultToolTimeout is a tool's time to answer when its timeoutMs is
	// not set.
	DefaultToolTimeout = 10 * time.Second
	// DefaultMaxToolResponseBytes bounds the answer given back to the
	// model when CustomTools.MaxResponseBytes is 0.
	DefaultMaxToolResponseBytes = 64 << 10
	// maxToolRedirects is how many redirects a tool request follows.
	maxToolRedirects = 3
	// redacted replaces the values of the tool's configured headers in
	// the request log: they usually carry credentials.
	redacted = "[redacted]"
)

// Headers every tool request carries.
const (
	HeaderCallID  = "X-Agentphone-Call-Id"
	HeaderAgentID = "X-Agentphone-Agent-Id"
)

// emptyAnswer is the result given to the model for a 2xx answer without a
// body (e.g. 204): the call succeeded and had nothing to say.
const emptyAnswer = `{"ok":true}`

// errToolTimeout is the cause of a tool request's context when its timeoutMs
// ran out (as opposed to the call's own context ending).
var errToolTimeout = errors.New("tool timeout")

// CustomTools calls custom tools. Its zero value is ready to use and it is
// safe for concurrent use.
type CustomTools struct {
	// Client sends the requests. nil: a client of its own without a
	// Timeout (each call's deadline comes from the tool's timeoutMs).
	// Either way at most 3 redirects are followed, and never from https
	// to plain http, unless Client has a CheckRedirect of its own.
	Client *http.Client
	// Now reads the clock for ToolOutcome.Duration; nil: time.Now.
	Now func() time.Time
	// MaxResponseBytes bounds the answer given back to the model; a
	// longer one is an error. 0: DefaultMaxToolResponseBytes.
	MaxResponseBytes int

	schemas sync.Map // string(parameters) → schemaEntry

	once sync.Once
	own  *http.Client
}

type schemaEntry struct {
	schema *jsonschema.Schema
	err    error
}

// ToolOutcome is the result of one tool call.
type ToolOutcome struct {
	// Result is what goes back to the model: the endpoint's JSON answer
	// as is (compacted; {"ok":true} for an empty 2xx answer), or
	// {"error":"<Error>"}.
	Result string
	// OK is true when the endpoint answered 2xx with JSON (or nothing).
	OK bool
	// Status is the endpoint's HTTP status; 0 when it did not answer.
	Status int
	// Error says why the call failed; "" when OK.
	Error string
	// Duration is the time the call took.
	Duration time.Duration
	// Request describes the request, for the call's event log.
	Request ToolRequestLog
}

// ToolRequestLog describes a tool request for the call's event log. Method,
// URL (with GET's query) and Arguments are set as soon as they are known;
// Headers only when a request was sent.
type ToolRequestLog struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// Headers are the request's headers; the values of the tool's
	// configured headers read "[redacted]".
	Headers map[string]string `json:"headers,omitempty"`
	// Arguments are the model's arguments (compacted); a JSON string of
	// their text when they are not valid JSON.
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// Call calls tool with the model's arguments args (a JSON object; empty
// means {}) on behalf of call callID of agent agentID. Arguments that are not
// an object or that fail the tool's parameters schema are refused without a
// request. Every failure is an outcome with OK false and an Error worded for
// the model; Call never returns without a Result.
func (t *CustomTools) Call(ctx context.Context, tool agentphone.CustomTool, callID, agentID string, args json.RawMessage) (out ToolOutcome) {
	now := t.Now
	if now == nil {
		now = time.Now
	}
	if ctx == nil {
		ctx = context.Background()
	}
	start := now()
	defer func() { out.Duration = now().Sub(start) }()

	method := strings.ToUpper(strings.TrimSpace(tool.Method))
	if method == "" {
		method = agentphone.DefaultToolMethod
	}
	out.Request = ToolRequestLog{Method: method, URL: tool.URL}

	raw := bytes.TrimSpace(args)
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	fields, err := objectFields(raw)
	if err != nil {
		out.Request.Arguments = jsonString(string(raw))
		return out.fail("arguments are not a JSON object: " + err.Error())
	}
	out.Request.Arguments = compactJSON(raw)

	if params := bytes.TrimSpace(tool.Parameters); len(params) > 0 && !bytes.Equal(params, []byte("null")) {
		sch, err := t.schema(params)
		if err != nil {
			return out.fail("cannot check the arguments: " + err.Error())
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil { // objectFields accepted it: cannot happen
			return out.fail("arguments are not a JSON object: " + err.Error())
		}
		if err := sch.Validate(doc); err != nil {
			return out.fail("arguments do not match the tool's parameters: " + agentphone.SchemaErrorSummary(err))
		}
	}

	u, err := url.Parse(tool.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return out.fail("the tool's url is not an absolute http(s) URL")
	}
	var body io.Reader
	switch method {
	case "POST":
		body = bytes.NewReader(raw)
	case "GET":
		if q := queryArgs(fields).Encode(); q != "" {
			if u.RawQuery != "" {
				u.RawQuery += "&"
			}
			u.RawQuery += q
		}
	default:
		return out.fail("the tool's method " + method + " is not supported")
	}
	out.Request.URL = u.String()

	timeout := DefaultToolTimeout
	if tool.TimeoutMs != nil && *tool.TimeoutMs > 0 {
		timeout = time.Duration(*tool.TimeoutMs) * time.Millisecond
	}
	tctx, cancel := context.WithTimeoutCause(ctx, timeout, errToolTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, method, out.Request.URL, body)
	if err != nil {
		return out.fail("the tool's request cannot be made: " + err.Error())
	}

	// The tool's headers first; ours win over a configured one of the same
	// name (Header.Set canonicalizes names, so case does not matter).
	configured := map[string]bool{}
	for k, v := range tool.Headers {
		req.Header.Set(k, v)
		configured[http.CanonicalHeaderKey(k)] = true
	}
	ours := map[string]bool{}
	set := func(k, v string, override bool) {
		if override || req.Header.Get(k) == "" {
			req.Header.Set(k, v)
			ours[http.CanonicalHeaderKey(k)] = true
		}
	}
	set("Accept", "application/json", false)
	set("User-Agent", "agentphone", false)
	if method == "POST" {
		set("Content-Type", "application/json", true)
	}
	set(HeaderCallID, callID, true)
	set(HeaderAgentID, agentID, true)
	out.Request.Headers = make(map[string]string, len(req.Header))
	for k, vs := range req.Header {
		if configured[k] && !ours[k] {
			out.Request.Headers[k] = redacted
		} else {
			out.Request.Headers[k] = strings.Join(vs, ", ")
		}
	}

	resp, err := t.client().Do(req)
	if err != nil {
		return out.fail(transportError(err, ctx, tctx, timeout, u.Host))
	}
	defer resp.Body.Close()
	out.Status = resp.StatusCode
	limit := t.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxToolResponseBytes
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return out.fail(transportError(err, ctx, tctx, timeout, u.Host))
	}
	b = bytes.TrimSpace(b)
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		msg := fmt.Sprintf("the tool answered HTTP %d", resp.StatusCode)
		if len(b) > 0 {
			msg += ": " + bodySnippet(b, 200)
		}
		return out.fail(msg)
	case len(b) > limit:
		return out.fail(fmt.Sprintf("answer too large: the tool sent more than %d bytes", limit))
	case len(b) == 0:
		out.OK, out.Result = true, emptyAnswer
	case !json.Valid(b):
		return out.fail("the tool answered with something that is not JSON: " + bodySnippet(b, 100))
	default:
		out.OK, out.Result = true, string(compactJSON(b))
	}
	return out
}

// fail makes out an error outcome.
func (out ToolOutcome) fail(msg string) ToolOutcome {
	out.OK = false
	out.Error = msg
	out.Result = string(errorJSON(msg))
	return out
}

func (t *CustomTools) client() *http.Client {
	if t.Client != nil {
		if t.Client.CheckRedirect != nil {
			return t.Client
		}
		c := *t.Client
		c.CheckRedirect = checkRedirect
		return &c
	}
	t.once.Do(func() { t.own = &http.Client{CheckRedirect: checkRedirect} })
	return t.own
}

// checkRedirect keeps Go's redirect handling but follows at most 3 redirects
// and never from https to plain http.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxToolRedirects {
		return fmt.Errorf("stopped after %d redirects", maxToolRedirects)
	}
	if prev := via[len(via)-1]; prev.URL.Scheme == "https" && req.URL.Scheme != "https" {
		return errors.New("refused a redirect from https to " + req.URL.Scheme)
	}
	return nil
}

// schema compiles a parameters schema once per distinct text.
func (t *CustomTools) schema(params []byte) (*jsonschema.Schema, error) {
	key := string(params)
	if e, ok := t.schemas.Load(key); ok {
		e := e.(schemaEntry)
		return e.schema, e.err
	}
	s, err := agentphone.CompileToolSchema(params)
	e, _ := t.schemas.LoadOrStore(key, schemaEntry{s, err})
	return e.(schemaEntry).schema, e.(schemaEntry).err
}

// transportError words a failed request (or body read) for the model.
func transportError(err error, callCtx, toolCtx context.Context, timeout time.Duration, host string) string {
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case context.Cause(toolCtx) == errToolTimeout:
		return fmt.Sprintf("the tool did not answer within %s", timeout)
	case callCtx.Err() != nil:
		return "the tool call was canceled: " + context.Cause(callCtx).Error()
	case errors.As(err, &dns):
		return fmt.Sprintf("could not resolve the tool's host %s: %s", dns.Name, dns.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("could not connect to the tool at %s: connection refused", host)
	case errors.As(err, &op) && op.Op == "dial":
		return fmt.Sprintf("could not connect to the tool at %s: %v", host, op.Err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text repeats the method and URL
	}
	return "the tool request failed: " + err.Error()
}

// objectFields returns the members of a JSON object, or why raw (trimmed,
// not empty) is not one.
func objectFields(raw []byte) (map[string]json.RawMessage, error) {
	if !json.Valid(raw) {
		var v json.RawMessage
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		return nil, errors.New("invalid JSON")
	}
	switch raw[0] {
	case '{':
	case '[':
		return nil, errors.New("got an array")
	case '"':
		return nil, errors.New("got a string")
	case 'n':
		return nil, errors.New("got null")
	case 't', 'f':
		return nil, errors.New("got a boolean")
	default:
		return nil, errors.New("got a number")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	return fields, nil
}

// queryArgs encodes GET arguments: strings as is, numbers and booleans as
// their JSON literal, arrays as repeated keys (an empty one is left out),
// objects (and arrays within arrays) as their JSON text; null is left out.
func queryArgs(fields map[string]json.RawMessage) url.Values {
	q := url.Values{}
	for k, v := range fields {
		addQueryValue(q, k, v, false)
	}
	return q
}

func addQueryValue(q url.Values, k string, v json.RawMessage, inArray bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return
	}
	switch v[0] {
	case 'n':
		return
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			q.Add(k, s)
		}
	case '[':
		var items []json.RawMessage
		if inArray || json.Unmarshal(v, &items) != nil {
			q.Add(k, string(compactJSON(v)))
			return
		}
		for _, it := range items {
			addQueryValue(q, k, it, true)
		}
	case '{':
		q.Add(k, string(compactJSON(v)))
	default: // numbers, true, false
		q.Add(k, string(v))
	}
}

// compactJSON returns raw without insignificant space; raw as is when it is not
// valid JSON.
func compactJSON(raw []byte) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return raw
	}
	return buf.Bytes()
}

// jsonString is s as a JSON string.
func jsonString(s string) json.RawMessage {
	return marshalNoHTMLEscape(s)
}

// errorJSON is {"error": msg}.
func errorJSON(msg string) json.RawMessage {
	return marshalNoHTMLEscape(map[string]string{"error": msg})
}

func marshalNoHTMLEscape(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings and maps of strings always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// bodySnippet is the start of b as text: at most n characters, on one line.
func bodySnippet(b []byte, n int) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return s
}
