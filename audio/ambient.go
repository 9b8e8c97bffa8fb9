package audio

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// AmbientLevel is the long-term RMS level of an Ambience, in dBFS: quiet
// enough to sit well under speech (phone speech is −30 to −15 dBFS), loud
// enough to be heard in the agent's pauses. Over any 10 s each kind stays
// within 3 dB of it (the wind's gusts move the most), so within the −45 to
// −35 dBFS asked of a bed; its clicks, clinks and chirps peak about 20 dB
// above it, near −20 dBFS. Tune the bed's loudness here: every part
// follows.
const AmbientLevel = -40.0

// ErrUnknownAmbience is returned by NewAmbience for a kind it does not
// make.
var ErrUnknownAmbience = errors.New("unknown ambient sound")

// Ambience is an endless, quiet background bed for an agent's side of a
// call (the agent setting ambientSound), synthesized sample by sample: no
// recordings. Three kinds:
//
//   - "office": the low rumble of air conditioning with a little airflow
//     hiss, bursts of soft keyboard clicks at irregular intervals, and a
//     faint murmur of two distant voices;
//   - "coffee-shop": the murmur of six voices (band-passed noise, each
//     with its own syllabic rhythm, pauses and wandering "formant") over a
//     low room tone, and now and then the clink of a cup or a spoon on a
//     dish (damped inharmonic partials);
//   - "outdoor": wind (low-passed noise whose level and brightness follow
//     slow gusts) and now and then a bird's phrase of chirps (frequency
//     sweeps).
//
// It is deterministic: the same kind, rate and seed give the same samples.
// Every part keeps its state from one sample to the next, so frames join
// without clicks. Its long-term level is AmbientLevel. An Ambience is for
// one stream, from one goroutine; it is a Source that never ends, for a
// Mixer under the agent's voice.
type Ambience struct {
	kind string
	rate int
	rng  ambientRNG
	gain float64 // full scale × AmbientLevel × the kind's trim

	beds    []noiseBed
	voices  []murmurVoice
	clicks  *keyClicks
	clinks  *clinks
	birds   *birds
	gusting bool
	gust    slowEnvelope // outdoor: wind gusts
	scratch []float64    // the frame being made
	noise   []float64    // a frame of white noise
}

// NewAmbience returns the bed of kind ("office", "coffee-shop" or
// "outdoor") at rate samples/s (8000 or 16000 on calls; anything from 8000
// to 48000), its randomness drawn from seed. For "none" and "" it returns
// nil and no error: there is nothing to mix. Any other kind is an error
// wrapping ErrUnknownAmbience, and a rate out of range one wrapping
// ErrUnsupportedRate.
func NewAmbience(kind string, rate int, seed int64) (*Ambience, error) {
	switch kind {
	case "none", "":
		return nil, nil
	case "office", "coffee-shop", "outdoor":
	default:
		return nil, fmt.Errorf("audio: ambience %q: %w", kind, ErrUnknownAmbience)
	}
	if rate < 8000 || rate > 48000 {
		return nil, fmt.Errorf("audio: ambience at %d Hz: %w", rate, ErrUnsupportedRate)
	}
	a := &Ambience{kind: kind, rate: rate, rng: newAmbientRNG(seed)}
	fs := float64(rate)
	// Event frequencies stay under 0.42 × rate: 3.4 kHz at 8 kHz.
	top := 0.42 * fs
	// trim (dB) brings the kind's long-term level to AmbientLevel: it is
	// measured, over 8 seeds × 60 s at 8 and 16 kHz (means within 0.1 dB).
	trim := 0.0
	switch kind {
	case "office":
		trim = -0.2
		a.beds = []noiseBed{
			newNoiseBed(fs, 0, lowPass(fs, 90, 0.7), lowPass(fs, 200, 0.7)), // air conditioning
			newNoiseBed(fs, -16, lowPass(fs, 1200, 0.5)),                    // airflow
		}
		for i := range 2 {
			a.voices = append(a.voices, newMurmurVoice(&a.rng, fs, -13, 300+150*float64(i), 800, 150, 0.4))
		}
		a.clicks = &keyClicks{
			resonator: bandPass(fs, min(2600, top), 3),
			decay:     math.Exp(-1 / (0.0015 * fs)),
			level:     math.Pow(10, 18.0/20),
		}
	case "coffee-shop":
		trim = 4.8
		a.beds = []noiseBed{newNoiseBed(fs, -12, lowPass(fs, 250, 0.7), lowPass(fs, 400, 0.7))} // room tone
		for i := range 6 {
			lo := 250 + 40*float64(i)
			a.voices = append(a.voices, newMurmurVoice(&a.rng, fs, -7, lo, lo+600, 200, 0.3))
		}
		a.clinks = &clinks{top: top, level: math.Pow(10, 8.0/20)}
	case "outdoor":
		trim = 3.6
		a.gusting = true
		a.gust = slowEnvelope{lo: 0.15, hi: 1, minSec: 0.6, maxSec: 2.5, coef: 1 - math.Exp(-1/(0.5*fs)), v: 0.5, target: 0.5}
		a.beds = []noiseBed{
			newNoiseBed(fs, 0, lowPass(fs, 250, 0.6), lowPass(fs, 400, 0.7)), // wind body
			newNoiseBed(fs, -10, bandPass(fs, 700, 0.8)),                     // wind whoosh, in gusts
		}
		a.birds = &birds{top: top, level: math.Pow(10, 10.0/20)}
	}
	a.gain = 32768 * math.Pow(10, (AmbientLevel+trim)/20)
	a.scratch = make([]float64, SamplesPerFrame(rate))
	a.noise = make([]float64, SamplesPerFrame(rate))
	return a, nil
}

