package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentphone/agentphone/anthropic"
	"github.com/agentphone/agentphone/voice"
)

// FuzzMessagesStream feeds arbitrary bytes to the client as the body of a
// streaming answer (text/event-stream, status 200): the SDK's SSE decoder,
// its event decoding and our assembly of events. Draining the stream must
// not panic, must end (with io.EOF or an error) within a number of events
// bounded by the body's length, and every event must be well formed: text
// or a tool call whose arguments fit the bound, or, last, only a Stop.
func FuzzMessagesStream(f *testing.F) {
	seeds := []string{
		"",
		"event: ping\ndata: {\"type\":\"ping\"}\n\n",
		sse("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}`) +
			sse("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) +
			sse("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`) +
			sse("content_block_stop", `{"type":"content_block_stop","index":0}`) +
			sse("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}`) +
			sse("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`) +
			sse("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}}`) +
			sse("content_block_stop", `{"type":"content_block_stop","index":1}`) +
			sse("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`) +
			sse("message_stop", `{"type":"message_stop"}`),
		sse("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}`) +
			sse("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`),
		sse("error", `not json`),
		sse("error", `{"type":"error","error":{"type":7,"message":["x"]}}`),
		sse("content_block_start", `{"type":"content_block_start","index":-1,"content_block":{"type":"tool_use","id":5,"name":null,"input":[1]}}`) +
			sse("content_block_stop", `{"type":"content_block_stop","index":-1}`),
		sse("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t","name":"g","input":{"pre":"filled"}}}`) +
			sse("content_block_stop", `{"type":"content_block_stop","index":2}`),
		sse("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"orphan"}}`),
		sse("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"}}`),
		"data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"no event line\"}}\n\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\ndata: \"delta\":{\"type\":\"text_delta\",\"text\":\"two data lines\"}}\n\n",
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"after the stop\"}}\n\n",
		": comment\n\nevent: x\ndata: {}\n\n\n\nevent: content_block_delta\r\ndata: {\"delta\":{\"type\":\"text_delta\",\"text\":\"\\u0000\\ud800\"}}\r\n\r\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"unterminated",
		"\xff\xfe\x00garbage\n\n\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}

	// One server for every input: the model names the body to answer.
	var bodies sync.Map
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		body, _ := bodies.Load(req.Model)
		b, _ := body.([]byte)
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		_, _ = w.Write(b)
	}))
	f.Cleanup(srv.Close)
	c, err := anthropic.New(anthropic.Config{BaseURL: srv.URL})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		model := fmt.Sprintf("fuzz-%d", n.Add(1))
		bodies.Store(model, body)
		defer bodies.Delete(model)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		st, err := c.Stream(ctx, voice.LLMRequest{Model: model, Messages: []voice.LLMMessage{{Role: voice.LLMUser, Text: "hi"}}})
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		defer st.Close()
		limit := len(body) + 2 // every event takes bytes; one more for the Stop
		var last voice.LLMEvent
		for i := 0; ; i++ {
			if i > limit {
				t.Fatalf("more than %d events from %d bytes", limit, len(body))
			}
			ev, err := st.Next()
			if err != nil {
				if ctx.Err() != nil {
					t.Fatalf("did not end: %v", err)
				}
				if _, again := st.Next(); again != err {
					t.Fatalf("Next after %v: %v", err, again)
				}
				if errors.Is(err, io.EOF) {
					return
				}
				var apiErr *anthropic.APIError
				if errors.As(err, &apiErr) {
					_ = apiErr.Error()
					_ = apiErr.Temporary()
				}
				return
			}
			if last.Stop != "" {
				t.Fatalf("event %+v after the Stop", ev)
			}
			switch {
			case ev.ToolCall != nil:
				if ev.Text != "" || ev.Stop != "" || len(ev.ToolCall.Arguments) == 0 || len(ev.ToolCall.Arguments) > anthropic.MaxToolInputBytes {
					t.Fatalf("tool call event %+v", ev)
				}
			case ev.Text != "":
				if ev.Stop != "" {
					t.Fatalf("text event with a Stop %+v", ev)
				}
			case ev.Stop == "":
				t.Fatal("empty event")
			}
			last = ev
		}
	})
}

func sse(event, data string) string {
	return "event: " + event + "\ndata: " + data + "\n\n"
}
