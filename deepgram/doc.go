// Package deepgram is agentphone's adapter to Deepgram's speech APIs:
//
//   - Transcriber (listen.go) is a voice.Transcriber over the live
//     speech-to-text WebSocket, GET /v1/listen: one stream per call, the
//     caller's 20 ms frames sent as raw linear16 mono binary messages,
//     interim and final transcripts back as JSON.
//   - Speaker (speak.go) is a voice.Synthesizer over Aura text-to-speech,
//     POST /v1/speak: raw linear16 PCM streamed back in the response body
//     and handed on chunk by chunk as it arrives.
//   - Catalog (voices.go) lists Aura voices as agentphone.Voices with ids
//     "deepgram-<model>", e.g. "deepgram-aura-2-thalia-en"; ModelForVoice
//     maps an id back to the model.
//
// Package deepgramtest is a local fake of both endpoints for tests.
//
// # Wire format
//
// As documented by Deepgram (developers.deepgram.com, the AsyncAPI of
// listen.v1 and the OpenAPI of POST /v1/speak) and mirrored by deepgramtest:
//
//	GET  /v1/listen?encoding=linear16&sample_rate=16000&channels=1&model=nova-3
//	     &language=en-US&interim_results=true&punctuate=true&smart_format=true
//	     &endpointing=300&utterance_end_ms=1000&vad_events=true
//	     Authorization: Token <key>                      → 101, WebSocket
//	  client → binary audio; text {"type":"KeepAlive"} | {"type":"CloseStream"}
//	  server → text {"type":"Results", "start", "duration", "is_final",
//	           "speech_final", "channel":{"alternatives":[{"transcript",
//	           "confidence", "words"}]}, …} | {"type":"UtteranceEnd",
//	           "last_word_end"} | {"type":"SpeechStarted", "timestamp"} |
//	           {"type":"Metadata", "request_id", …} | {"type":"Error", …};
//	           errors end the stream with a close frame such as 1011 "NET-0001"
//	POST /v1/speak?model=aura-2-thalia-en&encoding=linear16&sample_rate=8000
//	     &container=none[&speed=1.2]   {"text": "…"}     → 200, raw PCM
//
// A failed handshake or request is answered with an HTTP error whose JSON
// body is {"err_code", "err_msg", "request_id"} or {"category", "message",
// "details", "request_id"} (the handshake also in a dg-error header); both
// come back as *Error.
//
// # Why github.com/coder/websocket and not Deepgram's Go SDK
//
// The official github.com/deepgram/deepgram-go-sdk can be pointed at
// another host, but it logs through klog, whose Init sets klog's flags and
// calls flag.Parse on the process's global FlagSet; it runs its own
// goroutines and keep-alive behind callbacks or channels that we would
// have to bridge to package voice's interfaces; and its module pulls in a
// fork of gorilla/websocket (github.com/dvonthenen/websocket), portaudio
// and more for the two endpoints used here. github.com/coder/websocket is
// a small, maintained WebSocket library whose every call takes a
// context.Context and which starts no goroutines of its own, so the
// stream's lifetime (Close, ctx) is entirely ours and testable against
// deepgramtest; /v1/speak is one net/http request.
package deepgram
