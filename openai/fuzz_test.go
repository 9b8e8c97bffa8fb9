package openai_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/voice"
)

// FuzzTranscriptionAnswer feeds arbitrary answers of a server to
// TranscribeFile: the SDK's decoding, our error-body parser, the
// confidence and the span. It must not panic, must return an *APIError
// for every status of 400 or more, and a transcript within its bounds.
func FuzzTranscriptionAnswer(f *testing.F) {
	seeds := []struct {
		status      int
		contentType string
		body        string
	}{
		{200, "application/json", `{"text":"hello"}`},
		{200, "application/json", `{"text":"hi","logprobs":[{"token":"hi","logprob":-0.2,"bytes":[104,105]}]}`},
		{200, "application/json", `{"text":"hi","logprobs":[{"token":"hi","logprob":"x"},{"logprob":1e308},{"logprob":-1e308}]}`},
		{200, "application/json", `{"task":"transcribe","duration":1,"text":" a b","segments":[{"id":0,"start":0,"end":1,"avg_logprob":-0.3,"no_speech_prob":0.1,"text":" a b","tokens":[1]}]}`},
		{200, "application/json", `{"text":"x","segments":[{"start":-5,"end":1e300,"avg_logprob":-1e300,"no_speech_prob":2},{"start":1,"end":0,"avg_logprob":5}],"words":[{"start":"a","end":2},{"start":3,"end":1}]}`},
		{200, "application/json", `{"error":"failed to read WAV file"}`},
		{200, "text/plain", `hello`},
		{200, "application/json", `[1,2,3]`},
		{200, "application/json", `{"text":null}`},
		{400, "application/json", `{"error":{"message":"bad","type":"invalid_request_error","code":"x","param":null}}`},
		{401, "application/json", `{"error":{"message":["no"],"code":{"a":1}}}`},
		{422, "application/json", `{"detail":[{"loc":["body",1,null],"msg":"Field required"},{"msg":7},{}]}`},
		{500, "text/html", `<html>oops</html>`},
		{503, "text/plain", "\x00\xff\xfe bad \u202e bytes"},
		{404, "", ``},
	}
	for _, s := range seeds {
		f.Add(s.status, s.contentType, []byte(s.body))
	}
	speech := utterance(16000, 200*time.Millisecond)

	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		if status < 200 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		client := &http.Client{Transport: roundTripper(func(r *http.Request) *http.Response {
			return &http.Response{
				StatusCode: status,
				Header:     http.Header{"Content-Type": {contentType}},
				Body:       io.NopCloser(bytes.NewReader(body)),
				Request:    r,
			}
		})}
		tr, err := openai.NewTranscriber(openai.Config{BaseURL: "http://stt.invalid/v1", HTTPClient: client, TranscriptionFormat: "verbose_json"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := tr.TranscribeFile(context.Background(), speech, voice.TranscribeOptions{Language: "en-US"})
		if status >= 400 {
			var apiErr *openai.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
				t.Fatalf("status %d: error %v, want an *APIError of that status", status, err)
			}
			if apiErr.Message == "" {
				t.Fatalf("status %d: APIError without a message", status)
			}
			return
		}
		if err != nil {
			return
		}
		if math.IsNaN(got.Confidence) || got.Confidence < 0 || got.Confidence > 1 {
			t.Fatalf("confidence %v", got.Confidence)
		}
		if got.Start < 0 || got.End < got.Start || got.End > speech.Duration() {
			t.Fatalf("span %v–%v of %v of audio", got.Start, got.End, speech.Duration())
		}
		if !got.Final {
			t.Fatal("transcript not final")
		}
	})
}
