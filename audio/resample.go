package audio

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Resampler converts one stream of PCM from one rate to another. It keeps
// the stream's recent history between calls, so consecutive frames join
// without clicks; use one Resampler per stream, from one goroutine.
type Resampler interface {
	// Resample returns in converted to the output rate. Over a stream, the
	// output holds exactly ceil(n×to/from) samples after n input samples,
	// so 20 ms frames in give 20 ms frames out, without drift.
	Resample(in []int16) []int16
}

// ErrUnsupportedRate is returned by NewResampler for a rate it does not
// convert.
var ErrUnsupportedRate = errors.New("unsupported sample rate")

// supportedRates are the rates NewResampler converts between: those of the
// phone codecs (8 and 16 kHz), of speech engines (espeak-ng writes
// 22.05 kHz, cloud engines 24 kHz) and of browsers and files.
var supportedRates = []int{8000, 16000, 22050, 24000, 32000, 44100, 48000}

// Design of the filter. The resampler is a windowed-sinc polyphase FIR
// (J. O. Smith's bandlimited interpolation with a rational ratio):
//
//   - cutoff at rolloff × the lower rate's Nyquist frequency (3.6 kHz when
//     one side is 8 kHz), so that what the lower rate cannot carry is
//     filtered out rather than folded back into the voice band;
//   - zeroCrossings zero crossings of the sinc on each side and a Kaiser
//     window for about 70 dB of stopband attenuation; the transition band
//     then ends near the lower rate's Nyquist frequency (about 3.2–4 kHz at
//     8 kHz), so nothing above it aliases audibly.
const (
	rolloff       = 0.9
	zeroCrossings = 20
	kaiserBeta    = 6.76 // 0.1102×(A−8.7) for A = 70 dB (Kaiser's formula)
)

// NewResampler returns a Resampler from one rate to another, each one of
// 8000, 16000, 22050, 24000, 32000, 44100 or 48000 samples/s. It returns an
// error wrapping ErrUnsupportedRate for any other rate. From a rate to the
// same rate, it copies.
//
// The output lags the input by the filter's half length, about 2 ms at
// every ratio (silence comes out first), so the last 2 ms of a stream stay
// in the resampler; speech, which ends in silence, loses nothing.
//
// The resampler is written here rather than taken from a library: the pure
// Go candidates on the module proxy were either LGPL (tphakala/
// go-audio-resampler, awkward in a statically linked binary, and built for
// whole files: its output per call varies while its filter primes) or
// without an anti-aliasing filter (zeozeozeo/gomplerate: cubic spline per
// chunk, dropping samples at chunk edges); libsoxr and libsamplerate need
// cgo. A polyphase FIR for a fixed rational ratio is a hundred lines, and
// it gives what calls need: exact output lengths per 20 ms frame and a
// latency of a couple of milliseconds.
func NewResampler(from, to int) (Resampler, error) {
	if !slices.Contains(supportedRates, from) || !slices.Contains(supportedRates, to) {
		return nil, fmt.Errorf("audio: resample %d Hz to %d Hz: %w", from, to, ErrUnsupportedRate)
	}
	if from == to {
		return copyResampler{}, nil
	}
	return newSincResampler(from, to), nil
}

type copyResampler struct{}

func (copyResampler) Resample(in []int16) []int16 { return slices.Clone(in) }

// sincResampler is a polyphase FIR resampler for the ratio l/m (l output
// samples for every m input samples, in lowest terms).
//
// Output sample n is the band-limited input at time n×m/l − delay (in input
// samples): with t = n×m/l, phase p = n×m mod l and i0 = ⌊t⌋ − delay,
//
//	y[n] = Σ_{j=−half..half} x[i0+j] × table[p][j+half]
//
// where table[p] holds the windowed sinc h(p/l − j). The delay (half+1
// input samples) makes the filter causal, so output n needs only input
// samples before ⌈(n+1)×m/l⌉, and the count of output samples after N input
// samples is exactly ⌈N×l/m⌉.
type sincResampler struct {
	l, m  int64
	half  int       // taps on each side of the centre
	taps  int       // 2×half + 1
	table []float32 // l phases of taps coefficients, phase-major
	delay int64     // in input samples

	// hist holds the last taps input samples (index inCount−taps first),
	// zeros before the stream began. buf is scratch for hist+input.
	hist []float32
	buf  []float32

	inCount  int64 // input samples taken so far
	outCount int64 // output samples given so far
}

func newSincResampler(from, to int) *sincResampler {
	g := gcd(from, to)
	l, m := to/g, from/g

	// Cutoff in cycles per input sample.
	fc := 0.5 * rolloff
	if l < m {
		fc *= float64(l) / float64(m)
	}
	width := zeroCrossings / (2 * fc) // half the filter's length, in input samples
	half := int(math.Ceil(width))
	taps := 2*half + 1

	table := make([]float32, l*taps)
	i0beta := besselI0(kaiserBeta)
	for p := range l {
		row := table[p*taps : (p+1)*taps]
		frac := float64(p) / float64(l)
		var sum float64
		coef := make([]float64, taps)
		for j := -half; j <= half; j++ {
			x := frac - float64(j) // distance from the output instant, in input samples
			if math.Abs(x) >= width {
				continue
			}
			r := x / width
			w := besselI0(kaiserBeta*math.Sqrt(1-r*r)) / i0beta
			c := 2 * fc * sinc(2*fc*x) * w
			coef[j+half] = c
			sum += c
		}
		// Normalize each phase to a gain of exactly 1 at DC: the window
		// makes the phases' sums differ slightly, which would otherwise
		// modulate the level at the rate the phases cycle.
		for i, c := range coef {
			row[i] = float32(c / sum)
		}
	}

	return &sincResampler{
		l: int64(l), m: int64(m),
		half: half, taps: taps, table: table,
		delay: int64(half + 1),
		hist:  make([]float32, taps),
	}
}

func (r *sincResampler) Resample(in []int16) []int16 {
	total := r.inCount + int64(len(in))
	n := ceilDiv(total*r.l, r.m) - r.outCount // outputs this call
	out := make([]int16, n)

	// buf holds input samples from absolute index base = inCount−taps on.
	base := r.inCount - int64(r.taps)
	r.buf = append(r.buf[:0], r.hist...)
	for _, s := range in {
		r.buf = append(r.buf, float32(s))
	}

	for i := range out {
		k := r.outCount + int64(i)
		t := k * r.m
		p := t % r.l
		start := t/r.l - r.delay - int64(r.half) - base // buf index of tap 0
		x := r.buf[start : start+int64(r.taps)]
		h := r.table[int(p)*r.taps : (int(p)+1)*r.taps]
		var acc float32
		for j, c := range h {
			acc += c * x[j]
		}
		out[i] = roundSaturate(acc)
	}

	copy(r.hist, r.buf[len(r.buf)-r.taps:])
	r.inCount = total
	r.outCount += n
	return out
}

func roundSaturate(v float32) int16 {
	if v >= 32767 {
		return 32767
	}
	if v <= -32768 {
		return -32768
	}
	return int16(math.Round(float64(v)))
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series (converges quickly for the arguments of a Kaiser
// window).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		f := x / (2 * float64(k))
		term *= f * f
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