// Kind is the kind of ambience, as given to NewAmbience.
func (a *Ambience) Kind() string { return a.kind }

// Rate is the sample rate of the frames.
func (a *Ambience) Rate() int { return a.rate }

// Next returns the next 20 ms of the bed, in new samples.
func (a *Ambience) Next() Frame {
	x := a.scratch
	clear(x)
	if a.gusting {
		// Wind: the body follows the gusts, the whoosh their square.
		body, whoosh := &a.beds[0], &a.beds[1]
		a.rng.fill(a.noise)
		for i, n := range a.noise {
			g := a.gust.next(&a.rng, float64(a.rate))
			x[i] = body.filter(n)*g + whoosh.filter(n)*g*g
		}
	} else {
		for j := range a.beds {
			a.beds[j].add(&a.rng, x, a.noise)
		}
	}
	for j := range a.voices {
		a.voices[j].add(&a.rng, x, a.noise)
	}
	if a.clicks != nil {
		a.clicks.add(&a.rng, x, float64(a.rate))
	}
	if a.clinks != nil {
		a.clinks.add(&a.rng, x, float64(a.rate))
	}
	if a.birds != nil {
		a.birds.add(&a.rng, x, float64(a.rate))
	}
	out := Frame{Samples: make([]int16, len(x)), Rate: a.rate}
	for i, v := range x {
		out.Samples[i] = saturate16(int32(math.Round(max(min(v*a.gain, 40000), -40000))))
	}
	return out
}

// ReadFrame returns Next(), or ctx's error when ctx is done: an Ambience
// is a Source that never ends.
func (a *Ambience) ReadFrame(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	return a.Next(), nil
}

// ambientRNG is xorshift64*: a few instructions a sample, deterministic,
// and good enough for noise that is heard, not analysed.
type ambientRNG struct{ s uint64 }

func newAmbientRNG(seed int64) ambientRNG {
	// splitmix64 of the seed: never zero, and near seeds differ at once.
	z := uint64(seed) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	if z == 0 {
		z = 1
	}
	return ambientRNG{s: z}
}

func (r *ambientRNG) uint64() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 0x2545f4914f6cdd1d
}

// float is uniform in [0, 1).
func (r *ambientRNG) float() float64 { return float64(r.uint64()>>11) / (1 << 53) }

// between is uniform in [lo, hi).
func (r *ambientRNG) between(lo, hi float64) float64 { return lo + (hi-lo)*r.float() }

// noise is uniform white noise of unit RMS.
func (r *ambientRNG) noise() float64 { return (2*r.float() - 1) * math.Sqrt(3) }

