package sip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"

	"github.com/agentphone/agentphone/audio"
)

// frameDur is the packet time of every codec here: 20 ms per RTP packet.
const frameDur = 20 * time.Millisecond

// inboundQueue is how many decoded caller frames wait for the runner (1 s);
// older ones are dropped when it falls behind.
const inboundQueue = 50

// jitterDepth is how many packets the jitter buffer holds ahead of a
// missing one (60 ms) before it gives that one up.
const jitterDepth = 3

// mediaPipe turns a call's RTP into PCM frames and back: the caller's
// audio, decoded, on in; the agent's frames, encoded and sent every 20 ms
// by the server's media clock, which sends silence while the agent says
// nothing (so the stream never stalls and the recording stays aligned).
// Keys pressed by the caller arrive on dtmf.
type mediaPipe struct {
	codec  audio.Codec
	rate   int   // PCM rate of the codec
	pt     uint8 // the audio's RTP payload type, as received
	dtmfPT uint8 // telephone-event's, as received (0 = none)
	// dropped counts the datagrams read that were not the call's audio.
	dropped *atomic.Int64
	pkts    *media.RTPPacketReader
	reader  io.Reader
	rec     *audio.Recorder // nil: not recorded
	log     *slog.Logger

	in   chan audio.Frame
	out  chan audio.Frame
	dtmf chan rune
	keys chan keyPress // keys to send, taken by the media clock
	// bridged takes the frames of the other leg of a bridged call
	// (bridge.go), sent when the agent's out has none; relay, while set,
	// forwards this pipe's decoded frames to the other leg's bridged.
	bridged chan audio.Frame
	relay   atomic.Pointer[relay]

	stopOnce sync.Once
	stop     chan struct{} // closed by close
	wg       sync.WaitGroup
	// onInterval, when set, is told the time between packets sent.
	onInterval func(time.Duration)

	// Sending state, used by the media clock's goroutine only. The clock
	// packetises through diago's RTP writer with its own per-call ticker
	// off: that ticker made every write wait for the call's next 20 ms
	// boundary, which held up every call after it in the clock's turn.
	clock         *mediaClock
	dead          bool          // off the clock at its next clean-up
	detached      chan struct{} // closed once off the clock
	pw            *media.RTPPacketWriter
	sendPT        uint8  // the audio's payload type, as sent
	eventSendPT   uint8  // telephone-event's, as sent (0 = none)
	tsStep        uint32 // RTP timestamp units per packet
	started       bool   // a packet went out (the first carries the marker)
	key           keyPress
	events        [][]byte // the key being sent: its event packets still to go
	eventCount    uint32   // how many packets the key took
	silence       audio.Frame
	silentPayload []byte
	payload       []byte
	lastSend      time.Time
}

// keyPress is a key for the clock to send, and where to say it went.
type keyPress struct {
	key  rune
	done chan error
}

// startMedia sets up the pipe over an answered call's media and starts its
// reader and its sender.
func (s *Server) startMedia(med *diago.DialogMedia, rec *audio.Recorder, log *slog.Logger) (*mediaPipe, error) {
	clock, onInterval := s.clock, s.cfg.OnSendInterval
	var rprops diago.MediaProps
	// Keys (RFC 4733) only when the peer offered telephone-event: the DTMF
	// stage is set first, so that when it fails nothing else is set yet.
	var dr diago.DTMFReader
	r, err := med.AudioReader(diago.WithAudioReaderDTMF(&dr), diago.WithAudioReaderMediaProps(&rprops))
	if err != nil {
		log.Info("the other side offered no telephone-event: no keys on this call", "err", err)
		r, err = med.AudioReader(diago.WithAudioReaderMediaProps(&rprops))
	}
	if err != nil {
		return nil, fmt.Errorf("audio reader: %w", err)
	}
	codec, err := codecFor(rprops.Codec)
	if err != nil {
		return nil, err
	}
	sent := media.CodecAudioFromSession(med.MediaSession())
	pw := med.RTPPacketWriter
	pw.ClockDisable()
	p := &mediaPipe{
		codec: codec, rate: codec.SampleRate(), pt: rprops.Codec.PayloadTypeRecv(), pkts: med.RTPPacketReader,
		dtmfPT: telephoneEventPT(med), dropped: &s.Stats.RTPDropped,
		reader: r, rec: rec, log: log, onInterval: onInterval,
		in: make(chan audio.Frame, inboundQueue), out: make(chan audio.Frame, 1), dtmf: make(chan rune, 32),
		keys: make(chan keyPress, keyQueue), stop: make(chan struct{}), bridged: make(chan audio.Frame, bridgeQueue),
		pw: pw, sendPT: sent.PayloadType, eventSendPT: telephoneEventSendPT(med), tsStep: sent.SampleTimestamp(),
	}
	dr.OnDTMF(func(k rune) error {
		select {
		case p.dtmf <- k:
		default: // nobody is reading keys: drop
		}
		return nil
	})
	n := p.rate / 50
	p.silence = audio.Frame{Samples: make([]int16, n), Rate: p.rate}
	p.silentPayload = p.codec.Encode(p.silence.Samples, nil)
	p.clock, p.detached = clock, make(chan struct{})
	p.wg.Add(1)
	go p.readLoop()
	clock.add(p)
	return p, nil
}

