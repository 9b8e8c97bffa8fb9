package webhook

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds on a voice reply (spec §16). They keep a misbehaving receiver from
// holding unbounded memory for one call.
const (
	// MaxReplyBody bounds a single-object reply (any Content-Type that is not
	// NDJSON); a larger body is treated as a non-object reply: silence.
	MaxReplyBody = 64 << 10
	// MaxReplyLine bounds one NDJSON line, without its line feed; a longer
	// line is skipped and reported in ReplyStream.Invalid.
	MaxReplyLine = 64 << 10
	// MaxReplyStream bounds the whole NDJSON body: Next fails with
	// ErrReplyTooLarge once more has arrived without a final line.
	MaxReplyStream = 1 << 20
)

// Errors of ReplyStream.Next, checked with errors.Is.
var (
	// ErrReplyClosed is returned by Next once Close has been called.
	ErrReplyClosed = errors.New("webhook: reply stream closed")
	// ErrReplyTooLarge is returned by Next when an NDJSON reply passes
	// MaxReplyStream bytes without a final line.
	ErrReplyTooLarge = errors.New("webhook: reply stream larger than 1 MiB")
)

// errNoAnswer is the cancellation cause of a turn whose receiver did not
// start answering within the webhook's timeout.
var errNoAnswer = errors.New("webhook: no answer in time")

// errTurnDone is the cancellation cause once a stream has been read to its
// end: what is left of the request is released, no longer needed.
var errTurnDone = errors.New("webhook: reply complete")

// TurnFailure says why a voice turn got no reply stream.
type TurnFailure int

// Reasons a turn fails before its reply starts.
const (
	// TurnBadURL: the request could not be built (a malformed URL).
	TurnBadURL TurnFailure = iota + 1
	// TurnUnreachable: no answer could arrive: DNS, connection refused or
	// reset, TLS, a destination refused by ClientOptions.BlockPrivate.
	TurnUnreachable
	// TurnNoAnswer: the receiver did not send its status and headers within
	// the webhook's timeout.
	TurnNoAnswer
	// TurnRejected: the receiver answered with a status other than 2xx.
	TurnRejected
	// TurnCanceled: ctx ended first (the call ended, the engine gave up).
	TurnCanceled
)

// String names the failure for logs: "bad url", "unreachable", "no answer",
// "rejected", "canceled".
func (f TurnFailure) String() string {
	switch f {
	case TurnBadURL:
		return "bad url"
	case TurnUnreachable:
		return "unreachable"
	case TurnNoAnswer:
		return "no answer"
	case TurnRejected:
		return "rejected"
	case TurnCanceled:
		return "canceled"
	}
	return "TurnFailure(" + strconv.Itoa(int(f)) + ")"
}

// TurnError is the error of Sender.Turn. Its message is meant for the
// call's event log and the delivery log's errorMessage, for example
// "webhook: no answer within 30s" or
// `webhook: receiver answered 500 Internal Server Error: "upstream down"`.
type TurnError struct {
	Failure TurnFailure
	Timeout time.Duration // TurnNoAnswer: the timeout that passed
	Status  int           // TurnRejected: the HTTP status
	Body    []byte        // TurnRejected: the first MaxResponseBody bytes of the answer
	Err     error         // the cause: the client's error, context.DeadlineExceeded for TurnNoAnswer, nil for TurnRejected
}

// Error describes the failure in one line, quoting at most the first 200
// bytes of a rejected answer's body.
func (e *TurnError) Error() string {
	switch e.Failure {
	case TurnNoAnswer:
		return fmt.Sprintf("webhook: no answer within %s", e.Timeout)
	case TurnRejected:
		msg := fmt.Sprintf("webhook: receiver answered %d %s", e.Status, http.StatusText(e.Status))
		msg = strings.TrimRight(msg, " ")
		if len(e.Body) > 0 {
			msg += ": " + excerpt(e.Body, 200)
		}
		return msg
	case TurnUnreachable:
		return fmt.Sprintf("webhook: cannot reach the receiver: %v", e.Err)
	case TurnCanceled:
		return fmt.Sprintf("webhook: turn abandoned before the answer: %v", e.Err)
	case TurnBadURL:
		return fmt.Sprint(e.Err) // NewRequest's own "webhook: request to …"
	}
	return fmt.Sprintf("webhook: turn failed: %v", e.Err)
}

