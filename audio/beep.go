package audio

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Design of the beep detector. An answering machine's beep is a steady
// pure tone, usually between 400 and 2100 Hz (440, 850, 1000 and 1400 Hz
// are common), a tenth of a second to a second long. The detector looks at
// each 20 ms block of the stream on its own and calls it tonal when all of
// these hold:
//
//   - loud enough: its RMS level is at least MinLevel (−45 dBFS), so that
//     a quiet line and codec noise never count;
//   - steady: the energies of its four quarters (5 ms each) are within
//     beepSteadyRatio (4.8 dB) of each other. A tone missing from more
//     than the first or last 3.3 ms of the block fails this (so a beep's
//     edges are placed to within a block), and so do two close tones
//     beating against each other (the 440 + 480 Hz ringback of North
//     America, the 400 + 450 Hz of the UK, the 350 + 440 Hz dial tone),
//     which a 20 ms spectrum cannot tell from one tone. 3 dB would do for
//     a clean tone, but white noise 7 dB under a beep moves a quarter's
//     energy by up to ±35 %;
//   - in range: the strongest peak of its spectrum lies between beepMinHz
//     (380 Hz) and beepMaxHz (3000 Hz, under the 3.4 kHz edge of
//     narrowband lines). Below 380 Hz lie the fundamentals of speech: a
//     high voice on "oo" or "ee", whose first formant sits on the
//     fundamental, is nearly a pure tone (espeak-ng's highest voices give
//     blocks with 0.98 of their energy at 290–330 Hz);
//   - pure: the peak's main lobe (±beepLobeHz, the ±100 Hz of a 20 ms Hann
//     window) holds at least MinTonality (0.7) of the block's energy.
//     Speech and sung vowels spread their energy over harmonics (most
//     blocks of speech have 0.2 to 0.6), white and pink noise over the
//     whole band (below 0.2), DTMF over two tones (0.5 at equal levels).
//     A beep 7 dB above white noise has about 0.83 and is always found;
//     5 dB above, nearly always; 3 dB above (0.65), never;
//   - alone: no bin outside the main lobe comes within beepSpurDB (12 dB)
//     of the peak. The share alone would take DTMF with a twist of 4 dB or
//     more (one tone louder than the other: keypads send up to 8 dB) for a
//     beep; this rule rejects any pair of tones less than 12 dB apart,
//     and still lets through a beep with the harmonics of mild clipping.
//     Noise 7 dB under a beep stays about 17 dB under its peak.
//
// A beep is a run of consecutive tonal blocks whose peak stays within
// beepDriftHz (±30 Hz) of the run's first block, at least MinDuration
// (120 ms) less one block long, since a tone that does not start on a
// block's edge fills one block fewer than its length. So tones of
// MinDuration or longer are always found, tones shorter than
// MinDuration − 30 ms never (60 ms blips, a vowel held for a moment),
// those in between depending on where they fall. The beep is reported at
// the first block that breaks the run, 0 to 40 ms after the tone has ended:
// what the engine needs to know is when it may start speaking. A tone that
// changes pitch by more than 30 Hz ends one run and starts another (the
// three tones of a special information tone are three beeps). A block lost
// in the middle of a beep (a burst of packet loss) splits it in two.
//
// The spectrum is gonum's FFT of the Hann-windowed block, zero-padded to a
// power of two at least three times its length (512 points at 8 kHz, 1024
// at 16 kHz: bins 15.6 Hz apart), and the peak's frequency is refined by
// fitting a parabola to the log power of the three bins around it (within
// a few hertz, well inside the ±30 Hz a run allows). A Goertzel filter
// costs less per frequency, but the beep may be anywhere in a 2.6 kHz
// range, which needs a bank of about a hundred filters to cover at this
// precision, and the share and the spurs need the energy everywhere else:
// one transform gives all of it. Blocks that are quiet or unsteady skip
// the transform.
//
// Known confusions: a single tone of 425 Hz, the ringback of most of
// Europe (1 s on, 4 s off), and the three tones of a special information
// tone ("the number you have dialled is not in service") are tones like a
// beep, and are reported as beeps; so may be a voice singing a pure,
// steady note above 380 Hz for longer than MinDuration.
const (
	beepMinHz       = 380.0
	beepMaxHz       = 3000.0
	beepLobeHz      = 100.0 // 2 / 20 ms: the half-width of a Hann window's main lobe
	beepDriftHz     = 30.0
	beepSpurDB      = 12.0
	beepSteadyRatio = 3.0 // 4.8 dB
	beepPadFactor   = 3   // zero-padding: nfft ≥ 3 × the block
)

