package voice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/voice"
)

// TestKeyCollector_Timeouts: an entry is due once the time-out has passed
// since its last key (2 s for a menu choice, 3 s from the third key), at
// once after '#', and each key restarts the time-out.
func TestKeyCollector_Timeouts(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type press struct {
		key rune
		ms  int
	}
	cases := []struct {
		name    string
		presses []press
		notYet  int // ms: Due is not ok yet
		dueAt   int // ms: Due returns want
		want    string
	}{
		{"one key, 2 s", []press{{'1', 0}}, 1999, 2000, "1"},
		{"two keys, from the last", []press{{'1', 0}, {'2', 1500}}, 3499, 3500, "12"},
		{"three keys, 3 s", []press{{'1', 0}, {'2', 300}, {'3', 600}}, 3599, 3600, "123"},
		{"a pause under the time-out keeps one entry", []press{{'4', 0}, {'1', 1900}, {'1', 3800}, {'1', 5700}}, 8699, 8700, "4111"},
		{"# ends at once, included", []press{{'1', 0}, {'2', 200}, {'#', 400}}, 399, 400, "12#"},
		{"# alone", []press{{'#', 0}}, -1, 0, "#"},
		{"* is a key like the others", []press{{'*', 0}, {'9', 100}}, 2099, 2100, "*9"},
		{"A-D, lower case too", []press{{'A', 0}, {'b', 100}, {'C', 200}, {'d', 300}}, 3299, 3300, "ABCD"},
		{"invalid keys are ignored", []press{{'1', 0}, {'E', 100}, {'x', 200}, {'!', 300}, {rune(16), 400}, {'2', 500}}, 2499, 2500, "12"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			k := voice.NewKeyCollector()
			for _, p := range c.presses {
				k.Press(p.key, at(p.ms))
			}
			if c.notYet >= 0 {
				if d, ok := k.Due(at(c.notYet)); ok {
					t.Fatalf("due at %d ms with %q, want not yet", c.notYet, d)
				}
			}
			next, ok := k.Next()
			if !ok || !next.Equal(at(c.dueAt)) {
				t.Fatalf("Next = %v, %v; want %v", next.Sub(t0), ok, time.Duration(c.dueAt)*time.Millisecond)
			}
			d, ok := k.Due(at(c.dueAt))
			if !ok || d != c.want {
				t.Fatalf("Due at %d ms = %q, %v; want %q", c.dueAt, d, ok, c.want)
			}
			// Due does not take them: the engine ends the turn and takes.
			if d, ok := k.Due(at(c.dueAt + 10000)); !ok || d != c.want {
				t.Fatalf("Due again = %q, %v; want the same until taken", d, ok)
			}
			if got := k.Take(); got != c.want {
				t.Fatalf("Take = %q, want %q", got, c.want)
			}
			if d, ok := k.Due(at(c.dueAt + 20000)); ok || k.Pending() {
				t.Fatalf("keys left after Take: %q", d)
			}
			if _, ok := k.Next(); ok {
				t.Fatal("Next with no keys waiting")
			}
		})
	}
}

// TestKeyCollector_Validity: Press reports which keys count.
func TestKeyCollector_Validity(t *testing.T) {
	t.Parallel()
	var k voice.KeyCollector // the zero value works
	for _, r := range "0123456789*#ABCDabcd" {
		if !k.Press(r, time.Time{}) {
			t.Errorf("%q refused", r)
		}
	}
	for _, r := range []rune{'E', 'e', 'z', ' ', '+', 16, '٣', -1} {
		if k.Press(r, time.Time{}) {
			t.Errorf("%q accepted", r)
		}
	}
	if got := k.Take(); got != "0123456789*#ABCDABCD" {
		t.Errorf("Take = %q", got)
	}
}

// TestKeyCollector_Take: keys pressed during a spoken turn go with it,
// ended entries and the one being typed; nothing is left.
func TestKeyCollector_Take(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	k := voice.NewKeyCollector()
	if k.Take() != "" || k.Pending() {
		t.Fatal("keys before any press")
	}
	k.Press('1', t0)
	k.Press('#', t0.Add(100*time.Millisecond))
	k.Press('5', t0.Add(200*time.Millisecond))
	if !k.Pending() {
		t.Fatal("not pending")
	}
	if got := k.Take(); got != "1#5" {
		t.Fatalf("Take = %q, want 1#5", got)
	}
	if k.Pending() {
		t.Fatal("pending after Take")
	}
	if d, ok := k.Due(t0.Add(time.Minute)); ok {
		t.Fatalf("Due after Take: %q", d)
	}
}

