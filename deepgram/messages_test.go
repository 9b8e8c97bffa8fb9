package deepgram

import (
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/voice"
)

// Messages as Deepgram documents them (listen.v1 AsyncAPI, the CloseStream
// and error-handling pages, the SDKs' types).
var (
	resultsMsg = `{"type":"Results","channel_index":[0,1],"duration":1.04,"start":0.5,"is_final":true,"speech_final":true,` +
		`"channel":{"alternatives":[{"transcript":"another big","confidence":0.99,"words":[` +
		`{"word":"another","start":0.5,"end":0.9,"confidence":0.99,"punctuated_word":"Another"}]}]},` +
		`"metadata":{"request_id":"8c8ebea9","model_info":{"name":"2-general-nova","version":"2024-01-18","arch":"nova-3"},"model_uuid":"u"},"from_finalize":false}`
	interimMsg  = `{"type":"Results","channel_index":[0,1],"duration":0.5,"start":2,"is_final":false,"channel":{"alternatives":[{"transcript":" hello ","confidence":0.7,"words":[]}]}}`
	utEndMsg    = `{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.395}`
	startedMsg  = `{"type":"SpeechStarted","channel":[0,1],"timestamp":1.5}`
	metadataMsg = `{"type":"Metadata","transaction_key":"deprecated","request_id":"8c8ebea9-dbec-45fa-a035-e4632cb05b5f",` +
		`"sha256":"e3b0c442","created":"2024-08-29T22:37:55.202Z","duration":0.0,"channels":0}`
	errorMsg = `{"type":"Error","description":"Failed to decode audio.","message":"DATA-0000","variant":"data"}`
)

func TestParseMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		kind eventKind
		tr   voice.Transcript
		at   time.Duration
		req  string
	}{
		{in: resultsMsg, kind: evResults, req: "8c8ebea9", tr: voice.Transcript{
			Text: "another big", Final: true, EndOfSpeech: true, Confidence: 0.99,
			Start: 500 * time.Millisecond, End: 1540 * time.Millisecond}},
		{in: interimMsg, kind: evResults, tr: voice.Transcript{Text: "hello", Confidence: 0.7, Start: 2 * time.Second, End: 2500 * time.Millisecond}},
		{in: `{"type":"Results","channel":{"alternatives":[]},"is_final":true}`, kind: evResults, tr: voice.Transcript{Final: true}},
		{in: `{"type":"Results","start":-3,"duration":1e300,"channel":{"alternatives":[{"transcript":"x","confidence":7}]}}`, kind: evResults,
			tr: voice.Transcript{Text: "x", Confidence: 1, End: maxSeconds * time.Second}},
		{in: utEndMsg, kind: evUtteranceEnd, at: 2395 * time.Millisecond},
		{in: startedMsg, kind: evSpeechStarted, at: 1500 * time.Millisecond},
		{in: metadataMsg, kind: evMetadata, req: "8c8ebea9-dbec-45fa-a035-e4632cb05b5f"},
		{in: `{"type":"Unheard-Of"}`, kind: evOther},
		{in: `{}`, kind: evOther},
	}
	for _, tt := range tests {
		ev, err := parseMessage([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if ev.kind != tt.kind || ev.transcript != tt.tr || ev.at != tt.at || ev.requestID != tt.req {
			t.Errorf("%s:\n got %+v\nwant kind %v transcript %+v at %v request %q", tt.in, ev, tt.kind, tt.tr, tt.at, tt.req)
		}
	}

	ev, err := parseMessage([]byte(errorMsg))
	if err != nil || ev.kind != evError || ev.err == nil {
		t.Fatalf("Error message: %+v, %v", ev, err)
	}
	if ev.err.Code != "data" || ev.err.Message != "Failed to decode audio. (DATA-0000)" {
		t.Errorf("Error message: %+v", ev.err)
	}
	if ev, _ := parseMessage([]byte(`{"type":"Error"}`)); ev.err == nil || ev.err.Message == "" {
		t.Errorf("bare Error message: %+v", ev.err)
	}

	for _, bad := range []string{``, `nope`, `[1]`, `{"type":"Results","channel":[0,1]}`, `{"type":5}`} {
		if _, err := parseMessage([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		base string
		ws   bool
		want string
	}{
		{"https://api.deepgram.com", true, "wss://api.deepgram.com/v1/x"},
		{"https://api.deepgram.com/", false, "https://api.deepgram.com/v1/x"},
		{"wss://api.deepgram.com", false, "https://api.deepgram.com/v1/x"},
		{"http://127.0.0.1:8080", true, "ws://127.0.0.1:8080/v1/x"},
		{"WS://127.0.0.1:8080", false, "http://127.0.0.1:8080/v1/x"},
		{"https://proxy.example/deepgram/?k=v#f", true, "wss://proxy.example/deepgram/v1/x"},
	} {
		u, err := endpoint(tt.base, "/v1/x", tt.ws)
		if err != nil || u.String() != tt.want {
			t.Errorf("endpoint(%q, %v) = %v, %v; want %s", tt.base, tt.ws, u, err, tt.want)
		}
	}
	for _, bad := range []string{"ftp://host", "api.deepgram.com", "https://", "://"} {
		if u, err := endpoint(bad, "/v1/x", true); err == nil {
			t.Errorf("endpoint(%q) = %v", bad, u)
		}
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	if got := clean("a\x00b\nc\xff"); got != "a b c\uFFFD" {
		t.Errorf("clean = %q", got)
	}
	long := clean(strings.Repeat("é", 400))
	if len(long) > maxText+len("…") || !strings.HasSuffix(long, "…") {
		t.Errorf("long text kept %d bytes", len(long))
	}
}
