package openai_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// FuzzChatStream feeds arbitrary bytes as the event stream of a chat
// answer and drains it: no panic, an end (io.EOF or an error) within a
// number of events bounded by the body's size, well-formed events, and
// nothing but io.EOF after a Stop, the same error after an error.
func FuzzChatStream(f *testing.F) {
	chunk := func(delta, finish string) string {
		return `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + finish + "}]}\n\n"
	}
	seeds := []string{
		chunk(`{"role":"assistant","content":""}`, "null") + chunk(`{"content":"Hi"}`, "null") + chunk(`{}`, `"stop"`) + "data: [DONE]\n\n",
		chunk(`{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}}]}`, "null") +
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":"}}]}`, "null") +
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}`, "null") + chunk(`{}`, `"tool_calls"`) + "data: [DONE]\n\n",
		chunk(`{"tool_calls":[{"index":1,"id":"b","function":{"name":"g"}}]}`, "null") + chunk(`{"tool_calls":[{"index":0,"id":"a","function":{"name":"f"}}]}`, "null"),
		chunk(`{"tool_calls":[{"index":9223372036854775807,"id":"a"},{"index":-1,"id":"b"},{"index":0,"id":"c"},{"index":0,"id":"d"}]}`, `"length"`),
		chunk(`{"content":"a"}`, "null") + `data: {"error":{"message":"boom","type":"server_error"}}` + "\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n",
		"data: {\"choices\":\ndata: []}\n\n",
		"data: not json\n\n",
		"event: ping\ndata: {}\n\n: comment\n\n",
		"data: [DONE]\n\n",
		chunk(`{"content":null,"tool_calls":null}`, `"weird"`) + chunk(`{"content":"late"}`, "null"),
		"",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	var bodies sync.Map // path prefix → body
	var seq atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		body, _ := bodies.Load(id)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(body.([]byte))
	}))
	f.Cleanup(srv.Close)

	f.Fuzz(func(t *testing.T, body []byte) {
		id := strconv.FormatInt(seq.Add(1), 10)
		bodies.Store(id, body)
		defer bodies.Delete(id)
		chat, err := openai.NewChat(openai.Config{BaseURL: srv.URL + "/" + id + "/v1"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := chat.Stream(ctx, voice.LLMRequest{Model: "m", Messages: []voice.LLMMessage{{Role: voice.LLMUser, Text: "hi"}}})
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		defer st.Close()
		stopped := false
		for n := 0; ; n++ {
			if n > len(body)+1 {
				t.Fatalf("%d events from %d bytes", n, len(body))
			}
			ev, err := st.Next()
			if ctx.Err() != nil {
				t.Fatalf("no end after 10 s: %v", err)
			}
			if errors.Is(err, io.EOF) {
				if !stopped {
					t.Fatal("io.EOF without a Stop event")
				}
				if _, err := st.Next(); !errors.Is(err, io.EOF) {
					t.Fatalf("after io.EOF: %v", err)
				}
				return
			}
			if err != nil {
				if stopped {
					t.Fatalf("error %v after Stop", err)
				}
				if _, again := st.Next(); again == nil || again.Error() != err.Error() {
					t.Fatalf("error %v, then %v", err, again)
				}
				return
			}
			if stopped {
				t.Fatalf("event %+v after Stop", ev)
			}
			switch {
			case ev.Stop != "":
				stopped = true
				if ev.Text != "" || ev.ToolCall != nil {
					t.Fatalf("Stop event with more: %+v", ev)
				}
			case (ev.Text != "") == (ev.ToolCall != nil):
				t.Fatalf("event %+v: want text or a tool call", ev)
			case ev.ToolCall != nil && len(ev.ToolCall.Arguments) == 0:
				t.Fatalf("tool call without arguments: %+v", ev.ToolCall)
			}
		}
	})
}
