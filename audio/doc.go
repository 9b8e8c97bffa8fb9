// Package audio is the audio layer that calls plug into: 16-bit linear PCM
// frames and the small interfaces that move them (Source, Sink), resampling
// between the rates of codecs and speech engines, the RTP payload codecs of
// phone calls (G.711 μ-law and A-law, G.722), mixing, voice detection on a
// line's energy, two-channel WAV recording and real-time pacing of outgoing
// frames.
//
// It is a leaf: it imports nothing of this module, so the telephony edge
// (sip, rtp), the conversation engine (voice), speech providers (espeak, …)
// and web calls can all share it. Everything here is in-process and
// synchronous except where a type says otherwise; a call moves 20 ms frames
// (FrameDuration).
//
// Nothing in this package keeps package-level state: resamplers, codecs,
// detectors and recorders are values that belong to one stream of one call.
package audio
