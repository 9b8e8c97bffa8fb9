package audio_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/agentphone/agentphone/audio"
)

var rates = []int{8000, 16000, 22050, 24000, 32000, 44100, 48000}

// resampleFrames runs x through a new from→to resampler in 20 ms frames.
func resampleFrames(tb testing.TB, from, to int, x []int16) []int16 {
	tb.Helper()
	r, err := audio.NewResampler(from, to)
	if err != nil {
		tb.Fatal(err)
	}
	step := audio.SamplesPerFrame(from)
	var out []int16
	for i := 0; i < len(x); i += step {
		out = append(out, r.Resample(x[i:min(i+step, len(x))])...)
	}
	return out
}

func TestResampler_ToneKeepsFrequencyAndLevel(t *testing.T) {
	t.Parallel()
	for _, from := range rates {
		for _, to := range rates {
			t.Run(fmt.Sprintf("%d-%d", from, to), func(t *testing.T) {
				t.Parallel()
				const hz, dbfs = 1000, -6.0
				out := resampleFrames(t, from, to, tone(from, hz, dbfs, from)) // 1 s
				if len(out) != to {
					t.Fatalf("1 s at %d Hz gave %d samples at %d Hz, want %d", from, len(out), to, to)
				}
				steady := out[to/20:] // past the filter's start-up (a few ms)
				if got := toneDB(steady, to, hz); math.Abs(got-dbfs) > 1 {
					t.Errorf("1 kHz level %.2f dBFS, want %.1f ± 1 dB", got, dbfs)
				}
				if got := zeroCrossingHz(t, steady, to); math.Abs(got-hz) > 1 {
					t.Errorf("frequency %.2f Hz, want %d", got, hz)
				}
				// What is not the tone (distortion, aliases, noise) stays
				// far below it.
				if resid := residualDB(steady, to, hz); resid > dbfs-50 {
					t.Errorf("residual %.1f dBFS, want below %.1f", resid, dbfs-50)
				}
			})
		}
	}
}

// residualDB is the level of x after subtracting its best-fitting sine of hz.
func residualDB(x []int16, rate int, hz float64) float64 {
	var ss, cc, sc, xs, xc float64
	for i, v := range x {
		ph := 2 * math.Pi * hz * float64(i) / float64(rate)
		s, c := math.Sin(ph), math.Cos(ph)
		ss += s * s
		cc += c * c
		sc += s * c
		xs += float64(v) * s
		xc += float64(v) * c
	}
	det := ss*cc - sc*sc
	a := (xs*cc - xc*sc) / det
	b := (xc*ss - xs*sc) / det
	res := make([]int16, len(x))
	for i, v := range x {
		ph := 2 * math.Pi * hz * float64(i) / float64(rate)
		res[i] = int16(math.Round(float64(v) - a*math.Sin(ph) - b*math.Cos(ph)))
	}
	return levelDB(res) + 3.01 // as the peak of a sine of that RMS, comparable with dBFS peaks
}

func TestResampler_AntiAliasing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		from, to int
		in       float64 // tone fed in, Hz
		measure  float64 // where it (or its alias) lands at the output rate, Hz
		atMost   float64 // dB relative to the input tone
		atLeast  float64
	}{
		// 3.5 kHz is near the 8 kHz side's Nyquist frequency: inside the
		// filter's transition band, so it comes out weaker.
		{"16k-8k 3.5 kHz attenuated", 16000, 8000, 3500, 3500, -1.5, -30},
		// Above 4 kHz must not fold back into the voice band.
		{"16k-8k 6 kHz alias", 16000, 8000, 6000, 2000, -60, math.Inf(-1)},
		{"16k-8k 4.4 kHz alias", 16000, 8000, 4400, 3600, -40, math.Inf(-1)},
		{"48k-8k 9 kHz alias", 48000, 8000, 9000, 1000, -60, math.Inf(-1)},
		{"22050-8k 5 kHz alias", 22050, 8000, 5000, 3000, -60, math.Inf(-1)},
		{"44100-16k 10 kHz alias", 44100, 16000, 10000, 6000, -60, math.Inf(-1)},
		// Upsampling must not create images of the voice band.
		{"8k-16k image of 3 kHz", 8000, 16000, 3000, 5000, -60, math.Inf(-1)},
		{"8k-48k image of 1 kHz", 8000, 48000, 1000, 7000, -60, math.Inf(-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const dbfs = -6.0
			out := resampleFrames(t, tt.from, tt.to, tone(tt.from, tt.in, dbfs, tt.from))
			got := toneDB(out[tt.to/20:], tt.to, tt.measure) - dbfs
			if got > tt.atMost || got < tt.atLeast {
				t.Errorf("%.0f Hz at the output: %.1f dB relative to the input tone, want between %.0f and %.0f",
					tt.measure, got, tt.atLeast, tt.atMost)
			}
		})
	}
}

