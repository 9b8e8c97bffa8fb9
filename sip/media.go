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
	writer  io.Writer
	dtmfW   *diago.DTMFWriter
	rec     *audio.Recorder // nil: not recorded
	log     *slog.Logger

	in   chan audio.Frame
	out  chan audio.Frame
	dtmf chan rune

	stopOnce sync.Once
	stop     chan struct{} // closed by close
	wg       sync.WaitGroup
	// onInterval, when set, is told the time between packets sent.
	onInterval func(time.Duration)

	// Sending state, used by the media clock's goroutine only.
	clock         *mediaClock
	dead          bool          // off the clock at its next clean-up
	detached      chan struct{} // closed once off the clock
	silence       audio.Frame
	silentPayload []byte
	payload       []byte
	lastSend      time.Time
}

// startMedia sets up the pipe over an answered call's media and starts its
// reader and its sender.
func (s *Server) startMedia(med *diago.DialogMedia, rec *audio.Recorder, log *slog.Logger) (*mediaPipe, error) {
	clock, onInterval := s.clock, s.cfg.OnSendInterval
	var rprops, wprops diago.MediaProps
	// Keys (RFC 4733) only when the peer offered telephone-event: the DTMF
	// stages are set first, so that when they fail nothing else is set yet.
	var dr diago.DTMFReader
	dtmf := true
	r, err := med.AudioReader(diago.WithAudioReaderDTMF(&dr), diago.WithAudioReaderMediaProps(&rprops))
	if err != nil {
		dtmf = false
		log.Info("the caller's side offered no telephone-event: no keys on this call", "err", err)
		r, err = med.AudioReader(diago.WithAudioReaderMediaProps(&rprops))
	}
	if err != nil {
		return nil, fmt.Errorf("audio reader: %w", err)
	}
	var dw *diago.DTMFWriter
	var w io.Writer
	if dtmf {
		dw = &diago.DTMFWriter{}
		w, err = med.AudioWriter(diago.WithAudioWriterDTMF(dw), diago.WithAudioWriterMediaProps(&wprops))
	} else {
		w, err = med.AudioWriter(diago.WithAudioWriterMediaProps(&wprops))
	}
	if err != nil {
		return nil, fmt.Errorf("audio writer: %w", err)
	}
	codec, err := codecFor(rprops.Codec)
	if err != nil {
		return nil, err
	}
	p := &mediaPipe{
		codec: codec, rate: codec.SampleRate(), pt: rprops.Codec.PayloadTypeRecv(), pkts: med.RTPPacketReader,
		dtmfPT: telephoneEventPT(med), dropped: &s.Stats.RTPDropped,
		reader: r, writer: w, dtmfW: dw, rec: rec, log: log, onInterval: onInterval,
		in: make(chan audio.Frame, inboundQueue), out: make(chan audio.Frame, 1), dtmf: make(chan rune, 32),
		stop: make(chan struct{}),
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

// sendTick sends the call's packet of this 20 ms tick: the agent's next
// frame if there is one, else silence. It returns the frame sent (for the
// recording, written after every call's packet of the tick is out) and
// false once the pipe is closed or its media gone.
func (p *mediaPipe) sendTick(now time.Time) (audio.Frame, bool) {
	select {
	case <-p.stop:
		return audio.Frame{}, false
	default:
	}
	f := p.silence
	pl := p.silentPayload
	select {
	case f = <-p.out:
		p.payload = p.codec.Encode(f.Samples, p.payload[:0])
		pl = p.payload
	default:
	}
	if _, err := p.writer.Write(pl); err != nil {
		return audio.Frame{}, false // the media closed
	}
	if p.onInterval != nil && !p.lastSend.IsZero() {
		p.onInterval(now.Sub(p.lastSend))
	}
	p.lastSend = now
	return f, true
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

// sendDTMF sends a key to the caller as RFC 4733 events.
func (p *mediaPipe) sendDTMF(k rune) error {
	if p.dtmfW == nil {
		return errors.New("sip: the call negotiated no telephone-event: keys cannot be sent")
	}
	return p.dtmfW.WriteDTMF(k)
}
