package audio

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// DenoiseMode is how hard a Denoiser works; the values are those of an
// agent's denoisingMode setting.
type DenoiseMode string

// The modes of a Denoiser.
const (
	// NoiseCancellation suppresses stationary and slowly varying
	// background noise: hum, fans, air conditioning, traffic, line hiss.
	// Speech, even quiet speech, is kept.
	NoiseCancellation DenoiseMode = "noise-cancellation"
	// NoiseAndBackgroundSpeechCancellation suppresses noise harder and
	// also attenuates voices and babble that are clearly quieter than the
	// caller (a television, a café, colleagues) while the caller is
	// silent: it over-subtracts the noise, has a lower gain floor, and
	// gates the sound against the caller's tracked level. It costs a
	// little of the caller's own onsets and weak consonants.
	NoiseAndBackgroundSpeechCancellation DenoiseMode = "noise-and-background-speech-cancellation"
)

// Design of the noise suppressor. It is the classic short-time spectral
// gain of speech enhancement, cheap enough for hundreds of calls a core:
//
//   - Analysis and synthesis by a short-time Fourier transform with
//     overlap-add: windows of 30 ms (denoiseWindowHops hops) every 10 ms,
//     a square-root periodic Hann window on both sides (their product, a
//     Hann window, overlap-adds to a constant at a third of its length),
//     zero-padded to a power of two (256 points at 8 kHz, 512 at 16 kHz).
//   - The noise power spectrum is tracked by minimum statistics (R. Martin,
//     "Noise power spectral density estimation based on optimal smoothing
//     and minimum statistics", IEEE Trans. Speech Audio Process., 2001): the
//     power of each bin is smoothed over time with a factor that drops when
//     speech rises above the noise, and the noise is the minimum of that
//     smoothed power over the last 1.2 s (kept as minStatSubwindows minima
//     of minStatSubwindowHops hops each), times a bias correction. A noise
//     that changes is followed within that time; speech, which pauses
//     between syllables and words, is not taken for noise.
//   - The gain of each bin is the Wiener gain ξ/(1+ξ) on the a priori SNR
//     ξ of the decision-directed estimator (Ephraim and Malah, 1984), which
//     smooths the gain over time and avoids most "musical noise"; a gain
//     floor keeps a little of the background, which also masks what
//     musical noise remains.
//   - In NoiseAndBackgroundSpeechCancellation the noise estimate is
//     over-subtracted (×2), the floor is lower (−25 dB instead of −15),
//     and a level gate follows the caller. Every 10 ms it measures the
//     level of what stands above the noise in the voice band (200–3600 Hz)
//     and tracks the caller's level from it: the loud parts of speech,
//     reached quickly (gateTalkerRise), forgotten slowly (gateTalkerDecay
//     dB/s). The gate is a downward expander on the level held at its peak
//     for gateHoldSeconds (so the gaps between the caller's words pass):
//     each dB that this is more than gateThreshold dB below the caller's
//     level takes gateExpansion dB off the whole window, down to −20 dB.
//     A babble 10 dB under the caller, heard between the caller's phrases,
//     comes out 14–19 dB quieter instead of unchanged (TestDenoiserBabble).
//     The price: the gate also takes a little of the caller's onsets and
//     weak consonants (clean speech comes out at 14–18 dB SNR instead of
//     lossless), a caller who drops their voice by more than 4 dB is
//     treated as background for a few seconds, and background voices over
//     the caller's own speech are not removed.
//
// The FFT is gonum's (dsp/fourier, a port of FFTPACK), as it handles any
// length and allocates nothing once made. A hand-rolled radix-2 real
// transform was measured about twice as fast at 256 points (the FFTs are
// two thirds of a frame's cost), but it is 80 more lines to own and test,
// and the whole frame already fits the budget (see Denoiser).
const (
	denoiseHopsPerSecond = 100 // a hop is 10 ms
	denoiseWindowHops    = 3   // a window is 30 ms

	minStatSubwindows    = 8
	minStatSubwindowHops = 15   // 8 × 15 hops: the minimum spans 1.2 to 1.35 s
	minStatAlphaMax      = 0.92 // most smoothing of the power, in noise
	minStatAlphaMin      = 0.3  // least, when speech rises above it
	minStatBias          = 2.1  // the minimum of the smoothed power is about 0.48 of the mean (measured on white noise)

	ddAlpha = 0.98  // weight of the previous hop's speech in the a priori SNR
	xiMin   = 0.003 // −25 dB: least a priori SNR

	// noiseFloorPower is the least noise power of a bin (in squared
	// sample units, about that of rounding to 16 bits): digital silence
	// must not be treated as a noiseless line where any change is speech.
	noiseFloorPower = 1.0

	gateTalkerRise  = 0.25 // part of the way to a louder level that the caller's level rises each hop
	gateTalkerDecay = 2.0  // dB/s that the caller's tracked level falls
	gateThreshold   = 4.0  // dB below the caller's level where the gate starts to attenuate
	gateExpansion   = 6.0  // dB of attenuation per dB below the threshold
	gateHoldSeconds = 0.12 // how long the gate holds a peak of the level
	gateRelease     = 1.5  // dB a hop that the held level falls after gateHold
)

