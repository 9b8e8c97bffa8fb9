package openaitest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestRealtimeWire speaks to the fake with a raw WebSocket: the session
// update is recorded, appends are counted, a VAD utterance and an
// OnCommit one come back in OpenAI's event shapes, an empty commit is an
// error event.
func TestRealtimeWire(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	srv.SetAPIKey("k")
	srv.ScriptRealtime(RealtimeUtterance{Text: "hi you", At: 100 * time.Millisecond}, RealtimeUtterance{Text: "bye", OnCommit: true})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	url := "ws" + srv.BaseURL()[len("http"):] + "/realtime?intent=transcription"

	if _, resp, err := websocket.Dial(ctx, url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without key: %v", err)
	}
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer k"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	write := func(v any) {
		b, _ := json.Marshal(v)
		if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	type event struct {
		Type, ItemID, Delta, Transcript string
		Error                           struct{ Code string }
	}
	read := func() event {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		_ = json.Unmarshal(b, &raw)
		var e event
		e.Type, _ = raw["type"].(string)
		e.ItemID, _ = raw["item_id"].(string)
		e.Delta, _ = raw["delta"].(string)
		e.Transcript, _ = raw["transcript"].(string)
		if m, ok := raw["error"].(map[string]any); ok {
			e.Error.Code, _ = m["code"].(string)
		}
		return e
	}
	if e := read(); e.Type != "transcription_session.created" {
		t.Fatalf("first event %+v", e)
	}
	write(map[string]any{"type": "transcription_session.update", "session": map[string]any{
		"input_audio_format":        "pcm16",
		"input_audio_transcription": map[string]any{"model": "m", "language": "en"},
		"turn_detection":            map[string]any{"type": "server_vad", "silence_duration_ms": 500},
	}})
	if e := read(); e.Type != "transcription_session.updated" {
		t.Fatalf("%+v", e)
	}
	pcm := base64.StdEncoding.EncodeToString(make([]byte, 4800)) // 100 ms
	write(map[string]any{"type": "input_audio_buffer.append", "audio": pcm})
	var types []string
	var texts []string
	for range 5 {
		e := read()
		types = append(types, e.Type)
		texts = append(texts, e.Delta+e.Transcript)
	}
	want := []string{"input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
		"conversation.item.input_audio_transcription.delta", "conversation.item.input_audio_transcription.delta",
		"conversation.item.input_audio_transcription.completed"}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("events %v, want %v", types, want)
		}
	}
	if texts[2] != "hi" || texts[3] != " you" || texts[4] != "hi you" {
		t.Errorf("texts %q", texts)
	}
	write(map[string]any{"type": "input_audio_buffer.commit"})
	if e := read(); e.Type != "error" || e.Error.Code != "input_audio_buffer_commit_empty" {
		t.Errorf("empty commit: %+v", e)
	}
	write(map[string]any{"type": "input_audio_buffer.append", "audio": pcm})
	write(map[string]any{"type": "input_audio_buffer.commit"})
	if e := read(); e.Type != "input_audio_buffer.committed" {
		t.Errorf("%+v", e)
	}
	read() // delta
	if e := read(); e.Type != "conversation.item.input_audio_transcription.completed" || e.Transcript != "bye" {
		t.Errorf("%+v", e)
	}
	_ = conn.Close(websocket.StatusNormalClosure, "")
	ss, err := srv.WaitRealtime(ctx, func(s []RealtimeSession) bool { return len(s) == 1 && s[0].Closed })
	if err != nil {
		t.Fatal(err)
	}
	s := ss[0]
	if s.Model != "m" || s.Language != "en" || s.Format != "pcm16" || s.VAD.SilenceDurationMs != 500 ||
		s.AudioBytes != 9600 || s.Appends != 2 || s.Commits != 2 || s.Sent != 2 || s.Audio() != 200*time.Millisecond {
		t.Errorf("session %+v", s)
	}
}

func TestRealtimeNeedsIntent(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	_, resp, err := websocket.Dial(t.Context(), "ws"+srv.BaseURL()[len("http"):]+"/realtime", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("without intent: %v", err)
	}
}