// TestKeyCollector_AfterHash: keys after a '#' start a new entry with
// its own time-out: Due reports the ended entry alone, Take takes it with
// the keys typed since.
func TestKeyCollector_AfterHash(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	k := voice.NewKeyCollector()
	k.Press('1', t0)
	k.Press('#', t0.Add(100*time.Millisecond))
	k.Press('2', t0.Add(200*time.Millisecond))
	if d, ok := k.Due(t0.Add(300 * time.Millisecond)); !ok || d != "1#" {
		t.Fatalf("Due = %q, %v; want the entry ended by #", d, ok)
	}
	if next, ok := k.Next(); !ok || !next.Equal(t0.Add(100*time.Millisecond)) {
		t.Fatalf("Next = %v, %v; want the time of the #", next.Sub(t0), ok)
	}
	if got := k.Take(); got != "1#2" {
		t.Fatalf("Take = %q, want 1#2", got)
	}
	// Both ended by the time Due is asked: one string, in order.
	k.Press('7', t0.Add(3*time.Second))
	k.Press('#', t0.Add(3100*time.Millisecond))
	k.Press('8', t0.Add(3200*time.Millisecond))
	if next, ok := k.Next(); !ok || !next.Equal(t0.Add(3100*time.Millisecond)) {
		t.Fatalf("Next = %v, %v", next.Sub(t0), ok)
	}
	if d, ok := k.Due(t0.Add(10 * time.Second)); !ok || d != "7#8" {
		t.Fatalf("Due = %q, %v; want 7#8", d, ok)
	}
}

// TestKeyCollector_Bounds: a press dated before the previous one counts
// at the previous time; MaxKeys ends an entry; the time-outs can be set.
func TestKeyCollector_Bounds(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	k := voice.NewKeyCollector()
	k.Press('1', t0)
	k.Press('2', t0.Add(-time.Hour))
	if _, ok := k.Due(t0.Add(1999 * time.Millisecond)); ok {
		t.Fatal("an out-of-order press moved the time-out back")
	}
	if d, _ := k.Due(t0.Add(2 * time.Second)); d != "12" {
		t.Fatalf("Due = %q", d)
	}
	k.Take()

	for i := range voice.MaxKeys {
		k.Press(rune('0'+i%10), t0.Add(time.Duration(i)*time.Millisecond))
	}
	d, ok := k.Due(t0.Add(voice.MaxKeys * time.Millisecond))
	if !ok || len(d) != voice.MaxKeys {
		t.Fatalf("at MaxKeys: %d keys, %v; want %d at once", len(d), ok, voice.MaxKeys)
	}
	k.Take()
	taken := 0
	for i := range 1000 { // a flood never taken: bounded
		if k.Press('9', t0.Add(time.Duration(i)*time.Millisecond)) {
			taken++
		}
	}
	if got := k.Take(); taken != voice.MaxPendingKeys || len(got) != voice.MaxPendingKeys || strings.Trim(got, "9") != "" {
		t.Fatalf("flood: %d presses taken, %d keys; want %d", taken, len(got), voice.MaxPendingKeys)
	}
	if !k.Press('1', t0) {
		t.Fatal("a key refused after Take")
	}
	k.Take()

	c := &voice.KeyCollector{Timeout: 500 * time.Millisecond, LongTimeout: time.Second}
	c.Press('1', t0)
	if d, ok := c.Due(t0.Add(500 * time.Millisecond)); !ok || d != "1" {
		t.Fatalf("Timeout 500 ms: %q, %v", d, ok)
	}
	c.Take()
	for i := range 3 {
		c.Press('1', t0.Add(time.Duration(i)*time.Millisecond))
	}
	if _, ok := c.Due(t0.Add(999 * time.Millisecond)); ok {
		t.Fatal("LongTimeout 1 s not applied from the third key")
	}
	if _, ok := c.Due(t0.Add(1002 * time.Millisecond)); !ok {
		t.Fatal("LongTimeout 1 s: not due")
	}
}
