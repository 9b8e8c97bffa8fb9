package openai

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/openai/openaitest"
	"github.com/agentphone/agentphone/voice"
)

func newRealtime(t *testing.T, o RealtimeOptions) (*RealtimeTranscriber, *openaitest.Server) {
	t.Helper()
	srv := openaitest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetAPIKey("sk-test")
	rt, err := NewRealtimeTranscriber(Config{APIKey: "sk-test", BaseURL: srv.BaseURL()}, o)
	if err != nil {
		t.Fatal(err)
	}
	return rt, srv
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sendAudio sends d of 20 ms frames at rate.
func sendAudio(t *testing.T, st voice.TranscriptionStream, rate int, d time.Duration) {
	t.Helper()
	n := rate / 50
	for range int(d / (20 * time.Millisecond)) {
		f := audio.Frame{Rate: rate, Samples: make([]int16, n)}
		for i := range f.Samples {
			f.Samples[i] = int16(i * 100)
		}
		if err := st.Send(f); err != nil {
			t.Fatal(err)
		}
	}
}

func collect(st voice.TranscriptionStream) []voice.Transcript {
	var out []voice.Transcript
	for tr := range st.Results() {
		out = append(out, tr)
	}
	return out
}

func TestRealtimeURL(t *testing.T) {
	for base, want := range map[string]string{
		"https://api.openai.com/v1": "wss://api.openai.com/v1/realtime?intent=transcription",
		"http://localhost:8000/v1/": "ws://localhost:8000/v1/realtime?intent=transcription",
	} {
		got, err := realtimeURL(base)
		if err != nil || got != want {
			t.Errorf("realtimeURL(%q) = %q, %v; want %q", base, got, err, want)
		}
	}
}

func TestRealtimeSessionUpdate(t *testing.T) {
	for _, tc := range []struct {
		mode, model string
		silence     int
	}{
		{"fast", DefaultFastTranscriptionModel, 500},
		{"", DefaultFastTranscriptionModel, 500},
		{"accurate", DefaultAccurateTranscriptionModel, 800},
	} {
		rt, srv := newRealtime(t, RealtimeOptions{})
		ctx := testCtx(t)
		st, err := rt.Open(ctx, voice.TranscribeOptions{Rate: 8000, Language: "de-DE", Mode: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		ss, err := srv.WaitRealtime(ctx, func(s []openaitest.RealtimeSession) bool { return len(s) == 1 && s[0].Updates == 1 })
		if err != nil {
			t.Fatal(err)
		}
		s := ss[0]
		want := openaitest.RealtimeVAD{Type: "server_vad", Threshold: 0.5, PrefixPaddingMs: 300, SilenceDurationMs: tc.silence}
		if s.Model != tc.model || s.Language != "de" || s.Format != "pcm16" || s.NoiseReduction != "near_field" || s.VAD != want {
			t.Errorf("mode %q: session %+v", tc.mode, s)
		}
		if s.Authorization != "Bearer sk-test" || s.Beta != "realtime=v1" {
			t.Errorf("headers %q %q", s.Authorization, s.Beta)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRealtimeResultsAndResampling(t *testing.T) {
	rt, srv := newRealtime(t, RealtimeOptions{})
	srv.ScriptRealtime(
		openaitest.RealtimeUtterance{Text: "hello there", At: 400 * time.Millisecond},
		openaitest.RealtimeUtterance{Text: "how are you", At: 800 * time.Millisecond},
	)
	ctx := testCtx(t)
	st, err := rt.Open(ctx, voice.TranscribeOptions{Rate: 8000, Language: "en-US"})
	if err != nil {
		t.Fatal(err)
	}
	sendAudio(t, st, 8000, time.Second)
	// Both utterances answered before Close, so the order is known.
	var got []voice.Transcript
	for len(got) < 6 {
		tr, ok := <-st.Results()
		if !ok {
			t.Fatalf("results closed after %+v: %v", got, st.Err())
		}
		got = append(got, tr)
	}
	want := []voice.Transcript{
		{Text: "hello"}, {Text: "hello there"}, {Text: "hello there", Final: true, EndOfSpeech: true},
		{Text: "how"}, {Text: "how are"}, {Text: "how are you"},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	rest := collect(st)
	if len(rest) != 1 || rest[0] != (voice.Transcript{Text: "how are you", Final: true, EndOfSpeech: true}) {
		t.Errorf("after Close: %+v", rest)
	}
	s := srv.RealtimeSessions()[0]
	// 1 s at 8 kHz is 24,000 samples at 24 kHz: 48,000 bytes, in 100 ms appends.
	if s.AudioBytes != 48000 || s.Audio() != time.Second {
		t.Errorf("audio received: %d bytes (%v)", s.AudioBytes, s.Audio())
	}
	if s.Appends != 10 {
		t.Errorf("%d appends, want 10 of 100 ms", s.Appends)
	}
}

func TestRealtimeFinalize(t *testing.T) {
	rt, srv := newRealtime(t, RealtimeOptions{})
	srv.ScriptRealtime(openaitest.RealtimeUtterance{Text: "yes please", OnCommit: true})
	ctx := testCtx(t)
	st, err := rt.Open(ctx, voice.TranscribeOptions{Rate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	sendAudio(t, st, 16000, 300*time.Millisecond)
	if err := st.(voice.Finalizer).Finalize(); err != nil {
		t.Fatal(err)
	}
	var last voice.Transcript
	for tr := range st.Results() {
		if tr.Final {
			last = tr
			break
		}
	}
	if last.Text != "yes please" || !last.EndOfSpeech {
		t.Fatalf("final %+v (err %v)", last, st.Err())
	}
	if s := srv.RealtimeSessions()[0]; s.Commits != 1 || s.AudioBytes != 14400 {
		t.Errorf("commits %d, audio %d bytes", s.Commits, s.AudioBytes)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRealtimeCloseFlushes(t *testing.T) {
	rt, srv := newRealtime(t, RealtimeOptions{})
	srv.ScriptRealtime(openaitest.RealtimeUtterance{Text: "goodbye", OnCommit: true})
	st, err := rt.Open(testCtx(t), voice.TranscribeOptions{Rate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	sendAudio(t, st, 8000, 260*time.Millisecond) // not a whole number of batches
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	got := collect(st)
	if len(got) == 0 || got[len(got)-1] != (voice.Transcript{Text: "goodbye", Final: true, EndOfSpeech: true}) {
		t.Errorf("results %+v", got)
	}
	if s := srv.RealtimeSessions()[0]; s.AudioBytes != 2*24000*260/1000 || s.Commits != 1 {
		t.Errorf("audio %d bytes, %d commits", s.AudioBytes, s.Commits)
	}
	if err := st.Send(audio.Frame{Rate: 8000, Samples: make([]int16, 160)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

func TestRealtimeCloseWithoutAudio(t *testing.T) {
	rt, srv := newRealtime(t, RealtimeOptions{})
	st, err := rt.Open(testCtx(t), voice.TranscribeOptions{Rate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with nothing to wait for", d)
	}
	if s := srv.RealtimeSessions()[0]; s.Commits != 0 {
		t.Errorf("%d commits of nothing", s.Commits)
	}
}

func TestRealtimeErrorEvent(t *testing.T) {
	rt, srv := newRealtime(t, RealtimeOptions{})
	srv.ScriptRealtime(openaitest.RealtimeUtterance{Error: "the fake broke", At: 100 * time.Millisecond})
	st, err := rt.Open(testCtx(t), voice.TranscribeOptions{Rate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	sendAudio(t, st, 8000, 200*time.Millisecond)
	collect(st) // returns: Results closes
	var re *RealtimeError
	if err := st.Err(); !errors.As(err, &re) || re.Message != "the fake broke" || re.Code != "fake_error" {
		t.Fatalf("Err = %v", err)
	}
	if err := st.Close(); !errors.As(err, &re) {
		t.Errorf("Close = %v", err)
	}
}

func TestRealtimeContextCancel(t *testing.T) {
	rt, _ := newRealtime(t, RealtimeOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	st, err := rt.Open(ctx, voice.TranscribeOptions{Rate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	collect(st)
	if err := st.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err = %v", err)
	}
}

func TestRealtimeQueueFull(t *testing.T) {
	rt, _ := newRealtime(t, RealtimeOptions{QueueFrames: 2})
	st, err := rt.Open(testCtx(t), voice.TranscribeOptions{Rate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := audio.Frame{Rate: 8000, Samples: make([]int16, 160)}
	// Send must never wait: however many frames, it returns, and once the
	// writer falls behind the stream fails with ErrQueueFull.
	var sendErr error
	for range 100000 {
		if sendErr = st.Send(f); sendErr != nil {
			break
		}
	}
	if !errors.Is(sendErr, ErrQueueFull) {
		t.Fatalf("Send = %v", sendErr)
	}
	collect(st)
	if !errors.Is(st.Err(), ErrQueueFull) {
		t.Errorf("Err = %v", st.Err())
	}
}

func TestRealtimeUnauthorized(t *testing.T) {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.SetAPIKey("right")
	rt, err := NewRealtimeTranscriber(Config{APIKey: "wrong", BaseURL: srv.BaseURL()}, RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.Open(testCtx(t), voice.TranscribeOptions{Rate: 8000})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != "invalid_api_key" || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Open = %v", err)
	}
}

func TestRealtimeWrongRate(t *testing.T) {
	rt, _ := newRealtime(t, RealtimeOptions{})
	if _, err := rt.Open(testCtx(t), voice.TranscribeOptions{Rate: 11025}); err == nil {
		t.Error("Open at 11025 Hz: no error")
	}
	st, err := rt.Open(testCtx(t), voice.TranscribeOptions{Rate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Send(audio.Frame{Rate: 16000, Samples: make([]int16, 320)}); err == nil {
		t.Error("16 kHz frame on an 8 kHz stream: no error")
	}
}

// FuzzRealtimeEvents feeds the reader's parsing and item state arbitrary
// server messages: no panic, valid text, finals only from completed or
// failed events.
func FuzzRealtimeEvents(f *testing.F) {
	for _, s := range []string{
		`{"type":"conversation.item.input_audio_transcription.delta","item_id":"a","delta":"hi"}`,
		`{"type":"conversation.item.input_audio_transcription.completed","item_id":"a","transcript":"hi there"}`,
		`{"type":"input_audio_buffer.committed","item_id":"a"}`,
		`{"type":"conversation.item.input_audio_transcription.failed","item_id":"a"}`,
		`{"type":"error","error":{"type":"invalid_request_error","code":"x","message":"bad"}}`,
		`{"type":"error","error":null}`, `{"type":"error"}`, `{"type":7}`, `null`, `{`, `[]`,
		`{"type":"conversation.item.input_audio_transcription.delta","delta":"\ud800"}`,
	} {
		f.Add([]byte(s), []byte(`{"type":"conversation.item.input_audio_transcription.delta","item_id":"a","delta":" x"}`))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		items := newRTItems()
		for _, data := range [][]byte{a, b, a} {
			ev, err := parseRealtimeEvent(data)
			if err != nil {
				continue
			}
			if ev.typ == evtError && (ev.err == nil || ev.err.Message == "") {
				t.Errorf("error event without a message: %+v", ev.err)
			}
			if ev.err != nil {
				_ = ev.err.Error()
			}
			tr, ok := items.apply(ev)
			if !ok {
				continue
			}
			if !utf8.ValidString(tr.Text) {
				t.Errorf("text %q", tr.Text)
			}
			if tr.Final != (ev.typ == evtCompleted || ev.typ == evtFailed) {
				t.Errorf("%s gave %+v", ev.typ, tr)
			}
			if items.pending() < 0 {
				t.Error("negative pending")
			}
		}
	})
}
