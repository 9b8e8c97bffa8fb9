package audio_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/agentphone/agentphone/audio"
)

// frameSource gives its frames, then io.EOF.
func frameSource(rate int, frames ...[]int16) audio.Source {
	return audio.SourceFunc(func(ctx context.Context) (audio.Frame, error) {
		if len(frames) == 0 {
			return audio.Frame{}, io.EOF
		}
		f := frames[0]
		frames = frames[1:]
		return audio.Frame{Samples: f, Rate: rate}, nil
	})
}

func TestMixer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := audio.NewMixer(8000)

	// No input: 20 ms of silence.
	f, err := m.ReadFrame(ctx)
	if err != nil || f.Rate != 8000 || len(f.Samples) != 160 || slices.ContainsFunc(f.Samples, func(s int16) bool { return s != 0 }) {
		t.Fatalf("empty mixer gave %v, %v; want 160 silent samples", f, err)
	}

	m.Add(frameSource(8000, []int16{100, 30000, -30000, 1}, []int16{5}))
	removeB := m.Add(frameSource(8000, []int16{-50, 10000, -10000}, []int16{6}, []int16{7}))
	f, err = m.ReadFrame(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int16{50, 32767, -32768, 1}; !slices.Equal(f.Samples, want) {
		t.Errorf("mixed %v, want %v (saturated, shorter input padded)", f.Samples, want)
	}
	f, _ = m.ReadFrame(ctx)
	if !slices.Equal(f.Samples, []int16{11}) {
		t.Errorf("second frame %v, want [11]", f.Samples)
	}
	// The first input ends and is dropped; the second goes on.
	f, _ = m.ReadFrame(ctx)
	if !slices.Equal(f.Samples, []int16{7}) || m.Len() != 1 {
		t.Errorf("third frame %v with %d inputs, want [7] with 1", f.Samples, m.Len())
	}
	removeB()
	removeB()
	if m.Len() != 0 {
		t.Errorf("%d inputs after removing all, want 0", m.Len())
	}
}

func TestMixer_Errors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := audio.NewMixer(8000)
	m.Add(frameSource(16000, make([]int16, 320)))
	if _, err := m.ReadFrame(ctx); err == nil {
		t.Error("input at 16 kHz mixed into an 8 kHz mixer")
	}

	boom := errors.New("boom")
	m = audio.NewMixer(8000)
	m.Add(audio.SourceFunc(func(ctx context.Context) (audio.Frame, error) { return audio.Frame{}, boom }))
	if _, err := m.ReadFrame(ctx); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the input's", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.ReadFrame(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestMix(t *testing.T) {
	t.Parallel()
	dst := []int16{1, 32000, -32000}
	audio.Mix(dst, []int16{2, 1000, -1000, 99})
	if want := []int16{3, 32767, -32768}; !slices.Equal(dst, want) {
		t.Errorf("Mix = %v, want %v", dst, want)
	}
}