// Unwrap returns the cause, so errors.Is(err, context.DeadlineExceeded) or
// errors.Is(err, ErrBlockedDestination) work through a TurnError.
func (e *TurnError) Unwrap() error { return e.Err }

// Reply is one reply of a voice webhook: a single JSON object or one NDJSON
// line (spec §16.2). Unknown fields are ignored; known fields of the wrong
// type are ignored too and reported in ReplyStream.Invalid.
type Reply struct {
	// Text is the speech: the "text" field after CleanSpeech. Empty when
	// absent, not a string, or nothing speakable.
	Text string
	// Interim is set on an NDJSON line with "interim": true: speak it now,
	// more follows. A single-object reply is never interim.
	Interim bool
	// Hangup: "hangup": true or "action": "hangup"; end the call after Text.
	Hangup bool
	// Transfer: "action": "transfer"; cold-transfer after Text when the
	// agent has a transferNumber (spec §16.3: skip it otherwise).
	Transfer bool
	// Digits are DTMF keys to press after Text: "digits", else "dtmf", else
	// "press_digit"; a string, or a non-negative integer. Only 0-9 * # A-D
	// are kept (a-d are upper-cased).
	Digits string
	// Line is the 1-based line of an NDJSON reply; 0 for a single object.
	Line int
	// Raw is the object as received, for logs; nil when the reply was not a
	// JSON object.
	Raw json.RawMessage
}

// ReplyStream is the answer to one voice turn, read reply by reply with
// Next. Next and the reading of Invalid belong to one goroutine; Close may
// be called from any goroutine at any time, as often as wanted.
type ReplyStream struct {
	Status    int         // the HTTP status (2xx)
	Header    http.Header // the response headers
	Start     time.Time   // when Turn began sending the request
	FirstByte time.Time   // when the status and headers arrived
	// Streaming is true when the reply is NDJSON, read line by line as it
	// arrives; false when the body is read whole as a single object.
	Streaming bool
	// Invalid lists, in order, what Next skipped or ignored, one sentence
	// each, for the call's event log: `reply line 2 is not a JSON object:
	// "hello"`, `reply line 3: field "text" is a number, not a string;
	// ignored`, "reply stream ended without a final line". Next appends to
	// it; read it between calls of Next.
	Invalid []string

	ctx     context.Context
	cancel  context.CancelCauseFunc
	body    io.ReadCloser
	br      *bufio.Reader // Streaming only
	line    int           // lines read so far
	err     error         // sticky outcome once the stream is over: io.EOF or why it failed
	release sync.Once
}

// Turn posts one voice turn (an agent.message with channel voice, spec §15.6,
// signed like every delivery) and returns its reply as it starts to arrive.
//
// timeout is the webhook's timeout (5–120 s): it bounds the wait for the
// answer to start, that is its status and headers, connection included, and
// nothing after; from then on only ctx bounds the stream (spec §16.3, so a
// receiver may send an interim line and then work for longer). The caller
// bounds the whole stream with ctx (spec §20 decision 19: 120 s). A
// timeout ≤ 0 sets no bound beyond ctx.
//
// The error is a *TurnError: TurnUnreachable, TurnNoAnswer ("no answer
// within 30s"), TurnRejected (a non-2xx answer, with its status and the
// first bytes of its body), TurnCanceled or TurnBadURL. Redirects are not
// followed when s.Client comes from NewHTTPClient: a 3xx is rejected.
//
// The caller must read the stream to io.EOF or an error, or Close it:
//
//	rs, err := s.Turn(ctx, req, time.Duration(hook.Timeout)*time.Second)
//	if err != nil {
//		return err // logged on the call; the turn is silent
//	}
//	defer rs.Close() // also what a barge-in calls, from any goroutine
//	for {
//		r, err := rs.Next()
//		if err != nil {
//			break // io.EOF: the turn is over; otherwise log err
//		}
//		speak(r) // interim or final
//	}
//	// rs.Invalid: what was skipped, for the call's event log
func (s *Sender) Turn(ctx context.Context, r Request, timeout time.Duration) (*ReplyStream, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	start := time.Now()
	req, err := s.NewRequest(ctx, r)
	if err != nil {
		cancel(err)
		return nil, &TurnError{Failure: TurnBadURL, Err: err}
	}
	req.Header.Set("Accept", "application/x-ndjson, application/json;q=0.9")
	var timer *time.Timer
	if timeout > 0 {
		timer = time.AfterFunc(timeout, func() { cancel(errNoAnswer) })
	}
	stop := func() bool { return timer == nil || timer.Stop() }

	resp, err := s.Client.Do(req)
	if err != nil {
		stop()
		cause := context.Cause(ctx)
		cancel(err)
		switch {
		case errors.Is(cause, errNoAnswer):
			return nil, &TurnError{Failure: TurnNoAnswer, Timeout: timeout, Err: context.DeadlineExceeded}
		case cause != nil:
			return nil, &TurnError{Failure: TurnCanceled, Err: cause}
		}
		return nil, &TurnError{Failure: TurnUnreachable, Err: err}
	}
	firstByte := time.Now()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Still under the timer, so a body that trickles cannot hold us.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
		stop()
		cancel(errTurnDone)
		resp.Body.Close()
		return nil, &TurnError{Failure: TurnRejected, Status: resp.StatusCode, Body: body}
	}
	if !stop() {
		// The timer fired as the headers arrived: the request is cancelled.
		cancel(errNoAnswer)
		resp.Body.Close()
		return nil, &TurnError{Failure: TurnNoAnswer, Timeout: timeout, Err: context.DeadlineExceeded}
	}
	rs := newReplyStream(ctx, cancel, resp)
	rs.Start, rs.FirstByte = start, firstByte
	return rs, nil
}

