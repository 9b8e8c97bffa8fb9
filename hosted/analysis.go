package hosted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/voice"
)

// Analyzer makes the post-call analysis of calls (agentphone.CallAnalyzer:
// the summary, userSentiment and callSuccessful of agent.call_ended) with
// the built-in LLM: one completion, at temperature 0, whose system prompt
// asks for a JSON object only and whose user message is the transcript,
// one "Caller: …" or "Agent: …" line per turn with text, its last
// AnalysisTranscriptChars characters (whole lines) when it is longer.
//
// The answer is read leniently: the first JSON object in its text (code
// fences and prose around it are ignored), its keys matched whatever their
// case or underscores; a summary that is not a non-blank string, a
// sentiment other than Positive, Neutral or Negative (in any case) and a
// callSuccessful that is neither a boolean nor "true"/"false"/"yes"/"no"
// are left nil (null: the analysis does not say, rather than a guess). An
// answer without such an object, or with none of the three, is an error.
type Analyzer struct {
	// LLM writes the analysis (required).
	LLM voice.LLM
	// Model is the provider's model name; a fast one is enough.
	Model string
	// Log receives what the analysis dropped; nil: discard.
	Log *slog.Logger
}

var _ agentphone.CallAnalyzer = (*Analyzer)(nil)

// The analysis's completion.
const (
	// AnalysisTranscriptChars caps the transcript sent, in characters:
	// the end of a long call is what tells how it went.
	AnalysisTranscriptChars = 12000
	// AnalysisMaxTokens bounds the answer: a sentence or two in JSON.
	AnalysisMaxTokens = 200
)

// analysisPrompt is the system prompt of the analysis.
const analysisPrompt = `You analyse a phone call that has ended, between a caller and an AI phone agent. The user message is its transcript, one line per turn ("Caller: …" or "Agent: …").

Answer with a single JSON object and nothing else, exactly of this shape:
{"summary": "<one or two sentences: what the call was about and how it ended>", "userSentiment": "Positive" | "Neutral" | "Negative", "callSuccessful": true | false}

userSentiment is the caller's overall attitude during the call. callSuccessful is true when the call achieved its purpose: the caller got what they called for, or the agent got what it called for.`

// omitted starts a transcript cut to its end.
const omitted = "[the beginning of the call is omitted]\n"

// Analyze implements agentphone.CallAnalyzer: see Analyzer.
func (a *Analyzer) Analyze(ctx context.Context, c *agentphone.Call, turns []*agentphone.Turn) (agentphone.CallAnalysis, error) {
	transcript := analysisTranscript(turns, AnalysisTranscriptChars)
	if transcript == "" {
		return agentphone.CallAnalysis{}, errors.New("call analysis: the transcript is empty")
	}
	temperature := 0.0
	st, err := a.LLM.Stream(ctx, voice.LLMRequest{
		Model: a.Model, System: analysisPrompt,
		Messages:  []voice.LLMMessage{{Role: voice.LLMUser, Text: transcript}},
		MaxTokens: AnalysisMaxTokens, Temperature: &temperature,
	})
	if err != nil {
		return agentphone.CallAnalysis{}, fmt.Errorf("call analysis: %w", err)
	}
	defer st.Close()
	var text strings.Builder
	for {
		ev, err := st.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return agentphone.CallAnalysis{}, fmt.Errorf("call analysis: %w", err)
		}
		text.WriteString(ev.Text)
	}
	out, dropped, err := parseAnalysis(text.String())
	if err != nil {
		return agentphone.CallAnalysis{}, fmt.Errorf("call analysis: %w", err)
	}
	if len(dropped) > 0 {
		a.log().WarnContext(ctx, "call analysis: the model's answer had values out of range, left null",
			"call_id", c.ID, "dropped", dropped)
	}
	return out, nil
}

func (a *Analyzer) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log
}

