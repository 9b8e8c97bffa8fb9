package audio_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"testing"
	"time"

	"github.com/agentphone/agentphone/audio"
)

// beepReports pushes x to d in 20 ms frames and returns when each
// reported beep was reported: the end of the frame, from the start of x.
func beepReports(d *audio.BeepDetector, x []int16, rate int) []time.Duration {
	step := audio.SamplesPerFrame(rate)
	var out []time.Duration
	for i := 0; i < len(x); i += step {
		end := min(i+step, len(x))
		if d.Push(x[i:end]) {
			out = append(out, time.Duration(end)*time.Second/time.Duration(rate))
		}
	}
	return out
}

// mixInto adds src into dst from sample at, saturating.
func mixInto(dst []int16, at int, src []int16) {
	for i, s := range src {
		if at+i < len(dst) {
			v := int32(dst[at+i]) + int32(s)
			dst[at+i] = int16(max(-32768, min(32767, v)))
		}
	}
}

// samplesAt is the sample index of time d at rate.
func samplesAt(rate int, d time.Duration) int { return int(d * time.Duration(rate) / time.Second) }

// pinkNoise returns n samples of pink (1/f) noise, Paul Kellett's
// economy filter over white noise, scaled to an RMS of dbfs.
func pinkNoise(rng *rand.Rand, dbfs float64, n int) []int16 {
	x := make([]float64, n)
	var b0, b1, b2 float64
	for i := range x {
		w := rng.Float64()*2 - 1
		b0 = 0.99765*b0 + w*0.0990460
		b1 = 0.96300*b1 + w*0.2965164
		b2 = 0.57000*b2 + w*1.0526913
		x[i] = b0 + b1 + b2 + w*0.1848
	}
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	g := 32768 * math.Pow(10, dbfs/20) / math.Sqrt(ss/float64(n))
	out := make([]int16, n)
	for i, v := range x {
		out[i] = int16(max(-32768, min(32767, math.Round(v*g))))
	}
	return out
}

// tones returns n samples of a sum of sines (hz[i] at peak dbfs[i]).
func tones(rate, n int, hz, dbfs []float64) []int16 {
	out := make([]int16, n)
	for i := range hz {
		mixInto(out, 0, tone(rate, hz[i], dbfs[i], n))
	}
	return out
}

// TestBeepDetector_Beeps: beeps of the usual frequencies and lengths,
// over noise at −30 dBFS, starting anywhere in a frame, are reported once,
// 0 to 40 ms after they end, with their frequency and length.
func TestBeepDetector_Beeps(t *testing.T) {
	t.Parallel()
	for _, rate := range []int{8000, 16000} {
		for _, hz := range []float64{440, 1000, 1400, 2000} {
			for _, ms := range []int{150, 250, 500} {
				for _, level := range []float64{-12, -20} { // peak dBFS: 15 and 7 dB of RMS above the noise
					t.Run(fmt.Sprintf("%d/%vHz/%dms/%vdB", rate, hz, ms, level), func(t *testing.T) {
						t.Parallel()
						rng := rand.New(rand.NewPCG(uint64(rate), uint64(hz)+uint64(ms)))
						for _, offset := range []time.Duration{0, 5 * time.Millisecond, 13 * time.Millisecond, 19 * time.Millisecond} {
							start := 700*time.Millisecond + offset
							length := time.Duration(ms) * time.Millisecond
							end := start + length
							x := noise(rng, -30, samplesAt(rate, 2*time.Second))
							mixInto(x, samplesAt(rate, start), tone(rate, hz, level, samplesAt(rate, length)))

							d := audio.NewBeepDetector(rate)
							got := beepReports(d, x, rate)
							if len(got) != 1 {
								t.Fatalf("offset %v: reports at %v, want one after %v", offset, got, end)
							}
							if late := got[0] - end; late < 0 || late > 40*time.Millisecond {
								t.Errorf("offset %v: reported %v after the end (at %v), want 0–40 ms", offset, late, got[0])
							}
							gotHz, gotLen := d.Beep()
							if math.Abs(gotHz-hz) > 10 {
								t.Errorf("offset %v: frequency %.1f Hz, want %v ± 10", offset, gotHz, hz)
							}
							if gotLen > length || gotLen < length-40*time.Millisecond {
								t.Errorf("offset %v: length %v, want %v − 0…40 ms", offset, gotLen, length)
							}
						}
					})
				}
			}
		}
	}
}

