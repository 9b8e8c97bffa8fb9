// Package hosted runs hosted-mode agents: the built-in LLM answers the
// caller's turns (voice.Responder), with built-in and custom tools.
package hosted
