package sip

// reorder is the jitter buffer of a call's incoming audio. The audio goes
// to a listener (voice detection, later speech recognition), not to a
// loudspeaker, so nothing has to be played out on a clock: what matters
// is that packets come out in sequence order, once each. reorder holds a
// packet that arrives ahead of a missing one for up to depth packets (60 ms
// at 20 ms packets) waiting for the missing one, then gives it up for
// lost; a packet older than what was already given out (late, or a
// duplicate) is dropped; a new SSRC (the peer restarted its stream)
// starts over.
type reorder struct {
	depth    int
	started  bool
	ssrc     uint32
	expected uint16
	pending  map[uint16][]byte // payloads ahead of expected, by sequence number
	spare    [][]byte          // payload buffers to reuse
	dropped  int               // late or duplicate packets
	lost     int               // sequence numbers given up on
}

func newReorder(depth int) *reorder {
	return &reorder{depth: depth, pending: map[uint16][]byte{}}
}

// push takes the packet with sequence number seq of stream ssrc (payload
// is copied) and calls emit with each payload that is now in order.
func (r *reorder) push(ssrc uint32, seq uint16, payload []byte, emit func([]byte)) {
	if !r.started || ssrc != r.ssrc {
		r.reset(ssrc, seq)
	}
	switch d := int16(seq - r.expected); {
	case d < 0:
		r.dropped++
		return
	case d == 0:
		emit(payload)
		r.expected++
		r.flush(emit)
		return
	}
	if _, dup := r.pending[seq]; dup {
		r.dropped++
		return
	}
	r.pending[seq] = append(r.buffer(), payload...)
	if len(r.pending) <= r.depth {
		return
	}
	// Held too long: give up the missing packets up to the oldest held.
	for {
		if _, ok := r.pending[r.expected]; ok {
			break
		}
		r.expected++
		r.lost++
	}
	r.flush(emit)
}

// flush emits the held payloads that follow expected without a gap.
func (r *reorder) flush(emit func([]byte)) {
	for {
		p, ok := r.pending[r.expected]
		if !ok {
			return
		}
		delete(r.pending, r.expected)
		emit(p)
		r.spare = append(r.spare, p[:0])
		r.expected++
	}
}

func (r *reorder) reset(ssrc uint32, seq uint16) {
	for s, p := range r.pending {
		delete(r.pending, s)
		r.spare = append(r.spare, p[:0])
	}
	r.started, r.ssrc, r.expected = true, ssrc, seq
}

func (r *reorder) buffer() []byte {
	if n := len(r.spare); n > 0 {
		b := r.spare[n-1]
		r.spare = r.spare[:n-1]
		return b
	}
	return make([]byte, 0, 320)
}
