package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// WAV files here are RIFF WAVE with 16-bit little-endian PCM samples, the
// format of Microsoft's "Multimedia Programming Interface and Data
// Specifications 1.0" (1991): a RIFF chunk holding "WAVE", a "fmt " chunk
// and a "data" chunk of interleaved samples.

// wavHeaderSize is the size of the header WAVWriter writes: RIFF (12), fmt
// (8+16) and the data chunk's header (8).
const wavHeaderSize = 44

// ErrWAVTooLong is returned by WAVWriter.WriteStereo when the data would
// pass the 4 GiB that a RIFF size can count (about 37 hours of 8 kHz
// stereo).
var ErrWAVTooLong = errors.New("wav data over 4 GiB")

// WAVWriter writes a 2-channel (stereo) 16-bit PCM WAV file at a fixed
// rate. It writes the header with zero sizes at once and fixes them on
// Close, so it needs to seek back; until Close the file is valid for
// players that read to the end anyway. It is for one goroutine.
type WAVWriter struct {
	w      io.WriteSeeker
	rate   int
	data   int64  // bytes of samples written
	buf    []byte // samples not yet written to w (see flushAt)
	err    error  // sticky: the first write error
	closed bool
}

// NewWAVWriter writes a WAV header for 2 channels at rate samples/s to w
// and returns a writer for the samples. It returns the write's error, if
// any.
func NewWAVWriter(w io.WriteSeeker, rate int) (*WAVWriter, error) {
	if rate <= 0 {
		return nil, fmt.Errorf("audio: wav: rate %d", rate)
	}
	ww := &WAVWriter{w: w, rate: rate}
	if _, err := w.Write(ww.header()); err != nil {
		return nil, fmt.Errorf("audio: wav: write header: %w", err)
	}
	return ww, nil
}

// Rate is the file's sample rate.
func (w *WAVWriter) Rate() int { return w.rate }

// Duration is how much audio has been written.
func (w *WAVWriter) Duration() time.Duration {
	return time.Duration(w.data/4) * time.Second / time.Duration(w.rate)
}

func (w *WAVWriter) header() []byte {
	const channels, bits = 2, 16
	h := make([]byte, 0, wavHeaderSize)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(wavHeaderSize-8+w.data))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1) // PCM
	h = binary.LittleEndian.AppendUint16(h, channels)
	h = binary.LittleEndian.AppendUint32(h, uint32(w.rate))
	h = binary.LittleEndian.AppendUint32(h, uint32(w.rate*channels*bits/8)) // bytes per second
	h = binary.LittleEndian.AppendUint16(h, channels*bits/8)                // bytes per sample frame
	h = binary.LittleEndian.AppendUint16(h, bits)
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(w.data))
	return h
}

// WriteStereo writes max(len(left), len(right)) sample frames: left on the
// first channel, right on the second, and silence for the side that is
// shorter (or nil). A write error is returned now and by every later call.
func (w *WAVWriter) WriteStereo(left, right []int16) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("audio: wav: write after close")
	}
	n := max(len(left), len(right))
	if w.data+int64(4*n) > math.MaxUint32-wavHeaderSize {
		return fmt.Errorf("audio: wav: %w", ErrWAVTooLong)
	}
	for i := range n {
		var l, r int16
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(l))
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(r))
	}
	w.data += int64(4 * n)
	if len(w.buf) >= flushAt {
		return w.flush()
	}
	return nil
}

// flushAt is how many bytes of samples a WAVWriter keeps before it writes
// them (about 2 s of a 8 kHz call): a recording written 20 ms at a time
// would otherwise cost a write system call per call every 20 ms.
const flushAt = 64 << 10

// flush writes the samples kept.
func (w *WAVWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = fmt.Errorf("audio: wav: write samples: %w", err)
		return w.err
	}
	w.buf = w.buf[:0]
	return nil
}

// Close writes the final sizes into the header and leaves the offset at
// the end of the file. It does not close the underlying file. It returns
// the first error of any write, or of the seek.
func (w *WAVWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if err := w.flush(); err != nil {
		return err
	}
	if _, err := w.w.Seek(0, io.SeekStart); err != nil {
		w.err = fmt.Errorf("audio: wav: seek to header: %w", err)
		return w.err
	}
	if _, err := w.w.Write(w.header()); err != nil {
		w.err = fmt.Errorf("audio: wav: rewrite header: %w", err)
		return w.err
	}
	if _, err := w.w.Seek(0, io.SeekEnd); err != nil {
		w.err = fmt.Errorf("audio: wav: seek to end: %w", err)
		return w.err
	}
	return nil
}

