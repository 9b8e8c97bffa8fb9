package audio_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/agentphone/agentphone/audio"
)

func TestWAVWriter(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "call.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := audio.NewWAVWriter(f, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStereo([]int16{1, 2, 3}, []int16{-1}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStereo(nil, []int16{7, 8}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStereo([]int16{1}, nil); err == nil {
		t.Error("WriteStereo after Close succeeded")
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The header, byte by byte (not through ReadWAV, which could share a
	// mistake with the writer).
	le := binary.LittleEndian
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("length", len(b), 44+5*4)
	check("RIFF", string(b[0:4]), "RIFF")
	check("RIFF size", le.Uint32(b[4:]), uint32(len(b)-8))
	check("WAVE fmt", string(b[8:16]), "WAVEfmt ")
	check("fmt size", le.Uint32(b[16:]), uint32(16))
	check("format", le.Uint16(b[20:]), uint16(1))
	check("channels", le.Uint16(b[22:]), uint16(2))
	check("rate", le.Uint32(b[24:]), uint32(8000))
	check("byte rate", le.Uint32(b[28:]), uint32(32000))
	check("block align", le.Uint16(b[32:]), uint16(4))
	check("bits", le.Uint16(b[34:]), uint16(16))
	check("data", string(b[36:40]), "data")
	check("data size", le.Uint32(b[40:]), uint32(20))

	wav, err := audio.ReadWAV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int16{1, -1, 2, 0, 3, 0, 0, 7, 0, 8}; !slices.Equal(wav.Samples, want) {
		t.Errorf("samples %v, want %v", wav.Samples, want)
	}
	if got := w.Duration(); got != 5*time.Second/8000 {
		t.Errorf("Duration = %v", got)
	}
}

// wavBytes builds a WAV stream from chunks.
func wavBytes(riffSize uint32, chunks ...[]byte) []byte {
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, riffSize)
	b = append(b, "WAVE"...)
	for _, c := range chunks {
		b = append(b, c...)
	}
	return b
}

func chunk(id string, size uint32, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, size)...)
	return append(b, body...)
}

func fmtBody(format, channels uint16, rate uint32, bits uint16) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, format)
	b = le.AppendUint16(b, channels)
	b = le.AppendUint32(b, rate)
	b = le.AppendUint32(b, rate*uint32(channels*bits/8))
	b = le.AppendUint16(b, channels*bits/8)
	return le.AppendUint16(b, bits)
}

func TestReadWAV(t *testing.T) {
	t.Parallel()
	samples := []byte{1, 0, 2, 0, 0xff, 0xff}
	tests := []struct {
		name    string
		in      []byte
		want    []int16
		rate    int
		wantErr error
	}{
		{"OK", wavBytes(0, chunk("fmt ", 16, fmtBody(1, 1, 22050, 16)), chunk("data", 6, samples)), []int16{1, 2, -1}, 22050, nil},
		// espeak-ng --stdout writes sizes it cannot know: read to the end.
		{"StreamedSize", wavBytes(0x7ffff024, chunk("fmt ", 16, fmtBody(1, 1, 22050, 16)), chunk("data", 0x7ffff000, samples)), []int16{1, 2, -1}, 22050, nil},
		{"MaxSize", wavBytes(0xffffffff, chunk("fmt ", 16, fmtBody(1, 1, 8000, 16)), chunk("data", 0xffffffff, samples)), []int16{1, 2, -1}, 8000, nil},
		{"SkipsOtherChunks", wavBytes(0, chunk("LIST", 3, []byte("abc\x00")), chunk("fmt ", 18, append(fmtBody(1, 1, 16000, 16), 0, 0)), chunk("data", 6, samples)), []int16{1, 2, -1}, 16000, nil},
		{"OddByteDropped", wavBytes(0, chunk("fmt ", 16, fmtBody(1, 1, 8000, 16)), chunk("data", 7, append(samples, 9))), []int16{1, 2, -1}, 8000, nil},
		{"Float", wavBytes(0, chunk("fmt ", 16, fmtBody(3, 1, 8000, 32)), chunk("data", 4, []byte{0, 0, 0, 0})), nil, 0, audio.ErrWAVFormat},
		{"8Bit", wavBytes(0, chunk("fmt ", 16, fmtBody(1, 1, 8000, 8)), chunk("data", 1, []byte{0})), nil, 0, audio.ErrWAVFormat},
		{"NoFmt", wavBytes(0, chunk("data", 6, samples)), nil, 0, audio.ErrWAVFormat},
		{"NoData", wavBytes(0, chunk("fmt ", 16, fmtBody(1, 1, 8000, 16))), nil, 0, audio.ErrWAVFormat},
		{"NotRIFF", []byte("RIFX\x00\x00\x00\x00WAVE"), nil, 0, audio.ErrWAVFormat},
		{"Empty", nil, nil, 0, io.ErrUnexpectedEOF},
		{"TruncatedFmt", wavBytes(0, chunk("fmt ", 16, fmtBody(1, 1, 8000, 16)[:10])), nil, 0, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := audio.ReadWAV(bytes.NewReader(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.Rate != tt.rate || w.Channels != 1 || !slices.Equal(w.Samples, tt.want) {
				t.Errorf("got %d Hz, %d channels, %v; want %d Hz, 1, %v", w.Rate, w.Channels, w.Samples, tt.rate, tt.want)
			}
		})
	}
}

// FuzzReadWAV: WAV comes from speech engines and files; no input may make
// the reader panic, and what it accepts is whole sample frames.
func FuzzReadWAV(f *testing.F) {
	f.Add(wavBytes(0, chunk("fmt ", 16, fmtBody(1, 1, 22050, 16)), chunk("data", 4, []byte{1, 0, 2, 0})))
	f.Add(wavBytes(0xffffffff, chunk("fmt ", 40, make([]byte, 40)), chunk("data", 0xffffffff, nil)))
	f.Add([]byte("RIFF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := audio.ReadWAV(bytes.NewReader(b))
		if err != nil {
			return
		}
		if w.Channels < 1 || w.Rate <= 0 || len(w.Samples)%w.Channels != 0 {
			t.Fatalf("accepted %d channels at %d Hz with %d samples", w.Channels, w.Rate, len(w.Samples))
		}
		for i := range w.Channels {
			w.Channel(i)
		}
	})
}
