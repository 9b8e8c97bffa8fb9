package agentphone

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error; each edge (HTTP, SIP, CLI) maps a Kind to its
// own status once.
type Kind int

// The kinds of domain error.
const (
	KindInternal        Kind = iota
	KindNotFound             // the resource does not exist in the caller's (sub-)account
	KindConflict             // the change collides with the current state (409)
	KindBadRequest           // the operation does not apply to the resource (400)
	KindUnauthorized         // missing, unknown or revoked API key
	KindPaymentRequired      // plan or balance refuses the operation
	KindUnavailable          // an upstream provider cannot serve the request now
)

// Error is a domain error whose Message is written for API users.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is reports whether target is a sentinel of the same Kind, so that
// errors.Is(err, ErrNotFound) matches every not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is. Their Message is empty on purpose: Is matches them
// by Kind alone.
var (
	ErrNotFound     = &Error{Kind: KindNotFound}
	ErrConflict     = &Error{Kind: KindConflict}
	ErrBadRequest   = &Error{Kind: KindBadRequest}
	ErrUnauthorized = &Error{Kind: KindUnauthorized}
	ErrUnavailable  = &Error{Kind: KindUnavailable}
)

// Errorf returns a domain error of the given kind.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the Kind of err, or KindInternal when err carries none.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var v *ValidationError
	if errors.As(err, &v) {
		return KindBadRequest
	}
	return KindInternal
}

// ErrorMessage returns the user-facing message of a domain error, or "" when
// err is not one (internal errors are never shown to API users).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
