// Package openai is the speech provider for OpenAI's audio API and for every
// server that copies it, chosen by base URL: whisper.cpp's server,
// faster-whisper servers such as speaches, and local text-to-speech servers
// (Kokoro-FastAPI, openedai-speech, …).
//
//   - Transcriber (voice.FileTranscriber) sends each finished utterance as a
//     WAV file to POST {BaseURL}/audio/transcriptions and reads the text
//     and a confidence from the json or verbose_json answer.
//   - Speaker (voice.Synthesizer) asks POST {BaseURL}/audio/speech for raw
//     PCM and hands it on as it arrives.
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
