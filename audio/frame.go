package audio

import (
	"context"
	"time"
)

// FrameDuration is the length of the frames a call moves: 20 ms, the usual
// packetization time of RTP audio (RFC 3551 §4.5: 20 ms for G.711 and G.722).
const FrameDuration = 20 * time.Millisecond

// Frame is mono 16-bit linear PCM at Rate samples/s. A call moves 20 ms
// frames: 160 samples at 8 kHz, 320 at 16 kHz (SamplesPerFrame).
type Frame struct {
	Samples []int16
	Rate    int // samples per second
}

// Duration is how long the frame plays; 0 when Rate is not positive.
func (f Frame) Duration() time.Duration {
	if f.Rate <= 0 {
		return 0
	}
	return time.Duration(len(f.Samples)) * time.Second / time.Duration(f.Rate)
}

// SamplesPerFrame is the number of samples in one FrameDuration at rate
// samples/s (160 at 8 kHz, 441 at 22.05 kHz).
func SamplesPerFrame(rate int) int {
	return rate * int(FrameDuration/time.Millisecond) / 1000
}

// Source is audio that can be read a frame at a time: a call's incoming
// audio, a speech synthesizer's utterance, a file.
type Source interface {
	// ReadFrame returns the next frame. It returns io.EOF when the source
	// has ended, and ctx's error when ctx is done while it waits.
	ReadFrame(ctx context.Context) (Frame, error)
}

// Sink takes audio a frame at a time: a call's outgoing audio, a recorder.
type Sink interface {
	// WriteFrame takes f. A Sink must not keep f.Samples after it returns
	// unless it copies them: callers reuse their buffers.
	WriteFrame(ctx context.Context, f Frame) error
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (Frame, error)

// ReadFrame calls fn(ctx).
func (fn SourceFunc) ReadFrame(ctx context.Context) (Frame, error) { return fn(ctx) }

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, f Frame) error

// WriteFrame calls fn(ctx, f).
func (fn SinkFunc) WriteFrame(ctx context.Context, f Frame) error { return fn(ctx, f) }

// saturate16 clamps v to the range of int16.
func saturate16(v int32) int16 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}
