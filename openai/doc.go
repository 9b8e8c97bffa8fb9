// Package openai is the speech provider for OpenAI's audio API and the
// language model of its chat completions, for OpenAI and for every server
// that copies them, chosen by base URL: whisper.cpp's server,
// faster-whisper servers such as speaches, local text-to-speech servers
// (Kokoro-FastAPI, openedai-speech, …), and chat servers (llama.cpp's
// server, vLLM, Ollama, Groq, …).
//
//   - Transcriber (voice.FileTranscriber) sends each finished utterance as a
//     WAV file to POST {BaseURL}/audio/transcriptions and reads the text
//     and a confidence from the json or verbose_json answer.
//   - RealtimeTranscriber (voice.Transcriber, voice.Finalizer) streams a
//     call's audio, resampled to 24 kHz, over a WebSocket to
//     {BaseURL}/realtime?intent=transcription (OpenAI's Realtime API in
//     transcription mode, beta events) and turns the server's
//     transcription deltas into interim transcripts and its completed
//     events into final ones; the server's VAD ends the utterances.
//   - Speaker (voice.Synthesizer) asks POST {BaseURL}/audio/speech for raw
//     PCM and hands it on as it arrives.
//   - Chat (voice.LLM) streams POST {BaseURL}/chat/completions for the
//     hosted agents: the text as it is written, tool calls assembled from
//     their deltas and handed on whole. It sends max_tokens (which the
//     copies of the API know) and no stream_options, and takes a stream
//     that ends without a finish_reason or [DONE].
//   - Catalog (agentphone.VoiceCatalog) lists OpenAI's built-in voices as
//     "openai-<name>"; VoiceName and VoiceID map between the two.
//
// Requests go through the official SDK, github.com/openai/openai-go/v3,
// built from Config alone: unlike openai.NewClient it reads no OPENAI_*
// environment variable (only main reads the environment). The SDK's wire
// handling is kept; a middleware of ours adds what servers copying the API
// need: their error bodies ({"error": "text"} of whisper.cpp, {"detail": …}
// of FastAPI servers, plain text) are turned into OpenAI's error shape so
// that every failure reaches the caller as an *APIError with the server's
// message, and answers are bounded in size.
//
// whisper.cpp's server answers at /inference unless it is started with
// --inference-path /v1/audio/transcriptions; BaseURL is then
// http://host:port/v1. It also reports some failures with status 200 and
// {"error": "…"}, which TranscribeFile returns as an *APIError.
package openai
