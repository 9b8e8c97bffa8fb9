package audio_test

import (
	"fmt"

	"github.com/agentphone/agentphone/audio"
)

// espeak-ng speaks at 22.05 kHz; a G.711 call carries 8 kHz. Every 20 ms
// frame in gives a 20 ms frame out.
func ExampleNewResampler() {
	r, err := audio.NewResampler(22050, 8000)
	if err != nil {
		panic(err)
	}
	for range 3 {
		out := r.Resample(make([]int16, audio.SamplesPerFrame(22050)))
		fmt.Println(len(out))
	}
	// Output:
	// 160
	// 160
	// 160
}

// G.722's audio is 16 kHz but its RTP clock runs at 8 kHz: a 20 ms packet
// holds 320 samples in 160 bytes and advances the timestamp by 160.
func ExampleNewCodec() {
	c, err := audio.NewCodec("G722")
	if err != nil {
		panic(err)
	}
	payload := c.Encode(make([]int16, audio.SamplesPerFrame(c.SampleRate())), nil)
	fmt.Println(c.PayloadType(), c.ClockRate(), c.SampleRate(), len(payload))
	// Output: 9 8000 16000 160
}
