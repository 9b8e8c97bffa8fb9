package audio_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/agentphone/agentphone/audio"
)

// denoiseLag is the Denoiser's latency with 20 ms frames: one frame.
func denoiseLag(rate int) int { return audio.SamplesPerFrame(rate) }

// vowelFormants are the first three formants (Hz) of a few vowels.
var vowelFormants = [][3]float64{
	{730, 1090, 2440}, // a
	{270, 2290, 3010}, // i
	{300, 870, 2240},  // u
	{530, 1840, 2480}, // e
	{570, 840, 2410},  // o
}

// talker is a speech-like test signal: env[i] is the syllabic envelope of
// x at sample i, 0 in the pauses.
type talker struct {
	x, env []float64
}

// speechLike synthesizes n samples at rate of a vowel-like talker with a
// fundamental around f0: phrases of 2–5 words of 1–3 syllables, each
// syllable a harmonic vowel with formants under a raised-cosine envelope,
// with pauses of 0.3–0.8 s between phrases. pauseScale stretches the
// pauses. The result is scaled so that its RMS while voiced is 1.
func speechLike(rng *rand.Rand, rate, n int, f0, pauseScale float64) talker {
	t := talker{x: make([]float64, n), env: make([]float64, n)}
	sec := func(lo, hi float64) int { return int((lo + rng.Float64()*(hi-lo)) * float64(rate)) }
	pos := sec(0.1, 0.6) * int(pauseScale*10) / 10
	maxHz := min(3800, 0.45*float64(rate))
	phase := make([]float64, 64)
	for pos < n {
		words := 2 + rng.IntN(4)
		for range words {
			syllables := 1 + rng.IntN(3)
			for range syllables {
				length := sec(0.12, 0.26)
				formants := vowelFormants[rng.IntN(len(vowelFormants))]
				base := f0 * (0.85 + 0.3*rng.Float64())
				slope := (rng.Float64() - 0.5) * 0.2 // intonation over the syllable
				h := int(maxHz / (base * 1.1))
				amps := make([]float64, h)
				for k := range amps {
					f := float64(k+1) * base
					var a float64
					for i, fm := range formants {
						bw := 80.0 + 40*float64(i)
						a += 1 / (1 + math.Pow((f-fm)/bw, 2)) / float64(i+1)
					}
					amps[k] = a * 300 / (300 + f) // spectral tilt
				}
				for i := range length {
					j := pos + i
					if j >= n {
						break
					}
					u := float64(i) / float64(length)
					e := math.Pow(math.Sin(math.Pi*u), 2)
					hz := base * (1 + slope*(u-0.5))
					var v float64
					for k, a := range amps {
						phase[k] += 2 * math.Pi * hz * float64(k+1) / float64(rate)
						v += a * math.Sin(phase[k])
					}
					t.x[j] = e * v
					t.env[j] = e
				}
				pos += length + sec(0, 0.04)
			}
			pos += sec(0.06, 0.15)
		}
		pos += int(float64(sec(0.3, 0.8)) * pauseScale)
	}
	var sum float64
	var count int
	for i, e := range t.env {
		if e > 0.1 {
			sum += t.x[i] * t.x[i]
			count++
		}
	}
	g := 1 / math.Sqrt(sum/float64(count))
	for i := range t.x {
		t.x[i] *= g
	}
	return t
}

// stationaryNoise is a line's steady background, unit RMS: a fan's rumble
// (low-passed noise), hiss (white noise) and 60 Hz hum with harmonics.
func stationaryNoise(rng *rand.Rand, rate, n int) []float64 {
	x := make([]float64, n)
	var lp1, lp2 float64
	a := math.Exp(-2 * math.Pi * 300 / float64(rate))
	for i := range x {
		w := rng.NormFloat64()
		lp1 = a*lp1 + (1-a)*w
		lp2 = a*lp2 + (1-a)*lp1
		hum := 0.0
		for h := 1; h <= 5; h++ {
			hum += math.Sin(2*math.Pi*60*float64(h)*float64(i)/float64(rate)+float64(h)) / float64(h)
		}
		x[i] = 6*lp2 + 0.5*rng.NormFloat64() + 0.3*hum
	}
	return scaleRMS(x, 1)
}

// scaleRMS scales x to an RMS of rms and returns it.
func scaleRMS(x []float64, rms float64) []float64 {
	var sum float64
	for _, v := range x {
		sum += v * v
	}
	g := rms / math.Sqrt(sum/float64(len(x)))
	for i := range x {
		x[i] *= g
	}
	return x
}