// newReplyStream reads resp's body as a reply. cancel ends the request of
// ctx; the stream calls it when it is over or closed.
func newReplyStream(ctx context.Context, cancel context.CancelCauseFunc, resp *http.Response) *ReplyStream {
	rs := &ReplyStream{
		Status: resp.StatusCode, Header: resp.Header,
		Streaming: isNDJSON(resp.Header.Get("Content-Type")),
		ctx:       ctx, cancel: cancel, body: resp.Body,
	}
	if rs.Streaming {
		rs.br = bufio.NewReaderSize(&capReader{r: resp.Body, left: MaxReplyStream}, MaxReplyLine+1)
	}
	return rs
}

// isNDJSON reports whether a Content-Type announces newline-delimited JSON:
// application/x-ndjson (spec §16.1) and its synonyms application/ndjson,
// application/jsonl, application/x-jsonl, application/jsonlines,
// application/x-jsonlines and application/stream+json (Spring's former
// name for it). application/json-seq (RFC 7464) is not among them: its
// records are framed by a record separator, not lines, and no receiver
// of this protocol is known to send it; like any other type it is read as
// a single object.
func isNDJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "application/x-ndjson", "application/ndjson",
		"application/jsonl", "application/x-jsonl",
		"application/jsonlines", "application/x-jsonlines",
		"application/stream+json":
		return true
	}
	return false
}

// Next returns the next reply.
//
// An NDJSON reply is read line by line as it arrives: an interim line is
// returned at once with Interim set; the first line whose "interim" is
// absent or false is final, after which the rest of the body is not read,
// the request is released and Next returns io.EOF. Empty lines are
// skipped; a line that is not a JSON object, or longer than MaxReplyLine, is
// skipped and reported in Invalid. A body that ends without a final line
// ends the turn too: Next returns io.EOF (the last reply returned, if any,
// was the turn's last words) and Invalid says so.
//
// Any other reply is read whole, up to MaxReplyBody, and is one final
// reply. A body that is empty, too large or not a JSON object gives a Reply
// with nothing in it (the caller hears silence, the call goes on: spec
// §16.3), reported in Invalid.
//
// Other errors end the stream: ErrReplyClosed after Close; ErrReplyTooLarge;
// the cause of ctx when it ended (context.Canceled, DeadlineExceeded); a
// broken connection (io.ErrUnexpectedEOF). Once over, Next returns the same
// error again.
func (rs *ReplyStream) Next() (Reply, error) {
	if rs.err != nil {
		return Reply{}, rs.err
	}
	if err := context.Cause(rs.ctx); err != nil {
		return Reply{}, rs.fail(err)
	}
	if !rs.Streaming {
		return rs.single()
	}
	for {
		line, tooLong, err := rs.readLine()
		if err == io.EOF {
			rs.Invalid = append(rs.Invalid, "reply stream ended without a final line")
			rs.finish()
			return Reply{}, io.EOF
		}
		if err != nil {
			return Reply{}, rs.fail(err)
		}
		rs.line++
		if tooLong {
			rs.invalidf("reply line %d is longer than %d KiB; skipped", rs.line, MaxReplyLine>>10)
			continue
		}
		line = bytes.TrimSpace(line)
		if rs.line == 1 {
			line = bytes.TrimPrefix(line, bom)
		}
		if len(line) == 0 {
			continue
		}
		r, problems, ok := parseReply(line)
		prefix := "reply line " + strconv.Itoa(rs.line)
		if !ok {
			rs.Invalid = append(rs.Invalid, prefix+" "+problems[0])
			continue
		}
		for _, p := range problems {
			rs.Invalid = append(rs.Invalid, prefix+": "+p)
		}
		r.Line = rs.line
		if !r.Interim {
			rs.finish()
		}
		return r, nil
	}
}

