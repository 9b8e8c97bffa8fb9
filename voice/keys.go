package voice

import "time"

// Keypad time-outs. IVR platforms wait 5 s between keys by default
// (Twilio's <Gather>, Telnyx's gather) because they sit silent waiting
// for input they asked for; an agent in conversation should answer a menu
// choice sooner, while still letting a caller type a number off a card.
const (
	// KeyTimeout is how long after a key, with one or two keys pressed,
	// the keys count as entered: a menu choice ("press 1") is answered
	// 2 s after the press.
	KeyTimeout = 2 * time.Second
	// KeyTimeoutLong applies from the third key on: a caller typing an
	// account or card number pauses between groups.
	KeyTimeoutLong = 3 * time.Second
	// MaxKeys bounds one entry: at this many keys it is entered at once.
	MaxKeys = 64
	// MaxPendingKeys bounds the keys waiting to be taken: more are
	// ignored (a stuck or hostile peer cannot grow them without end).
	MaxPendingKeys = 256
)

// longEntryKeys is the number of keys from which KeyTimeoutLong applies.
const longEntryKeys = 3

// KeyCollector gathers the keypad keys a caller presses (RFC 4733
// telephone events) into entries: an entry ends when '#' is pressed (at
// once, the '#' included, as keys are reported as pressed) or when no key
// has come for the inter-key time-out. The engine polls Due to learn that
// an entry has ended (a turn of keys alone), and takes the keys with Take
// when it ends the caller's turn, spoken or not; they go to the webhook as
// the turn's dtmf. Valid keys are 0–9, '*', '#'
// and A–D (RFC 4733 events 0–15: 0–9, * = 10, # = 11, A–D = 12–15;
// lower-case a–d count as A–D); others, such as flash (16), are ignored. The zero value is ready to use; a KeyCollector is for
// one goroutine.
type KeyCollector struct {
	// Timeout and LongTimeout override KeyTimeout and KeyTimeoutLong
	// when positive.
	Timeout, LongTimeout time.Duration

	ready   []byte    // entries ended by '#' or MaxKeys, not yet taken
	readyAt time.Time // when the first of them ended
	keys    []byte    // the entry being typed
	last    time.Time // when its last key was pressed
}

// NewKeyCollector returns a KeyCollector with the default time-outs.
func NewKeyCollector() *KeyCollector { return &KeyCollector{} }

// Press records key, pressed at at, and reports whether it was taken:
// invalid keys are ignored, and so are keys beyond MaxPendingKeys waiting.
// A press dated before the previous one counts at the previous one's time.
func (c *KeyCollector) Press(key rune, at time.Time) bool {
	switch {
	case key >= '0' && key <= '9', key == '*', key == '#', key >= 'A' && key <= 'D':
	case key >= 'a' && key <= 'd':
		key -= 'a' - 'A'
	default:
		return false
	}
	if len(c.ready)+len(c.keys) >= MaxPendingKeys {
		return false
	}
	if at.Before(c.last) {
		at = c.last
	}
	c.keys = append(c.keys, byte(key))
	c.last = at
	if key == '#' || len(c.keys) >= MaxKeys {
		if len(c.ready) == 0 {
			c.readyAt = at
		}
		c.ready = append(c.ready, c.keys...)
		c.keys = c.keys[:0]
	}
	return true
}

// Due reports whether an entry has ended by now, and the keys of the
// entries ended, without taking them: Take does, with any key typed since.
// An entry ends at its '#' (at once), at MaxKeys, or once the time-out has
// passed since its last key.
func (c *KeyCollector) Due(now time.Time) (digits string, ok bool) {
	if len(c.keys) > 0 && !now.Before(c.last.Add(c.timeout())) {
		if len(c.ready) == 0 {
			c.readyAt = c.last
		}
		c.ready = append(c.ready, c.keys...)
		c.keys = c.keys[:0]
	}
	if len(c.ready) == 0 || now.Before(c.readyAt) {
		return "", false
	}
	return string(c.ready), true
}

// Next is when Due will next have keys to return: now or earlier when an
// entry has ended, the end of the time-out when one is being typed; ok is
// false when no keys are waiting. The engine can set its timer by it.
func (c *KeyCollector) Next() (at time.Time, ok bool) {
	switch {
	case len(c.ready) > 0:
		return c.readyAt, true
	case len(c.keys) > 0:
		return c.last.Add(c.timeout()), true
	}
	return time.Time{}, false
}

// Take returns every key pressed and not yet taken, ended entries and the
// one being typed, and forgets them: the keys go with the caller's turn
// that is ending (after Due reported an entry, or with a spoken turn).
func (c *KeyCollector) Take() string {
	digits := string(c.ready) + string(c.keys)
	c.ready, c.keys = c.ready[:0], c.keys[:0]
	return digits
}

// Pending reports whether keys are waiting to be taken.
func (c *KeyCollector) Pending() bool { return len(c.ready)+len(c.keys) > 0 }

// timeout is the time-out of the entry being typed.
func (c *KeyCollector) timeout() time.Duration {
	short, long := KeyTimeout, KeyTimeoutLong
	if c.Timeout > 0 {
		short = c.Timeout
	}
	if c.LongTimeout > 0 {
		long = c.LongTimeout
	}
	if len(c.keys) >= longEntryKeys {
		return max(short, long)
	}
	return short
}
