package audio_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/agentphone/agentphone/audio"
)

// frames cuts x into 20 ms frames at rate.
func frames(x []int16, rate int) []audio.Frame {
	step := audio.SamplesPerFrame(rate)
	var out []audio.Frame
	for i := 0; i+step <= len(x); i += step {
		out = append(out, audio.Frame{Samples: x[i : i+step], Rate: rate})
	}
	return out
}

func TestEnergyDetector(t *testing.T) {
	t.Parallel()
	const rate = 8000
	rng := rand.New(rand.NewPCG(3, 4))
	d := audio.NewEnergyDetector(audio.EnergyDetectorOptions{})

	// 2 s of line noise at −60 dBFS: never speech.
	for i, f := range frames(noise(rng, -60, 2*rate), rate) {
		if d.Push(f) {
			t.Fatalf("noise frame %d (%.1f dBFS, floor %.1f) taken for speech", i, d.Level(), d.Floor())
		}
	}
	if got := d.SilentFor(); got != 2*time.Second {
		t.Errorf("SilentFor after 2 s of noise = %v, want 2s", got)
	}

	// A 1 kHz tone burst at −20 dBFS for 500 ms: speech from its first frame.
	burst := tone(rate, 1000, -20, rate/2)
	for i, s := range noise(rng, -60, len(burst)) {
		burst[i] += s
	}
	for i, f := range frames(burst, rate) {
		if !d.Push(f) {
			t.Fatalf("burst frame %d (%.1f dBFS, floor %.1f) not taken for speech", i, d.Level(), d.Floor())
		}
		if d.SilentFor() != 0 {
			t.Fatalf("SilentFor during the burst = %v, want 0", d.SilentFor())
		}
	}

	// Back to noise: speech for the hangover (200 ms), then not; SilentFor
	// grows by each frame pushed.
	for i, f := range frames(noise(rng, -60, rate), rate) {
		speech := d.Push(f)
		silent := time.Duration(i+1) * audio.FrameDuration
		if got := d.SilentFor(); got != silent {
			t.Fatalf("frame %d after the burst: SilentFor = %v, want %v", i, got, silent)
		}
		if want := silent <= 200*time.Millisecond; speech != want {
			t.Fatalf("frame %d after the burst (%v silent): speech = %v, want %v", i, silent, speech, want)
		}
	}

	// A burst of noise at −20 dBFS is speech too.
	for i, f := range frames(noise(rng, -20, rate/5), rate) {
		if !d.Push(f) {
			t.Fatalf("noise burst frame %d not taken for speech", i)
		}
	}
}

func TestEnergyDetector_AdaptsToNoisyLine(t *testing.T) {
	t.Parallel()
	const rate = 8000
	rng := rand.New(rand.NewPCG(5, 6))
	d := audio.NewEnergyDetector(audio.EnergyDetectorOptions{})

	// A steady −35 dBFS hiss becomes the floor within the warm-up second.
	var speechFrames int
	for _, f := range frames(noise(rng, -35, 5*rate), rate) {
		if d.Push(f) {
			speechFrames++
		}
	}
	if speechFrames*int(audio.FrameDuration) > int(time.Second) {
		t.Errorf("%d frames of steady hiss taken for speech, want under 1 s worth", speechFrames)
	}
	if math.Abs(d.Floor()+35) > 3 {
		t.Errorf("floor %.1f dBFS after 5 s of −35 dBFS hiss, want about −35", d.Floor())
	}
	if f := frames(noise(rng, -35, rate/5), rate)[0]; d.Push(f) {
		t.Error("hiss taken for speech after 5 s")
	}

	// Speech over the hiss is still heard.
	x := tone(rate, 440, -12, rate/5)
	for i, s := range noise(rng, -35, len(x)) {
		x[i] += s
	}
	if !d.Push(frames(x, rate)[0]) {
		t.Errorf("voice at −15 dBFS over −35 dBFS hiss not taken for speech (floor %.1f)", d.Floor())
	}
}

func TestEnergyDetector_SpeechAtOnce(t *testing.T) {
	t.Parallel()
	// A caller who speaks in the first frame ("Hello?", 600 ms) is heard.
	d := audio.NewEnergyDetector(audio.EnergyDetectorOptions{})
	for i, f := range frames(tone(8000, 300, -20, 4800), 8000) {
		if !d.Push(f) {
			t.Fatalf("frame %d of speech from the start not taken for speech (floor %.1f)", i, d.Floor())
		}
	}
}

func TestLevelDBFS(t *testing.T) {
	t.Parallel()
	if got := audio.LevelDBFS(nil); got != -100 {
		t.Errorf("LevelDBFS(nil) = %v, want -100", got)
	}
	if got := audio.LevelDBFS(make([]int16, 160)); got != -100 {
		t.Errorf("LevelDBFS(silence) = %v, want -100", got)
	}
	if got := audio.LevelDBFS(tone(8000, 1000, -20, 8000)); math.Abs(got+23.01) > 0.05 {
		t.Errorf("LevelDBFS(−20 dBFS-peak sine) = %.2f, want −23.01", got)
	}
}

func BenchmarkEnergyDetector(b *testing.B) {
	d := audio.NewEnergyDetector(audio.EnergyDetectorOptions{})
	f := audio.Frame{Samples: tone(8000, 440, -20, 160), Rate: 8000}
	b.ReportAllocs()
	for b.Loop() {
		d.Push(f)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()*0.02, "calls/core")
}