// denoiseSettings are the settings of a mode.
type denoiseSettings struct {
	over  float64 // factor on the noise estimate
	floor float64 // least gain of a bin
	gate  bool    // gate background speech
	// gateFloor is the least gain of the gate.
	gateFloor float64
}

func settingsFor(mode DenoiseMode) denoiseSettings {
	if mode == NoiseAndBackgroundSpeechCancellation {
		return denoiseSettings{
			over:      2,                      // +3 dB
			floor:     math.Pow(10, -25.0/20), // −25 dB
			gate:      true,                   //
			gateFloor: math.Pow(10, -20.0/20), // −20 dB
		}
	}
	return denoiseSettings{over: 1, floor: math.Pow(10, -15.0/20)} // −15 dB
}

// Denoiser suppresses background noise in one stream of caller audio, frame
// by frame, before voice detection and speech recognition. It is for one
// stream, from one goroutine.
//
// Its output lags its input by a constant 20 ms (one frame: the window's
// length less its hop), as long as every frame is a whole number of 10 ms
// hops, as a call's 20 ms frames are; the first frame out is silence. The
// first frame of another length that needs samples not finished yet makes
// the lag grow, once and for good, by a hop less one sample (zeros are
// inserted), so just under 30 ms in all.
//
// A frame costs about 18 µs of a core at 8 kHz and 40 µs at 16 kHz, in
// either mode (CPU time of BenchmarkDenoiser8k and BenchmarkDenoiser16k
// on a busy 2-core VM), and one allocation: the returned samples.
type Denoiser struct {
	rate                 int
	hop, win, nfft, bins int
	set                  denoiseSettings

	fft    *fourier.FFT
	window []float64 // analysis window, √Hann
	synth  []float64 // synthesis window, √Hann scaled for the overlap-add and the unnormalized inverse FFT

	in     []float64    // the last win input samples; the last hop fills from fill on
	fill   int          // samples of the current hop received
	buf    []float64    // nfft points of scratch
	spec   []complex128 // bins coefficients
	acc    []float64    // overlap-add accumulator, win samples
	ready  []int16      // finished output not yet returned
	hops   int          // hops processed
	padded int          // zeros added to the output for frames of odd lengths
	voiceK [2]int       // bins of the voice band, for the gate's level

	// Minimum statistics, per bin.
	smooth   []float64 // smoothed power
	subMins  []float64 // minStatSubwindows × bins minima of past subwindows
	curMin   []float64 // minimum in the current subwindow
	pastMin  []float64 // minimum over subMins
	noise    []float64 // noise estimate, bias corrected
	subHop   int       // hops into the current subwindow
	subIndex int       // next subwindow slot to write

	prevSpeech []float64 // |Ŝ|² of the previous hop, for the decision-directed SNR

	// Gate (NoiseAndBackgroundSpeechCancellation).
	talker    float64 // tracked level of the caller, dBFS
	holdLeft  int     // hops the held level stays
	held      float64 // the level held at its peak, dBFS
	gateGain  float64
	holdHops  int
	decayHop  float64 // dB the talker level falls each hop
	levelNorm float64 // from the sum of a hop's bin powers to mean square per full scale²
}

