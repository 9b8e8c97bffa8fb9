package openai_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/openai/openaitest"
	"github.com/agentphone/agentphone/voice"
)

func newSpeaker(tb testing.TB, c openai.Config) *openai.Speaker {
	tb.Helper()
	s, err := openai.NewSpeaker(c)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// collector gathers what Stream emits.
type collector struct {
	mu      sync.Mutex
	samples []int16
	frames  int
	rates   map[int]bool
}

func (c *collector) emit(f audio.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = append(c.samples, f.Samples...)
	c.frames++
	if c.rates == nil {
		c.rates = map[int]bool{}
	}
	c.rates[f.Rate] = true
	return nil
}

func TestSpeaker_SendsFieldsAndStreamsPCM(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.SetAPIKey("sk-test")
	sp := newSpeaker(t, openai.Config{APIKey: "sk-test", BaseURL: srv.BaseURL()})

	const text = "Thanks for calling, how can I help you today?"
	var c collector
	err := sp.Stream(context.Background(), voice.SpeechRequest{Text: "  " + text + "\n", Voice: "openai-coral", Speed: 1.5, Language: "en-US", Rate: 8000}, c.emit)
	if err != nil {
		t.Fatal(err)
	}
	recs := srv.Speeches()
	if len(recs) != 1 {
		t.Fatalf("%d requests, want 1", len(recs))
	}
	r := recs[0]
	if r.Model != openai.DefaultSpeechModel || r.Voice != "coral" || r.Input != text || r.ResponseFormat != "pcm" || r.Speed != 1.5 {
		t.Errorf("request %+v", r)
	}
	if r.Authorization != "Bearer sk-test" {
		t.Errorf("Authorization %q", r.Authorization)
	}
	if !slices.Equal(c.samples, openaitest.SpeechPCM(text, 1.5)) {
		t.Errorf("got %d samples, not the %d the fake sent", len(c.samples), len(openaitest.SpeechPCM(text, 1.5)))
	}
	if len(c.rates) != 1 || !c.rates[24000] || sp.Rate() != 24000 {
		t.Errorf("rates %v (Rate %d), want 24000 only", c.rates, sp.Rate())
	}
	if c.frames < 2 {
		t.Errorf("%d frames, want the answer in pieces", c.frames)
	}
}

func TestSpeaker_VoiceAndSpeed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		voice     string
		speed     float64
		wantVoice string
		wantSpeed float64
	}{
		{"", 0, "alloy", 0},
		{"openai-alloy", 1, "alloy", 1},
		{"openai-marin", 0.5, "marin", 0.5},
		{"openai-af_bella", 10, "af_bella", 4},
		{"openai-echo", 0.1, "echo", 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.voice, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			sp := newSpeaker(t, openai.Config{BaseURL: srv.BaseURL(), SpeechModel: "tts-1"})
			if err := sp.Stream(context.Background(), voice.SpeechRequest{Text: "Hi.", Voice: tt.voice, Speed: tt.speed}, func(audio.Frame) error { return nil }); err != nil {
				t.Fatal(err)
			}
			r := srv.Speeches()[0]
			if r.Voice != tt.wantVoice || r.Speed != tt.wantSpeed || r.Model != "tts-1" {
				t.Errorf("voice %q speed %v model %q, want %q %v tts-1", r.Voice, r.Speed, r.Model, tt.wantVoice, tt.wantSpeed)
			}
		})
	}
}