// Defaults of a BeepDetector's settings.
const (
	DefaultBeepMinDuration = 120 * time.Millisecond
	DefaultBeepMinLevel    = -45.0 // dBFS
	DefaultBeepMinTonality = 0.7
)

// BeepDetector finds the beep of an answering machine or voicemail system
// in a stream: a steady pure tone of 380 to 3000 Hz lasting at least
// MinDuration (see the design notes above for the method and its limits).
// It reports each beep once, when it has ended. A BeepDetector is for one
// stream, from one goroutine; its settings may be changed between calls to
// Push.
//
// A 20 ms block of tone, which takes the transform, costs about 8 µs of a
// core at 8 kHz and 18 µs at 16 kHz (BenchmarkBeepDetector, on a busy
// 2-core VM), without allocating.
type BeepDetector struct {
	// MinDuration is the shortest tone that is a beep;
	// DefaultBeepMinDuration (120 ms) by default. Tones shorter by more
	// than 30 ms are never reported.
	MinDuration time.Duration
	// MinLevel is the level in dBFS (RMS against full scale) below which
	// a block is never part of a beep; DefaultBeepMinLevel (−45 dBFS) by
	// default. Beeps are usually played at −10 to −20 dBFS.
	MinLevel float64
	// MinTonality is the least share of a block's energy that its peak
	// must hold; DefaultBeepMinTonality (0.7) by default.
	MinTonality float64

	n      int // samples in a block (20 ms)
	fft    *fourier.FFT
	window []float64    // Hann, n points
	block  []float64    // the block being filled
	fill   int          // samples in block
	buf    []float64    // nfft points: the windowed block, zero-padded
	spec   []complex128 // nfft/2+1 coefficients
	power  []float64    // their powers
	binHz  float64

	run    int           // tonal blocks in the current run
	runHz  float64       // the peak of the run's first block
	sumHz  float64       // sum of the run's peaks
	lastHz float64       // the last beep reported: its mean frequency
	lastD  time.Duration // and its length
}

// NewBeepDetector returns a BeepDetector with the default settings for a
// stream at rate samples/s (8000 or 16000 on calls; any rate from 8000 to
// 48000 works). It panics if rate is out of range.
func NewBeepDetector(rate int) *BeepDetector {
	if rate < 8000 || rate > 48000 {
		panic(fmt.Sprintf("audio: NewBeepDetector: rate %d out of range", rate))
	}
	n := SamplesPerFrame(rate)
	nfft := 1
	for nfft < beepPadFactor*n {
		nfft *= 2
	}
	d := &BeepDetector{
		MinDuration: DefaultBeepMinDuration,
		MinLevel:    DefaultBeepMinLevel,
		MinTonality: DefaultBeepMinTonality,
		n:           n,
		fft:         fourier.NewFFT(nfft),
		window:      make([]float64, n),
		block:       make([]float64, n),
		buf:         make([]float64, nfft),
		spec:        make([]complex128, nfft/2+1),
		power:       make([]float64, nfft/2+1),
		binHz:       float64(rate) / float64(nfft),
	}
	for i := range d.window {
		d.window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
	}
	return d
}

// Push takes the next samples of the stream, of any length (usually one
// 20 ms frame), and reports whether a beep ended in them: the stream is
// cut into 20 ms blocks, and Push returns true when a block it completed
// is the first after a beep. The message to be recorded may start then.
// Beep tells the beep's frequency and length.
func (d *BeepDetector) Push(samples []int16) (beep bool) {
	for len(samples) > 0 {
		k := copy16(d.block[d.fill:], samples)
		samples = samples[k:]
		d.fill += k
		if d.fill < d.n {
			break
		}
		d.fill = 0
		b := d.analyze()
		if d.step(b.hz, d.tonal(b)) {
			beep = true
		}
	}
	return beep
}

// copy16 copies src into dst as floats and returns how many it copied.
func copy16(dst []float64, src []int16) int {
	n := min(len(dst), len(src))
	for i := range n {
		dst[i] = float64(src[i])
	}
	return n
}

// Beep is the mean frequency and the length (whole blocks) of the last
// beep Push reported; 0, 0 before the first.
func (d *BeepDetector) Beep() (hz float64, length time.Duration) { return d.lastHz, d.lastD }

