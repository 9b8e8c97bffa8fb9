package audio

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// RecorderOptions tune a Recorder; the zero value gives the defaults.
type RecorderOptions struct {
	// Clock places frames in time; nil means SystemClock.
	Clock Clock
	// MaxBuffer is how much audio one side may have waiting for its time
	// before its oldest audio is dropped (a side that writes faster than
	// real time); 0 means 1 s.
	MaxBuffer time.Duration
}

// Recorder records a call as a two-channel WAV file: the caller on the
// left channel, the agent on the right. Each side hands over its frames as
// they happen, from its own goroutine (the RTP reader, the RTP sender),
// with Caller and Agent, at any supported rate: they are resampled to the
// file's.
//
// A 20 ms clock keeps the sides aligned. Time since the recorder started
// is cut into 20 ms ticks; a frame belongs to the tick in which it
// arrives, and once a tick is over it is written: up to 20 ms of what each
// side handed over, silence for what a side did not. So the file lasts as
// long as the call, to a frame, however the sides' frames arrive, and a
// side that falls silent (or sends nothing at all) is silence in the file.
// Ticks are written when a frame arrives and by Close; no goroutine runs.
type Recorder struct {
	clock     Clock
	frame     int // samples per tick at the file's rate
	maxBuffer int // samples per side

	mu      sync.Mutex // guards everything below
	w       *WAVWriter
	closer  io.Closer // the file, when it has a Close; nil otherwise
	start   time.Time
	written int64 // ticks written
	sides   [2]recorderSide
	left    []int16 // scratch for one tick
	right   []int16
	err     error // sticky: the first write error
	closed  bool
}

// recorderSide is the audio one side has handed over and that is not yet
// written.
type recorderSide struct {
	buf     []int16   // at the file's rate
	rs      Resampler // from rsRate to the file's rate; nil at the file's rate
	rsRate  int
	dropped int // samples dropped for overflowing maxBuffer
}

// NewRecorder writes the header of a two-channel WAV file at rate samples/s
// to w and returns a recorder for it whose clock starts now. From then on
// the recorder owns w: Close closes it if it is an io.Closer. It returns
// the header's write error (w is then still the caller's to close).
func NewRecorder(w io.WriteSeeker, rate int, opts RecorderOptions) (*Recorder, error) {
	ww, err := NewWAVWriter(w, rate)
	if err != nil {
		return nil, err
	}
	r := &Recorder{
		clock:     opts.Clock,
		frame:     SamplesPerFrame(rate),
		maxBuffer: int(int64(opts.MaxBuffer) * int64(rate) / int64(time.Second)),
		w:         ww,
	}
	if c, ok := w.(io.Closer); ok {
		r.closer = c
	}
	if r.clock == nil {
		r.clock = SystemClock{}
	}
	if opts.MaxBuffer == 0 {
		r.maxBuffer = rate
	}
	r.maxBuffer = max(r.maxBuffer, r.frame)
	r.left = make([]int16, r.frame)
	r.right = make([]int16, r.frame)
	r.start = r.clock.Now()
	return r, nil
}

// Caller records a frame of the caller's audio (left channel). It returns
// an error when f's rate cannot be converted to the file's (f is then not
// recorded), and the file's first write error, now and on every later call.
func (r *Recorder) Caller(f Frame) error { return r.add(0, f) }

// Agent records a frame of the agent's audio (right channel), like Caller.
func (r *Recorder) Agent(f Frame) error { return r.add(1, f) }

func (r *Recorder) add(side int, f Frame) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("audio: recorder: closed")
	}
	// Ticks that ended before this frame arrived are complete.
	if err := r.flushLocked(r.dueLocked()); err != nil {
		return err
	}

	sd := &r.sides[side]
	samples := f.Samples
	if f.Rate != r.w.Rate() {
		if sd.rs == nil || sd.rsRate != f.Rate {
			rs, err := NewResampler(f.Rate, r.w.Rate())
			if err != nil {
				return err
			}
			sd.rs, sd.rsRate = rs, f.Rate
		}
		samples = sd.rs.Resample(samples)
	}
	sd.buf = append(sd.buf, samples...)
	if over := len(sd.buf) - r.maxBuffer; over > 0 {
		sd.buf = append(sd.buf[:0], sd.buf[over:]...)
		sd.dropped += over
	}
	return nil
}

// dueLocked is the number of ticks that have ended by now.
func (r *Recorder) dueLocked() int64 {
	return int64(r.clock.Now().Sub(r.start) / FrameDuration)
}

// flushLocked writes ticks until due have been written.
func (r *Recorder) flushLocked(due int64) error {
	if r.err != nil {
		return r.err
	}
	for ; r.written < due; r.written++ {
		r.sides[0].take(r.left)
		r.sides[1].take(r.right)
		if err := r.w.WriteStereo(r.left, r.right); err != nil {
			r.err = err
			return err
		}
	}
	return nil
}

// take moves up to len(dst) samples into dst, zeroing the rest.
func (sd *recorderSide) take(dst []int16) {
	n := copy(dst, sd.buf)
	clear(dst[n:])
	sd.buf = append(sd.buf[:0], sd.buf[n:]...)
}

// Duration is how much audio has been written to the file so far.
func (r *Recorder) Duration() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w.Duration()
}

// Dropped reports how much audio each side lost by writing faster than
// real time (see RecorderOptions.MaxBuffer).
func (r *Recorder) Dropped() (caller, agent time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := func(sd *recorderSide) time.Duration {
		return time.Duration(sd.dropped) * time.Second / time.Duration(r.w.Rate())
	}
	return d(&r.sides[0]), d(&r.sides[1])
}

// Close ends the recording: it writes the ticks up to now (and the current
// one's audio, if any side has some waiting), fixes the WAV header and
// closes the file if it is an io.Closer. It returns the first error of
// these; a second Close returns nil.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true

	err := r.flushLocked(r.dueLocked())
	if err == nil && (len(r.sides[0].buf) > 0 || len(r.sides[1].buf) > 0) {
		err = r.flushLocked(r.written + 1)
	}
	if cerr := r.w.Close(); err == nil {
		err = cerr
	}
	if r.closer != nil {
		if cerr := r.closer.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("audio: recorder: close file: %w", cerr)
		}
	}
	return err
}