func TestSpeaker_UnknownVoiceAndEmptyText(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	sp := newSpeaker(t, openai.Config{BaseURL: srv.BaseURL()})
	for _, id := range []string{"espeak-brian", "openai-", "alloy"} {
		err := sp.Stream(context.Background(), voice.SpeechRequest{Text: "Hi.", Voice: id}, func(audio.Frame) error { return nil })
		if !errors.Is(err, openai.ErrUnknownVoice) {
			t.Errorf("voice %q: error %v, want ErrUnknownVoice", id, err)
		}
	}
	if err := sp.Stream(context.Background(), voice.SpeechRequest{Text: " \n\t", Voice: "openai-alloy"}, func(audio.Frame) error {
		t.Error("emit called for no text")
		return nil
	}); err != nil {
		t.Errorf("no text: %v", err)
	}
	if n := len(srv.Speeches()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestSpeaker_StreamsBeforeTheEnd proves that audio is handed on as it
// arrives: the fake holds its last piece back until the first audio has
// been emitted.
func TestSpeaker_StreamsBeforeTheEnd(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	release := srv.HoldLastChunk()
	t.Cleanup(release)
	sp := newSpeaker(t, openai.Config{BaseURL: srv.BaseURL()})

	const text = "One moment while I look that up for you."
	first := make(chan struct{})
	var once sync.Once
	var c collector
	done := make(chan error, 1)
	go func() {
		done <- sp.Stream(context.Background(), voice.SpeechRequest{Text: text, Voice: "openai-sage"}, func(f audio.Frame) error {
			once.Do(func() { close(first) })
			return c.emit(f)
		})
	}()

	select {
	case <-first:
	case err := <-done:
		t.Fatalf("Stream returned (%v) before any audio", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no audio emitted while the last piece was held")
	}
	if recs := srv.Speeches(); len(recs) != 1 || recs[0].Complete {
		t.Fatalf("the fake finished its answer (%+v) before audio was emitted", recs)
	}
	select {
	case err := <-done:
		t.Fatalf("Stream returned (%v) while the last piece was held", err)
	default:
	}

	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.samples, openaitest.SpeechPCM(text, 0)) {
		t.Errorf("got %d samples, want the fake's %d", len(c.samples), len(openaitest.SpeechPCM(text, 0)))
	}
}

func TestSpeaker_ContextCancelStopsStream(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	t.Cleanup(srv.HoldLastChunk()) // never released during the test
	sp := newSpeaker(t, openai.Config{BaseURL: srv.BaseURL()})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- sp.Stream(ctx, voice.SpeechRequest{Text: "This sentence will be cut short by the caller."}, func(audio.Frame) error {
			once.Do(func() { close(first) })
			return nil
		})
	}()
	<-first
	canceled := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		if d := time.Since(canceled); d > time.Second {
			t.Errorf("Stream took %v to return after the cancel", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stream did not return after its context was canceled")
	}
}

func TestSpeaker_EmitErrorStops(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	t.Cleanup(srv.HoldLastChunk())
	sp := newSpeaker(t, openai.Config{BaseURL: srv.BaseURL()})
	errFull := errors.New("sink full")
	calls := 0
	err := sp.Stream(context.Background(), voice.SpeechRequest{Text: "Hello there."}, func(audio.Frame) error {
		calls++
		return errFull
	})
	if !errors.Is(err, errFull) || calls != 1 {
		t.Errorf("error %v after %d calls, want errFull after 1", err, calls)
	}
}

// roundTripper answers every request with the response it makes.
type roundTripper func(*http.Request) *http.Response

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return f(r), nil
}

// clientAnswering is an HTTP client whose every answer is a 200 with
// contentType and a body from body().
func clientAnswering(contentType string, body func() io.Reader) *http.Client {
	return &http.Client{Transport: roundTripper(func(r *http.Request) *http.Response {
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {contentType}},
			Body:       io.NopCloser(body()),
			Request:    r,
		}
	})}
}