// pcm converts x, scaled by gain, to 16-bit samples, saturating.
func pcm(x []float64, gain float64) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = int16(max(min(math.Round(v*gain), 32767), -32768))
	}
	return out
}

// denoiseAll runs x through a new Denoiser in 20 ms frames and returns
// the output, advanced by the Denoiser's lag so that it lines up with x
// (the last lag samples are zero).
func denoiseAll(x []int16, rate int, mode audio.DenoiseMode) []int16 {
	d := audio.NewDenoiser(rate, mode)
	out := make([]int16, 0, len(x))
	for _, f := range frames(x, rate) {
		g := d.Process(f)
		out = append(out, g.Samples...)
	}
	lag := denoiseLag(rate)
	aligned := make([]int16, len(x))
	copy(aligned, out[lag:])
	return aligned
}

// scene is a test signal: a clean talker and what is added to it, with
// the frames where the talker speaks and where it pauses.
type scene struct {
	rate          int
	clean, noisy  []int16
	speech, pause []bool // per 20 ms frame
}

// settle is the audio at the start of a scene left out of the measures,
// while the noise estimate forms.
const settle = 1.5

func newScene(rate int, tk talker, speechDBFS float64, background []float64, backgroundDB float64) scene {
	gain := 32768 * math.Pow(10, speechDBFS/20)
	bgGain := gain * math.Pow(10, backgroundDB/20)
	s := scene{rate: rate, clean: pcm(tk.x, gain)}
	mixed := make([]float64, len(tk.x))
	for i := range mixed {
		mixed[i] = tk.x[i]*gain + background[i]*bgGain
	}
	s.noisy = pcm(mixed, 1)

	step := audio.SamplesPerFrame(rate)
	guard := 5 * step // a pause frame is 100 ms away from any speech
	for i := 0; i+step <= len(tk.env); i += step {
		if float64(i) < settle*float64(rate) || i+step+guard > len(tk.env) || i < guard {
			s.speech = append(s.speech, false)
			s.pause = append(s.pause, false)
			continue
		}
		var mean, near float64
		for _, e := range tk.env[i : i+step] {
			mean += e
		}
		for _, e := range tk.env[i-guard : i+step+guard] {
			near = max(near, e)
		}
		s.speech = append(s.speech, mean/float64(step) > 0.3)
		s.pause = append(s.pause, near == 0)
	}
	return s
}

// frameEnergy sums the squares of x over the frames marked in which.
func frameEnergy(x []int16, rate int, which []bool) float64 {
	step := audio.SamplesPerFrame(rate)
	var sum float64
	for fi, ok := range which {
		if !ok {
			continue
		}
		for _, v := range x[fi*step : (fi+1)*step] {
			sum += float64(v) * float64(v)
		}
	}
	return sum
}

func dbRatio(ratio float64) float64 { return 10 * math.Log10(ratio) }

// segSNR is the mean over speech frames of the SNR of y against the clean
// signal, each frame's figure limited to [−10, 35] dB as usual.
func segSNR(clean, y []int16, rate int, speech []bool) float64 {
	step := audio.SamplesPerFrame(rate)
	var total float64
	var count int
	for fi, ok := range speech {
		if !ok {
			continue
		}
		var sig, errs float64
		for i := fi * step; i < (fi+1)*step; i++ {
			c := float64(clean[i])
			e := float64(y[i]) - c
			sig += c * c
			errs += e * e
		}
		total += min(max(dbRatio(sig/max(errs, 1)), -10), 35)
		count++
	}
	return total / float64(count)
}

// measures are what a Denoiser did to a scene.
type measures struct {
	pauseReduction float64 // dB less background where the talker pauses
	speechKept     float64 // output level while the talker speaks, dB relative to the clean talker
	segSNRIn       float64 // segmental SNR of the noisy input, dB
	segSNROut      float64 // and of the output, dB
}

func measure(s scene, mode audio.DenoiseMode) measures {
	out := denoiseAll(s.noisy, s.rate, mode)
	return measures{
		pauseReduction: dbRatio(frameEnergy(s.noisy, s.rate, s.pause) / frameEnergy(out, s.rate, s.pause)),
		speechKept:     dbRatio(frameEnergy(out, s.rate, s.speech) / frameEnergy(s.clean, s.rate, s.speech)),
		segSNRIn:       segSNR(s.clean, s.noisy, s.rate, s.speech),
		segSNROut:      segSNR(s.clean, out, s.rate, s.speech),
	}
}

