package audio_test

import (
	"errors"
	"math"
	"testing"

	"github.com/agentphone/agentphone/audio"
)

func TestNewCodec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		pt                uint8
		clock, sampleRate int
	}{
		{"PCMU", 0, 8000, 8000},
		{"PCMA", 8, 8000, 8000},
		{"G722", 9, 8000, 16000},
	}
	for _, tt := range tests {
		c, err := audio.NewCodec(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name() != tt.name || c.PayloadType() != tt.pt || c.ClockRate() != tt.clock || c.SampleRate() != tt.sampleRate {
			t.Errorf("%s: got %s pt %d clock %d rate %d", tt.name, c.Name(), c.PayloadType(), c.ClockRate(), c.SampleRate())
		}
		if c, err := audio.CodecForPayloadType(tt.pt); err != nil || c.Name() != tt.name {
			t.Errorf("CodecForPayloadType(%d) = %v, %v; want %s", tt.pt, c, err, tt.name)
		}
	}
	if c, err := audio.NewCodec("pcmu"); err != nil || c.Name() != "PCMU" {
		t.Errorf(`NewCodec("pcmu") = %v, %v`, c, err)
	}
	if _, err := audio.NewCodec("opus"); !errors.Is(err, audio.ErrUnknownCodec) {
		t.Errorf(`NewCodec("opus") = %v, want ErrUnknownCodec`, err)
	}
	if _, err := audio.CodecForPayloadType(96); !errors.Is(err, audio.ErrUnknownCodec) {
		t.Errorf("CodecForPayloadType(96) = %v, want ErrUnknownCodec", err)
	}
}

// snrDB compares got with want delayed by delay samples.
func snrDB(want, got []int16, delay int) float64 {
	var sig, errp float64
	for i := delay; i < len(got) && i-delay < len(want); i++ {
		w, g := float64(want[i-delay]), float64(got[i])
		sig += w * w
		errp += (g - w) * (g - w)
	}
	return 10 * math.Log10(sig/errp)
}

// bestSNR is snrDB at the delay (0–63 samples) that suits got best: codecs
// delay their output (G.722's two QMFs by 22 samples).
func bestSNR(want, got []int16) (snr float64, delay int) {
	snr = math.Inf(-1)
	for d := range 64 {
		if s := snrDB(want, got, d); s > snr {
			snr, delay = s, d
		}
	}
	return snr, delay
}

// roundTrip encodes x in 20 ms frames and decodes the payloads.
func roundTrip(tb testing.TB, c audio.Codec, x []int16) []int16 {
	tb.Helper()
	step := audio.SamplesPerFrame(c.SampleRate())
	var out []int16
	var payload []byte
	for i := 0; i+step <= len(x); i += step {
		payload = c.Encode(x[i:i+step], payload[:0])
		if want := step * c.ClockRate() / c.SampleRate(); len(payload) != want {
			tb.Fatalf("%s: 20 ms gave %d bytes, want %d", c.Name(), len(payload), want)
		}
		out = c.Decode(payload, out)
	}
	return out
}

func TestCodecs_RoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		codec  audio.Codec
		minSNR float64
	}{
		{audio.PCMU{}, 30}, // G.711 gives about 38 dB on a loud sine
		{audio.PCMA{}, 30},
		{audio.NewG722(), 20},
	}
	for _, tt := range tests {
		t.Run(tt.codec.Name(), func(t *testing.T) {
			t.Parallel()
			rate := tt.codec.SampleRate()
			in := tone(rate, 1000, -10, rate) // 1 s
			out := roundTrip(t, tt.codec, in)
			if len(out) != len(in) {
				t.Fatalf("%d samples decoded, want %d", len(out), len(in))
			}
			snr, delay := bestSNR(in, out)
			t.Logf("SNR %.1f dB at a delay of %d samples", snr, delay)
			if snr < tt.minSNR {
				t.Errorf("SNR %.1f dB, want > %.0f", snr, tt.minSNR)
			}
		})
	}
}

func TestG722_Sizes(t *testing.T) {
	t.Parallel()
	c := audio.NewG722()
	if p := c.Encode(make([]int16, 320), nil); len(p) != 160 {
		t.Errorf("320 samples encoded to %d bytes, want 160", len(p))
	}
	if s := c.Decode(make([]byte, 160), nil); len(s) != 320 {
		t.Errorf("160 bytes decoded to %d samples, want 320", len(s))
	}
	// An odd sample waits for its pair.
	c = audio.NewG722()
	n := len(c.Encode(make([]int16, 3), nil))
	n += len(c.Encode(make([]int16, 3), nil))
	if n != 3 {
		t.Errorf("3+3 samples encoded to %d bytes, want 3", n)
	}
}

func TestG722_SilenceStaysSilent(t *testing.T) {
	t.Parallel()
	c := audio.NewG722()
	out := roundTrip(t, c, make([]int16, 16000))
	var peak int
	for _, s := range out {
		peak = max(peak, int(math.Abs(float64(s))))
	}
	if lvl := levelDB(out); peak > 64 || lvl > -60 {
		t.Errorf("silence decoded with a peak of %d and a level of %.1f dBFS, want near silence", peak, lvl)
	}
}

func TestG722_KeepsWidebandTone(t *testing.T) {
	t.Parallel()
	// 6 kHz is beyond G.711's band but inside G.722's (50–7000 Hz).
	in := tone(16000, 6000, -10, 16000)
	out := roundTrip(t, audio.NewG722(), in)
	if got := toneDB(out[1600:], 16000, 6000); math.Abs(got+10) > 2 {
		t.Errorf("6 kHz tone decoded at %.1f dBFS, want -10 ± 2", got)
	}
}

func BenchmarkCodec(b *testing.B) {
	for _, c := range []audio.Codec{audio.PCMU{}, audio.PCMA{}, audio.NewG722()} {
		b.Run(c.Name()+"/encode", func(b *testing.B) {
			pcm := tone(c.SampleRate(), 440, -10, audio.SamplesPerFrame(c.SampleRate()))
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf = c.Encode(pcm, buf[:0])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()*0.02, "calls/core")
		})
		b.Run(c.Name()+"/decode", func(b *testing.B) {
			payload := c.Encode(tone(c.SampleRate(), 440, -10, audio.SamplesPerFrame(c.SampleRate())), nil)
			var buf []int16
			b.ReportAllocs()
			for b.Loop() {
				buf = c.Decode(payload, buf[:0])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()*0.02, "calls/core")
		})
	}
}

func TestG722_MultiToneDelay(t *testing.T) {
	t.Parallel()
	// Three tones at once: the output matches the input best at the delay
	// of the transmit and receive QMFs together (2 × 11 samples).
	in := tone(16000, 310, -16, 16000)
	for _, hz := range []float64{1130, 2770} {
		for i, s := range tone(16000, hz, -16, 16000) {
			in[i] += s
		}
	}
	snr, delay := bestSNR(in, roundTrip(t, audio.NewG722(), in))
	if delay != 22 || snr < 20 {
		t.Errorf("SNR %.1f dB at a delay of %d samples, want > 20 dB at 22", snr, delay)
	}
}