func TestSpeaker_SamplesSplitAcrossReads(t *testing.T) {
	t.Parallel()
	want := []int16{0, 1, -1, 32767, -32768, 0x1234, -0x1234, 258}
	var pcm []byte
	for _, v := range want {
		pcm = binary.LittleEndian.AppendUint16(pcm, uint16(v))
	}
	pcm = append(pcm, 0x7f) // a last odd byte, dropped

	for name, reader := range map[string]func() io.Reader{
		"one byte at a time": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(pcm)) },
		"half reads":         func() io.Reader { return iotest.HalfReader(bytes.NewReader(pcm)) },
		"data with EOF":      func() io.Reader { return iotest.DataErrReader(bytes.NewReader(pcm)) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sp := newSpeaker(t, openai.Config{BaseURL: "http://tts.invalid/v1", HTTPClient: clientAnswering("audio/pcm", reader), SpeechRate: 22050})
			var c collector
			if err := sp.Stream(context.Background(), voice.SpeechRequest{Text: "x"}, c.emit); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.samples, want) {
				t.Errorf("samples %v, want %v", c.samples, want)
			}
			if len(c.rates) != 1 || !c.rates[22050] {
				t.Errorf("rates %v, want the configured 22050", c.rates)
			}
		})
	}
}

func TestSpeaker_Errors(t *testing.T) {
	t.Parallel()
	t.Run("FailNext", func(t *testing.T) {
		t.Parallel()
		srv := newFake(t)
		srv.FailNext(http.StatusBadRequest, "Invalid 'input': string too long.")
		sp := newSpeaker(t, openai.Config{BaseURL: srv.BaseURL()})
		err := sp.Stream(context.Background(), voice.SpeechRequest{Text: "Hi."}, func(audio.Frame) error { return nil })
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Message != "Invalid 'input': string too long." {
			t.Fatalf("error %v, want a 400 with the message", err)
		}
		if !strings.Contains(err.Error(), "string too long") {
			t.Errorf("error %q does not carry the message", err)
		}
	})
	t.Run("UnknownModel", func(t *testing.T) {
		t.Parallel()
		srv := newFake(t)
		srv.AllowModels("tts-1")
		sp := newSpeaker(t, openai.Config{BaseURL: srv.BaseURL()})
		err := sp.Stream(context.Background(), voice.SpeechRequest{Text: "Hi."}, func(audio.Frame) error { return nil })
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Fatalf("error %v, want 404 model_not_found", err)
		}
	})
	t.Run("JSONInsteadOfAudio", func(t *testing.T) {
		t.Parallel()
		body := func() io.Reader { return strings.NewReader(`{"error":"voice not found"}`) }
		sp := newSpeaker(t, openai.Config{BaseURL: "http://tts.invalid/v1", HTTPClient: clientAnswering("application/json", body)})
		err := sp.Stream(context.Background(), voice.SpeechRequest{Text: "Hi."}, func(audio.Frame) error {
			t.Error("JSON emitted as audio")
			return nil
		})
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.Message != "voice not found" {
			t.Fatalf("error %v, want an *APIError with the message", err)
		}
	})
	t.Run("CutShort", func(t *testing.T) {
		t.Parallel()
		body := func() io.Reader {
			return io.MultiReader(bytes.NewReader(make([]byte, 100)), iotest.ErrReader(io.ErrUnexpectedEOF))
		}
		sp := newSpeaker(t, openai.Config{BaseURL: "http://tts.invalid/v1", HTTPClient: clientAnswering("audio/pcm", body)})
		var c collector
		err := sp.Stream(context.Background(), voice.SpeechRequest{Text: "Hi."}, c.emit)
		if !errors.Is(err, io.ErrUnexpectedEOF) || len(c.samples) != 50 {
			t.Errorf("error %v after %d samples, want ErrUnexpectedEOF after 50", err, len(c.samples))
		}
	})
}

func TestNewSpeaker_InvalidConfig(t *testing.T) {
	t.Parallel()
	if _, err := openai.NewSpeaker(openai.Config{BaseURL: "not a url"}); err == nil {
		t.Error("no error for a bad base URL")
	}
	if _, err := openai.NewSpeaker(openai.Config{SpeechRate: -1}); err == nil {
		t.Error("no error for a negative rate")
	}
}
