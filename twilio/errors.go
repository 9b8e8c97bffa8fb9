package twilio

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Twilio error codes this package and twiliotest deal with; the full list
// is at https://www.twilio.com/docs/api/errors.
const (
	CodeAuthentication     = 20003 // 401: wrong or missing credentials
	CodeNotFound           = 20404 // 404: no such resource
	CodeMethodNotAllowed   = 20004 // 405
	CodeTooManyRequests    = 20429 // 429: rate limited
	CodeInternal           = 20500 // 500
	CodeServiceUnavailable = 20503 // 503
	CodeInvalidTo          = 21211 // 'To' is not a valid phone number
	CodeInvalidFrom        = 21212 // 'From' is not a valid phone number
	CodeInvalidPhoneNumber = 21421 // PhoneNumber is invalid (buying)
	CodeNumberUnavailable  = 21422 // the requested number is not available
	CodeNoNumbersInArea    = 21452 // no phone numbers found in area code
	CodeBodyRequired       = 21602 // Body is required when there is no media
	CodeFromRequired       = 21603 // 'From' is required
	CodeToRequired         = 21604 // 'To' is required
	CodeFromNotOwned       = 21606 // 'From' is not an SMS-capable number of the account
	CodeInvalidCallback    = 21609 // StatusCallback is not a valid URL
	CodeBodyTooLong        = 21617 // Body exceeds 1,600 characters
	CodeInvalidMediaURL    = 21620 // a MediaUrl is not a valid URL
	CodeTooManyMedia       = 21623 // more than 10 MediaUrl
)

// Error is a failed REST call, parsed from Twilio's error JSON
// {"code", "message", "more_info", "status"}. Status is the response's HTTP
// status; Code is Twilio's error code, 0 when the body was not Twilio's JSON
// (a proxy's 502 page, say), and Message then holds a snippet of the body.
type Error struct {
	Status   int
	Code     int
	Message  string
	MoreInfo string
}

func (e *Error) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("twilio: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("twilio: HTTP %d, error %d: %s", e.Status, e.Code, e.Message)
}

// Retryable reports whether the same request may succeed later: rate
// limiting (429) and server errors (5xx). A retried SendMessage after a 5xx
// can, rarely, send the message twice; Twilio offers no idempotency key.
func (e *Error) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// Permanent reports whether repeating the request unchanged cannot help:
// every 4xx but 429 (bad parameters, credentials, unavailable numbers).
func (e *Error) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests
}

// IsRetryable reports whether err is, or wraps, an *Error that is
// Retryable. Transport errors (timeouts, resets) are not *Error: whether
// Twilio acted on such a request is unknown, so the caller decides.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}

// IsPermanent reports whether err is, or wraps, an *Error that is Permanent.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent()
}

// ErrorCode returns the Twilio error code of err, or 0 when err is not, and
// does not wrap, an *Error.
func ErrorCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// parseError builds the *Error of a non-2xx response with body raw.
func parseError(status int, raw []byte) *Error {
	var body struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
		Status   int    `json:"status"`
	}
	e := &Error{Status: status}
	if json.Unmarshal(raw, &body) == nil && (body.Code != 0 || body.Message != "") {
		e.Code, e.Message, e.MoreInfo = body.Code, body.Message, body.MoreInfo
		return e
	}
	// Not Twilio's JSON: keep a short, single-line snippet for the logs.
	snippet := strings.Join(strings.Fields(string(raw)), " ")
	if len(snippet) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(snippet[cut]) {
			cut--
		}
		snippet = snippet[:cut] + "…"
	}
	e.Message = http.StatusText(status)
	if snippet != "" {
		e.Message += ": " + snippet
	}
	return e
}