// fill fills buf with uniform white noise of unit RMS, two samples from
// each draw.
func (r *ambientRNG) fill(buf []float64) {
	const scale = 2 * 1.7320508075688772 / (1 << 32) // 2√3 / 2³²
	const offset = 1.7320508075688772                // √3
	i := 0
	for ; i+1 < len(buf); i += 2 {
		u := r.uint64()
		buf[i] = float64(uint32(u))*scale - offset
		buf[i+1] = float64(u>>32)*scale - offset
	}
	if i < len(buf) {
		buf[i] = r.noise()
	}
}

// biquad is a second-order IIR section (R. Bristow-Johnson's cookbook
// designs) in transposed direct form II.
type biquad struct {
	b0, b1, b2, a1, a2 float64
	z1, z2             float64
}

func (f *biquad) next(x float64) float64 {
	y := f.b0*x + f.z1
	f.z1 = f.b1*x - f.a1*y + f.z2
	f.z2 = f.b2*x - f.a2*y
	return y
}

func lowPass(fs, hz, q float64) biquad {
	w := 2 * math.Pi * hz / fs
	cw, alpha := math.Cos(w), math.Sin(w)/(2*q)
	a0 := 1 + alpha
	return biquad{b0: (1 - cw) / 2 / a0, b1: (1 - cw) / a0, b2: (1 - cw) / 2 / a0, a1: -2 * cw / a0, a2: (1 - alpha) / a0}
}

// bandPass has a gain of 1 at hz.
func bandPass(fs, hz, q float64) biquad {
	f := biquad{}
	f.tune(fs, hz, q)
	return f
}

// tune changes a band-pass filter's centre and Q, keeping its state.
func (f *biquad) tune(fs, hz, q float64) {
	w := 2 * math.Pi * hz / fs
	cw, alpha := math.Cos(w), math.Sin(w)/(2*q)
	a0 := 1 + alpha
	f.b0, f.b1, f.b2, f.a1, f.a2 = alpha/a0, 0, -alpha/a0, -2*cw/a0, (1-alpha)/a0
}

// powerGain is the gain of a chain of filters on white noise: the energy of
// its impulse response.
func powerGain(chain []biquad, fs float64) float64 {
	c := append([]biquad(nil), chain...)
	var sum float64
	for i := range int(fs) { // a second: every filter here has died out by then
		v := 0.0
		if i == 0 {
			v = 1
		}
		for j := range c {
			v = c[j].next(v)
		}
		sum += v * v
	}
	return sum
}

// noiseBed is white noise through a chain of filters, scaled to an RMS
// of level dB (relative to the kind's bed).
type noiseBed struct {
	chain []biquad
	scale float64
}

func newNoiseBed(fs, level float64, chain ...biquad) noiseBed {
	return noiseBed{chain: chain, scale: math.Pow(10, level/20) / math.Sqrt(powerGain(chain, fs))}
}

// filter passes one sample of white noise through the bed's filters.
func (b *noiseBed) filter(v float64) float64 {
	for j := range b.chain {
		v = b.chain[j].next(v)
	}
	return v * b.scale
}

// add adds a frame of the bed to x, with noise as scratch.
func (b *noiseBed) add(r *ambientRNG, x, noise []float64) {
	r.fill(noise)
	for i, n := range noise {
		x[i] += b.filter(n)
	}
}

// slowEnvelope moves smoothly towards a random target in [lo, hi) that it
// draws anew every minSec to maxSec seconds.
type slowEnvelope struct {
	lo, hi, minSec, maxSec float64
	coef                   float64 // one-pole smoothing a sample
	v, target              float64
	left                   int // samples before the next target
}

func (e *slowEnvelope) next(r *ambientRNG, fs float64) float64 {
	if e.left <= 0 {
		e.target = r.between(e.lo, e.hi)
		e.left = int(r.between(e.minSec, e.maxSec) * fs)
	}
	e.left--
	e.v += (e.target - e.v) * e.coef
	return e.v
}