// telephoneEventPT is the payload type the call's telephone events arrive
// with, or 0.
func telephoneEventPT(med *diago.DialogMedia) uint8 {
	for _, c := range med.MediaSession().Codecs {
		if strings.EqualFold(c.Name, "telephone-event") {
			return c.PayloadTypeRecv()
		}
	}
	return 0
}

// telephoneEventSendPT is the payload type telephone events are sent with,
// or 0 when the call negotiated none.
func telephoneEventSendPT(med *diago.DialogMedia) uint8 {
	for _, c := range med.MediaSession().CommonCodecs() {
		if c.Matches(media.CodecTelephoneEvent8000) {
			return c.PayloadType
		}
	}
	return 0
}

// codecFor returns the codec implementation of a negotiated codec.
func codecFor(c media.Codec) (audio.Codec, error) {
	switch c.PayloadType {
	case 0:
		return audio.PCMU{}, nil
	case 8:
		return audio.PCMA{}, nil
	case 9:
		return audio.NewG722(), nil
	}
	return nil, fmt.Errorf("sip: negotiated codec %s is not one this server decodes", c.Name)
}

// close takes the pipe off the media clock and waits for its reader,
// which ends when the media closes.
func (p *mediaPipe) close() {
	p.stopOnce.Do(func() { close(p.stop) })
	select { // the clock drops it within a tick (it no longer sends for it)
	case <-p.detached:
	case <-p.clock.done:
	}
	p.wg.Wait()
}

func (p *mediaPipe) readLoop() {
	defer p.wg.Done()
	defer close(p.in)
	buf := make([]byte, media.RTPBufSize)
	// Frames are decoded into a ring of buffers larger than the queue (and
	// the one frame its reader holds), so that a buffer is only reused once
	// its frame has been consumed: no allocation per packet.
	var ring [inboundQueue + 14][]int16
	next, failures := 0, 0
	// The jitter buffer: packets in sequence order, once each (reorder.go).
	jitter := newReorder(jitterDepth)
	emit := func(payload []byte) {
		slot := &ring[next%len(ring)]
		next++
		*slot = p.codec.Decode(payload, (*slot)[:0])
		f := audio.Frame{Samples: *slot, Rate: p.rate}
		if p.rec != nil {
			_ = p.rec.Caller(f)
		}
		if r := p.relay.Load(); r != nil {
			r.forward(f)
		}
		select {
		case p.in <- f:
		default: // the runner is behind: drop the oldest frame
			select {
			case <-p.in:
			default:
			}
			select {
			case p.in <- f:
			default:
			}
		}
	}
	for {
		n, err := p.reader.Read(buf)
		if err != nil {
			select {
			case <-p.stop:
				return
			default:
			}
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return
			}
			// A datagram that is not RTP (garbage, a truncated or
			// oversized packet): drop it, the call goes on, unless the
			// reader keeps failing (it is broken, not the packets).
			p.dropped.Add(1)
			if failures++; failures > 100 {
				p.log.Warn("call media: the reader keeps failing; no more caller audio", "err", err)
				return
			}
			continue
		}
		failures = 0
		// Telephone events (taken by the DTMF reader) and comfort noise
		// come through this reader too: only the codec's payload is audio.
		if n == 0 {
			continue
		}
		hdr := &p.pkts.PacketHeader
		if hdr.PayloadType != p.pt {
			if pt := hdr.PayloadType; pt != p.dtmfPT && pt != 13 { // 13: comfort noise
				p.dropped.Add(1)
			}
			continue
		}
		jitter.push(hdr.SSRC, hdr.SequenceNumber, buf[:n], emit)
	}
}