// TestBeepDetector_NotBeeps: silence, noise, short tones, DTMF, the
// two-tone ringbacks, a harmonic vowel and a sweep are not beeps.
func TestBeepDetector_NotBeeps(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	dtmfLow := []float64{697, 770, 852, 941}
	dtmfHigh := []float64{1209, 1336, 1477, 1633}
	cases := []struct {
		name string
		make func(rng *rand.Rand, rate int) []int16
	}{
		{"DigitalSilence", func(rng *rand.Rand, rate int) []int16 { return make([]int16, rate*2) }},
		{"WhiteNoise-30", func(rng *rand.Rand, rate int) []int16 { return noise(rng, -30, rate*3) }},
		{"WhiteNoise-10", func(rng *rand.Rand, rate int) []int16 { return noise(rng, -10, rate*3) }},
		{"PinkNoise-20", func(rng *rand.Rand, rate int) []int16 { return pinkNoise(rng, -20, rate*3) }},
		{"PinkNoise-45", func(rng *rand.Rand, rate int) []int16 { return pinkNoise(rng, -45, rate*3) }},
		{"Tone60ms", func(rng *rand.Rand, rate int) []int16 { return blips(rng, rate, 1000, 60*ms) }},
		{"Tone80ms", func(rng *rand.Rand, rate int) []int16 { return blips(rng, rate, 1400, 80*ms) }},
		{"Tone440-60ms", func(rng *rand.Rand, rate int) []int16 { return blips(rng, rate, 440, 60*ms) }},
		{"QuietTone-50dBFS", func(rng *rand.Rand, rate int) []int16 {
			return tone(rate, 1000, -47, rate) // peak −47 dBFS: RMS −50
		}},
		{"Tone200Hz", func(rng *rand.Rand, rate int) []int16 { return tone(rate, 200, -10, rate) }},
		{"Ringback440+480", func(rng *rand.Rand, rate int) []int16 {
			return tones(rate, rate*2, []float64{440, 480}, []float64{-16, -16})
		}},
		{"RingbackUK400+450", func(rng *rand.Rand, rate int) []int16 {
			return tones(rate, rate*2, []float64{400, 450}, []float64{-16, -16})
		}},
		{"DialTone350+440", func(rng *rand.Rand, rate int) []int16 {
			return tones(rate, rate*2, []float64{350, 440}, []float64{-16, -16})
		}},
		{"Vowel", func(rng *rand.Rand, rate int) []int16 { return vowel(rate, 220, 600*ms) }},
		{"HighVowel", func(rng *rand.Rand, rate int) []int16 { return vowel(rate, 400, 600*ms) }},
		{"Sweep500-1500", func(rng *rand.Rand, rate int) []int16 {
			n := rate / 2
			out := make([]int16, n)
			var phase float64
			for i := range out {
				f := 500 + 1000*float64(i)/float64(n)
				phase += 2 * math.Pi * f / float64(rate)
				out[i] = int16(8000 * math.Sin(phase))
			}
			return out
		}},
	}
	for _, twist := range []float64{0, 4, -4, 8, -8} { // dB of the high tone over the low one
		cases = append(cases, struct {
			name string
			make func(rng *rand.Rand, rate int) []int16
		}{fmt.Sprintf("DTMF/twist%+v", twist), func(rng *rand.Rand, rate int) []int16 {
			// The 16 keys, 300 ms each (a key held down), 100 ms apart,
			// over noise.
			x := noise(rng, -40, samplesAt(rate, 16*400*ms))
			for i := range 16 {
				low, high := dtmfLow[i/4], dtmfHigh[i%4]
				key := tones(rate, samplesAt(rate, 300*ms), []float64{low, high}, []float64{-10 - max(0, twist), -10 + min(0, twist)})
				mixInto(x, samplesAt(rate, time.Duration(i)*400*ms), key)
			}
			return x
		}})
	}
	for _, rate := range []int{8000, 16000} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%d/%s", rate, c.name), func(t *testing.T) {
				t.Parallel()
				x := c.make(rand.New(rand.NewPCG(1, uint64(rate))), rate)
				if got := beepReports(audio.NewBeepDetector(rate), x, rate); len(got) != 0 {
					t.Errorf("beeps reported at %v, want none", got)
				}
			})
		}
	}
}

