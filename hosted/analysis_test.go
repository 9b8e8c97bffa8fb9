package hosted

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/openai/openaitest"
)

// newFakeAnalyzer is an Analyzer over openai.NewChat against the fake.
func newFakeAnalyzer(t *testing.T) (*Analyzer, *openaitest.Server) {
	t.Helper()
	srv := openaitest.NewServer()
	t.Cleanup(srv.Close)
	chat, err := openai.NewChat(openai.Config{BaseURL: srv.BaseURL(), APIKey: "sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	return &Analyzer{LLM: chat, Model: "gpt-test-mini"}, srv
}

func analysisTurns() []*agentphone.Turn {
	resp := "It shipped yesterday."
	return []*agentphone.Turn{
		{Role: agentphone.RoleAgent, Text: "Hello, Acme here. How can I help?"},
		{Role: agentphone.RoleUser, Text: "Where is\nmy order?", Response: &resp},
		{Role: agentphone.RoleUser, Text: "  "}, // no text: no line
		{Role: agentphone.RoleAgent, Text: resp},
	}
}

func analysisCall() *agentphone.Call { return &agentphone.Call{ID: "call_test"} }

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }

// TestAnalyzer_OpenAI: one completion at temperature 0, bounded, with the
// JSON-only prompt and the transcript as the user message; the answer's
// object is read through code fences and prose.
func TestAnalyzer_OpenAI(t *testing.T) {
	t.Parallel()
	a, srv := newFakeAnalyzer(t)
	srv.ScriptChat(openaitest.ChatReply{
		Chunks: []string{"Here it is:\n```json\n{\"summary\": \" The caller asked", " where their order is; it shipped.\",",
			" \"userSentiment\": \"Neutral\", \"callSuccessful\": true}\n```"},
	})
	got, err := a.Analyze(t.Context(), analysisCall(), analysisTurns())
	if err != nil {
		t.Fatal(err)
	}
	want := agentphone.CallAnalysis{Summary: strp("The caller asked where their order is; it shipped."),
		UserSentiment: strp(agentphone.SentimentNeutral), CallSuccessful: boolp(true)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("analysis %+v, want %+v", got, want)
	}
	reqs := srv.ChatRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d completions, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Model != "gpt-test-mini" || r.MaxTokens != AnalysisMaxTokens || r.Temperature == nil || *r.Temperature != 0 ||
		len(r.Tools) != 0 || len(r.Messages) != 2 {
		t.Fatalf("request %+v", r)
	}
	if r.Messages[0].Role != "system" || !strings.Contains(r.Messages[0].Content, "JSON object") ||
		!strings.Contains(r.Messages[0].Content, `"userSentiment": "Positive" | "Neutral" | "Negative"`) {
		t.Fatalf("system message %+v", r.Messages[0])
	}
	wantTranscript := "Agent: Hello, Acme here. How can I help?\nCaller: Where is my order?\nAgent: It shipped yesterday."
	if r.Messages[1].Role != "user" || r.Messages[1].Content != wantTranscript {
		t.Fatalf("user message %q, want %q", r.Messages[1].Content, wantTranscript)
	}
}

// TestAnalyzer_Errors: a refused completion, a stream that fails, an
// answer without an analysis and a cancelled context are errors.
func TestAnalyzer_Errors(t *testing.T) {
	t.Parallel()
	a, srv := newFakeAnalyzer(t)
	srv.ScriptChat(
		openaitest.ChatReply{Status: http.StatusBadRequest, Message: "bad model"},
		openaitest.ChatReply{Text: `{"summary": "cut short", "userSentiment": "Neutral"}`, FailAfter: 1},
		openaitest.ChatReply{Text: "I cannot help with that."},
		openaitest.ChatReply{Text: `{"mood": "great"}`},
	)
	for i, want := range []string{"bad model", openaitest.ChatErrorMessage, "no JSON object", "no analysis"} {
		if _, err := a.Analyze(t.Context(), analysisCall(), analysisTurns()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("answer %d: %v, want an error with %q", i, err, want)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := a.Analyze(ctx, analysisCall(), analysisTurns()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := a.Analyze(t.Context(), analysisCall(), []*agentphone.Turn{{Role: agentphone.RoleUser}}); err == nil {
		t.Error("an empty transcript analysed")
	}
	if n := len(srv.ChatRequests()); n != 4 {
		t.Errorf("%d completions, want 4 (none for an empty transcript or a cancelled context)", n)
	}
}

// TestParseAnalysis: what the lenient reading keeps and drops.
func TestParseAnalysis(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    agentphone.CallAnalysis
		dropped []string
		err     bool
	}{
		{in: `{"summary":"S.","userSentiment":"Negative","callSuccessful":false}`,
			want: agentphone.CallAnalysis{Summary: strp("S."), UserSentiment: strp("Negative"), CallSuccessful: boolp(false)}},
		{in: `Sure {not json} then {"Summary":"S.","user_sentiment":"  positive ","call_successful":"yes"} and {"summary":"later"}`,
			want: agentphone.CallAnalysis{Summary: strp("S."), UserSentiment: strp("Positive"), CallSuccessful: boolp(true)}},
		{in: `{"summary":"S.","userSentiment":"Mixed","callSuccessful":"maybe"}`,
			want: agentphone.CallAnalysis{Summary: strp("S.")}, dropped: []string{"callSuccessful", "userSentiment"}},
		{in: `{"summary":null,"userSentiment":"NEUTRAL","callSuccessful":null}`,
			want: agentphone.CallAnalysis{UserSentiment: strp("Neutral")}},
		{in: `{"summary":"  ","callSuccessful":true}`,
			want: agentphone.CallAnalysis{CallSuccessful: boolp(true)}, dropped: []string{"summary"}},
		{in: `{"summary": 3}`, dropped: []string{"summary"}, err: true},
		{in: `{"summary": "unterminated`, err: true},
		{in: ``, err: true},
	}
	for _, tt := range tests {
		got, dropped, err := parseAnalysis(tt.in)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(dropped, tt.dropped) {
			t.Errorf("parseAnalysis(%q) = %+v, %v, %v; want %+v, %v, error %v", tt.in, got, dropped, err, tt.want, tt.dropped, tt.err)
		}
	}
}

// TestAnalysisTranscript: a long transcript keeps its last whole lines
// within the cap, after the marker; a last line longer than the cap keeps
// its end.
func TestAnalysisTranscript(t *testing.T) {
	t.Parallel()
	var turns []*agentphone.Turn
	for i := range 400 {
		role := agentphone.RoleUser
		if i%2 == 1 {
			role = agentphone.RoleAgent
		}
		turns = append(turns, &agentphone.Turn{Role: role, Text: strings.Repeat("é", 40) + " " + string(rune('a'+i%26))})
	}
	turns = append(turns, &agentphone.Turn{Role: agentphone.RoleAgent, Text: "Goodbye."})
	got := analysisTranscript(turns, AnalysisTranscriptChars)
	if n := utf8.RuneCountInString(got); n > AnalysisTranscriptChars || n < AnalysisTranscriptChars-60 {
		t.Fatalf("%d characters, want at most %d and close to it", n, AnalysisTranscriptChars)
	}
	rest, ok := strings.CutPrefix(got, omitted)
	if !ok || !strings.HasSuffix(got, "\nAgent: Goodbye.") {
		t.Fatalf("transcript starts %q, ends %q", clip(got, 80), got[len(got)-40:])
	}
	for l := range strings.SplitSeq(rest, "\n") {
		if !strings.HasPrefix(l, "Caller: "+strings.Repeat("é", 40)) && !strings.HasPrefix(l, "Agent: ") {
			t.Fatalf("line %q is not whole", l)
		}
	}
	short := analysisTranscript(turns[len(turns)-2:], AnalysisTranscriptChars)
	if !strings.HasPrefix(short, "Agent: ") || strings.Contains(short, "omitted") {
		t.Fatalf("short transcript %q", short)
	}
	long := analysisTranscript([]*agentphone.Turn{{Role: agentphone.RoleUser, Text: strings.Repeat("x", 100) + "END"}}, 60)
	if utf8.RuneCountInString(long) != 60 || !strings.HasPrefix(long, omitted) || !strings.HasSuffix(long, "xEND") {
		t.Fatalf("one long line: %q", long)
	}
}