// NewDenoiser returns a Denoiser for a stream at rate samples/s (8000 or
// 16000 on calls; any rate from 8000 to 48000 works) in mode. An unknown
// mode is taken as NoiseCancellation, the default of the agent setting.
// It panics if rate is out of range.
func NewDenoiser(rate int, mode DenoiseMode) *Denoiser {
	if rate < 8000 || rate > 48000 {
		panic(fmt.Sprintf("audio: NewDenoiser: rate %d out of range", rate))
	}
	hop := rate / denoiseHopsPerSecond
	win := denoiseWindowHops * hop
	nfft := 1
	for nfft < win {
		nfft *= 2
	}
	bins := nfft/2 + 1
	d := &Denoiser{
		rate: rate, hop: hop, win: win, nfft: nfft, bins: bins,
		set:    settingsFor(mode),
		fft:    fourier.NewFFT(nfft),
		window: make([]float64, win),
		synth:  make([]float64, win),
		in:     make([]float64, win),
		buf:    make([]float64, nfft),
		spec:   make([]complex128, bins),
		acc:    make([]float64, win),
		ready:  make([]int16, 0, 2*SamplesPerFrame(rate)),

		smooth:     make([]float64, bins),
		subMins:    make([]float64, minStatSubwindows*bins),
		curMin:     make([]float64, bins),
		pastMin:    make([]float64, bins),
		noise:      make([]float64, bins),
		prevSpeech: make([]float64, bins),

		talker:   silenceDB,
		held:     silenceDB,
		gateGain: 1,
		holdHops: int(gateHoldSeconds * denoiseHopsPerSecond),
		decayHop: gateTalkerDecay / denoiseHopsPerSecond,
	}
	// Hann windows at a hop of a third of their length sum to 1.5; the
	// inverse FFT multiplies by nfft.
	scale := 1 / (1.5 * float64(nfft))
	for i := range win {
		w := math.Sin(math.Pi * float64(i) / float64(win)) // √(periodic Hann)
		d.window[i] = w
		d.synth[i] = w * scale
	}
	for i := range d.subMins {
		d.subMins[i] = math.Inf(1)
	}
	for k := range bins {
		d.curMin[k] = math.Inf(1)
		d.pastMin[k] = math.Inf(1)
	}
	binHz := float64(rate) / float64(nfft)
	d.voiceK = [2]int{int(200 / binHz), min(int(3600/binHz), bins-1)}
	// A sum over one side of the spectrum of |X|² is about nfft/4 × win ×
	// the mean square of the window's samples (Parseval, Hann's mean 1/2).
	d.levelNorm = 4 / (float64(nfft) * float64(win) * 32768 * 32768)
	return d
}

// Process takes the next frame of the stream and returns a frame of the
// same length and rate: the denoised stream, 20 ms behind (see Denoiser).
// f must be at the rate the Denoiser was made for. The returned samples are
// the caller's; f's are not kept.
func (d *Denoiser) Process(f Frame) Frame {
	tail := d.in[d.win-d.hop:]
	for _, s := range f.Samples {
		tail[d.fill] = float64(s)
		d.fill++
		if d.fill == d.hop {
			d.processHop()
			d.fill = 0
		}
	}
	out := Frame{Samples: make([]int16, len(f.Samples)), Rate: f.Rate}
	if short := len(out.Samples) - len(d.ready); short > 0 {
		// Not enough is finished: part of a hop is still in d.in. Lag
		// the stream, once and for good, by the most that can ever be
		// missing, a hop less one sample, so that it never happens again.
		pad := d.hop - 1 - d.padded // ≥ short
		d.padded += pad
		d.ready = append(d.ready, make([]int16, pad)...)
		copy(d.ready[pad:], d.ready)
		clear(d.ready[:pad])
	}
	n := copy(out.Samples, d.ready)
	d.ready = d.ready[:copy(d.ready, d.ready[n:])]
	return out
}

