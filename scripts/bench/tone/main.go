// Command tone writes the raw G.711 A-law audio that scripts/bench-calls
// has sipp stream into each call as the caller's voice (sipp's rtp_stream
// takes a headerless file in the payload's encoding): a 10 s loop of a
// 440 Hz tone at −20 dBFS whose loudness rises and falls every second, so
// that voice detectors see speech and pauses.
//
// Usage: go run ./scripts/bench/tone -o caller.al
package main

import (
	"flag"
	"fmt"
	"math"
	"os"

	"github.com/agentphone/agentphone/audio"
)

func main() {
	out := flag.String("o", "caller.al", "output file (raw A-law, 8 kHz)")
	seconds := flag.Int("s", 10, "length in seconds")
	flag.Parse()
	const rate = 8000
	pcm := make([]int16, *seconds*rate)
	amp := 0.1 * math.MaxInt16 // −20 dBFS
	for i := range pcm {
		t := float64(i) / rate
		env := 0.5 + 0.5*math.Sin(2*math.Pi*0.5*t) // a second loud, a second quiet
		pcm[i] = int16(amp * env * math.Sin(2*math.Pi*440*t))
	}
	if err := os.WriteFile(*out, audio.PCMA{}.Encode(pcm, nil), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "tone:", err)
		os.Exit(1)
	}
}