// bom is a UTF-8 byte order mark, tolerated at the start of a body.
var bom = []byte("\xef\xbb\xbf")

// single reads a single-object reply.
func (rs *ReplyStream) single() (Reply, error) {
	body, err := io.ReadAll(&capReader{r: rs.body, left: MaxReplyBody})
	if errors.Is(err, ErrReplyTooLarge) {
		rs.invalidf("reply body is larger than %d KiB; ignored", MaxReplyBody>>10)
		rs.finish()
		return Reply{}, nil
	}
	if err != nil {
		return Reply{}, rs.fail(err)
	}
	rs.finish()
	body = bytes.TrimPrefix(bytes.TrimSpace(body), bom)
	if len(body) == 0 {
		rs.Invalid = append(rs.Invalid, "reply body is empty")
		return Reply{}, nil
	}
	r, problems, ok := parseReply(body)
	if !ok {
		rs.Invalid = append(rs.Invalid, "reply body "+problems[0])
		return Reply{}, nil
	}
	for _, p := range problems {
		rs.Invalid = append(rs.Invalid, "reply: "+p)
	}
	if r.Interim {
		rs.Invalid = append(rs.Invalid, `reply: "interim" is honoured only in NDJSON replies (Content-Type application/x-ndjson); read as final`)
		r.Interim = false
	}
	return r, nil
}

func (rs *ReplyStream) invalidf(format string, a ...any) {
	rs.Invalid = append(rs.Invalid, fmt.Sprintf(format, a...))
}

// readLine returns the next line without its line feed; a line longer than
// MaxReplyLine is consumed up to its end and reported with tooLong. err is
// io.EOF once the body has ended after the last line.
func (rs *ReplyStream) readLine() (line []byte, tooLong bool, err error) {
	line, err = rs.br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		_, err = rs.br.ReadSlice('\n')
	}
	if tooLong {
		line = nil
	}
	if err == io.EOF && (len(line) > 0 || tooLong) {
		// The last line had no line feed; the next call sees io.EOF.
		err = nil
	}
	return line, tooLong, err
}

// fail ends the stream with err, preferring the reason ctx ended (Close,
// the caller's cancellation) to the read error it caused.
func (rs *ReplyStream) fail(err error) error {
	if cause := context.Cause(rs.ctx); cause != nil && !errors.Is(cause, errTurnDone) {
		err = cause
	}
	switch {
	case errors.Is(err, ErrReplyClosed):
		rs.err = ErrReplyClosed
	case errors.Is(err, ErrReplyTooLarge):
		rs.err = ErrReplyTooLarge
	default:
		rs.err = fmt.Errorf("webhook: reading the reply after line %d: %w", rs.line, err)
	}
	rs.close(errTurnDone)
	return rs.err
}

// finish ends the stream after its final reply; what is left of the body is
// not read.
func (rs *ReplyStream) finish() {
	rs.err = io.EOF
	rs.close(errTurnDone)
}

// Close abandons the rest of the reply (barge-in, the call ended): the
// request is cancelled and the body closed, so the receiver sees its
// request's context end. Next then returns ErrReplyClosed, unless the stream
// had already ended. Close is safe to call concurrently with Next and more
// than once; it always returns nil.
func (rs *ReplyStream) Close() error {
	rs.close(ErrReplyClosed)
	return nil
}

func (rs *ReplyStream) close(cause error) {
	rs.release.Do(func() {
		// Cancel first, so a Read that this wakes finds the cause set.
		rs.cancel(cause)
		rs.body.Close()
	})
}

