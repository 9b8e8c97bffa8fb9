package deepgram_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/deepgram"
	"github.com/agentphone/agentphone/deepgram/deepgramtest"
	"github.com/agentphone/agentphone/voice"
)

func speaker(srv *deepgramtest.Server) *deepgram.Speaker {
	return &deepgram.Speaker{APIKey: srv.APIKey, BaseURL: srv.URL}
}

// collect returns an emit that appends the samples it gets, checking
// their rate.
func collect(t *testing.T, rate int, into *[]int16, calls *int) func(audio.Frame) error {
	return func(f audio.Frame) error {
		if f.Rate != rate {
			t.Errorf("chunk at %d Hz, want %d", f.Rate, rate)
		}
		*into = append(*into, f.Samples...)
		*calls++
		return nil
	}
}

func TestSpeaker_StreamsAsItArrives(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	// The fake holds its last chunk back until the first has been
	// emitted: a Speaker that waited for the whole answer would never get
	// it, and the test would end at its deadline.
	gate := make(chan struct{})
	srv.SetSpeak(deepgramtest.Speak{Chunks: 5, BeforeLast: gate})
	var once sync.Once
	var got []int16
	calls := 0
	emit := collect(t, 8000, &got, &calls)
	text := "Hello, thanks for calling. How can I help?"
	err := speaker(srv).Stream(testCtx(t), voice.SpeechRequest{
		Text: "  " + text + "\n", Voice: "deepgram-aura-2-thalia-en", Speed: 1, Language: "en-US", Rate: 8000,
	}, func(f audio.Frame) error {
		once.Do(func() { close(gate) })
		return emit(f)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := deepgramtest.SpeechFor(text, 8000); !slices.Equal(got, want) {
		t.Errorf("emitted %d samples, want the fake's %d", len(got), len(want))
	}
	if calls < 2 {
		t.Errorf("emit called %d times, want a call per chunk that arrived", calls)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v1/speak" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	for k, want := range map[string]string{"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": "8000", "container": "none"} {
		if got := r.Query.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if r.Query.Has("speed") {
		t.Errorf("speed = %q sent for speed 1", r.Query.Get("speed"))
	}
	if got, want := r.Header.Get("Authorization"), "Token "+srv.APIKey; got != want {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 1 || body["text"] != text {
		t.Errorf("body = %s, want {\"text\": %q}", r.Body, text)
	}
}

func TestSpeaker_RateSpeedAndVoice(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	tests := []struct {
		name string
		sp   deepgram.Speaker
		req  voice.SpeechRequest
		want map[string]string // "" means absent
	}{
		{"16 kHz", deepgram.Speaker{}, voice.SpeechRequest{Rate: 16000}, map[string]string{"sample_rate": "16000", "model": "aura-2-thalia-en"}},
		{"no rate", deepgram.Speaker{}, voice.SpeechRequest{}, map[string]string{"sample_rate": "24000"}},
		{"22.05 kHz", deepgram.Speaker{}, voice.SpeechRequest{Rate: 22050}, map[string]string{"sample_rate": "24000"}},
		{"44.1 kHz", deepgram.Speaker{}, voice.SpeechRequest{Rate: 44100}, map[string]string{"sample_rate": "48000"}},
		{"96 kHz", deepgram.Speaker{}, voice.SpeechRequest{Rate: 96000}, map[string]string{"sample_rate": "48000"}},
		{"faster", deepgram.Speaker{}, voice.SpeechRequest{Speed: 1.25}, map[string]string{"speed": "1.25"}},
		{"too fast", deepgram.Speaker{}, voice.SpeechRequest{Speed: 2}, map[string]string{"speed": "1.5"}},
		{"too slow", deepgram.Speaker{}, voice.SpeechRequest{Speed: 0.5}, map[string]string{"speed": "0.7"}},
		{"speed 0", deepgram.Speaker{}, voice.SpeechRequest{Speed: 0}, map[string]string{"speed": ""}},
		{"aura-1 has no speed", deepgram.Speaker{}, voice.SpeechRequest{Voice: "deepgram-aura-asteria-en", Speed: 1.2},
			map[string]string{"model": "aura-asteria-en", "speed": ""}},
		{"unlisted aura-2 voice", deepgram.Speaker{}, voice.SpeechRequest{Voice: "deepgram-aura-2-odysseus-en"},
			map[string]string{"model": "aura-2-odysseus-en"}},
		{"voice of the language", deepgram.Speaker{}, voice.SpeechRequest{Language: "es-MX"}, map[string]string{"model": "aura-2-celeste-es"}},
		{"default voice", deepgram.Speaker{DefaultVoice: "deepgram-aura-2-draco-en"}, voice.SpeechRequest{Language: "es-MX"},
			map[string]string{"model": "aura-2-draco-en"}},
	}
	for i, tt := range tests {
		sp := tt.sp
		sp.APIKey, sp.BaseURL = srv.APIKey, srv.URL
		req := tt.req
		req.Text = "Hi."
		var got []int16
		calls := 0
		wantRate := 24000
		if r := tt.want["sample_rate"]; r == "16000" {
			wantRate = 16000
		} else if r == "48000" {
			wantRate = 48000
		}
		if err := sp.Stream(testCtx(t), req, collect(t, wantRate, &got, &calls)); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		q := srv.Requests()[i].Query
		for k, want := range tt.want {
			if want == "" {
				if q.Has(k) {
					t.Errorf("%s: %s = %q, want it absent", tt.name, k, q.Get(k))
				}
			} else if got := q.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", tt.name, k, got, want)
			}
		}
	}
}

func TestSpeaker_Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		key        string
		speak      deepgramtest.Speak
		status     int
		code, msg  string
		retryable  bool
		inErrorMsg string
	}{
		{
			name: "wrong key", key: "wrong",
			status: 401, code: "INVALID_AUTH", msg: "Invalid credentials.", inErrorMsg: "Invalid credentials.",
		},
		{
			name:   "err_msg body",
			speak:  deepgramtest.Speak{Status: 400, Body: `{"err_code":"Bad Request","err_msg":"Text exceeds the 2000 character limit.","request_id":"r-1"}`},
			status: 400, code: "Bad Request", msg: "Text exceeds the 2000 character limit.", inErrorMsg: "2000 character limit",
		},
		{
			name:   "category body",
			speak:  deepgramtest.Speak{Status: 400, Body: `{"category":"INVALID_JSON","message":"Invalid JSON submitted.","details":"missing field text","request_id":"r-2"}`},
			status: 400, code: "INVALID_JSON", msg: "Invalid JSON submitted. missing field text", inErrorMsg: "Invalid JSON submitted.",
		},
		{
			name:   "rate limited",
			speak:  deepgramtest.Speak{Status: 429, Body: `{"err_code":"TOO_MANY_REQUESTS","err_msg":"Too many requests.","request_id":"r-3"}`},
			status: 429, code: "TOO_MANY_REQUESTS", msg: "Too many requests.", retryable: true, inErrorMsg: "Too many requests.",
		},
		{
			name:   "proxy page",
			speak:  deepgramtest.Speak{Status: 502, Body: "<html>\n<h1>502 Bad Gateway</h1></html>"},
			status: 502, msg: "<html> <h1>502 Bad Gateway</h1></html>", retryable: true, inErrorMsg: "502 Bad Gateway",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			srv.SetSpeak(tt.speak)
			sp := speaker(srv)
			if tt.key != "" {
				sp.APIKey = tt.key
			}
			err := sp.Stream(testCtx(t), voice.SpeechRequest{Text: "Hello."}, func(audio.Frame) error {
				t.Error("emit called")
				return nil
			})
			var de *deepgram.Error
			if !errors.As(err, &de) {
				t.Fatalf("Stream = %v, want *Error", err)
			}
			if de.Status != tt.status || de.Code != tt.code || de.Message != tt.msg || de.Retryable() != tt.retryable {
				t.Errorf("error = %+v (retryable %v)", de, de.Retryable())
			}
			if !strings.Contains(err.Error(), tt.inErrorMsg) {
				t.Errorf("error text %q lacks %q", err, tt.inErrorMsg)
			}
		})
	}
}

