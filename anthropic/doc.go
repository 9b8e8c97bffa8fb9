// Package anthropic is the language model of hosted agents on Anthropic's
// Messages API: Client implements voice.LLM, streaming each answer with
// POST {BaseURL}/v1/messages and "stream": true, and turning Anthropic's
// server-sent events into voice.LLMEvents as they arrive.
//
// The request: the system prompt, the conversation (an assistant's tool
// calls as tool_use blocks, the tools' results grouped into one user
// message of tool_result blocks, messages of one role in a row merged so
// that the roles alternate, as Anthropic requires), the tools with their
// JSON Schemas, and max_tokens (DefaultMaxTokens when the request gives
// none). The answer: each text_delta as it arrives; each tool_use block as
// one tool call once it stops, its input_json_delta pieces joined; the
// message's stop_reason on the last event; io.EOF after message_stop. An
// error event in the middle of the answer (overloaded_error, …) and an
// answer refused before it starts (401, 429, 529, …) are *APIErrors with
// Anthropic's error type and message.
//
// Requests go through the official SDK,
// github.com/anthropics/anthropic-sdk-go/v2, which speaks API version
// 2026-10-21 (the "anthropic-version" header it sends). That version
// refuses the sampling parameters, so voice.LLMRequest.Temperature is not
// sent. The SDK's message service is built from Config alone: it reads no
// ANTHROPIC_* environment variable and no profile file (only main reads
// the environment), and its OpenTelemetry spans are off. The API key goes
// in the "x-api-key" header.
//
// Package anthropictest is a local fake of the Messages API for tests.
package anthropic