// analysisTranscript is the transcript of turns as the analysis reads it:
// one line per turn with text, "Caller: " or "Agent: " and the text on
// one line (a user turn's Response is not repeated: what the agent said is
// an agent turn of its own). When it is longer than limit characters, the
// last lines that fit are kept after the omitted marker (the last line's
// end alone when even it does not fit). "" when no turn has text.
func analysisTranscript(turns []*agentphone.Turn, limit int) string {
	var lines []string
	for _, t := range turns {
		text := strings.Join(strings.Fields(t.Text), " ")
		if text == "" {
			continue
		}
		who := "Caller"
		if t.Role == agentphone.RoleAgent {
			who = "Agent"
		}
		lines = append(lines, who+": "+text)
	}
	all := strings.Join(lines, "\n")
	if utf8.RuneCountInString(all) <= limit {
		return all
	}
	budget := limit - utf8.RuneCountInString(omitted)
	if budget <= 0 { // no room for the marker
		r := []rune(all)
		return string(r[len(r)-limit:])
	}
	n, first := 0, len(lines)
	for first > 0 {
		l := utf8.RuneCountInString(lines[first-1])
		if first < len(lines) {
			l++ // its newline
		}
		if n+l > budget {
			break
		}
		n += l
		first--
	}
	if first == len(lines) { // the last line alone is too long: its end
		r := []rune(lines[len(lines)-1])
		return omitted + string(r[len(r)-budget:])
	}
	return omitted + strings.Join(lines[first:], "\n")
}

// parseAnalysis reads the analysis in a model's answer (see Analyzer). It
// returns, besides, the keys whose values it could not use.
func parseAnalysis(text string) (agentphone.CallAnalysis, []string, error) {
	obj, ok := firstObject(text)
	if !ok {
		return agentphone.CallAnalysis{}, nil, fmt.Errorf("no JSON object in the model's answer %q", clip(text, 200))
	}
	var out agentphone.CallAnalysis
	var dropped []string
	for k, v := range obj {
		switch strings.ToLower(strings.ReplaceAll(k, "_", "")) {
		case "summary":
			var s string
			if json.Unmarshal(v, &s) == nil && strings.TrimSpace(s) != "" {
				s = strings.TrimSpace(s)
				out.Summary = &s
			} else if string(v) != "null" {
				dropped = append(dropped, k)
			}
		case "usersentiment", "sentiment":
			var s string
			_ = json.Unmarshal(v, &s)
			if sent, ok := sentiment(s); ok {
				out.UserSentiment = &sent
			} else if string(v) != "null" {
				dropped = append(dropped, k)
			}
		case "callsuccessful", "successful", "success":
			if b, ok := boolean(v); ok {
				out.CallSuccessful = &b
			} else if string(v) != "null" {
				dropped = append(dropped, k)
			}
		}
	}
	slices.Sort(dropped)
	if out.Summary == nil && out.UserSentiment == nil && out.CallSuccessful == nil {
		return agentphone.CallAnalysis{}, dropped, fmt.Errorf("no analysis in the model's answer %q", clip(text, 200))
	}
	return out, dropped, nil
}

// firstObject decodes the first JSON object of text, trying each "{" in
// turn.
func firstObject(text string) (map[string]json.RawMessage, bool) {
	for i := 0; i < len(text); i++ {
		j := strings.IndexByte(text[i:], '{')
		if j < 0 {
			return nil, false
		}
		i += j
		var obj map[string]json.RawMessage
		if json.NewDecoder(strings.NewReader(text[i:])).Decode(&obj) == nil {
			return obj, true
		}
	}
	return nil, false
}

// sentiment is s as one of the three sentiments, whatever its case.
func sentiment(s string) (string, bool) {
	for _, v := range []string{agentphone.SentimentPositive, agentphone.SentimentNeutral, agentphone.SentimentNegative} {
		if strings.EqualFold(strings.TrimSpace(s), v) {
			return v, true
		}
	}
	return "", false
}

// boolean reads a JSON boolean, or a string saying one.
func boolean(v json.RawMessage) (bool, bool) {
	if string(v) == "null" {
		return false, false
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b, true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes":
		return true, true
	case "false", "no":
		return false, true
	}
	return false, false
}

// clip is s cut to n bytes (at a rune boundary), with "…" when cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
