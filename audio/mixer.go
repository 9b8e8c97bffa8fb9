package audio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Mix adds src into dst sample by sample, saturating at the limits of
// int16 rather than wrapping. It mixes min(len(dst), len(src)) samples.
func Mix(dst, src []int16) {
	n := min(len(dst), len(src))
	for i := range n {
		dst[i] = saturate16(int32(dst[i]) + int32(src[i]))
	}
}

// Mixer is a Source that mixes the frames of several inputs into one: the
// parties of a conference, or a voice over ambient sound. Each ReadFrame
// reads one frame from every input, in the order they were added, and
// sums them with saturation. With no input it gives a frame of silence,
// so a mixer is a continuous stream.
//
// Inputs are read in turn, so they should answer at once (a buffer, a file,
// a synthesizer's utterance), not wait on the network. An input that
// returns io.EOF is dropped. Inputs may be added and removed from other
// goroutines while the mixer is read; ReadFrame itself is for one reader
// at a time.
type Mixer struct {
	rate int

	mu     sync.Mutex // guards inputs and nextID
	inputs []mixerInput
	nextID int

	mix []int32 // scratch; touched only by ReadFrame
}

type mixerInput struct {
	id  int
	src Source
}

// NewMixer returns a mixer whose frames are at rate samples/s. Inputs must
// give frames at that rate.
func NewMixer(rate int) *Mixer {
	return &Mixer{rate: rate}
}

// Rate is the sample rate of the mixer's frames.
func (m *Mixer) Rate() int { return m.rate }

// Add adds an input and returns a function that removes it; calling that
// function more than once is harmless.
func (m *Mixer) Add(src Source) (remove func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.nextID
	m.nextID++
	m.inputs = append(m.inputs, mixerInput{id: id, src: src})
	return func() { m.remove(id) }
}

func (m *Mixer) remove(id int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, in := range m.inputs {
		if in.id == id {
			m.inputs = append(m.inputs[:i:i], m.inputs[i+1:]...)
			return
		}
	}
}

// Len is the number of inputs.
func (m *Mixer) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.inputs)
}

// ReadFrame reads one frame from each input and returns their sum. The
// frame is as long as the longest input frame (shorter ones are padded
// with silence), or 20 ms of silence when no input gave anything. It
// returns an error, and no frame, when an input fails with an error other
// than io.EOF (the input stays: remove it if it cannot recover) or gives a
// frame at another rate; and ctx's error when ctx is done.
func (m *Mixer) ReadFrame(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	m.mu.Lock()
	inputs := append([]mixerInput(nil), m.inputs...)
	m.mu.Unlock()

	m.mix = m.mix[:0]
	for _, in := range inputs {
		f, err := in.src.ReadFrame(ctx)
		if errors.Is(err, io.EOF) {
			m.remove(in.id)
			continue
		}
		if err != nil {
			return Frame{}, fmt.Errorf("audio: mixer input: %w", err)
		}
		if len(f.Samples) == 0 {
			continue
		}
		if f.Rate != m.rate {
			return Frame{}, fmt.Errorf("audio: mixer input at %d Hz, mixer at %d Hz", f.Rate, m.rate)
		}
		for len(m.mix) < len(f.Samples) {
			m.mix = append(m.mix, 0)
		}
		for i, s := range f.Samples {
			m.mix[i] += int32(s)
		}
	}

	n := len(m.mix)
	if n == 0 {
		n = SamplesPerFrame(m.rate)
	}
	out := Frame{Samples: make([]int16, n), Rate: m.rate}
	for i, v := range m.mix {
		out.Samples[i] = saturate16(v)
	}
	return out, nil
}
