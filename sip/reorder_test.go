package sip

import (
	"slices"
	"testing"
)

// TestReorder: packets come out in sequence order, once each; one held
// ahead of a missing packet waits up to depth packets; late and duplicate
// packets are dropped; sequence numbers wrap; a new SSRC starts over.
func TestReorder(t *testing.T) {
	r := newReorder(3)
	var out []byte
	emit := func(p []byte) { out = append(out, p[0]) }
	push := func(ssrc uint32, seq uint16) { r.push(ssrc, seq, []byte{byte(seq)}, emit) }

	for _, s := range []uint16{10, 12, 11, 13, 13, 9, 14} { // 12 before 11; 13 twice; 9 late
		push(1, s)
	}
	if want := []byte{10, 11, 12, 13, 14}; !slices.Equal(out, want) {
		t.Fatalf("out %v, want %v", out, want)
	}
	if r.dropped != 2 {
		t.Fatalf("dropped %d, want 2", r.dropped)
	}
	// 15 lost: 16, 17, 18 are held; 19 is one too many, so 15 is given up.
	out = nil
	for _, s := range []uint16{16, 17, 18} {
		push(1, s)
	}
	if len(out) != 0 {
		t.Fatalf("emitted %v while waiting for 15", out)
	}
	push(1, 19)
	if want := []byte{16, 17, 18, 19}; !slices.Equal(out, want) || r.lost != 1 {
		t.Fatalf("out %v (lost %d), want %v (lost 1)", out, r.lost, want)
	}
	// Wrap-around.
	out = nil
	r2 := newReorder(3)
	for _, s := range []uint16{65534, 0, 65535, 1} {
		r2.push(1, s, []byte{byte(s)}, func(p []byte) { out = append(out, p[0]) })
	}
	if want := []byte{254, 255, 0, 1}; !slices.Equal(out, want) {
		t.Fatalf("across the wrap: %v, want %v", out, want)
	}
	// A new SSRC starts over at its first packet.
	out = nil
	push(2, 500)
	push(2, 501)
	if want := []byte{244, 245}; !slices.Equal(out, want) {
		t.Fatalf("new stream: %v, want %v", out, want)
	}
}