func TestResampler_ExactLengths(t *testing.T) {
	t.Parallel()
	for _, from := range rates {
		for _, to := range rates {
			t.Run(fmt.Sprintf("%d-%d", from, to), func(t *testing.T) {
				t.Parallel()
				// 20 ms in, 20 ms out, every frame (500 frames: 10 s).
				r, err := audio.NewResampler(from, to)
				if err != nil {
					t.Fatal(err)
				}
				in := make([]int16, audio.SamplesPerFrame(from))
				for i := range 500 {
					if n := len(r.Resample(in)); n != audio.SamplesPerFrame(to) {
						t.Fatalf("frame %d: %d samples out, want %d", i, n, audio.SamplesPerFrame(to))
					}
				}

				// Chunks of any size: after N samples in, ⌈N×to/from⌉ out.
				r, _ = audio.NewResampler(from, to)
				rng := rand.New(rand.NewPCG(uint64(from), uint64(to)))
				var nin, nout int64
				for range 400 {
					n := rng.IntN(700)
					nout += int64(len(r.Resample(make([]int16, n))))
					nin += int64(n)
					if want := (nin*int64(to) + int64(from) - 1) / int64(from); nout != want {
						t.Fatalf("after %d samples in: %d out, want %d", nin, nout, want)
					}
				}
			})
		}
	}
}

func TestResampler_ChunkingDoesNotChangeOutput(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	x := noise(rng, -10, 22050)
	for _, to := range []int{8000, 16000, 48000} {
		whole, _ := audio.NewResampler(22050, to)
		want := whole.Resample(x)

		pieces, _ := audio.NewResampler(22050, to)
		var got []int16
		for i := 0; i < len(x); {
			n := min(rng.IntN(300), len(x)-i)
			got = append(got, pieces.Resample(x[i:i+n])...)
			i += n
		}
		if !slices.Equal(got, want) {
			t.Errorf("22050→%d: output in pieces differs from output in one call", to)
		}
	}
}

func TestNewResampler_Unsupported(t *testing.T) {
	t.Parallel()
	for _, pair := range [][2]int{{8000, 11025}, {0, 8000}, {8000, -1}, {96000, 48000}} {
		if _, err := audio.NewResampler(pair[0], pair[1]); !errors.Is(err, audio.ErrUnsupportedRate) {
			t.Errorf("NewResampler(%d, %d) = %v, want ErrUnsupportedRate", pair[0], pair[1], err)
		}
	}
}

func TestResampler_SameRateCopies(t *testing.T) {
	t.Parallel()
	r, err := audio.NewResampler(8000, 8000)
	if err != nil {
		t.Fatal(err)
	}
	in := []int16{1, 2, 3}
	out := r.Resample(in)
	in[0] = 9
	if !slices.Equal(out, []int16{1, 2, 3}) {
		t.Errorf("got %v, want a copy of the input", out)
	}
}

func BenchmarkResampler(b *testing.B) {
	for _, pair := range [][2]int{{8000, 16000}, {16000, 8000}, {22050, 8000}, {22050, 16000}, {48000, 8000}} {
		from, to := pair[0], pair[1]
		b.Run(fmt.Sprintf("%d-%d", from, to), func(b *testing.B) {
			r, _ := audio.NewResampler(from, to)
			frame := tone(from, 440, -10, audio.SamplesPerFrame(from))
			b.ReportAllocs()
			for b.Loop() {
				r.Resample(frame)
			}
			// One frame is 20 ms of one call: this is how many calls one
			// core keeps up with.
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()*0.02, "calls/core")
		})
	}
}