// sendTick sends the call's packet of this 20 ms tick: the next event
// packet of a key being pressed, else the agent's next frame if there is
// one, else the other leg's when the call is bridged, else silence. It
// returns the frame sent (for the recording, written after every call's
// packet of the tick is out; silence while a key is sent) and false once
// the pipe is closed or its media gone.
func (p *mediaPipe) sendTick() (audio.Frame, bool) {
	select {
	case <-p.stop:
		p.endKey(io.ErrClosedPipe)
		return audio.Frame{}, false
	default:
	}
	if p.events == nil && p.eventSendPT != 0 {
		select {
		case p.key = <-p.keys:
			p.events = dtmfPackets(p.key.key)
			p.eventCount = uint32(len(p.events))
		default:
		}
	}
	var err error
	f := p.silence
	if len(p.events) > 0 {
		// RFC 4733: every packet of the event carries its start timestamp;
		// the audio after it moves on by the time the event took.
		first := uint32(len(p.events)) == p.eventCount
		_, err = p.pw.WriteSamples(p.events[0], 0, first, p.eventSendPT)
		if p.events = p.events[1:]; len(p.events) == 0 && err == nil {
			p.pw.DelayTimestamp(p.tsStep * p.eventCount)
			p.endKey(nil)
		}
	} else {
		pl := p.silentPayload
		if g, ok := p.nextFrame(); ok {
			f = g
			p.payload = p.codec.Encode(f.Samples, p.payload[:0])
			pl = p.payload
		}
		_, err = p.pw.WriteSamples(pl, p.tsStep, !p.started, p.sendPT)
	}
	if err != nil {
		p.endKey(err)
		return audio.Frame{}, false // the media closed
	}
	p.started = true
	if p.onInterval != nil {
		now := time.Now()
		if !p.lastSend.IsZero() {
			p.onInterval(now.Sub(p.lastSend))
		}
		p.lastSend = now
	}
	return f, true
}

// nextFrame takes the agent's next frame, else the bridged leg's, without
// waiting; false when there is neither.
func (p *mediaPipe) nextFrame() (audio.Frame, bool) {
	select {
	case f := <-p.out:
		return f, true
	default:
	}
	select {
	case f := <-p.bridged:
		return f, true
	default:
		return audio.Frame{}, false
	}
}

// endKey tells the sender of the key being sent, if any, how it went.
func (p *mediaPipe) endKey(err error) {
	if p.key.done != nil {
		p.key.done <- err
		p.key, p.events = keyPress{}, nil
	}
}

// dtmfPackets returns the RFC 4733 event packets of a key: diago's encoding
// (four packets of a growing duration, then three end packets).
func dtmfPackets(k rune) [][]byte {
	evs := media.RTPDTMFEncode8000(k)
	out := make([][]byte, len(evs))
	for i, e := range evs {
		out[i] = media.DTMFEncode(e)
	}
	return out
}

// ReadFrame implements audio.Source: the caller's next frame; io.EOF once
// the media has closed.
func (p *mediaPipe) ReadFrame(ctx context.Context) (audio.Frame, error) {
	select {
	case f, ok := <-p.in:
		if !ok {
			return audio.Frame{}, io.EOF
		}
		return f, nil
	case <-ctx.Done():
		return audio.Frame{}, ctx.Err()
	}
}

// WriteFrame implements audio.Sink: it queues f, cut into 20 ms frames, for
// the sender, returning as each is taken (so the writer is paced to real
// time). f must be at the codec's rate.
func (p *mediaPipe) WriteFrame(ctx context.Context, f audio.Frame) error {
	if f.Rate != p.rate {
		return fmt.Errorf("sip: frame at %d Hz on a %d Hz call", f.Rate, p.rate)
	}
	n := p.rate / 50
	for i := 0; i < len(f.Samples); i += n {
		chunk := f.Samples[i:min(i+n, len(f.Samples))]
		if len(chunk) < n {
			chunk = append(append(make([]int16, 0, n), chunk...), make([]int16, n-len(chunk))...)
		}
		select {
		case p.out <- audio.Frame{Samples: chunk, Rate: p.rate}:
		case <-p.stop:
			return io.ErrClosedPipe
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// keyQueue is how many keys a pipe holds for its sender.
const keyQueue = 8

// forwardKey queues key k to be sent as RFC 4733 events without waiting
// for it (a key pressed on the other leg of a bridge); false when the
// call negotiated no telephone-event or its queue is full.
func (p *mediaPipe) forwardKey(k rune) bool {
	if p.eventSendPT == 0 || !strings.ContainsRune("0123456789*#ABCD", k) {
		return false
	}
	select {
	case p.keys <- keyPress{key: k, done: make(chan error, 1)}:
		return true
	default:
		return false
	}
}

// sendDTMF sends a key to the caller as RFC 4733 events, from the media
// clock in place of the agent's audio for the 140 ms it takes, and returns
// once it is sent.
func (p *mediaPipe) sendDTMF(k rune) error {
	if p.eventSendPT == 0 {
		return errors.New("sip: the call negotiated no telephone-event: keys cannot be sent")
	}
	if !strings.ContainsRune("0123456789*#ABCD", k) {
		return fmt.Errorf("sip: %q is not a telephone key (0-9, *, #, A-D)", k)
	}
	kp := keyPress{key: k, done: make(chan error, 1)}
	select {
	case p.keys <- kp:
	case <-p.stop:
		return io.ErrClosedPipe
	}
	select {
	case err := <-kp.done:
		return err
	case <-p.stop: // the clock reports it too; do not wait for its tick
		return io.ErrClosedPipe
	}
}
