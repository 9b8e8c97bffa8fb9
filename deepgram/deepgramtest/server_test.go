package deepgramtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentphone/agentphone/deepgram/deepgramtest"
)

func newServer(t *testing.T) (*deepgramtest.Server, context.Context) {
	t.Helper()
	srv := deepgramtest.NewServer()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return srv, ctx
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	srv, ctx := newServer(t)
	good := "/v1/listen?encoding=linear16&sample_rate=16000&channels=1&model=nova-3"
	tests := []struct {
		name, method, path, key, body string
		status                        int
		code                          string
	}{
		{"listen without key", "GET", good, "", "", 401, "INVALID_AUTH"},
		{"listen with a wrong key", "GET", good, "Token nope", "", 401, "INVALID_AUTH"},
		{"listen as Bearer", "GET", good, "Bearer " + srv.APIKey, "", 401, "INVALID_AUTH"},
		{"listen in opus", "GET", strings.Replace(good, "linear16", "opus", 1), "Token " + srv.APIKey, "", 400, "Bad Request"},
		{"listen without a rate", "GET", "/v1/listen?encoding=linear16&model=nova-3", "Token " + srv.APIKey, "", 400, "Bad Request"},
		{"listen in stereo", "GET", strings.Replace(good, "channels=1", "channels=2", 1), "Token " + srv.APIKey, "", 400, "Bad Request"},
		{"speak without key", "POST", "/v1/speak?model=aura-2-thalia-en", "", `{"text":"hi"}`, 401, "INVALID_AUTH"},
		{"speak at 44.1 kHz", "POST", "/v1/speak?model=aura-2-thalia-en&sample_rate=44100", "Token " + srv.APIKey, `{"text":"hi"}`, 400, "Bad Request"},
		{"speak too fast", "POST", "/v1/speak?model=aura-2-thalia-en&speed=2", "Token " + srv.APIKey, `{"text":"hi"}`, 400, "Bad Request"},
		{"speak without text", "POST", "/v1/speak?model=aura-2-thalia-en", "Token " + srv.APIKey, `{}`, 400, "Bad Request"},
		{"speak a nova model", "POST", "/v1/speak?model=nova-3", "Token " + srv.APIKey, `{"text":"hi"}`, 400, "Bad Request"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequestWithContext(ctx, tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if tt.key != "" {
			req.Header.Set("Authorization", tt.key)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			ErrCode   string `json:"err_code"`
			ErrMsg    string `json:"err_msg"`
			RequestID string `json:"request_id"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || err != nil || body.ErrCode != tt.code || body.ErrMsg == "" || body.RequestID == "" {
			t.Errorf("%s: %d %+v (%v), want %d %s", tt.name, resp.StatusCode, body, err, tt.status, tt.code)
		}
		if resp.Header.Get("dg-error") != body.ErrMsg {
			t.Errorf("%s: dg-error %q", tt.name, resp.Header.Get("dg-error"))
		}
	}
}

func TestSpeakAnswersInChunks(t *testing.T) {
	t.Parallel()
	srv, ctx := newServer(t)
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/speak?model=aura-2-thalia-en&encoding=linear16&sample_rate=16000&container=none",
		strings.NewReader(`{"text":"Hello."}`))
	req.Header.Set("Authorization", "Token "+srv.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d, %v", resp.StatusCode, err)
	}
	want := deepgramtest.SpeechFor("Hello.", 16000)
	if len(b) != 2*len(want) || len(want) != 6*16000*60/1000 {
		t.Errorf("%d bytes, want %d samples", len(b), len(want))
	}
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("transfer encoding %v, want chunked (flushed pieces)", resp.TransferEncoding)
	}
}

// TestListenProtocol drives a stream with a bare WebSocket client, as
// Deepgram's documentation describes the exchange.
func TestListenProtocol(t *testing.T) {
	t.Parallel()
	srv, ctx := newServer(t)
	srv.SetListen(deepgramtest.Listen{
		Utterances: []deepgramtest.Utterance{
			{Text: "hi there", At: 400 * time.Millisecond, Speech: 300 * time.Millisecond},
			{Text: "bye"}, // on CloseStream
		},
		UtteranceEnd: true,
	})
	conn, _, err := websocket.Dial(ctx, srv.URL+"/v1/listen?encoding=linear16&sample_rate=8000&channels=1&model=nova-3&interim_results=true&utterance_end_ms=1000",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Token " + srv.APIKey}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	sess, err := srv.WaitSession(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 320) // 20 ms at 8 kHz
	for range 30 {             // 600 ms
		if err := conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []string{`{"type":"KeepAlive"}`, `{"type":"CloseStream"}`} {
		if err := conn.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}

	type msg struct {
		Type         string  `json:"type"`
		Start        float64 `json:"start"`
		Duration     float64 `json:"duration"`
		IsFinal      bool    `json:"is_final"`
		SpeechFinal  bool    `json:"speech_final"`
		LastWordEnd  float64 `json:"last_word_end"`
		Channel      json.RawMessage
		ChannelIndex []int `json:"channel_index"`
	}
	var got []string
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Fatalf("read: %v", err)
			}
			break
		}
		var m msg
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		var ch struct {
			Alternatives []struct{ Transcript string } `json:"alternatives"`
		}
		_ = json.Unmarshal(m.Channel, &ch)
		switch m.Type {
		case "Results":
			got = append(got, strings.Join([]string{m.Type, ch.Alternatives[0].Transcript,
				ftoa(m.Start), ftoa(m.Duration), btoa(m.IsFinal), btoa(m.SpeechFinal)}, " "))
		case "UtteranceEnd":
			got = append(got, m.Type+" "+ftoa(m.LastWordEnd))
		default:
			got = append(got, m.Type)
		}
	}
	want := []string{
		"Results hi 0.1 0.15 false false",
		"Results hi there 0.1 0.3 true true",
		"UtteranceEnd 0.4",
		"Results bye 0.4 0.2 true true",
		"UtteranceEnd 0.6",
		"Metadata",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	st, err := sess.Wait(ctx, func(s deepgramtest.SessionState) bool { return s.Ended })
	if err != nil {
		t.Fatal(err)
	}
	if st.AudioBytes != 30*320 || st.Audio != 600*time.Millisecond || st.KeepAlives != 1 || !st.CloseStream {
		t.Errorf("state %+v", st)
	}
	if len(st.Sent) != len(want) {
		t.Errorf("%d messages recorded as sent, want %d", len(st.Sent), len(want))
	}
}

func TestListenFailures(t *testing.T) {
	t.Parallel()
	srv, ctx := newServer(t)
	srv.SetListen(deepgramtest.Listen{Fail: &deepgramtest.Failure{After: 100 * time.Millisecond, ErrorMessage: "Bad audio.", CloseCode: websocket.StatusPolicyViolation, Reason: "DATA-0000"}})
	conn, _, err := websocket.Dial(ctx, srv.URL+"/v1/listen?encoding=linear16&sample_rate=8000&model=nova-3",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Token " + srv.APIKey}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageBinary, make([]byte, 1600)); err != nil { // 100 ms
		t.Fatal(err)
	}
	_, data, err := conn.Read(ctx)
	if err != nil || !strings.Contains(string(data), `"type":"Error"`) || !strings.Contains(string(data), "Bad audio.") {
		t.Fatalf("first message %s, %v; want the Error message", data, err)
	}
	_, _, err = conn.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "DATA-0000" {
		t.Errorf("end %v, want close 1008 DATA-0000", err)
	}
}

func ftoa(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func btoa(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
