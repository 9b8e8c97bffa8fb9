package agentphone

import (
	"fmt"
	"strings"
)

// FieldError describes one invalid input field. Loc is the path to the field
// inside the input (names and list indexes, e.g. ["customTools", 3, "url"]);
// Msg and Type follow the wording of Pydantic v2, which is what clients of the
// hosted API have seen.
type FieldError struct {
	Loc  []any
	Msg  string
	Type string
}

// ValidationError lists every invalid field of one input.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, fmt.Sprintf("%v: %s", f.Loc, f.Msg))
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// fieldErrors collects FieldErrors; its zero value is ready to use.
type fieldErrors struct{ list []FieldError }

func (fe *fieldErrors) add(msg, typ string, loc ...any) {
	fe.list = append(fe.list, FieldError{Loc: loc, Msg: msg, Type: typ})
}

func (fe *fieldErrors) missing(loc ...any) { fe.add("Field required", "missing", loc...) }

// err returns nil when nothing was collected, else a *ValidationError.
func (fe *fieldErrors) err() error {
	if len(fe.list) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe.list}
}

// Validation message helpers, named after the Pydantic error type they produce.

func (fe *fieldErrors) literal(value string, allowed []string, loc ...any) bool {
	for _, a := range allowed {
		if a == value {
			return true
		}
	}
	fe.add("Input should be "+quoteList(allowed), "literal_error", loc...)
	return false
}

func (fe *fieldErrors) intRange(v, lo, hi int, loc ...any) {
	switch {
	case v < lo:
		fe.add(fmt.Sprintf("Input should be greater than or equal to %d", lo), "greater_than_equal", loc...)
	case v > hi:
		fe.add(fmt.Sprintf("Input should be less than or equal to %d", hi), "less_than_equal", loc...)
	}
}

func (fe *fieldErrors) floatRange(v, lo, hi float64, loc ...any) {
	switch {
	case v < lo:
		fe.add(fmt.Sprintf("Input should be greater than or equal to %v", lo), "greater_than_equal", loc...)
	case v > hi:
		fe.add(fmt.Sprintf("Input should be less than or equal to %v", hi), "less_than_equal", loc...)
	}
}

// strLen checks a string's length in characters (runes), as Pydantic does.
func (fe *fieldErrors) strLen(s string, lo, hi int, loc ...any) {
	n := len([]rune(s))
	switch {
	case n < lo:
		fe.add(fmt.Sprintf("String should have at least %d %s", lo, plural(lo, "character")), "string_too_short", loc...)
	case hi > 0 && n > hi:
		fe.add(fmt.Sprintf("String should have at most %d %s", hi, plural(hi, "character")), "string_too_long", loc...)
	}
}

func (fe *fieldErrors) value(msg string, loc ...any) {
	fe.add("Value error, "+msg, "value_error", loc...)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// quoteList renders allowed values as Pydantic does: 'a', 'b' or 'c'.
func quoteList(allowed []string) string {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = "'" + a + "'"
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
