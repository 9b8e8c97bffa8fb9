package audio_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/agentphone/agentphone/audio"
)

var ambientKinds = []string{"office", "coffee-shop", "outdoor"}

// ambientSamples returns secs seconds of an Ambience, frame by frame.
func ambientSamples(tb testing.TB, kind string, rate int, seed int64, secs float64) []int16 {
	tb.Helper()
	a, err := audio.NewAmbience(kind, rate, seed)
	if err != nil {
		tb.Fatal(err)
	}
	if a.Kind() != kind || a.Rate() != rate {
		tb.Fatalf("NewAmbience(%q, %d): Kind %q, Rate %d", kind, rate, a.Kind(), a.Rate())
	}
	var x []int16
	for len(x) < int(secs*float64(rate)) {
		f := a.Next()
		if f.Rate != rate || len(f.Samples) != audio.SamplesPerFrame(rate) {
			tb.Fatalf("%s: frame of %d samples at %d Hz, want %d at %d Hz", kind, len(f.Samples), f.Rate, audio.SamplesPerFrame(rate), rate)
		}
		x = append(x, f.Samples...)
	}
	return x
}

// The bed is never silent, stays within ±5 dB of AmbientLevel over 10 s
// (−45 to −35 dBFS), and its events stay quiet.
func TestAmbienceLevel(t *testing.T) {
	t.Parallel()
	for _, kind := range ambientKinds {
		for _, rate := range []int{8000, 16000} {
			for seed := range int64(4) {
				x := ambientSamples(t, kind, rate, seed, 10)
				level := levelDB(x)
				if seed == 0 {
					t.Logf("%s at %d Hz: %.1f dBFS over 10 s", kind, rate, level)
				}
				if math.Abs(level-audio.AmbientLevel) > 5 {
					t.Errorf("%s at %d Hz, seed %d: %.1f dBFS over 10 s, want %.0f ± 5", kind, rate, seed, level, audio.AmbientLevel)
				}
				// Every half second carries something: no drop-outs.
				half := rate / 2
				for i := 0; i+half <= len(x); i += half {
					if l := levelDB(x[i : i+half]); l < audio.AmbientLevel-20 {
						t.Errorf("%s at %d Hz, seed %d: %.1f s to %.1f s at %.1f dBFS: silent", kind, rate, seed,
							float64(i)/float64(rate), float64(i+half)/float64(rate), l)
						break
					}
				}
				var peak int
				for _, v := range x {
					peak = max(peak, int(v), -int(v))
				}
				if p := 20 * math.Log10(float64(peak)/32768); p > -17 {
					t.Errorf("%s at %d Hz, seed %d: peaks at %.1f dBFS, want ≤ −17", kind, rate, seed, p)
				}
			}
		}
	}
}

// ambientFeatures describes 10 s of a bed: the share of its energy in four
// bands (dB), its spectral centroid (Hz) and how much its level moves
// (the standard deviation of the level of 250 ms blocks, dB).
type ambientFeatures struct {
	bands    [4]float64 // < 250 Hz, 250–1000 Hz, 1–2.5 kHz, 2.5–4 kHz
	centroid float64
	moves    float64
}

func (f ambientFeatures) String() string {
	return fmt.Sprintf("bands %.1f/%.1f/%.1f/%.1f dB, centroid %.0f Hz, level moves ±%.1f dB",
		f.bands[0], f.bands[1], f.bands[2], f.bands[3], f.centroid, f.moves)
}

func features(x []int16, rate int) ambientFeatures {
	const n = 512
	fft := fourier.NewFFT(n)
	power := make([]float64, n/2+1)
	seq := make([]float64, n)
	var coef []complex128
	for i := 0; i+n <= len(x); i += n / 2 {
		for j := range seq {
			w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(j)/n)
			seq[j] = float64(x[i+j]) * w
		}
		coef = fft.Coefficients(coef, seq)
		for k, c := range coef {
			power[k] += real(c)*real(c) + imag(c)*imag(c)
		}
	}
	var f ambientFeatures
	edges := []float64{0, 250, 1000, 2500, 4000}
	var total, moment float64
	for k, p := range power {
		hz := float64(k) * float64(rate) / n
		if hz >= 4000 {
			break
		}
		total += p
		moment += p * hz
		for b := range 4 {
			if hz >= edges[b] && hz < edges[b+1] {
				f.bands[b] += p
			}
		}
	}
	for b := range f.bands {
		f.bands[b] = 10 * math.Log10(max(f.bands[b]/total, 1e-12))
	}
	f.centroid = moment / total

	var levels []float64
	block := rate / 4
	for i := 0; i+block <= len(x); i += block {
		levels = append(levels, levelDB(x[i:i+block]))
	}
	var mean, sq float64
	for _, l := range levels {
		mean += l
	}
	mean /= float64(len(levels))
	for _, l := range levels {
		sq += (l - mean) * (l - mean)
	}
	f.moves = math.Sqrt(sq / float64(len(levels)))
	return f
}