// processHop processes the window that the hop just completed, adds it to
// the overlap-add and moves a hop of finished output to d.ready.
func (d *Denoiser) processHop() {
	for i, w := range d.window {
		d.buf[i] = d.in[i] * w
	}
	clear(d.buf[d.win:])
	d.fft.Coefficients(d.spec, d.buf)
	d.hops++

	// The first windows still hold the zeros the stream started with:
	// they would make the noise look lower than it is, for as long as the
	// minimum remembers. Statistics start with the first full window.
	track := d.hops >= denoiseWindowHops
	first := d.hops == denoiseWindowHops

	if track {
		d.trackNoise(first)
	}
	gate := 1.0
	if d.set.gate {
		gate = d.gate()
	}
	over, floor := d.set.over, d.set.floor
	for k, c := range d.spec {
		p := real(c)*real(c) + imag(c)*imag(c)
		n := over * max(d.noise[k], noiseFloorPower)
		if !track {
			n = math.Inf(1)
		}
		inv := 1 / n
		gamma := p * inv
		xi := ddAlpha*d.prevSpeech[k]*inv + (1-ddAlpha)*max(gamma-1, 0)
		xi = max(xi, xiMin)
		g := xi / (1 + xi)
		d.prevSpeech[k] = g * g * p
		g = max(g, floor) * gate
		d.spec[k] = complex(real(c)*g, imag(c)*g)
	}

	d.fft.Sequence(d.buf, d.spec)
	for i, w := range d.synth {
		d.acc[i] += d.buf[i] * w
	}
	for _, v := range d.acc[:d.hop] {
		d.ready = append(d.ready, saturate16(int32(math.Round(max(min(v, 40000), -40000)))))
	}
	copy(d.acc, d.acc[d.hop:])
	clear(d.acc[d.win-d.hop:])
	copy(d.in, d.in[d.hop:])
}

// trackNoise updates the minimum statistics with the hop's spectrum in
// d.spec and sets d.noise.
func (d *Denoiser) trackNoise(first bool) {
	for k, c := range d.spec {
		p := real(c)*real(c) + imag(c)*imag(c)
		s := p
		if !first {
			// Smooth less when the power stands above the noise, so the
			// smoothed power falls back quickly when speech stops
			// (Martin's optimal smoothing, simplified).
			r := d.smooth[k]/max(d.noise[k], noiseFloorPower) - 1
			a := min(max(minStatAlphaMax/(1+r*r), minStatAlphaMin), minStatAlphaMax)
			s = a*d.smooth[k] + (1-a)*p
		}
		d.smooth[k] = s
		d.curMin[k] = min(d.curMin[k], s)
		d.noise[k] = minStatBias * min(d.curMin[k], d.pastMin[k])
	}
	d.subHop++
	if d.subHop < minStatSubwindowHops {
		return
	}
	// The subwindow is full: it replaces the oldest one.
	d.subHop = 0
	copy(d.subMins[d.subIndex*d.bins:], d.curMin)
	d.subIndex = (d.subIndex + 1) % minStatSubwindows
	for k := range d.bins {
		m := math.Inf(1)
		for j := range minStatSubwindows {
			m = min(m, d.subMins[j*d.bins+k])
		}
		d.pastMin[k] = m
		d.curMin[k] = math.Inf(1)
	}
}

// gate follows the caller's level and returns the gain of the gate for
// the hop in d.spec.
func (d *Denoiser) gate() float64 {
	over := d.set.over
	var sum float64
	for k := d.voiceK[0]; k <= d.voiceK[1]; k++ {
		c := d.spec[k]
		p := real(c)*real(c) + imag(c)*imag(c)
		sum += max(p-over*d.noise[k], 0)
	}
	level := silenceDB
	if ms := sum * d.levelNorm; ms > 0 {
		level = max(10*math.Log10(ms), silenceDB)
	}

	if level > d.talker {
		// The caller's level rises quickly, but a quarter of the way a
		// hop, so that a lone click does not set it…
		d.talker += (level - d.talker) * gateTalkerRise
	} else {
		d.talker = max(d.talker-d.decayHop, silenceDB) // …and falls slowly
	}
	// The gate is a downward expander on the level held at its peak
	// for gateHoldSeconds (so the gaps between the caller's words pass), then
	// falling by gateRelease dB a hop: each dB of that below the caller's
	// level less gateThreshold takes gateExpansion dB off, down to the
	// mode's gate floor.
	if level >= d.held {
		d.held = level
		d.holdLeft = d.holdHops
	} else if d.holdLeft > 0 {
		d.holdLeft--
	} else {
		d.held = max(level, d.held-gateRelease)
	}
	below := max(d.talker-gateThreshold-d.held, 0)
	target := max(math.Pow(10, -below*gateExpansion/20), d.set.gateFloor)
	// Open within a hop or two, close over about 30 ms.
	speed := 0.3
	if target > d.gateGain {
		speed = 0.7
	}
	d.gateGain += (target - d.gateGain) * speed
	return d.gateGain
}