// blips returns short tones of hz and length d starting at every offset
// within a frame (so that some fill as many whole frames as they can),
// over noise, 300 ms apart.
func blips(rng *rand.Rand, rate int, hz float64, d time.Duration) []int16 {
	x := noise(rng, -35, rate*3)
	for i := range 10 {
		at := time.Duration(i)*300*time.Millisecond + time.Duration(i)*2*time.Millisecond
		mixInto(x, samplesAt(rate, at), tone(rate, hz, -10, samplesAt(rate, d)))
	}
	return x
}

// vowel returns a steady sung vowel: 12 harmonics of f0 shaped by the
// formants of /a/ (700 and 1200 Hz), with a little vibrato.
func vowel(rate int, f0 float64, d time.Duration) []int16 {
	n := samplesAt(rate, d)
	out := make([]int16, n)
	phase := 0.0
	for i := range out {
		tt := float64(i) / float64(rate)
		f := f0 * (1 + 0.01*math.Sin(2*math.Pi*5.5*tt))
		phase += 2 * math.Pi * f / float64(rate)
		var v float64
		for k := 1; k <= 12; k++ {
			hk := float64(k) * f0
			if hk > float64(rate)/2-200 {
				break
			}
			g := 1/(1+math.Pow((hk-700)/150, 2)) + 0.6/(1+math.Pow((hk-1200)/200, 2)) + 0.05
			v += g * math.Sin(float64(k)*phase)
		}
		out[i] = int16(3000 * v)
	}
	return out
}

// TestBeepDetector_Length: tones of 120 ms are beeps wherever they start
// in a frame; tones of 90 ms never are.
func TestBeepDetector_Length(t *testing.T) {
	t.Parallel()
	for _, rate := range []int{8000, 16000} {
		for _, c := range []struct {
			length time.Duration
			want   int
		}{{120 * time.Millisecond, 1}, {90 * time.Millisecond, 0}} {
			for off := range 20 {
				x := noise(rand.New(rand.NewPCG(uint64(off), 7)), -45, rate/2)
				mixInto(x, samplesAt(rate, time.Duration(100+off)*time.Millisecond), tone(rate, 850, -12, samplesAt(rate, c.length)))
				if got := beepReports(audio.NewBeepDetector(rate), x, rate); len(got) != c.want {
					t.Errorf("%d Hz: tone of %v starting %d ms into a frame: reports %v, want %d", rate, c.length, off, got, c.want)
				}
			}
		}
	}
}

// TestBeepDetector_PitchChange: tones that follow one another at
// different pitches (a special information tone) are beeps of their own.
func TestBeepDetector_PitchChange(t *testing.T) {
	t.Parallel()
	const rate = 8000
	var x []int16
	for _, hz := range []float64{950, 1400, 1800} {
		x = append(x, tone(rate, hz, -12, samplesAt(rate, 300*time.Millisecond))...)
	}
	x = append(x, make([]int16, rate/2)...)
	got := beepReports(audio.NewBeepDetector(rate), x, rate)
	want := []time.Duration{320 * time.Millisecond, 620 * time.Millisecond, 920 * time.Millisecond}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("beeps at %v, want %v", got, want)
	}
}

