// Command wavinfo prints a recording's channels, rate and length, and the
// level of each channel, for scripts/bench-calls.
//
// Usage: go run ./scripts/bench/wavinfo FILE.wav
package main

import (
	"fmt"
	"os"

	"github.com/agentphone/agentphone/audio"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wavinfo FILE.wav")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	w, err := audio.ReadWAV(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d channels, %d Hz, %.2f s", w.Channels, w.Rate, w.Duration().Seconds())
	for i := range w.Channels {
		fmt.Printf(", channel %d at %.1f dBFS", i, audio.LevelDBFS(w.Channel(i)))
	}
	fmt.Println()
}