// WAV is the content of a 16-bit PCM WAV file.
type WAV struct {
	Rate     int
	Channels int
	Samples  []int16 // interleaved: one sample of each channel, then the next
}

// Channel returns the samples of channel i (0 is the first, left).
func (w *WAV) Channel(i int) []int16 {
	if i < 0 || i >= w.Channels {
		return nil
	}
	out := make([]int16, 0, len(w.Samples)/w.Channels)
	for j := i; j < len(w.Samples); j += w.Channels {
		out = append(out, w.Samples[j])
	}
	return out
}

// Duration is how long the audio plays.
func (w *WAV) Duration() time.Duration {
	if w.Rate <= 0 || w.Channels <= 0 {
		return 0
	}
	return time.Duration(len(w.Samples)/w.Channels) * time.Second / time.Duration(w.Rate)
}

// ErrWAVFormat is wrapped by ReadWAV's errors about the stream's content.
var ErrWAVFormat = errors.New("not a 16-bit PCM WAV stream")

// ReadWAV reads a whole 16-bit PCM WAV stream. It walks the chunks rather
// than assuming a 44-byte header, skips those it does not know (LIST, fact,
// …), and takes a data chunk whose size is larger than what follows (a
// stream written before its length was known, as espeak-ng --stdout and
// unfinished recordings are) as running to the end of the stream. It
// returns an error wrapping ErrWAVFormat for anything else than 16-bit
// integer PCM (including WAVE_FORMAT_EXTENSIBLE of another sub-format),
// and io.ErrUnexpectedEOF when the stream ends inside a header.
func ReadWAV(r io.Reader) (*WAV, error) {
	br := bufio.NewReader(r)
	var riff [12]byte
	if _, err := io.ReadFull(br, riff[:]); err != nil {
		return nil, fmt.Errorf("audio: wav: read RIFF header: %w", eofIsUnexpected(err))
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, fmt.Errorf("audio: wav: %w: no RIFF WAVE header", ErrWAVFormat)
	}

	var w *WAV
	for {
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("audio: wav: %w: no data chunk", ErrWAVFormat)
			}
			return nil, fmt.Errorf("audio: wav: read chunk header: %w", eofIsUnexpected(err))
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))

		switch id {
		case "fmt ":
			if size < 16 || size > 1<<16 {
				return nil, fmt.Errorf("audio: wav: %w: fmt chunk of %d bytes", ErrWAVFormat, size)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(br, b); err != nil {
				return nil, fmt.Errorf("audio: wav: read fmt chunk: %w", eofIsUnexpected(err))
			}
			format := binary.LittleEndian.Uint16(b[0:2])
			channels := int(binary.LittleEndian.Uint16(b[2:4]))
			rate := int(binary.LittleEndian.Uint32(b[4:8]))
			bits := binary.LittleEndian.Uint16(b[14:16])
			// WAVE_FORMAT_EXTENSIBLE: the real format is the first two
			// bytes of the sub-format GUID, after cbSize, valid bits and
			// the channel mask.
			if format == 0xFFFE && size >= 40 {
				format = binary.LittleEndian.Uint16(b[24:26])
			}
			if format != 1 || bits != 16 || channels < 1 || channels > 8 || rate <= 0 {
				return nil, fmt.Errorf("audio: wav: %w: format %d, %d bits, %d channels, %d Hz", ErrWAVFormat, format, bits, channels, rate)
			}
			w = &WAV{Rate: rate, Channels: channels}

		case "data":
			if w == nil {
				return nil, fmt.Errorf("audio: wav: %w: data chunk before fmt chunk", ErrWAVFormat)
			}
			data, err := io.ReadAll(io.LimitReader(br, size))
			if err != nil {
				return nil, fmt.Errorf("audio: wav: read data: %w", err)
			}
			n := len(data) / 2
			n -= n % w.Channels // a last partial sample frame is dropped
			w.Samples = make([]int16, n)
			for i := range w.Samples {
				w.Samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
			}
			return w, nil

		default:
			if _, err := io.CopyN(io.Discard, br, size+size%2); err != nil {
				return nil, fmt.Errorf("audio: wav: skip %q chunk: %w", id, eofIsUnexpected(err))
			}
		}
	}
}

func eofIsUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