// Reset forgets the stream: a tone in progress and a partial block. The
// settings and the last beep stay.
func (d *BeepDetector) Reset() {
	d.fill, d.run, d.runHz, d.sumHz = 0, 0, 0, 0
}

// step adds a block to the run of tonal blocks and reports whether it
// ended a run long enough to be a beep.
func (d *BeepDetector) step(hz float64, tonal bool) bool {
	if tonal && d.run > 0 && math.Abs(hz-d.runHz) <= beepDriftHz {
		d.run++
		d.sumHz += hz
		return false
	}
	minRun := max(1, int((d.MinDuration+FrameDuration-1)/FrameDuration)-1)
	ended := d.run >= minRun
	if ended {
		d.lastHz = d.sumHz / float64(d.run)
		d.lastD = time.Duration(d.run) * FrameDuration
	}
	d.run, d.runHz, d.sumHz = 0, 0, 0
	if tonal {
		d.run, d.runHz, d.sumHz = 1, hz, hz
	}
	return ended
}

// beepBlock is what analyze measures of a block.
type beepBlock struct {
	level  float64 // RMS, dBFS
	steady float64 // the most energetic quarter over the least
	hz     float64 // the peak's frequency
	share  float64 // of the energy in the peak's main lobe
	spur   float64 // the strongest bin outside the lobe against the peak, dB
}

// tonal reports whether a block is part of a beep: loud, steady, pure and
// alone.
func (d *BeepDetector) tonal(b beepBlock) bool {
	return b.level >= d.MinLevel && b.steady <= beepSteadyRatio &&
		b.hz >= beepMinHz && b.hz <= beepMaxHz &&
		b.share >= d.MinTonality && b.spur <= -beepSpurDB
}

// analyze measures the block just filled. It stops early (with the
// remaining fields zero) once the block cannot be tonal, saving the
// transform on quiet and unsteady blocks.
func (d *BeepDetector) analyze() (b beepBlock) {
	n := d.n
	var mean float64
	for _, v := range d.block {
		mean += v
	}
	mean /= float64(n)
	var energy float64
	var quarter [4]float64
	for i, v := range d.block {
		v -= mean
		energy += v * v
		quarter[i*4/n] += v * v
		d.buf[i] = v * d.window[i]
	}
	b.level = silenceDB
	if energy > 0 {
		b.level = max(silenceDB, 10*math.Log10(energy/float64(n)/(32768*32768)))
	}
	lo, hi := quarter[0], quarter[0]
	for _, q := range quarter[1:] {
		lo, hi = min(lo, q), max(hi, q)
	}
	b.steady = math.Inf(1)
	if lo > 0 {
		b.steady = hi / lo
	}
	if b.level < d.MinLevel || b.steady > beepSteadyRatio {
		return b
	}

	d.fft.Coefficients(d.spec, d.buf)
	last := len(d.spec) - 1
	for k := range d.spec {
		c := d.spec[k]
		d.power[k] = real(c)*real(c) + imag(c)*imag(c)
	}
	var total, peak float64
	kp := 0
	for k := 1; k <= last; k++ {
		p := d.power[k]
		total += p
		if p > peak {
			peak, kp = p, k
		}
	}
	if kp <= 1 || kp >= last {
		return b
	}
	// The peak between bins: the vertex of a parabola through the log
	// powers of the three bins around it.
	l, c, r := math.Log(d.power[kp-1]), math.Log(peak), math.Log(d.power[kp+1])
	delta := 0.0
	if den := l - 2*c + r; den < 0 && !math.IsInf(l, 0) && !math.IsInf(r, 0) {
		delta = max(-0.5, min(0.5, 0.5*(l-r)/den))
	}
	b.hz = (float64(kp) + delta) * d.binHz

	kLo := max(1, int(math.Ceil((b.hz-beepLobeHz)/d.binHz)))
	kHi := min(last, int(math.Floor((b.hz+beepLobeHz)/d.binHz)))
	var lobe, spur float64
	for k := 1; k <= last; k++ {
		if k >= kLo && k <= kHi {
			lobe += d.power[k]
		} else {
			spur = max(spur, d.power[k])
		}
	}
	b.share = lobe / total
	b.spur = silenceDB
	if spur > 0 {
		b.spur = 10 * math.Log10(spur/peak)
	}
	return b
}