// capReader reads at most left bytes of r, then fails with ErrReplyTooLarge
// if r has more.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, ErrReplyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// parseReply decodes one reply object. ok is false when b is not a JSON
// object, and problems[0] then says so ("is not a JSON object: …");
// otherwise problems lists the fields that were ignored or read leniently.
func parseReply(b []byte) (r Reply, problems []string, ok bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		what := "is not a JSON object"
		if !json.Valid(b) {
			what = "is not valid JSON"
		}
		return Reply{}, []string{what + ": " + excerpt(b, 64)}, false
	}
	r.Raw = json.RawMessage(bytes.Clone(b))
	report := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	if v, ok := fields["text"]; ok && !isNull(v) {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			report(`field "text" is %s, not a string; ignored`, kind(v))
		} else {
			r.Text = CleanSpeech(s)
		}
	}
	r.Interim = boolField(fields, "interim", report)
	r.Hangup = boolField(fields, "hangup", report)
	if v, ok := fields["action"]; ok && !isNull(v) {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			report(`field "action" is %s, not a string; ignored`, kind(v))
		} else {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "hangup":
				r.Hangup = true
			case "transfer":
				r.Transfer = true
			case "":
			default:
				report(`unknown action %s; ignored`, excerpt([]byte(s), 32))
			}
		}
	}
	for _, name := range []string{"digits", "dtmf", "press_digit"} {
		v, ok := fields[name]
		if !ok || isNull(v) {
			continue
		}
		keys, dropped, good := digits(v)
		if !good {
			report(`field %q is %s, not a string of keys; ignored`, name, kind(v))
			continue
		}
		if dropped {
			report(`field %q: kept only the keys 0-9 * # A-D of %s`, name, excerpt(v, 32))
		}
		if keys != "" {
			r.Digits = keys
			break
		}
	}
	return r, problems, true
}

// boolField reads a boolean field leniently: the strings "true" and
// "false" count (and are reported); any other type is ignored and
// reported.
func boolField(fields map[string]json.RawMessage, name string, report func(string, ...any)) bool {
	v, ok := fields[name]
	if !ok || isNull(v) {
		return false
	}
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return b
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			report(`field %q is the string "true", not a boolean; read as true`, name)
			return true
		case "false":
			report(`field %q is the string "false", not a boolean; read as false`, name)
			return false
		}
	}
	report(`field %q is %s, not a boolean; ignored`, name, kind(v))
	return false
}

