package deepgram_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/deepgram"
	"github.com/agentphone/agentphone/deepgram/deepgramtest"
	"github.com/agentphone/agentphone/voice"
)

func TestTranscriber_Query(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	ctx := testCtx(t)
	tests := []struct {
		name string
		tr   deepgram.Transcriber
		o    voice.TranscribeOptions
		want map[string]string // "" means absent
	}{
		{
			name: "fast defaults",
			o:    voice.TranscribeOptions{Rate: 8000, Language: "en-US", Mode: "fast"},
			want: map[string]string{
				"encoding": "linear16", "sample_rate": "8000", "channels": "1", "model": "nova-3",
				"language": "en-US", "interim_results": "true", "punctuate": "true", "smart_format": "true",
				"endpointing": "300", "utterance_end_ms": "1000", "vad_events": "true",
			},
		},
		{
			name: "accurate defaults",
			o:    voice.TranscribeOptions{Rate: 16000, Language: "es", Mode: "accurate"},
			want: map[string]string{"sample_rate": "16000", "model": "nova-3", "language": "es", "endpointing": "500"},
		},
		{
			name: "configured models and endpointing",
			tr: deepgram.Transcriber{
				FastModel: "nova-2-phonecall", AccurateModel: "nova-3-general",
				FastEndpointing: 150 * time.Millisecond, AccurateEndpointing: 800 * time.Millisecond,
				UtteranceEnd: 1500 * time.Millisecond,
			},
			o:    voice.TranscribeOptions{Rate: 16000, Mode: "accurate"},
			want: map[string]string{"model": "nova-3-general", "endpointing": "800", "utterance_end_ms": "1500", "language": ""},
		},
		{
			name: "unknown mode is fast",
			tr:   deepgram.Transcriber{FastModel: "nova-2-phonecall", FastEndpointing: 150 * time.Millisecond},
			o:    voice.TranscribeOptions{Rate: 16000, Mode: "whatever"},
			want: map[string]string{"model": "nova-2-phonecall", "endpointing": "150"},
		},
		{
			name: "endpointing and utterance end off",
			tr:   deepgram.Transcriber{FastEndpointing: -1, UtteranceEnd: -1},
			o:    voice.TranscribeOptions{Rate: 16000},
			want: map[string]string{"endpointing": "false", "utterance_end_ms": ""},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tt.tr
			tr.APIKey, tr.BaseURL = srv.APIKey, srv.URL
			st, err := tr.Open(ctx, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := srv.WaitSession(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got, want := sess.Request.Header.Get("Authorization"), "Token "+srv.APIKey; got != want {
				t.Errorf("Authorization = %q, want %q", got, want)
			}
			if sess.Request.Path != "/v1/listen" {
				t.Errorf("path = %q", sess.Request.Path)
			}
			q := sess.Request.Query
			for k, want := range tt.want {
				if want == "" {
					if q.Has(k) {
						t.Errorf("%s = %q, want it absent", k, q.Get(k))
					}
				} else if got := q.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestStream_InterimAndFinal(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	srv.SetListen(deepgramtest.Listen{
		Utterances: []deepgramtest.Utterance{
			{Text: "Hello there, how are you?", At: 600 * time.Millisecond, Speech: 400 * time.Millisecond, Confidence: 0.9},
		},
		UtteranceEnd: true, // after a speech_final: nothing new, not delivered
	})
	ctx := testCtx(t)
	st, err := transcriber(srv).Open(ctx, voice.TranscribeOptions{Rate: 16000, Language: "en-US", Mode: "fast"})
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, st, frames(16000, time.Second))

	interim := next(t, ctx, st)
	want := voice.Transcript{Text: "Hello there,", Start: 200 * time.Millisecond, End: 400 * time.Millisecond}
	if interim.Text != want.Text || interim.Final || interim.EndOfSpeech || interim.Start != want.Start || interim.End != want.End || !near(interim.Confidence, 0.81) {
		t.Errorf("interim = %+v, want %+v with confidence 0.81", interim, want)
	}
	final := next(t, ctx, st)
	want = voice.Transcript{Text: "Hello there, how are you?", Final: true, EndOfSpeech: true, Confidence: 0.9,
		Start: 200 * time.Millisecond, End: 600 * time.Millisecond}
	if final != want {
		t.Errorf("final = %+v, want %+v", final, want)
	}

	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if rest := drain(t, ctx, st); len(rest) != 0 {
		t.Errorf("after the final: %+v, want nothing (the UtteranceEnd after speech_final is not news)", rest)
	}
	if err := st.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
	sess := srv.Sessions()[0]
	st2 := sess.State()
	if want := int64(50 * 320 * 2); st2.AudioBytes != want {
		t.Errorf("fake received %d bytes of audio, want %d", st2.AudioBytes, want)
	}
	if st2.EmptyAudio != 0 {
		t.Errorf("%d empty audio messages sent", st2.EmptyAudio)
	}
	if !st2.CloseStream {
		t.Error("no CloseStream sent")
	}
}

func TestStream_UtteranceEndEndsSpeech(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	srv.SetListen(deepgramtest.Listen{
		Utterances:   []deepgramtest.Utterance{{Text: "one", At: 300 * time.Millisecond, NotSpeechFinal: true}},
		UtteranceEnd: true,
	})
	ctx := testCtx(t)
	st, err := transcriber(srv).Open(ctx, voice.TranscribeOptions{Rate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, st, frames(8000, 400*time.Millisecond))
	if final := next(t, ctx, st); final.Text != "one" || !final.Final || final.EndOfSpeech {
		t.Errorf("final = %+v, want Final without EndOfSpeech", final)
	}
	end := next(t, ctx, st)
	if want := (voice.Transcript{Final: true, EndOfSpeech: true, Start: 300 * time.Millisecond, End: 300 * time.Millisecond}); end != want {
		t.Errorf("UtteranceEnd = %+v, want %+v", end, want)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStream_CloseFlushes(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	// Said only when the stream is closed: the final results come after
	// CloseStream, before Deepgram's end of the socket.
	srv.SetListen(deepgramtest.Listen{Utterances: []deepgramtest.Utterance{{Text: "goodbye now", Speech: 300 * time.Millisecond}}})
	ctx := testCtx(t)
	st, err := transcriber(srv).Open(ctx, voice.TranscribeOptions{Rate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, st, frames(16000, 500*time.Millisecond))
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := drain(t, ctx, st)
	want := voice.Transcript{Text: "goodbye now", Final: true, EndOfSpeech: true, Confidence: 0.98,
		Start: 200 * time.Millisecond, End: 500 * time.Millisecond}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("after Close: %+v, want [%+v]", got, want)
	}
	if err := st.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
	state := srv.Sessions()[0].State()
	if want := int64(25 * 320 * 2); state.AudioBytes != want {
		t.Errorf("fake received %d bytes before CloseStream, want all %d queued", state.AudioBytes, want)
	}
	if n := len(state.Messages); n == 0 || state.Messages[n-1] != `{"type":"CloseStream"}` {
		t.Errorf("text messages = %q, want CloseStream last", state.Messages)
	}
	if err := st.Send(frames(16000, 20*time.Millisecond)[0]); !errors.Is(err, deepgram.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestStream_Finalize: Finalize goes out after the audio queued before
// it, and the words Deepgram held come back final at once, the stream
// still open.
func TestStream_Finalize(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	// Said only on Finalize (or CloseStream): no endpointing of its own.
	srv.SetListen(deepgramtest.Listen{Utterances: []deepgramtest.Utterance{{Text: "table for two", Speech: 300 * time.Millisecond}}})
	ctx := testCtx(t)
	st, err := transcriber(srv).Open(ctx, voice.TranscribeOptions{Rate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, st, frames(16000, 500*time.Millisecond))
	if err := st.(voice.Finalizer).Finalize(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-st.Results():
		if got.Text != "table for two" || !got.Final || got.End != 500*time.Millisecond {
			t.Fatalf("after Finalize: %+v", got)
		}
	case <-ctx.Done():
		t.Fatal("no final words after Finalize")
	}
	state := srv.Sessions()[0].State()
	if state.Finalizes != 1 || state.AudioBytes != int64(25*320*2) || state.CloseStream {
		t.Fatalf("fake state: %d Finalize, %d bytes before it, CloseStream %v", state.Finalizes, state.AudioBytes, state.CloseStream)
	}
	if err := st.Send(frames(16000, 20*time.Millisecond)[0]); err != nil {
		t.Fatalf("Send after Finalize: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.(voice.Finalizer).Finalize(); !errors.Is(err, deepgram.ErrClosed) {
		t.Errorf("Finalize after Close = %v, want ErrClosed", err)
	}
}

func TestStream_KeepAliveWhenIdle(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	ctx := testCtx(t)
	tr := transcriber(srv)
	tr.KeepAlive = 20 * time.Millisecond
	st, err := tr.Open(ctx, voice.TranscribeOptions{Rate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := srv.WaitSession(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	state, err := sess.Wait(ctx, func(s deepgramtest.SessionState) bool { return s.KeepAlives >= 3 })
	if err != nil {
		t.Fatalf("keep-alives: %v (state %+v)", err, state)
	}
	for _, m := range state.Messages {
		if m != `{"type":"KeepAlive"}` {
			t.Errorf("text message %q, want only KeepAlive", m)
		}
	}
	if state.AudioBytes != 0 {
		t.Errorf("audio sent: %d bytes", state.AudioBytes)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStream_NoKeepAliveWhileAudioFlows(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	ctx := testCtx(t)
	tr := transcriber(srv)
	// Four keep-alive periods of audio, a frame every 20 ms: an idle
	// timer that audio did not reset would fire four times.
	tr.KeepAlive = 250 * time.Millisecond
	st, err := tr.Open(ctx, voice.TranscribeOptions{Rate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(audio.FrameDuration)
	defer tick.Stop()
	for _, f := range frames(8000, time.Second) {
		<-tick.C
		if err := st.Send(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if n := srv.Sessions()[0].State().KeepAlives; n != 0 {
		t.Errorf("%d keep-alives sent while audio flowed", n)
	}
}

func TestStream_ServerErrors(t *testing.T) {
	noStreamGoroutines(t)
	tests := []struct {
		name  string
		fail  deepgramtest.Failure
		check func(t *testing.T, err error)
	}{
		{
			name: "close frame",
			fail: deepgramtest.Failure{CloseCode: websocket.StatusInternalError, Reason: "NET-0001"},
			check: func(t *testing.T, err error) {
				var de *deepgram.Error
				if !errors.As(err, &de) || de.CloseCode != 1011 || de.Code != "NET-0001" || !de.Retryable() {
					t.Errorf("Err = %#v, want *Error with close 1011, code NET-0001, retryable", err)
				}
			},
		},
		{
			name: "error message",
			fail: deepgramtest.Failure{ErrorMessage: "Failed to decode audio.", CloseCode: websocket.StatusPolicyViolation, Reason: "DATA-0000"},
			check: func(t *testing.T, err error) {
				var de *deepgram.Error
				if !errors.As(err, &de) || de.Message != "Failed to decode audio." {
					t.Errorf("Err = %#v, want *Error with Deepgram's message", err)
				}
			},
		},
		{
			name: "normal close before CloseStream",
			fail: deepgramtest.Failure{CloseCode: websocket.StatusNormalClosure},
			check: func(t *testing.T, err error) {
				var de *deepgram.Error
				if !errors.As(err, &de) || de.CloseCode != 1000 {
					t.Errorf("Err = %#v, want *Error with close 1000", err)
				}
			},
		},
		{
			name: "connection cut",
			fail: deepgramtest.Failure{Abrupt: true},
			check: func(t *testing.T, err error) {
				var de *deepgram.Error
				if err == nil || errors.As(err, &de) {
					t.Errorf("Err = %#v, want a connection error", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			fail := tt.fail
			fail.After = 200 * time.Millisecond
			srv.SetListen(deepgramtest.Listen{Fail: &fail})
			ctx := testCtx(t)
			st, err := transcriber(srv).Open(ctx, voice.TranscribeOptions{Rate: 16000})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range frames(16000, 400*time.Millisecond) {
				if st.Send(f) != nil {
					break // the failure may already have reached Send
				}
			}
			if got := drain(t, ctx, st); len(got) != 0 {
				t.Errorf("transcripts: %+v", got)
			}
			err = st.Err()
			tt.check(t, err)
			if err == nil {
				return
			}
			if got := st.Send(frames(16000, 20*time.Millisecond)[0]); got == nil {
				t.Error("Send after the failure succeeded")
			}
			if got := st.Close(); got != err {
				t.Errorf("Close = %v, want the stream's error %v", got, err)
			}
		})
	}
}

func TestTranscriber_HandshakeRefused(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	tr := transcriber(srv)
	tr.APIKey = "wrong"
	_, err := tr.Open(testCtx(t), voice.TranscribeOptions{Rate: 16000})
	var de *deepgram.Error
	if !errors.As(err, &de) {
		t.Fatalf("Open = %v, want *Error", err)
	}
	if de.Status != 401 || de.Code != "INVALID_AUTH" || de.Message != "Invalid credentials." || de.RequestID == "" {
		t.Errorf("error = %+v", de)
	}
	if !strings.Contains(err.Error(), "Invalid credentials.") {
		t.Errorf("error text %q lacks Deepgram's message", err)
	}
}

func TestTranscriber_OpenChecks(t *testing.T) {
	srv := newFake(t)
	ctx := testCtx(t)
	if _, err := (&deepgram.Transcriber{BaseURL: srv.URL}).Open(ctx, voice.TranscribeOptions{Rate: 16000}); err == nil {
		t.Error("Open without an API key succeeded")
	}
	if _, err := transcriber(srv).Open(ctx, voice.TranscribeOptions{}); err == nil {
		t.Error("Open without a rate succeeded")
	}
	tr := transcriber(srv)
	tr.BaseURL = "ftp://example.com"
	if _, err := tr.Open(ctx, voice.TranscribeOptions{Rate: 16000}); err == nil {
		t.Error("Open with an ftp base URL succeeded")
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests made", n)
	}
}

func TestStream_FrameChecks(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	ctx := testCtx(t)
	st, err := transcriber(srv).Open(ctx, voice.TranscribeOptions{Rate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Send(frames(8000, 20*time.Millisecond)[0]); err == nil {
		t.Error("Send of an 8 kHz frame on a 16 kHz stream succeeded")
	}
	if err := st.Send(audio.Frame{Rate: 16000}); err != nil {
		t.Errorf("Send of an empty frame = %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if n := srv.Sessions()[0].State().EmptyAudio; n != 0 {
		t.Errorf("%d empty binary messages reached Deepgram", n)
	}
}

func TestStream_QueueOverflowFails(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	srv.SetListen(deepgramtest.Listen{StallReads: stall})
	ctx := testCtx(t)
	tr := transcriber(srv)
	tr.QueueFrames = 4
	st, err := tr.Open(ctx, voice.TranscribeOptions{Rate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	// The fake stops reading after the first frame: the socket's buffers
	// fill, the writer blocks, the queue fills.
	f := frames(16000, 20*time.Millisecond)[0]
	var sendErr error
	for range 1_000_000 {
		if sendErr = st.Send(f); sendErr != nil {
			break
		}
	}
	if !errors.Is(sendErr, deepgram.ErrQueueFull) {
		t.Fatalf("Send = %v, want ErrQueueFull", sendErr)
	}
	drain(t, ctx, st)
	if err := st.Err(); !errors.Is(err, deepgram.ErrQueueFull) {
		t.Errorf("Err = %v, want ErrQueueFull", err)
	}
	if err := st.Close(); !errors.Is(err, deepgram.ErrQueueFull) {
		t.Errorf("Close = %v, want ErrQueueFull", err)
	}
}

func TestStream_ContextEndsStream(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	st, err := transcriber(srv).Open(ctx, voice.TranscribeOptions{Rate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, st, frames(16000, 100*time.Millisecond))
	cancel()
	drain(t, testCtx(t), st)
	if err := st.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", err)
	}
	if err := st.Send(frames(16000, 20*time.Millisecond)[0]); err == nil {
		t.Error("Send after ctx ended succeeded")
	}
}

func TestStream_CloseIsBounded(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	srv.SetListen(deepgramtest.Listen{IgnoreCloseStream: true})
	ctx := testCtx(t)
	tr := transcriber(srv)
	tr.CloseTimeout = 100 * time.Millisecond
	st, err := tr.Open(ctx, voice.TranscribeOptions{Rate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, st, frames(16000, 100*time.Millisecond))
	err = st.Close()
	if err == nil || !strings.Contains(err.Error(), "did not end the stream") {
		t.Errorf("Close = %v, want the time-out", err)
	}
	drain(t, ctx, st)
	if !srv.Sessions()[0].State().CloseStream {
		t.Error("no CloseStream sent")
	}
}

func TestStream_BaseURLSchemes(t *testing.T) {
	noStreamGoroutines(t)
	srv := newFake(t)
	ctx := testCtx(t)
	for _, base := range []string{srv.URL, "ws://" + strings.TrimPrefix(srv.URL, "http://") + "/"} {
		tr := transcriber(srv)
		tr.BaseURL = base
		st, err := tr.Open(ctx, voice.TranscribeOptions{Rate: 16000})
		if err != nil {
			t.Fatalf("base %q: %v", base, err)
		}
		if err := st.Close(); err != nil {
			t.Fatalf("base %q: Close: %v", base, err)
		}
	}
}