func (m measures) String() string {
	return fmt.Sprintf("noise in pauses −%.1f dB, speech level %+.1f dB, segmental SNR %.1f → %.1f dB",
		m.pauseReduction, m.speechKept, m.segSNRIn, m.segSNROut)
}

// TestDenoiserStationaryNoise: a talker at −20 dBFS over fan, hiss and hum
// at 5 dB SNR.
func TestDenoiserStationaryNoise(t *testing.T) {
	t.Parallel()
	for _, rate := range []int{8000, 16000} {
		n := 20 * rate
		rng := rand.New(rand.NewPCG(11, uint64(rate)))
		tk := speechLike(rng, rate, n, 120, 1)
		s := newScene(rate, tk, -20, stationaryNoise(rng, rate, n), -5)

		m1 := measure(s, audio.NoiseCancellation)
		m2 := measure(s, audio.NoiseAndBackgroundSpeechCancellation)
		t.Logf("%d Hz, stationary noise at 5 dB SNR, %s: %v", rate, audio.NoiseCancellation, m1)
		t.Logf("%d Hz, stationary noise at 5 dB SNR, %s: %v", rate, audio.NoiseAndBackgroundSpeechCancellation, m2)

		if m1.pauseReduction < 10 {
			t.Errorf("%d Hz: noise-cancellation took %.1f dB off the noise in pauses, want ≥ 10", rate, m1.pauseReduction)
		}
		if math.Abs(m1.speechKept) > 3 {
			t.Errorf("%d Hz: noise-cancellation left speech at %+.1f dB, want within ±3", rate, m1.speechKept)
		}
		if m1.segSNROut < m1.segSNRIn+2 {
			t.Errorf("%d Hz: noise-cancellation took segmental SNR from %.1f to %.1f dB, want ≥ 2 dB better", rate, m1.segSNRIn, m1.segSNROut)
		}
		if m2.pauseReduction < m1.pauseReduction+3 {
			t.Errorf("%d Hz: the background-speech mode took %.1f dB off the noise, noise-cancellation %.1f; want ≥ 3 dB more",
				rate, m2.pauseReduction, m1.pauseReduction)
		}
		if math.Abs(m2.speechKept) > 4 {
			t.Errorf("%d Hz: the background-speech mode left speech at %+.1f dB, want within ±4", rate, m2.speechKept)
		}
	}
}

// TestDenoiserBabble: a talker at −20 dBFS with five quieter talkers
// behind, 10 dB down in all.
func TestDenoiserBabble(t *testing.T) {
	t.Parallel()
	const rate = 8000
	n := 20 * rate
	rng := rand.New(rand.NewPCG(12, 13))
	tk := speechLike(rng, rate, n, 120, 1.5)
	babble := make([]float64, n)
	for i := range 5 {
		other := speechLike(rng, rate, n, 100+30*float64(i), 0.5)
		for j, v := range other.x {
			babble[j] += v
		}
	}
	s := newScene(rate, tk, -20, scaleRMS(babble, 1), -10)

	m1 := measure(s, audio.NoiseCancellation)
	m2 := measure(s, audio.NoiseAndBackgroundSpeechCancellation)
	t.Logf("babble 10 dB below the talker, %s: %v", audio.NoiseCancellation, m1)
	t.Logf("babble 10 dB below the talker, %s: %v", audio.NoiseAndBackgroundSpeechCancellation, m2)

	if m2.pauseReduction < m1.pauseReduction+6 {
		t.Errorf("babble in pauses: background-speech mode −%.1f dB, noise-cancellation −%.1f dB; want ≥ 6 dB more",
			m2.pauseReduction, m1.pauseReduction)
	}
	if m2.pauseReduction < 12 {
		t.Errorf("background-speech mode took %.1f dB off the babble in pauses, want ≥ 12", m2.pauseReduction)
	}
	if math.Abs(m2.speechKept) > 4 {
		t.Errorf("background-speech mode left the talker at %+.1f dB, want within ±4", m2.speechKept)
	}
	if math.Abs(m1.speechKept) > 3 {
		t.Errorf("noise-cancellation left the talker at %+.1f dB, want within ±3", m1.speechKept)
	}
}