// The three kinds sound different: each is told from the others by its
// spectrum, and each has its own character.
func TestAmbienceKindsDiffer(t *testing.T) {
	t.Parallel()
	const rate = 8000
	fs := map[string]ambientFeatures{}
	for _, kind := range ambientKinds {
		fs[kind] = features(ambientSamples(t, kind, rate, 7, 10), rate)
		t.Logf("%s: %v", kind, fs[kind])
	}
	office, cafe, outdoor := fs["office"], fs["coffee-shop"], fs["outdoor"]

	// Office: air conditioning, so most energy is low, under 250 Hz.
	if office.bands[0] < -3 {
		t.Errorf("office: %.1f dB of its energy under 250 Hz, want most of it (≥ −3 dB)", office.bands[0])
	}
	// Coffee shop: murmur, so most energy is in the voice band.
	if cafe.bands[1] < -3 || cafe.centroid < office.centroid+200 {
		t.Errorf("coffee-shop: %.1f dB of its energy at 250–1000 Hz, centroid %.0f Hz (office %.0f); want most of it there, and brighter",
			cafe.bands[1], cafe.centroid, office.centroid)
	}
	// Outdoor: wind gusts make the level move much more than in the office.
	if outdoor.moves < 2*office.moves {
		t.Errorf("outdoor level moves ±%.1f dB, office ±%.1f dB; want the wind to gust", outdoor.moves, office.moves)
	}
	// Outdoor: birds above 2.5 kHz, more than the office's clicks there.
	if outdoor.bands[3] < office.bands[3]+3 {
		t.Errorf("outdoor: %.1f dB above 2.5 kHz, office %.1f dB; want the birds", outdoor.bands[3], office.bands[3])
	}
	// Pairwise, some band differs by 3 dB or more.
	for i, a := range ambientKinds {
		for _, b := range ambientKinds[i+1:] {
			var most float64
			for k := range 4 {
				most = max(most, math.Abs(fs[a].bands[k]-fs[b].bands[k]))
			}
			if most < 3 {
				t.Errorf("%s and %s: band shares differ by %.1f dB at most, want ≥ 3", a, b, most)
			}
		}
	}
}

func TestAmbienceDeterministic(t *testing.T) {
	t.Parallel()
	for _, kind := range ambientKinds {
		a := ambientSamples(t, kind, 8000, 42, 3)
		b := ambientSamples(t, kind, 8000, 42, 3)
		c := ambientSamples(t, kind, 8000, 43, 3)
		if !slices.Equal(a, b) {
			t.Errorf("%s: seed 42 gave different samples twice", kind)
		}
		if slices.Equal(a, c) {
			t.Errorf("%s: seeds 42 and 43 gave the same samples", kind)
		}
	}
}

// Frames join without clicks: the steps between samples across frame
// boundaries are like those within frames (their medians, which the
// occasional click or chirp does not move).
func TestAmbienceContinuous(t *testing.T) {
	t.Parallel()
	for _, kind := range ambientKinds {
		for _, rate := range []int{8000, 16000} {
			x := ambientSamples(t, kind, rate, 5, 10)
			step := audio.SamplesPerFrame(rate)
			var edge, inside []float64
			for i := 2; i < len(x); i++ {
				// The second difference: small for the low, smooth
				// sounds of a bed, large for a step.
				d := math.Abs(float64(x[i]) - 2*float64(x[i-1]) + float64(x[i-2]))
				switch i % step {
				case 0, 1:
					edge = append(edge, d)
				default:
					inside = append(inside, d)
				}
			}
			slices.Sort(edge)
			slices.Sort(inside)
			e, in := edge[len(edge)/2], inside[len(inside)/2]
			if e > 1.3*in+1 {
				t.Errorf("%s at %d Hz: median second difference %.1f across frame boundaries, %.1f within frames", kind, rate, e, in)
			}
		}
	}
}

func TestAmbienceKinds(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"none", ""} {
		a, err := audio.NewAmbience(kind, 8000, 1)
		if a != nil || err != nil {
			t.Errorf("NewAmbience(%q) = %v, %v; want nil, nil", kind, a, err)
		}
	}
	for _, kind := range []string{"jungle", "Office", "coffee shop"} {
		if _, err := audio.NewAmbience(kind, 8000, 1); !errors.Is(err, audio.ErrUnknownAmbience) {
			t.Errorf("NewAmbience(%q) error = %v, want ErrUnknownAmbience", kind, err)
		}
	}
	if _, err := audio.NewAmbience("office", 4000, 1); !errors.Is(err, audio.ErrUnsupportedRate) {
		t.Errorf("NewAmbience at 4000 Hz: error = %v, want ErrUnsupportedRate", err)
	}

	// A Source for a Mixer, under a voice.
	a, err := audio.NewAmbience("outdoor", 8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := audio.NewMixer(8000)
	m.Add(a)
	for range 10 {
		if f, err := m.ReadFrame(context.Background()); err != nil || len(f.Samples) != 160 {
			t.Fatalf("mixer with an ambience: %d samples, %v", len(f.Samples), err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.ReadFrame(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadFrame on a done context: %v", err)
	}
}

func BenchmarkAmbience(b *testing.B) {
	for _, kind := range ambientKinds {
		for _, rate := range []int{8000, 16000} {
			b.Run(fmt.Sprintf("%s/%dk", kind, rate/1000), func(b *testing.B) {
				a, _ := audio.NewAmbience(kind, rate, 1)
				b.ReportAllocs()
				for b.Loop() {
					a.Next()
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()*0.02, "calls/core")
			})
		}
	}
}