// murmurVoice is one voice of a murmur: noise through a band-pass filter
// whose centre wanders within [lo, hi) from syllable to syllable, under a
// syllabic envelope with pauses between phrases.
type murmurVoice struct {
	filter    biquad
	fs        float64
	lo, hi    float64
	bandwidth float64 // Hz
	scale     float64
	pause     float64 // chance that a syllable is a pause

	env, target float64
	coef        float64 // envelope smoothing a sample (about 30 ms)
	left        int     // samples left in the syllable
}

func newMurmurVoice(r *ambientRNG, fs, level, lo, hi, bandwidth, pause float64) murmurVoice {
	mid := (lo + hi) / 2
	f := bandPass(fs, mid, mid/bandwidth)
	// A constant bandwidth keeps the filter's power gain about the same
	// wherever the centre wanders.
	return murmurVoice{
		filter: f, fs: fs, lo: lo, hi: hi, bandwidth: bandwidth, pause: pause,
		scale: math.Pow(10, level/20) / math.Sqrt(powerGain([]biquad{f}, fs)),
		coef:  1 - math.Exp(-1/(0.03*fs)),
		left:  int(r.between(0, 0.5) * fs), // voices start out of step
	}
}

// add adds a frame of the voice to x, with noise as scratch.
func (m *murmurVoice) add(r *ambientRNG, x, noise []float64) {
	if m.target == 0 && m.env < 1e-4 && m.left >= len(x) {
		// Silent for the whole frame: skip it. The filter keeps its
		// state, which no one hears.
		m.env = 0
		m.left -= len(x)
		return
	}
	r.fill(noise)
	for i, n := range noise {
		if m.left <= 0 {
			m.syllable(r)
		}
		m.left--
		m.env += (m.target - m.env) * m.coef
		x[i] += m.filter.next(n) * m.env * m.scale
	}
}

func (m *murmurVoice) syllable(r *ambientRNG) {
	fs := m.fs
	switch p := r.float(); {
	case p < 0.08: // end of a phrase
		m.target, m.left = 0, int(r.between(0.6, 2.5)*fs)
	case p < m.pause:
		m.target, m.left = 0, int(r.between(0.08, 0.3)*fs)
	default:
		m.target, m.left = r.between(0.4, 1), int(r.between(0.08, 0.25)*fs)
		hz := r.between(m.lo, m.hi)
		m.filter.tune(fs, hz, hz/m.bandwidth)
	}
}

// keyClicks are bursts of typing: clicks 90–250 ms apart, 4–40 of them,
// then 1.5–8 s of quiet. A click is a 1.5 ms decaying noise burst
// through a resonance around 2.6 kHz.
type keyClicks struct {
	resonator biquad
	decay     float64 // burst envelope a sample
	level     float64

	burst      float64 // burst envelope
	wait       int     // samples to the next click
	keysLeft   int     // clicks left in this burst of typing
	started    bool
	clickLevel float64
}

func (k *keyClicks) add(r *ambientRNG, x []float64, fs float64) {
	if !k.started {
		k.started = true
		k.wait = int(r.between(0.3, 3) * fs)
	}
	for i := range x {
		if k.wait--; k.wait <= 0 {
			if k.keysLeft <= 0 {
				k.keysLeft = 4 + int(r.float()*36)
			}
			k.keysLeft--
			k.burst = 1
			k.clickLevel = k.level * r.between(0.4, 1)
			if k.keysLeft == 0 {
				k.wait = int(r.between(1.5, 8) * fs)
			} else {
				k.wait = int(r.between(0.09, 0.25) * fs)
			}
		}
		if k.burst < 1e-4 {
			// Let the resonance ring out, on silence, for a few
			// milliseconds (its time constant is a fraction of one).
			if k.burst > 0 {
				x[i] += k.resonator.next(0) * k.clickLevel
				if k.burst *= k.decay; k.burst < 1e-7 {
					k.burst = 0
					k.resonator.z1, k.resonator.z2 = 0, 0
				}
			}
			continue
		}
		x[i] += k.resonator.next(r.noise()*k.burst) * k.clickLevel
		k.burst *= k.decay
	}
}

// partial is a damped sinusoid: z turns by rot (which also shrinks it)
// each sample, and its imaginary part is heard.
type partial struct {
	z, rot complex128
}