// digits reads a DTMF field: a string, or a non-negative integer. keys
// keeps 0-9 * # A-D (a-d upper-cased); dropped reports other characters
// than spaces; good is false for any other JSON type.
func digits(v json.RawMessage) (keys string, dropped, good bool) {
	var s string
	switch {
	case len(v) > 0 && v[0] == '"':
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, false
		}
	case len(v) > 0 && v[0] >= '0' && v[0] <= '9':
		for _, c := range v {
			if c < '0' || c > '9' {
				return "", false, false // a fraction or an exponent
			}
		}
		s = string(v)
	default:
		return "", false, false
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c == '*', c == '#', c >= 'A' && c <= 'D':
			b.WriteRune(c)
		case c >= 'a' && c <= 'd':
			b.WriteRune(c - 'a' + 'A')
		case c == ' ' || c == '\t':
		default:
			dropped = true
		}
	}
	return b.String(), dropped, true
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// kind names the JSON type of v for messages: "a number", "an array"…
func kind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// excerpt quotes the first n bytes of b (cut at a character boundary) for a
// log line, with "…" when there was more.
func excerpt(b []byte, n int) string {
	if len(b) <= n {
		return strconv.Quote(string(b))
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return strconv.Quote(string(b[:cut])) + "…"
}

// Markup CleanSpeech removes. Compiled once; regexps are safe for
// concurrent use and never change.
var (
	// toolOpen finds the opening tag of a block that is not speech at all:
	// a function or tool call, its result, or a model's reasoning.
	toolOpen = regexp.MustCompile(`(?i)<(function_calls?|function_results?|tool_calls?|tool_use|tool_results?|tool_code|invoke|function|thinking|think|reasoning)\b[^<>]*>`)
	// specialToken is a model's control token: <|eot_id|>, <|im_end|>.
	specialToken = regexp.MustCompile(`<\|[A-Za-z0-9_:.-]*\|>`)
	// comment is an HTML comment.
	comment = regexp.MustCompile(`<!--[\s\S]*?-->`)
	// autolink is <https://…> or <name@example.com>: the brackets go.
	autolink = regexp.MustCompile(`<(https?://[^\s<>]+|[^\s<>@]+@[^\s<>@]+)>`)
	// tag is an XML or HTML tag whose attributes, if any, all have values,
	// so that "x < y and y > z" is not taken for one.
	tag = regexp.MustCompile(`</?([A-Za-z][A-Za-z0-9:_.-]*)(?:\s+[A-Za-z_:][A-Za-z0-9:_.-]*\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>` + "`" + `]+))*\s*/?>`)
	// link is [text](url) or ![alt](url), the url with at most one level of
	// parentheses and an optional title.
	link = regexp.MustCompile(`!?\[([^\[\]\n]*)\]\([^()\s]*(?:\([^()\s]*\)[^()\s]*)*(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\)`)

	fence      = regexp.MustCompile("^\\s*(?:```|~~~)")
	rule       = regexp.MustCompile(`^\s*(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,}|(?:=\s*){3,})$`)
	heading    = regexp.MustCompile(`^\s{0,3}#{1,6}(?:\s+|$)`)
	headingEnd = regexp.MustCompile(`\s+#+\s*$`)
	quote      = regexp.MustCompile(`^\s*(?:>\s?)+`)
	bullet     = regexp.MustCompile(`^\s*[-*+•‣◦▪]\s+`)
)

// toolNames are the names toolOpen matches, each closed by its own tag.
var toolNames = []string{
	"function_calls", "function_call", "function_results", "function_result",
	"tool_calls", "tool_call", "tool_use", "tool_results", "tool_result", "tool_code",
	"invoke", "function", "thinking", "think", "reasoning",
}

// toolClose holds the closing tag of each of toolNames.
var toolClose = func() map[string]*regexp.Regexp {
	m := make(map[string]*regexp.Regexp, len(toolNames))
	for _, n := range toolNames {
		m[n] = regexp.MustCompile(`(?i)</` + n + `\s*>`)
	}
	return m
}()

// blockTags separate words when removed (a paragraph, a line break, an
// SSML pause); other tags are removed without a trace, so "<b>very</b>,"
// stays "very,".
var blockTags = map[string]bool{
	"p": true, "br": true, "div": true, "li": true, "ul": true, "ol": true,
	"tr": true, "td": true, "th": true, "table": true, "hr": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"section": true, "article": true, "header": true, "footer": true,
	"blockquote": true, "pre": true, "title": true, "break": true, "s": true,
	"speak": true,
}

// CleanSpeech turns the text of a reply into what should be spoken, removing
// the non-speech markup that language models put in (spec §16.3):
//
//   - function and tool calls with everything inside them
//     (<function_call>, <function_calls>, <tool_call>, <tool_use>,
//     <invoke>, <function=name>, their results), and reasoning blocks
//     (<think>, <thinking>, <reasoning>); one left open runs to the end of
//     the text and goes too;
//   - control tokens (<|eot_id|>), HTML comments, and every other XML or
//     HTML tag, keeping its inner text (<speak>, <b>, <break/>); the angle
//     brackets of <https://…> and <name@example.com>;
//   - Markdown: code fence lines (``` and ~~~, the code between them is
//     kept), backticks, headings (#), block quotes (>), rules (---),
//     bullet markers (- * + •) at line starts, emphasis (** __ * _ ~~) and
//     links and images, which keep their text;
//   - runs of white space, line breaks included, become one space, and the
//     ends are trimmed.
//
// Ordinary text is left alone: "5 * 3", "5*3", "2**10", "C#", "#1 fan",
// "snake_case", "john_doe@example.com", "it's", "x < y". Numbered list
// markers ("1.") stay; they read well.
func CleanSpeech(text string) string {
	text = dropToolBlocks(text)
	text = specialToken.ReplaceAllString(text, " ")
	text = comment.ReplaceAllString(text, " ")
	text = autolink.ReplaceAllString(text, "$1")
	text = tag.ReplaceAllStringFunc(text, func(t string) string {
		m := tag.FindStringSubmatch(t)
		if blockTags[strings.ToLower(m[1])] {
			return " "
		}
		return ""
	})
	lines := strings.Split(text, "\n")
	out := lines[:0]
	for _, l := range lines {
		if fence.MatchString(l) || rule.MatchString(l) {
			continue
		}
		l = quote.ReplaceAllString(l, "")
		if h := heading.FindString(l); h != "" {
			l = headingEnd.ReplaceAllString(l[len(h):], "")
		}
		l = bullet.ReplaceAllString(l, "")
		l = link.ReplaceAllString(l, "$1")
		l = stripEmphasis(l)
		out = append(out, strings.ReplaceAll(l, "`", ""))
	}
	return strings.Join(strings.Fields(strings.Join(out, "\n")), " ")
}

// dropToolBlocks removes the blocks toolOpen starts, each up to its own
// closing tag, or to the end of s when it has none; a self-closing tag is
// removed alone. Each block leaves a space.
func dropToolBlocks(s string) string {
	if !toolOpen.MatchString(s) {
		return s
	}
	var b strings.Builder
	for {
		m := toolOpen.FindStringSubmatchIndex(s)
		if m == nil {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:m[0]])
		b.WriteByte(' ')
		rest := s[m[1]:]
		if strings.HasSuffix(s[m[0]:m[1]], "/>") {
			s = rest
			continue
		}
		end := toolCloser(s[m[2]:m[3]]).FindStringIndex(rest)
		if end == nil {
			return b.String()
		}
		s = rest[end[1]:]
	}
}

