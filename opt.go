package agentphone

import "encoding/json"

// Opt is an input field that remembers whether its key was present and
// whether it was JSON null, which PATCH semantics need: an omitted key leaves
// a field unchanged, null clears or resets it, a value sets it.
type Opt[T any] struct {
	Set   bool // the key was present
	Null  bool // the key was present with the value null
	Value T
}

// Some returns an Opt holding v.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: v} }

// Null returns an Opt that was sent as JSON null.
func Null[T any]() Opt[T] { return Opt[T]{Set: true, Null: true} }

// HasValue reports whether a non-null value was given.
func (o Opt[T]) HasValue() bool { return o.Set && !o.Null }

// UnmarshalJSON records presence and null; any other value decodes into Value.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// MarshalJSON writes null for an unset or null Opt, else the value.
func (o Opt[T]) MarshalJSON() ([]byte, error) {
	if !o.HasValue() {
		return []byte("null"), nil
	}
	return json.Marshal(o.Value)
}