// TestBeepDetector_Settings: MinDuration sets the shortest beep.
func TestBeepDetector_Settings(t *testing.T) {
	t.Parallel()
	const rate = 16000
	for _, c := range []struct {
		beep time.Duration
		want int
	}{{200 * time.Millisecond, 0}, {270 * time.Millisecond, 0}, {300 * time.Millisecond, 1}, {400 * time.Millisecond, 1}} {
		x := make([]int16, rate)
		mixInto(x, rate/10+7, tone(rate, 850, -12, samplesAt(rate, c.beep)))
		d := audio.NewBeepDetector(rate)
		d.MinDuration = 300 * time.Millisecond
		if got := beepReports(d, x, rate); len(got) != c.want {
			t.Errorf("MinDuration 300 ms, beep of %v: reports %v, want %d", c.beep, got, c.want)
		}
	}
	// A tone 3 dB above white noise holds about 0.65 of the energy: not
	// a beep, unless MinTonality is lowered.
	x := noise(rand.New(rand.NewPCG(5, 5)), -23, rate)
	mixInto(x, rate/10, tone(rate, 1000, -17, rate/2)) // RMS −20 dBFS
	if got := beepReports(audio.NewBeepDetector(rate), x, rate); len(got) != 0 {
		t.Errorf("tone 3 dB above noise: reports %v with the default MinTonality", got)
	}
	d := audio.NewBeepDetector(rate)
	d.MinTonality = 0.5
	if got := beepReports(d, x, rate); len(got) == 0 {
		t.Errorf("tone 3 dB above noise with MinTonality 0.5: not reported")
	}

	// A quiet beep passes once MinLevel is lowered.
	x = make([]int16, rate)
	mixInto(x, rate/10, tone(rate, 1000, -50, rate/2)) // RMS −53 dBFS
	if got := beepReports(audio.NewBeepDetector(rate), x, rate); len(got) != 0 {
		t.Errorf("beep at −53 dBFS reported at %v with the default MinLevel", got)
	}
	d = audio.NewBeepDetector(rate)
	d.MinLevel = -60
	if got := beepReports(d, x, rate); len(got) != 1 {
		t.Errorf("beep at −53 dBFS with MinLevel −60: reports %v, want one", got)
	}
}

// TestBeepDetector_ChunksAndReset: the stream may come in chunks of any
// size; Reset forgets a tone in progress.
func TestBeepDetector_ChunksAndReset(t *testing.T) {
	t.Parallel()
	const rate = 8000
	x := noise(rand.New(rand.NewPCG(3, 4)), -35, rate)
	mixInto(x, 2003, tone(rate, 1000, -12, samplesAt(rate, 200*time.Millisecond)))
	want := beepReports(audio.NewBeepDetector(rate), x, rate)
	if len(want) != 1 {
		t.Fatalf("in frames: reports %v, want one", want)
	}
	d := audio.NewBeepDetector(rate)
	var got []int
	for i := 0; i < len(x); i += 37 {
		end := min(i+37, len(x))
		if d.Push(x[i:end]) {
			got = append(got, end)
		}
	}
	// The beep ends in the block that ends at want; the chunk that
	// completes that block ends less than 37 samples after it.
	wantAt := samplesAt(rate, want[0])
	if len(got) != 1 || got[0] < wantAt || got[0] >= wantAt+37 {
		t.Errorf("in chunks of 37 samples: reports at samples %v, want one in [%d, %d)", got, wantAt, wantAt+37)
	}

	// 80 ms of tone, Reset, 80 ms more: two halves too short.
	tn := tone(rate, 1000, -12, samplesAt(rate, 160*time.Millisecond))
	half := len(tn) / 2
	for _, reset := range []bool{false, true} {
		d := audio.NewBeepDetector(rate)
		n := len(beepReports(d, tn[:half], rate))
		if reset {
			d.Reset()
		}
		n += len(beepReports(d, append(tn[half:], make([]int16, rate/10)...), rate))
		if want := map[bool]int{false: 1, true: 0}[reset]; n != want {
			t.Errorf("reset %v: %d beeps, want %d", reset, n, want)
		}
	}
}

func TestNewBeepDetector_BadRate(t *testing.T) {
	t.Parallel()
	for _, rate := range []int{0, -8000, 4000, 96000} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewBeepDetector(%d) did not panic", rate)
				}
			}()
			audio.NewBeepDetector(rate)
		}()
	}
}

// espeak synthesizes text with the espeak-ng binary (arguments args) and
// returns it at 22.05 kHz. It skips the test when espeak-ng is not
// installed.
func espeak(t *testing.T, args ...string) *audio.WAV {
	t.Helper()
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Skipf("espeak-ng is not installed (%v): no real speech to test with", err)
	}
	out, err := exec.Command(bin, append([]string{"--stdout"}, args...)...).Output()
	if err != nil {
		t.Fatalf("espeak-ng %q: %v", args, err)
	}
	w, err := audio.ReadWAV(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("espeak-ng's output: %v", err)
	}
	if w.Channels != 1 || w.Duration() < 500*time.Millisecond {
		t.Fatalf("espeak-ng's output: %d channels, %v", w.Channels, w.Duration())
	}
	return w
}