// toolCloser returns the closing-tag pattern of the tool tag name, matched
// the way toolOpen's (?i) matches it (Unicode simple folding).
func toolCloser(name string) *regexp.Regexp {
	for _, n := range toolNames {
		if strings.EqualFold(n, name) {
			return toolClose[n]
		}
	}
	// Unreachable while toolNames lists toolOpen's alternatives; a pattern
	// that closes nothing drops the rest, the safe side.
	return regexp.MustCompile(`$^`)
}

// stripEmphasis removes Markdown emphasis delimiters (* ** *** _ __ ___ ~~)
// from one line when they pair up, following CommonMark's flanking rules in
// simplified form: an opener is followed by a non-space, a closer preceded
// by one; "_" does not open or close inside a word (snake_case), and "*"
// between two digits is multiplication (5*3), not emphasis. Unpaired
// delimiters stay: "5 * 3".
func stripEmphasis(line string) string {
	if !strings.ContainsAny(line, "*_~") {
		return line
	}
	type run struct {
		start, end  int
		open, close bool
		drop        bool
	}
	var runs []run
	for i := 0; i < len(line); {
		c := line[i]
		if c != '*' && c != '_' && c != '~' {
			i++
			continue
		}
		j := i
		for j < len(line) && line[j] == c {
			j++
		}
		prev, next := ' ', ' '
		if i > 0 {
			prev, _ = utf8.DecodeLastRuneInString(line[:i])
		}
		if j < len(line) {
			next, _ = utf8.DecodeRuneInString(line[j:])
		}
		r := run{start: i, end: j, open: !unicode.IsSpace(next), close: !unicode.IsSpace(prev)}
		switch c {
		case '*':
			if unicode.IsDigit(prev) && unicode.IsDigit(next) {
				r.open, r.close = false, false
			}
		case '_':
			r.open = r.open && !isWordRune(prev)
			r.close = r.close && !isWordRune(next)
		case '~':
			if j-i != 2 {
				r.open, r.close = false, false
			}
		}
		runs = append(runs, r)
		i = j
	}
	// Open delimiters waiting for their closer, one stack per kind (the
	// character and the run's length), so that pairing stays linear.
	type delim struct {
		c byte
		n int
	}
	open := make(map[delim][]int)
	for k := range runs {
		r := &runs[k]
		kd := delim{line[r.start], r.end - r.start}
		if st := open[kd]; r.close && len(st) > 0 {
			runs[st[len(st)-1]].drop, r.drop = true, true
			open[kd] = st[:len(st)-1]
			continue
		}
		if r.open {
			open[kd] = append(open[kd], k)
		}
	}
	var b strings.Builder
	last := 0
	for _, r := range runs {
		if r.drop {
			b.WriteString(line[last:r.start])
			last = r.end
		}
	}
	b.WriteString(line[last:])
	return b.String()
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