// A noise that changes is followed: the line is quiet for 8 s, then a fan
// starts 15 dB louder; 2 s later the new noise is suppressed as well.
func TestDenoiserNoiseChange(t *testing.T) {
	t.Parallel()
	const rate = 8000
	n := 16 * rate
	rng := rand.New(rand.NewPCG(18, 19))
	tk := speechLike(rng, rate, n, 110, 1)
	bg := stationaryNoise(rng, rate, n)
	for i := range bg[:n/2] {
		bg[i] *= math.Pow(10, -15.0/20)
	}
	s := newScene(rate, tk, -20, bg, -8)
	// Measure from 2 s after the change.
	for fi := range s.pause {
		if fi*audio.SamplesPerFrame(rate) < n/2+2*rate {
			s.pause[fi], s.speech[fi] = false, false
		}
	}
	m := measure(s, audio.NoiseCancellation)
	t.Logf("noise 15 dB louder after 8 s, %s, from 2 s after: %v", audio.NoiseCancellation, m)
	if m.pauseReduction < 10 || math.Abs(m.speechKept) > 3 {
		t.Errorf("after the noise changed: %v; want ≥ 10 dB off the noise, speech within ±3 dB", m)
	}
}

// A clean talker, with digital silence between phrases, comes through
// unchanged, one frame late.
func TestDenoiserTransparentAndLag(t *testing.T) {
	t.Parallel()
	for _, rate := range []int{8000, 16000} {
		rng := rand.New(rand.NewPCG(14, uint64(rate)))
		x := pcm(speechLike(rng, rate, 6*rate, 150, 1).x, 32768*math.Pow(10, -20.0/20))
		if mode2 := denoiseAll(x, rate, audio.NoiseAndBackgroundSpeechCancellation); true {
			// The gate of the other mode takes some of the onsets and
			// tails of syllables: how much is logged, not asserted.
			t.Logf("%d Hz: clean speech through %s: %.1f dB SNR", rate, audio.NoiseAndBackgroundSpeechCancellation, alignedSNR(x, mode2, 0, rate))
		}
		d := audio.NewDenoiser(rate, audio.NoiseCancellation)
		var out []int16
		for i, f := range frames(x, rate) {
			g := d.Process(f)
			if len(g.Samples) != len(f.Samples) || g.Rate != rate {
				t.Fatalf("%d Hz: frame %d: %d samples at %d Hz in, %d at %d Hz out", rate, i, len(f.Samples), rate, len(g.Samples), g.Rate)
			}
			out = append(out, g.Samples...)
		}
		best, bestLag := math.Inf(-1), 0
		for lag := denoiseLag(rate) - 20; lag <= denoiseLag(rate)+20; lag++ {
			if snr := alignedSNR(x, out, lag, rate); snr > best {
				best, bestLag = snr, lag
			}
		}
		t.Logf("%d Hz: clean speech out at %.1f dB SNR, %d samples late", rate, best, bestLag)
		if bestLag != denoiseLag(rate) || best < 20 {
			t.Errorf("%d Hz: clean speech came out %d samples late at %.1f dB SNR, want %d samples late and ≥ 20 dB",
				rate, bestLag, best, denoiseLag(rate))
		}
	}
}

// alignedSNR compares out, lag samples late, with x, after the first second.
func alignedSNR(x, out []int16, lag, rate int) float64 {
	var sig, errs float64
	for i := rate; i+lag < len(out); i++ {
		v, e := float64(x[i]), float64(out[i+lag])-float64(x[i])
		sig += v * v
		errs += e * e
	}
	return dbRatio(sig / max(errs, 1))
}

func TestDenoiserSilence(t *testing.T) {
	t.Parallel()
	for _, mode := range []audio.DenoiseMode{audio.NoiseCancellation, audio.NoiseAndBackgroundSpeechCancellation} {
		for _, rate := range []int{8000, 16000} {
			d := audio.NewDenoiser(rate, mode)
			for i := range 200 {
				f := d.Process(audio.Frame{Samples: make([]int16, audio.SamplesPerFrame(rate)), Rate: rate})
				for _, s := range f.Samples {
					if s != 0 {
						t.Fatalf("%s at %d Hz: frame %d of silence gave sample %d", mode, rate, i, s)
					}
				}
			}
		}
	}
}