// clinks are a cup or spoon on a dish every 1.5–7 s: one to three strikes
// 60–200 ms apart, each exciting three inharmonic partials that die away
// in 30–120 ms.
type clinks struct {
	top   float64 // highest frequency
	level float64

	parts   [3]partial
	wait    int // samples to the next strike
	strikes int // strikes left in this clink
	started bool
}

func (c *clinks) add(r *ambientRNG, x []float64, fs float64) {
	if !c.started {
		c.started = true
		c.wait = int(r.between(0.5, 4) * fs)
	}
	for i := range x {
		if c.wait--; c.wait <= 0 {
			if c.strikes <= 0 {
				c.strikes = 1 + int(r.float()*3)
				c.tune(r, fs)
			}
			c.strikes--
			amp := c.level * r.between(0.3, 1)
			for j := range c.parts {
				// Adding a real amount leaves the heard (imaginary) part
				// where it is: the strike starts from the signal's value.
				c.parts[j].z += complex(amp/float64(j+1), 0)
			}
			if c.strikes == 0 {
				c.wait = int(r.between(1.5, 7) * fs)
			} else {
				c.wait = int(r.between(0.06, 0.2) * fs)
			}
		}
		var v float64
		for j := range c.parts {
			p := &c.parts[j]
			p.z *= p.rot
			v += imag(p.z)
		}
		x[i] += v
	}
	for j := range c.parts {
		// Flush what has died away before it decays into subnormal
		// numbers, which are slow.
		if z := c.parts[j].z; real(z)*real(z)+imag(z)*imag(z) < 1e-20 {
			c.parts[j].z = 0
		}
	}
}

// tune picks a new cup: its partials from 1.8 kHz up, under c.top.
func (c *clinks) tune(r *ambientRNG, fs float64) {
	// The partials of a small struck cup, relative to its lowest.
	clinkRatios := [3]float64{1, 1.52, 2.31}
	base := r.between(1800, 2600)
	base = min(base, c.top/clinkRatios[2])
	tau := r.between(0.03, 0.12)
	for j, ratio := range clinkRatios {
		w := 2 * math.Pi * base * ratio / fs
		decay := math.Exp(-1 / (tau / ratio * fs)) // higher partials die sooner
		c.parts[j].rot = complex(decay*math.Cos(w), decay*math.Sin(w))
	}
}

// birds sing a phrase every 2–9 s: 2–6 chirps, each a 40–150 ms sweep up
// or down between 1.8 kHz and c.top (4.5 kHz at most), 40–150 ms apart.
type birds struct {
	top   float64
	level float64

	wait             int // samples to the next chirp
	chirpsLeft       int
	n, length        int     // sample within the chirp, and its length
	phase, from, to  float64 // Hz
	amp              float64
	started, singing bool
}

func (b *birds) add(r *ambientRNG, x []float64, fs float64) {
	if !b.started {
		b.started = true
		b.wait = int(r.between(0.5, 4) * fs)
	}
	for i := range x {
		if !b.singing {
			if b.wait--; b.wait > 0 {
				continue
			}
			if b.chirpsLeft <= 0 {
				b.chirpsLeft = 2 + int(r.float()*5)
			}
			b.chirpsLeft--
			hi := min(4500, b.top)
			b.from, b.to = r.between(1800, hi), r.between(1800, hi)
			b.length = int(r.between(0.04, 0.15) * fs)
			b.n, b.singing = 0, true
			b.amp = b.level * r.between(0.3, 1)
		}
		u := float64(b.n) / float64(b.length)
		hz := b.from + (b.to-b.from)*u
		b.phase += 2 * math.Pi * hz / fs
		if b.phase > 2*math.Pi {
			b.phase -= 2 * math.Pi
		}
		env := math.Sin(math.Pi * u)
		x[i] += b.amp * env * env * math.Sin(b.phase)
		if b.n++; b.n >= b.length {
			b.singing = false
			if b.chirpsLeft == 0 {
				b.wait = int(r.between(2, 9) * fs)
			} else {
				b.wait = int(r.between(0.04, 0.15) * fs)
			}
		}
	}
}