func TestSpeaker_NoRequest(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	ctx := testCtx(t)
	emit := func(audio.Frame) error { t.Error("emit called"); return nil }
	if err := speaker(srv).Stream(ctx, voice.SpeechRequest{Text: "Hi.", Voice: "espeak-brian"}, emit); !errors.Is(err, deepgram.ErrUnknownVoice) {
		t.Errorf("espeak voice: %v, want ErrUnknownVoice", err)
	}
	if err := speaker(srv).Stream(ctx, voice.SpeechRequest{Text: " \n "}, emit); err != nil {
		t.Errorf("blank text: %v", err)
	}
	if err := (&deepgram.Speaker{BaseURL: srv.URL}).Stream(ctx, voice.SpeechRequest{Text: "Hi."}, emit); err == nil {
		t.Error("no API key: no error")
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests made", n)
	}
}

func TestSpeaker_EmitErrorStops(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.SetSpeak(deepgramtest.Speak{Chunks: 4})
	stop := errors.New("barge-in")
	calls := 0
	err := speaker(srv).Stream(testCtx(t), voice.SpeechRequest{Text: "A long answer."}, func(audio.Frame) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Stream = %v after %d emits, want emit's error after 1", err, calls)
	}
}

func TestSpeaker_ContextEnds(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.SetSpeak(deepgramtest.Speak{Chunks: 3, BeforeLast: make(chan struct{})}) // the last chunk never comes
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	err := speaker(srv).Stream(ctx, voice.SpeechRequest{Text: "Never finished."}, func(audio.Frame) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Stream = %v, want context.Canceled", err)
	}
}

func TestSpeaker_WebSocketBaseURL(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	sp := speaker(srv)
	sp.BaseURL = "ws://" + strings.TrimPrefix(srv.URL, "http://")
	var got []int16
	calls := 0
	if err := sp.Stream(testCtx(t), voice.SpeechRequest{Text: "Hi.", Rate: 16000}, collect(t, 16000, &got, &calls)); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Error("no audio")
	}
}