// TestBeepDetector_Speech: real synthesized speech, in several voices,
// slow and high-pitched, is not a beep; the beep after a voicemail
// greeting is, once.
func TestBeepDetector_Speech(t *testing.T) {
	t.Parallel()
	const greeting = "Hi, you've reached Sam. I can't take your call right now. Please leave your name, number and a short message after the tone, and I'll call you back. Thanks! Bye."
	texts := []string{
		greeting,
		"Hello? Hello? Yes, this is she. Who's calling, please?",
		"Ooooooh. Aaaaaah. Mmmmmm. Eeeeeee. Hmmmm?",
		"One two three four five six seven eight nine ten.",
	}
	voices := [][]string{
		{"-v", "en-us"},
		{"-v", "en-gb"},
		{"-v", "en-us+f3", "-p", "80"},
		{"-v", "en-us+f4", "-p", "99", "-s", "110"}, // the highest voice: fundamentals up to 330 Hz
		{"-v", "en-us", "-p", "10", "-s", "90"},
	}
	for i, v := range voices {
		t.Run(fmt.Sprintf("voice%d", i), func(t *testing.T) {
			t.Parallel()
			for j, text := range texts {
				w := espeak(t, append(v, text)...)
				for _, rate := range []int{8000, 16000} {
					speech := resampleFrames(t, w.Rate, rate, w.Samples)
					if got := beepReports(audio.NewBeepDetector(rate), speech, rate); len(got) != 0 {
						t.Errorf("%d Hz, %q: beeps at %v, want none", rate, text, got)
					}
					if j != 0 {
						continue
					}
					// The greeting, 400 ms of silence, the beep (500 ms
					// of 1000 Hz), the silence of the recording.
					start := len(speech) + samplesAt(rate, 400*time.Millisecond)
					x := append(speech, make([]int16, samplesAt(rate, 2*time.Second))...)
					mixInto(x, start, tone(rate, 1000, -10, samplesAt(rate, 500*time.Millisecond)))
					end := time.Duration(start)*time.Second/time.Duration(rate) + 500*time.Millisecond
					got := beepReports(audio.NewBeepDetector(rate), x, rate)
					if len(got) != 1 || got[0] < end || got[0] > end+40*time.Millisecond {
						t.Errorf("%d Hz: greeting then beep ending at %v: reports %v, want one within 40 ms", rate, end, got)
					}
				}
			}
		})
	}
}

func BenchmarkBeepDetector(b *testing.B) {
	for _, rate := range []int{8000, 16000} {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x := noise(rng, -30, rate)
			mixInto(x, 0, tone(rate, 1000, -12, rate))
			d := audio.NewBeepDetector(rate)
			step := audio.SamplesPerFrame(rate)
			frames := len(x) / step
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				d.Push(x[i*step : (i+1)*step])
				i = (i + 1) % frames
			}
		})
	}
}

// FuzzBeepDetector: any audio, in chunks of any size, at either rate, is
// taken without a panic, and a beep reported has a frequency in range.
func FuzzBeepDetector(f *testing.F) {
	f.Add([]byte{0, 0, 0x7f, 0xff, 0x80, 0x00}, uint8(7), false)
	f.Add(bytes.Repeat([]byte{0x10, 0x20}, 4000), uint8(160), true)
	f.Fuzz(func(t *testing.T, raw []byte, chunk uint8, wide bool) {
		rate := 8000
		if wide {
			rate = 16000
		}
		d := audio.NewBeepDetector(rate)
		samples := make([]int16, len(raw)/2)
		for i := range samples {
			samples[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
		}
		step := max(int(chunk), 1)
		for i := 0; i < len(samples); i += step {
			if d.Push(samples[i:min(i+step, len(samples))]) {
				if hz, _ := d.Beep(); hz < 300 || hz > 3500 {
					t.Fatalf("beep at %.0f Hz", hz)
				}
			}
		}
	})
}
