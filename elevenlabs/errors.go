package elevenlabs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Error is a failed API call, parsed from ElevenLabs' error JSON
// {"detail": {"type", "code", "message", "status", "request_id", "param"}}
// (https://elevenlabs.io/docs/eleven-api/resources/errors). Status is the
// HTTP status. Code is "code", or the legacy "status" when there is no
// "code" ("invalid_api_key", "voice_not_found", "quota_exceeded"), "" when
// the body had neither. Message is ElevenLabs' message: for a validation
// list ({"detail": [{"loc", "msg"}]}) the list joined, and when the body
// was not ElevenLabs' JSON (a proxy's 502 page) the status text and a
// snippet of the body.
type Error struct {
	Status    int
	Type      string
	Code      string
	Message   string
	Param     string
	RequestID string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("elevenlabs: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("elevenlabs: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether the same request may succeed later: rate
// limiting or too many concurrent requests (429) and server errors (5xx).
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// IsTemporary reports whether err is, or wraps, an *Error that is
// Temporary.
func IsTemporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary()
}

// errorBody is ElevenLabs' error JSON; detail is an object, a string or a
// list of validation errors.
type errorBody struct {
	Detail json.RawMessage `json:"detail"`
}

type errorDetail struct {
	Type      string `json:"type"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Status    string `json:"status"`
	RequestID string `json:"request_id"`
	Param     string `json:"param"`
}

type validationItem struct {
	Loc []any  `json:"loc"`
	Msg string `json:"msg"`
}

// parseError builds the *Error of a non-2xx response with body raw.
func parseError(status int, raw []byte) *Error {
	e := &Error{Status: status}
	var body errorBody
	if json.Unmarshal(raw, &body) == nil && len(body.Detail) > 0 {
		var d errorDetail
		var s string
		var list []validationItem
		switch {
		case json.Unmarshal(body.Detail, &d) == nil && (d.Message != "" || d.Code != "" || d.Status != ""):
			e.Type, e.Code, e.Message, e.Param, e.RequestID = d.Type, d.Code, d.Message, d.Param, d.RequestID
			if e.Code == "" {
				e.Code = d.Status
			}
			if e.Message == "" {
				e.Message = statusText(status)
			}
			return e
		case json.Unmarshal(body.Detail, &s) == nil && s != "":
			e.Message = s
			return e
		case json.Unmarshal(body.Detail, &list) == nil && len(list) > 0:
			msgs := make([]string, 0, len(list))
			for _, it := range list {
				if m := locString(it.Loc) + it.Msg; m != "" {
					msgs = append(msgs, m)
				}
			}
			e.Type = "validation_error"
			e.Message = cut(strings.Join(msgs, "; "), 1000)
			if e.Message == "" {
				e.Message = statusText(status)
			}
			return e
		}
	}
	// Not ElevenLabs' JSON: keep a short, single-line snippet for the logs.
	e.Message = statusText(status)
	if snippet := cut(strings.Join(strings.Fields(string(raw)), " "), 200); snippet != "" {
		e.Message += ": " + snippet
	}
	return e
}

// statusText is the text of an HTTP status, "unexpected status" for a
// status without one.
func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "unexpected status"
}

// locString renders a validation error's location ["body", "text"] as
// "body.text: ", or "" when there is none.
func locString(loc []any) string {
	parts := make([]string, 0, len(loc))
	for _, p := range loc {
		parts = append(parts, fmt.Sprint(p))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ".") + ": "
}

// cut shortens s to at most n bytes at a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
