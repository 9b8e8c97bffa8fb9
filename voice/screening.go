package voice

import "strings"

// Call screeners answer a call for a person and ask the caller who they
// are and why they call, to show the person a transcript: Google's Call
// Screen on Pixel phones, Apple's Call Screening (iOS 26), the carriers'
// privacy managers. They talk like an answering machine (a long prompt,
// sometimes "after the tone") but want a spoken answer, not a message: the
// agent should say who it is and why it calls (ScreeningReply), then wait.
// A person's own "Who is this?" gets the same answer, which does them no
// harm either.

// screenerPhrases are what screeners' prompts say and a person answering
// does not (English). Each alone makes a prompt a screener's. They are
// matched as whole words after the text has been lower-cased, stripped of
// punctuation and had its contractions spelled out (as voicemailPhrases):
// "say your name" matches "Go ahead and SAY YOUR NAME, and why you're
// calling."
//
//   - Google Call Screen: "Hi, the person you're calling is using a
//     screening service from Google and will get a copy of this
//     conversation. Go ahead and say your name and why you're calling.";
//     "Hi, this is the Google Assistant…"; "Can I ask what you're calling
//     about?"
//   - Apple Call Screening: "Hi, if you record your name and reason for
//     calling, I'll see if this person is available."; "Who's calling and
//     why?"; "Please state your name and the reason for your call."
//   - Carriers' privacy managers: "The party you are trying to reach does
//     not accept unidentified calls. Please say your name after the
//     tone."; "State your name"; "Record your name".
//
// A receptionist may ask the same ("Can I ask what you're calling about?",
// "May I ask the reason for your call?"); the answer suits them too.
var screenerPhrases = []string{
	"screening service", "call screening", "call screen", "being screened", "screening this call",
	"screening your call", "google assistant", "get a copy of this conversation",
	"see if this person is available", "see if they are available",
	"what you are calling about", "why you are calling", "who is calling and why",
	"reason for your call", "reason for calling",
	"say your name", "state your name", "record your name", "speak your name",
	"unidentified calls", "unidentified callers",
}

// screenerQuestions are a screener's questions that people ask as well:
// "Who is this?", "Who's calling?", "What is this regarding?". They make a
// screener's prompt only with one of screenerContext, the words of an
// automated prompt, so that a person's "Hello? Who is this?" is not taken
// for a screener.
var screenerQuestions = []string{
	"who is calling", "who is this", "who is speaking", "what is this regarding", "what is this about",
	"what is this in regards to", "what is it regarding", "what is the call regarding",
	"what are you calling about",
}

// screenerContext are the words of an automated prompt that make a
// question of screenerQuestions a screener's.
var screenerContext = []string{
	"screen", "screening", "screened", "assistant", "google", "siri", "automated", "recorded",
	"record", "recording", "transcribed", "transcript", "after the tone", "after the beep",
	"the person you are calling", "the person you are trying to reach",
	"the party you are calling", "the party you are trying to reach", "this call is being",
}

var (
	screenerMatch    = phraseSet(screenerPhrases)
	screenerQuestion = phraseSet(screenerQuestions)
	screenerAround   = phraseSet(screenerContext)
)

// IsCallScreener reports whether text, the words recognised of the callee
// (the first 4 KiB are read), is a call screener's prompt: it holds one of
// screenerPhrases, or one of screenerQuestions with one of
// screenerContext.
func IsCallScreener(text string) bool {
	w := phraseWords(text)
	return containsAny(w, screenerMatch) || containsAny(w, screenerQuestion) && containsAny(w, screenerAround)
}

// purposeLeads are the words a purpose may start with that "calling" takes
// as they are: "calling to confirm…", "calling about…", "calling from…".
var purposeLeads = []string{"to", "about", "regarding", "concerning", "re", "for", "from", "on", "with", "because"}

// ScreeningReply is the agent's short answer to a screener: who is calling
// and why, "This is {identity}, calling about {purpose}." A purpose that
// starts with "to", "about", "regarding", "for", "from", "on", "with",
// "because"… follows "calling" as it is ("This is Sam from Acme, calling
// to confirm your appointment."), as does one that starts with "calling"
// itself. Spaces around both and the final punctuation of both are
// trimmed. Without a purpose it is "This is {identity}."; without an
// identity, "I'm calling about {purpose}."; without either, "".
func ScreeningReply(identity, purpose string) string {
	const trim = " \t\r\n.,;:!?…"
	identity = strings.TrimRight(strings.TrimSpace(identity), trim)
	purpose = strings.TrimRight(strings.TrimSpace(purpose), trim)
	if purpose != "" {
		purpose = callingAbout(purpose)
	}
	switch {
	case identity != "" && purpose != "":
		return "This is " + identity + ", " + purpose + "."
	case identity != "":
		return "This is " + identity + "."
	case purpose != "":
		return "I'm " + purpose + "."
	}
	return ""
}

// callingAbout puts "calling" before purpose: "calling about the order",
// "calling to confirm". A lead word is lower-cased ("To confirm" → "to
// confirm"); the rest is kept as written.
func callingAbout(purpose string) string {
	first, rest, _ := strings.Cut(purpose, " ")
	if strings.EqualFold(first, "calling") && strings.TrimSpace(rest) != "" {
		purpose = strings.TrimSpace(rest)
		first, rest, _ = strings.Cut(purpose, " ")
	}
	lower := strings.ToLower(first)
	for _, lead := range purposeLeads {
		if lower == lead && strings.TrimSpace(rest) != "" {
			return "calling " + lead + " " + strings.TrimSpace(rest)
		}
	}
	return "calling about " + purpose
}
