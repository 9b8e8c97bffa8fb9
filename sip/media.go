package sip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
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

// mediaPipe turns a call's RTP into PCM frames and back: the caller's
// audio, decoded, on in; the agent's frames, encoded and sent every 20 ms
// by one clock that sends silence while the agent says nothing (so the
// stream never stalls and the recording stays aligned). Keys pressed by
// the caller arrive on dtmf.
type mediaPipe struct {
	codec  audio.Codec
	rate   int   // PCM rate of the codec
	pt     uint8 // the audio's RTP payload type, as received
	pkts   *media.RTPPacketReader
	reader io.Reader
	writer io.Writer
	dtmfW  *diago.DTMFWriter
	rec    *audio.Recorder // nil: not recorded
	log    *slog.Logger

	in   chan audio.Frame
	out  chan audio.Frame
	dtmf chan rune

	stopOnce sync.Once
	stop     chan struct{} // closed by close
	wg       sync.WaitGroup
	// sendTimes, when set, receives the time of each packet sent (for the
	// benchmark of packet spacing).
	sendTimes func(time.Time)
}

// startMedia sets up the pipe over an answered call's media and starts its
// reader and its sender.
func startMedia(med *diago.DialogMedia, rec *audio.Recorder, log *slog.Logger) (*mediaPipe, error) {
	var rprops, wprops diago.MediaProps
	var dr diago.DTMFReader
	r, err := med.AudioReader(
		diago.WithAudioReaderMediaProps(&rprops),
		diago.WithAudioReaderJitterBuffer(media.RTPJitterBufferOptions{}),
		diago.WithAudioReaderDTMF(&dr),
	)
	if err != nil {
		return nil, fmt.Errorf("audio reader: %w", err)
	}
	dw := &diago.DTMFWriter{}
	w, err := med.AudioWriter(diago.WithAudioWriterMediaProps(&wprops), diago.WithAudioWriterDTMF(dw))
	if err != nil {
		return nil, fmt.Errorf("audio writer: %w", err)
	}
	codec, err := codecFor(rprops.Codec)
	if err != nil {
		return nil, err
	}
	p := &mediaPipe{
		codec: codec, rate: codec.SampleRate(), pt: rprops.Codec.PayloadTypeRecv(), pkts: med.RTPPacketReader,
		reader: r, writer: w, dtmfW: dw, rec: rec, log: log,
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
	p.wg.Add(2)
	go p.readLoop()
	go p.sendLoop()
	return p, nil
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

// close stops the sender and waits for both loops; the reader ends when
// the media closes.
func (p *mediaPipe) close() {
	p.stopOnce.Do(func() { close(p.stop) })
	p.wg.Wait()
}

func (p *mediaPipe) readLoop() {
	defer p.wg.Done()
	defer close(p.in)
	buf := make([]byte, media.RTPBufSize)
	for {
		n, err := p.reader.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				select {
				case <-p.stop:
				default:
					p.log.Debug("call media read ended", "err", err)
				}
			}
			return
		}
		// Telephone events (taken by the DTMF reader) and comfort noise
		// come through this reader too: only the codec's payload is audio.
		if n == 0 || p.pkts.PacketHeader.PayloadType != p.pt {
			continue
		}
		f := audio.Frame{Samples: p.codec.Decode(buf[:n], nil), Rate: p.rate}
		if p.rec != nil {
			p.rec.Caller(f)
		}
		select {
		case p.in <- f:
		default: // the runner is behind: drop the oldest second
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
}

// sendLoop sends one packet every 20 ms on a drift-free schedule: the
// agent's next frame if there is one, else silence.
func (p *mediaPipe) sendLoop() {
	defer p.wg.Done()
	n := p.rate / 50
	silence := audio.Frame{Samples: make([]int16, n), Rate: p.rate}
	silentPayload := p.codec.Encode(silence.Samples, nil)
	payload := make([]byte, 0, len(silentPayload)*2)
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-timer.C:
		}
		f := silence
		pl := silentPayload
		select {
		case f = <-p.out:
			payload = p.codec.Encode(f.Samples, payload[:0])
			pl = payload
		default:
		}
		if _, err := p.writer.Write(pl); err != nil {
			return // the media closed
		}
		if p.sendTimes != nil {
			p.sendTimes(time.Now())
		}
		if p.rec != nil {
			p.rec.Agent(f)
		}
		next = next.Add(frameDur)
		d := time.Until(next)
		if d < -frameDur*5 { // stalled (the machine paused us): resynchronise
			next = time.Now()
			d = 0
		}
		timer.Reset(max(d, 0))
	}
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
func (p *mediaPipe) sendDTMF(k rune) error { return p.dtmfW.WriteDTMF(k) }
