// Package elevenlabs is agentphone's ElevenLabs text-to-speech provider:
// Speaker streams speech for the conversation engine (a voice.Synthesizer)
// and its Catalog lists the account's voices for GET /v1/agents/voices (an
// agentphone.VoiceCatalog), as ids of the form "11labs-<Name>", the ids the
// hosted AgentPhone API uses ("11labs-Brian", "11labs-Rachel").
//
// Wire format, as documented by ElevenLabs and mirrored by elevenlabstest:
//
//	POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_16000[&optimize_streaming_latency=N]
//	     xi-api-key: <key>
//	     {"text", "model_id", "language_code", "voice_settings": {"speed"}}
//	     → 200, raw 16-bit little-endian mono PCM, streamed as it is made
//	GET  /v1/voices
//	     → 200 {"voices": [{"voice_id", "name", "category", "labels": {"gender",
//	       "accent", "language", …}, "preview_url", "verified_languages": […]}]}
//
// Failures come back as {"detail": {"type", "code", "message", "status",
// "request_id", "param"}} (older answers carry only "status" and
// "message"; request validation errors may carry a list of {"loc", "msg",
// "type"}), returned as *Error.
//
// Choices made against the documentation:
//
//   - PCM at the call's rate: pcm_8000 and pcm_16000 exist, so a call at
//     8 or 16 kHz gets its own rate and nothing is resampled or decoded.
//     Other rates get pcm_16000 (up to 16 kHz) or pcm_24000; the engine
//     resamples.
//   - voice_settings.speed accepts 0.7–1.2 at ElevenLabs (agents allow
//     0.5–2.0): the agent's voiceSpeed is held to that range, and at 1 no
//     voice_settings are sent, so the voice's stored settings apply.
//   - language_code (ISO 639-1, taken from the agent's BCP-47 language) is
//     sent to every model but the older ones documented not to take it
//     (eleven_multilingual_v2 and the v1/v2 models before v2.5).
//   - optimize_streaming_latency is deprecated by ElevenLabs and its level
//     4 turns text normalisation off (numbers and dates are misread), so it
//     is sent only when Config.OptimizeStreamingLatency asks for it; the
//     default model, eleven_flash_v2_5, is already ElevenLabs' lowest-latency
//     model (~75 ms).
//
// The client is net/http rather than an SDK: ElevenLabs publishes no
// official Go SDK (its SDKs are Python, JavaScript, Swift and Kotlin; the
// module proxy has nothing under github.com/elevenlabs), and the two
// endpoints used here are one JSON POST with a streamed body and one GET,
// which costs less code than a community SDK's dependency tree and keeps
// context.Context cancellation and the base URL (for the fake in
// elevenlabstest) under our control.
package elevenlabs
