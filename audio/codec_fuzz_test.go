package audio_test

import (
	"testing"

	"github.com/agentphone/agentphone/audio"
)

// FuzzDecode feeds payloads from the network to every decoder: none may
// panic, and each gives its fixed number of samples per byte.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80})
	f.Add(make([]byte, 160))
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, c := range []audio.Codec{audio.PCMU{}, audio.PCMA{}, audio.NewG722()} {
			perByte := c.SampleRate() / c.ClockRate()
			// Decode the payload several times in a row: G.722's state
			// must stay in range whatever it is fed.
			for range 3 {
				if got := c.Decode(payload, nil); len(got) != perByte*len(payload) {
					t.Fatalf("%s: %d bytes decoded to %d samples, want %d", c.Name(), len(payload), len(got), perByte*len(payload))
				}
			}
		}
	})
}
