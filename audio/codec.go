package audio

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/zaf/g711"
)

// Codec converts between linear PCM and one RTP audio payload format.
//
// A Codec may keep state between calls (G.722 is adaptive), so each stream
// gets its own, from NewCodec or a constructor. Encode and Decode keep
// separate state: one Codec may encode a call's outgoing audio in one
// goroutine while it decodes the incoming audio in another, but neither
// method may run concurrently with itself.
type Codec interface {
	// Name is the encoding name of SDP's a=rtpmap (RFC 4566 §6), e.g. "PCMU".
	Name() string
	// PayloadType is the static RTP payload type (RFC 3551 §6).
	PayloadType() uint8
	// ClockRate is the RTP timestamp rate, which for G.722 is not its
	// sample rate (RFC 3551 §4.5.2).
	ClockRate() int
	// SampleRate is the rate of the PCM that Encode takes and Decode gives.
	SampleRate() int
	// Encode appends the payload for pcm (at SampleRate) to dst and
	// returns the extended slice.
	Encode(pcm []int16, dst []byte) []byte
	// Decode appends the PCM (at SampleRate) of one payload to dst and
	// returns the extended slice. Any payload decodes, to noise if it is
	// not of this codec.
	Decode(payload []byte, dst []int16) []int16
}

// ErrUnknownCodec is returned by NewCodec and CodecForPayloadType for a
// codec this package does not have.
var ErrUnknownCodec = errors.New("unknown codec")

// Compile-time checks that the codecs implement Codec.
var (
	_ Codec = PCMU{}
	_ Codec = PCMA{}
	_ Codec = (*G722)(nil)
)

// NewCodec returns a new codec for an SDP encoding name ("PCMU", "PCMA",
// "G722"; any case). It returns an error wrapping ErrUnknownCodec for any
// other name.
func NewCodec(name string) (Codec, error) {
	switch strings.ToUpper(name) {
	case "PCMU":
		return PCMU{}, nil
	case "PCMA":
		return PCMA{}, nil
	case "G722":
		return NewG722(), nil
	}
	return nil, fmt.Errorf("audio: codec %q: %w", name, ErrUnknownCodec)
}

// CodecForPayloadType returns a new codec for a static RTP payload type:
// 0 (PCMU), 8 (PCMA) or 9 (G722). It returns an error wrapping
// ErrUnknownCodec for any other.
func CodecForPayloadType(pt uint8) (Codec, error) {
	switch pt {
	case 0:
		return PCMU{}, nil
	case 8:
		return PCMA{}, nil
	case 9:
		return NewG722(), nil
	}
	return nil, fmt.Errorf("audio: payload type %d: %w", pt, ErrUnknownCodec)
}

// PCMU is G.711 μ-law at 8 kHz, one byte a sample (RFC 3551 §4.5.14), the
// codec of North American and Japanese phone networks. It keeps no state.
type PCMU struct{}

// Name returns "PCMU".
func (PCMU) Name() string { return "PCMU" }

// PayloadType returns 0.
func (PCMU) PayloadType() uint8 { return 0 }

// ClockRate returns 8000.
func (PCMU) ClockRate() int { return 8000 }

// SampleRate returns 8000.
func (PCMU) SampleRate() int { return 8000 }

// Encode appends one μ-law byte per sample of pcm to dst.
func (PCMU) Encode(pcm []int16, dst []byte) []byte {
	dst = slices.Grow(dst, len(pcm))
	for _, s := range pcm {
		dst = append(dst, g711.EncodeUlawFrame(s))
	}
	return dst
}

// Decode appends one sample per byte of payload to dst.
func (PCMU) Decode(payload []byte, dst []int16) []int16 {
	dst = slices.Grow(dst, len(payload))
	for _, b := range payload {
		dst = append(dst, g711.DecodeUlawFrame(b))
	}
	return dst
}

// PCMA is G.711 A-law at 8 kHz, one byte a sample (RFC 3551 §4.5.14), the
// codec of most phone networks outside North America. It keeps no state.
type PCMA struct{}

// Name returns "PCMA".
func (PCMA) Name() string { return "PCMA" }

// PayloadType returns 8.
func (PCMA) PayloadType() uint8 { return 8 }

// ClockRate returns 8000.
func (PCMA) ClockRate() int { return 8000 }

// SampleRate returns 8000.
func (PCMA) SampleRate() int { return 8000 }

// Encode appends one A-law byte per sample of pcm to dst.
func (PCMA) Encode(pcm []int16, dst []byte) []byte {
	dst = slices.Grow(dst, len(pcm))
	for _, s := range pcm {
		dst = append(dst, g711.EncodeAlawFrame(s))
	}
	return dst
}

// Decode appends one sample per byte of payload to dst.
func (PCMA) Decode(payload []byte, dst []int16) []int16 {
	dst = slices.Grow(dst, len(payload))
	for _, b := range payload {
		dst = append(dst, g711.DecodeAlawFrame(b))
	}
	return dst
}
