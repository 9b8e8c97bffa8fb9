package voice

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/agentphone/agentphone/audio"
)

// speech is one agent turn being spoken: its pieces of text, the frames
// synthesised for each, and how many of them have been sent. The producer
// (synthesis) appends; the pump plays; the engine reads what was played
// when the caller interrupts.
type speech struct {
	mu       sync.Mutex
	pieces   []*piece
	done     bool      // no more pieces will come
	firstOut time.Time // when its first frame was sent
	sent     bool      // its last frame has been sent (reported once)
}

// piece is one sentence or clause of a turn.
type piece struct {
	text           string
	frames, played int
	complete       bool // synthesis finished: frames is its length
}

// playedText is the text of what was actually sent to the caller: whole
// pieces, and of the piece cut short the words in proportion of its frames
// played.
func (sp *speech) playedText() (text string, whole bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var b []string
	whole = true
	for _, p := range sp.pieces {
		if p.played == 0 {
			whole = false
			break
		}
		if p.complete && p.played >= p.frames {
			b = append(b, p.text)
			continue
		}
		whole = false
		words := strings.Fields(p.text)
		total := p.frames
		if !p.complete {
			total = max(total, p.played+1)
		}
		n := len(words) * p.played / max(total, 1)
		if n > 0 {
			b = append(b, strings.Join(words[:n], " ")+"…")
		}
		break
	}
	return strings.Join(b, " "), whole && sp.done
}

// outFrame is a frame queued to be sent, with the turn and piece it
// belongs to (nil for backchannels).
type outFrame struct {
	samples []int16
	sp      *speech
	p       *piece
}

// playout feeds a call's outgoing audio: it sends the queued agent speech
// frame by frame, mixed over the call's ambience when it has one (and the
// ambience alone when nothing is queued), and drops what is queued at
// once when the caller interrupts. The sink paces it: WriteFrame returns
// when the frame is on its way.
type playout struct {
	out  audio.Sink
	rate int
	amb  bed // nil: none

	mu      sync.Mutex
	queue   []outFrame
	wake    chan struct{} // a token when the queue gains frames
	onSent  func(*speech) // called by the pump when a turn's last frame went out
	onFirst func(*speech, time.Time)
	now     func() time.Time
}

func newPlayout(out audio.Sink, rate int, amb bed, now func() time.Time) *playout {
	return &playout{out: out, rate: rate, amb: amb, wake: make(chan struct{}, 1), now: now}
}

// push queues frames of piece p of sp.
func (po *playout) push(sp *speech, p *piece, samples []int16) {
	n := po.rate / 50
	po.mu.Lock()
	for i := 0; i < len(samples); i += n {
		f := make([]int16, n)
		copy(f, samples[i:min(i+n, len(samples))])
		po.queue = append(po.queue, outFrame{samples: f, sp: sp, p: p})
	}
	po.mu.Unlock()
	select {
	case po.wake <- struct{}{}:
	default:
	}
}

// flush drops everything queued; it returns how many frames it dropped.
func (po *playout) flush() int {
	po.mu.Lock()
	defer po.mu.Unlock()
	n := len(po.queue)
	po.queue = po.queue[:0]
	return n
}

// queued is how much audio waits to be sent.
func (po *playout) queued() time.Duration {
	po.mu.Lock()
	defer po.mu.Unlock()
	return time.Duration(len(po.queue)) * audio.FrameDuration
}

func (po *playout) pop() (outFrame, bool) {
	po.mu.Lock()
	defer po.mu.Unlock()
	if len(po.queue) == 0 {
		return outFrame{}, false
	}
	f := po.queue[0]
	po.queue[0] = outFrame{}
	po.queue = po.queue[1:]
	if len(po.queue) == 0 {
		po.queue = nil // let the backing array go
	}
	return f, true
}

// run sends until ctx ends or the sink fails.
func (po *playout) run(ctx context.Context) error {
	n := po.rate / 50
	for {
		f, ok := po.pop()
		if !ok && po.amb == nil {
			select { // nothing to send: the sink sends silence meanwhile
			case <-po.wake:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		samples := f.samples
		if po.amb != nil {
			bed := po.amb.Next().Samples
			if samples == nil {
				samples = bed
			} else {
				mixInto(samples, bed)
			}
		}
		if samples == nil {
			samples = make([]int16, n)
		}
		if err := po.out.WriteFrame(ctx, audio.Frame{Samples: samples, Rate: po.rate}); err != nil {
			return err
		}
		if f.sp != nil {
			po.sent(f)
		}
	}
}

// sent records that frame f has gone out.
func (po *playout) sent(f outFrame) {
	sp := f.sp
	sp.mu.Lock()
	f.p.played++
	first := sp.firstOut.IsZero()
	if first {
		sp.firstOut = po.now()
	}
	last := false
	if sp.done && !sp.sent {
		last = true
		for _, p := range sp.pieces {
			if !p.complete || p.played < p.frames {
				last = false
				break
			}
		}
		sp.sent = last
	}
	at := sp.firstOut
	sp.mu.Unlock()
	if first && po.onFirst != nil {
		po.onFirst(sp, at)
	}
	if last && po.onSent != nil {
		po.onSent(sp)
	}
}

// bed is an endless background sound (audio.Ambience).
type bed interface {
	Next() audio.Frame
}

// mixInto adds b to a, saturating.
func mixInto(a, b []int16) {
	for i := range min(len(a), len(b)) {
		v := int32(a[i]) + int32(b[i])
		a[i] = int16(max(min(v, 32767), -32768))
	}
}

// textQueue passes an answer's texts to its synthesis without ever
// blocking the call's loop.
type textQueue struct {
	mu     sync.Mutex
	items  []string
	closed bool
	wake   chan struct{}
}

func newTextQueue() *textQueue { return &textQueue{wake: make(chan struct{}, 1)} }

func (q *textQueue) push(s string) {
	q.mu.Lock()
	q.items = append(q.items, s)
	q.mu.Unlock()
	q.signal()
}

func (q *textQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *textQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop returns the next text; false once the queue is closed and empty, or
// ctx ended.
func (q *textQueue) pop(ctx context.Context) (string, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			s := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			return s, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return "", false
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return "", false
		}
	}
}