// Full-scale input neither wraps nor comes out louder.
func TestDenoiserFullScale(t *testing.T) {
	t.Parallel()
	const rate = 8000
	rng := rand.New(rand.NewPCG(15, 16))
	tk := speechLike(rng, rate, 5*rate, 130, 1)
	var peak float64
	for _, v := range tk.x {
		peak = max(peak, math.Abs(v))
	}
	// Peaks at full scale, with a little noise that clips at the peaks.
	clean := pcm(tk.x, 32767/peak)
	loud := make([]float64, len(tk.x))
	for i, v := range clean {
		loud[i] = float64(v) + rng.NormFloat64()*300
	}
	x := pcm(loud, 1)
	// And full-scale white noise at the end: the worst case for the
	// overlap-add.
	for range 2 * rate {
		x = append(x, int16(rng.IntN(65536)-32768))
	}

	for _, mode := range []audio.DenoiseMode{audio.NoiseCancellation, audio.NoiseAndBackgroundSpeechCancellation} {
		out := denoiseAll(x, rate, mode)
		speech := 5 * rate
		if in, got := levelDB(clean), levelDB(out[:speech]); math.Abs(got-in) > 1.5 {
			t.Errorf("%s: full-scale speech at %.1f dBFS came out at %.1f dBFS", mode, in, got)
		}
		if snr := alignedSNR(clean, out[:speech], 0, rate); mode == audio.NoiseCancellation && snr < 20 {
			t.Errorf("%s: full-scale speech came out at %.1f dB SNR, want ≥ 20", mode, snr)
		}
		for i, v := range x[:speech] {
			if (v > 16000 && out[i] < 0) || (v < -16000 && out[i] > 0) {
				t.Fatalf("%s: sample %d: %d in, %d out: wrapped", mode, i, v, out[i])
			}
		}
		if in, got := levelDB(x[speech:]), levelDB(out[speech:len(out)-denoiseLag(rate)]); got > in {
			t.Errorf("%s: full-scale noise at %.1f dBFS came out at %.1f dBFS", mode, in, got)
		}
	}
}

// Frames of any length come out as long as they went in; with 20 ms
// frames the lag is one frame, and odd lengths add less than 10 ms to it.
func TestDenoiserFrameLengths(t *testing.T) {
	t.Parallel()
	for _, rate := range []int{8000, 16000} {
		d := audio.NewDenoiser(rate, audio.NoiseCancellation)
		step := audio.SamplesPerFrame(rate)
		rng := rand.New(rand.NewPCG(17, uint64(rate)))
		x := pcm(speechLike(rng, rate, 6*rate, 150, 1).x, 3000)

		var out []int16
		lengths := []int{step, step, 7, 1, step / 2, 3 * step, 333, 0, step}
		pos := 0
		for i := 0; pos < len(x); i++ {
			n := min(lengths[i%len(lengths)], len(x)-pos)
			f := d.Process(audio.Frame{Samples: x[pos : pos+n], Rate: rate})
			if len(f.Samples) != n || f.Rate != rate {
				t.Fatalf("%d Hz: %d samples in, %d at %d Hz out", rate, n, len(f.Samples), f.Rate)
			}
			if pos == 0 && slices.ContainsFunc(f.Samples, func(v int16) bool { return v != 0 }) {
				t.Errorf("%d Hz: first frame is not silence", rate)
			}
			out = append(out, f.Samples...)
			pos += n
		}
		best, bestLag := math.Inf(-1), 0
		for lag := step; lag < step+rate/100; lag++ {
			if snr := alignedSNR(x, out, lag, rate); snr > best {
				best, bestLag = snr, lag
			}
		}
		if best < 20 {
			t.Errorf("%d Hz: with odd frame lengths, best match %.1f dB SNR at a lag of %d, want ≥ 20 dB", rate, best, bestLag)
		}
	}
}

func BenchmarkDenoiser8k(b *testing.B)  { benchmarkDenoiser(b, 8000) }
func BenchmarkDenoiser16k(b *testing.B) { benchmarkDenoiser(b, 16000) }

func benchmarkDenoiser(b *testing.B, rate int) {
	for _, mode := range []audio.DenoiseMode{audio.NoiseCancellation, audio.NoiseAndBackgroundSpeechCancellation} {
		b.Run(string(mode), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x := pcm(speechLike(rng, rate, 2*rate, 120, 1).x, 3000)
			for i, v := range noise(rng, -35, len(x)) {
				x[i] = x[i]/2 + v
			}
			fs := frames(x, rate)
			d := audio.NewDenoiser(rate, mode)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				d.Process(fs[i%len(fs)])
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()*0.02, "calls/core")
		})
	}
}
