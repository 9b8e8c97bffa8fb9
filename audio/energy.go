package audio

import (
	"math"
	"time"
)

// EnergyDetectorOptions tune an EnergyDetector; the zero value gives the
// defaults, chosen for phone audio at 8 kHz.
type EnergyDetectorOptions struct {
	// Margin is how far above the noise floor a frame must be to count as
	// voice, in dB; 0 means 12 dB.
	Margin float64
	// MinLevel is the level below which a frame is never voice, whatever
	// the floor, in dBFS (RMS relative to full scale); 0 means −50 dBFS.
	// Phone speech is usually −30 to −15 dBFS.
	MinLevel float64
	// Hangover is how long speech is still reported after the last voiced
	// frame, bridging the gaps between words; 0 means 200 ms.
	Hangover time.Duration
	// FloorRise is how fast the noise floor may climb while the level is
	// above it, in dB per second; 0 means 3 dB/s. It falls at once to a
	// quieter level. A steady noise (a fan, a car) thus becomes the floor
	// after a few seconds, while speech, with its pauses, does not.
	FloorRise float64
}

// EnergyDetector decides, frame by frame, whether a line carries voice,
// from the frame's energy against the line's noise floor, which it keeps
// adapting. It is a cheap voice activity detector for turn-taking and
// silence time-outs, not a speech classifier: a loud tone is "voice" too.
// It is for one stream, from one goroutine.
type EnergyDetector struct {
	margin, minLevel, floorRise float64
	hangover                    time.Duration

	started   bool
	elapsed   time.Duration // audio pushed so far
	floor     float64       // noise floor, dBFS
	level     float64       // level of the last frame, dBFS
	sinceLast time.Duration // audio pushed since the last voiced frame
	everVoice bool
}

// The floor starts at floorStart dBFS (quieter than a line's usual noise,
// so that a caller who speaks at once is heard) and climbs faster during
// the first warmUp of audio, to find a noisy line's floor quickly.
const (
	floorStart   = -60.0
	warmUp       = time.Second
	warmUpFactor = 8
)

// silenceDB is the level reported for digital silence.
const silenceDB = -100.0

// NewEnergyDetector returns a detector with the options' values (defaults
// for zero fields).
func NewEnergyDetector(opts EnergyDetectorOptions) *EnergyDetector {
	d := &EnergyDetector{
		margin:    opts.Margin,
		minLevel:  opts.MinLevel,
		hangover:  opts.Hangover,
		floorRise: opts.FloorRise,
	}
	if d.margin == 0 {
		d.margin = 12
	}
	if d.minLevel == 0 {
		d.minLevel = -50
	}
	if d.hangover == 0 {
		d.hangover = 200 * time.Millisecond
	}
	if d.floorRise == 0 {
		d.floorRise = 3
	}
	return d
}

// Push takes the next frame of the stream and reports whether there is
// speech: the frame is voiced, or one was within the hangover before it.
func (d *EnergyDetector) Push(f Frame) (speech bool) {
	dur := f.Duration()
	d.level = LevelDBFS(f.Samples)
	if !d.started {
		d.started = true
		d.floor = min(d.level, floorStart)
	}

	voiced := d.level > d.floor+d.margin && d.level > d.minLevel

	// Adapt the floor: down at once (with a little smoothing against a
	// single quiet frame), up slowly.
	if d.level < d.floor {
		d.floor += (d.level - d.floor) * 0.5
	} else {
		rise := d.floorRise
		if d.elapsed < warmUp {
			rise *= warmUpFactor
		}
		d.floor = min(d.level, d.floor+rise*dur.Seconds())
	}
	d.elapsed += dur
	d.floor = max(d.floor, silenceDB)

	if voiced {
		d.sinceLast = 0
		d.everVoice = true
		return true
	}
	d.sinceLast += dur
	return d.everVoice && d.sinceLast <= d.hangover
}

// SilentFor is how much audio has been pushed since the last voiced frame
// (hangover included), or since the start when none was voiced.
func (d *EnergyDetector) SilentFor() time.Duration { return d.sinceLast }

// Level is the level of the last frame pushed, in dBFS.
func (d *EnergyDetector) Level() float64 { return d.level }

// Floor is the current noise floor, in dBFS.
func (d *EnergyDetector) Floor() float64 { return d.floor }

// LevelDBFS is the RMS level of samples in dB relative to full scale
// (32768): 0 for a full-scale square wave, about −3 for a full-scale sine,
// −100 for silence or no samples.
func LevelDBFS(samples []int16) float64 {
	if len(samples) == 0 {
		return silenceDB
	}
	var sum float64
	for _, s := range samples {
		v := float64(s)
		sum += v * v
	}
	ms := sum / float64(len(samples)) / (32768 * 32768)
	if ms == 0 {
		return silenceDB
	}
	return max(10*math.Log10(ms), silenceDB)
}
