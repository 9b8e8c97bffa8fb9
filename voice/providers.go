package voice

import (
	"context"
	"time"

	"github.com/agentphone/agentphone/audio"
)

// The speech providers the conversation engine consumes. Each provider is
// an adapter package of its own (espeak, deepgram, openai, elevenlabs)
// implementing one or more of these; cmd/agentphone chooses which serve a
// call.

// SpeechRequest asks a Synthesizer to speak one piece of text (the engine
// sends a sentence or a clause at a time).
type SpeechRequest struct {
	Text string
	// Voice is the voice id as agents store it (a voice_id of GET
	// /v1/agents/voices, e.g. "espeak-brian", "11labs-Rachel",
	// "openai-alloy", "deepgram-aura-2-thalia-en").
	Voice string
	// Speed multiplies the voice's natural rate (agent voiceSpeed,
	// 0.5–2.0; 0 means 1).
	Speed float64
	// Language is the agent's BCP-47 language, e.g. "en-US".
	Language string
	// Rate is the PCM rate the call wants (8000 or 16000). A provider
	// that can produce it should; any other rate is resampled by the
	// engine.
	Rate int
}

// Synthesizer turns text into speech as a stream.
type Synthesizer interface {
	// Stream speaks req, calling emit with 16-bit mono PCM chunks (any
	// length, all at one rate) as soon as the provider produces them. It
	// returns after the last chunk, at the first error (emit's included),
	// or promptly when ctx ends.
	Stream(ctx context.Context, req SpeechRequest, emit func(audio.Frame) error) error
}

// TranscribeOptions configures a recognition stream or request.
type TranscribeOptions struct {
	// Rate is the PCM rate of the audio sent (8000 or 16000).
	Rate int
	// Language is the agent's BCP-47 language, e.g. "en-US".
	Language string
	// Mode is the agent's sttMode: "fast" (lower latency, shorter
	// endpointing) or "accurate" (the provider's more accurate model).
	Mode string
}

// Transcript is what a recogniser heard.
type Transcript struct {
	Text string
	// Final: this text of this stretch of audio will not change. Partial
	// (interim) results have Final false.
	Final bool
	// EndOfSpeech: the provider's own endpointing says the speaker has
	// stopped (Deepgram's speech_final). Advisory: the engine decides the
	// end of a turn.
	EndOfSpeech bool
	// Confidence is 0–1 (0 when the provider gives none).
	Confidence float64
	// Start and End are offsets of the words in the audio sent on the
	// stream (or in the file), when the provider tells them.
	Start, End time.Duration
}

// Transcriber recognises speech as it is spoken, over one long-lived
// stream per call (Deepgram live).
type Transcriber interface {
	Open(ctx context.Context, o TranscribeOptions) (TranscriptionStream, error)
}

// TranscriptionStream is one call's recognition stream.
type TranscriptionStream interface {
	// Send gives the recogniser the next 20 ms of caller audio, at the
	// stream's Rate. It must not block for long: a provider that cannot
	// keep up buffers or fails.
	Send(f audio.Frame) error
	// Results delivers transcripts in order. It is closed when the stream
	// has ended: after Close has flushed the last results, or when the
	// stream failed (Err says why).
	Results() <-chan Transcript
	// Close asks for the final results of the audio sent and ends the
	// stream; Results then closes. Safe to call more than once.
	Close() error
	// Err is why the stream ended early, or nil.
	Err() error
}

// Finalizer is a TranscriptionStream that can be asked for the final
// results of the audio sent so far at once (Deepgram's Finalize), instead
// of when its own endpointing decides: the engine asks when it has
// decided the caller stopped but the words are not final yet. Finalize
// must not wait.
type Finalizer interface {
	Finalize() error
}

// FileTranscriber recognises one finished utterance per request: OpenAI's
// transcriptions and the servers that copy its API (whisper.cpp's server,
// faster-whisper servers). The engine cuts the caller's audio into
// utterances with its own detector and sends each as it ends.
type FileTranscriber interface {
	TranscribeFile(ctx context.Context, speech audio.Frame, o TranscribeOptions) (Transcript, error)
}
