package elevenlabs_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/elevenlabs"
	"github.com/agentphone/agentphone/elevenlabs/elevenlabstest"
	"github.com/agentphone/agentphone/voice"
)

// waitLimit bounds every wait for an event, so that a broken test fails
// instead of hanging.
const waitLimit = 10 * time.Second

// setup starts a fake and a Speaker pointed at it; mod may change the
// configuration first.
func setup(t *testing.T, mod func(*elevenlabs.Config)) (*elevenlabs.Speaker, *elevenlabstest.Server) {
	t.Helper()
	srv := elevenlabstest.NewServer()
	t.Cleanup(srv.Close)
	cfg := elevenlabs.Config{APIKey: srv.APIKey, BaseURL: srv.URL}
	if mod != nil {
		mod(&cfg)
	}
	sp, err := elevenlabs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sp, srv
}

// speak streams req and returns every sample emitted and the frames' rates.
func speak(t *testing.T, sp *elevenlabs.Speaker, req voice.SpeechRequest) ([]int16, []int, error) {
	t.Helper()
	var samples []int16
	var rates []int
	err := sp.Stream(context.Background(), req, func(f audio.Frame) error {
		samples = append(samples, f.Samples...)
		rates = append(rates, f.Rate)
		return nil
	})
	return samples, rates, err
}

// warm fetches the voice list, so that a failure injected next hits the
// speech request.
func warm(t *testing.T, sp *elevenlabs.Speaker) {
	t.Helper()
	if err := sp.Catalog().Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// speechRequests returns the text-to-speech requests the fake received.
func speechRequests(srv *elevenlabstest.Server) []elevenlabstest.Request {
	return srv.RequestsTo("/v1/text-to-speech/")
}

func TestSpeaker_Stream_SendsDocumentedFields(t *testing.T) {
	t.Parallel()
	sp, srv := setup(t, nil)
	const text = "Hello, thanks for calling."
	samples, rates, err := speak(t, sp, voice.SpeechRequest{
		Text: text, Voice: "11labs-Brian", Speed: 1.1, Language: "en-US", Rate: 16000,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := elevenlabstest.Tone(text, 16000); !slices.Equal(samples, want) {
		t.Errorf("got %d samples, want the fake's %d samples exactly", len(samples), len(want))
	}
	for _, r := range rates {
		if r != 16000 {
			t.Fatalf("frame at %d Hz, want 16000", r)
		}
	}

	reqs := speechRequests(srv)
	if len(reqs) != 1 {
		t.Fatalf("%d speech requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v1/text-to-speech/nPczCjzI2devNBz1zQrb/stream" {
		t.Errorf("request %s %s, want POST /v1/text-to-speech/nPczCjzI2devNBz1zQrb/stream", r.Method, r.Path)
	}
	if got := r.Header.Get("xi-api-key"); got != srv.APIKey {
		t.Errorf("xi-api-key %q, want the account's key", got)
	}
	if got := r.Query.Get("output_format"); got != "pcm_16000" {
		t.Errorf("output_format %q, want pcm_16000", got)
	}
	if r.Query.Has("optimize_streaming_latency") {
		t.Errorf("optimize_streaming_latency sent without being configured")
	}
	if r.Speech == nil {
		t.Fatalf("body %s did not decode", r.Body)
	}
	if r.Speech.Text != text {
		t.Errorf("text %q, want %q", r.Speech.Text, text)
	}
	if r.Speech.ModelID == nil || *r.Speech.ModelID != elevenlabs.DefaultModel {
		t.Errorf("model_id %v, want %s", r.Speech.ModelID, elevenlabs.DefaultModel)
	}
	if r.Speech.LanguageCode == nil || *r.Speech.LanguageCode != "en" {
		t.Errorf("language_code %v, want en", r.Speech.LanguageCode)
	}
	if vs := r.Speech.VoiceSettings; vs == nil || vs.Speed == nil || *vs.Speed != 1.1 {
		t.Errorf("voice_settings %+v, want speed 1.1", vs)
	}
}

func TestSpeaker_Stream_ConfiguredModelAndLatency(t *testing.T) {
	t.Parallel()
	sp, srv := setup(t, func(c *elevenlabs.Config) {
		c.Model = "eleven_turbo_v2_5"
		c.OptimizeStreamingLatency = 3
	})
	if _, _, err := speak(t, sp, voice.SpeechRequest{Text: "Hi.", Voice: "11labs-Sarah", Rate: 8000}); err != nil {
		t.Fatal(err)
	}
	r := speechRequests(srv)[0]
	if r.Speech.ModelID == nil || *r.Speech.ModelID != "eleven_turbo_v2_5" {
		t.Errorf("model_id %v, want eleven_turbo_v2_5", r.Speech.ModelID)
	}
	if got := r.Query.Get("optimize_streaming_latency"); got != "3" {
		t.Errorf("optimize_streaming_latency %q, want 3", got)
	}
}

func TestSpeaker_Stream_Rate(t *testing.T) {
	t.Parallel()
	sp, srv := setup(t, nil)
	cases := []struct{ rate, want int }{
		{8000, 8000}, {16000, 16000}, {0, 16000}, {11025, 16000},
		{22050, 22050}, {24000, 24000}, {44100, 24000}, {48000, 24000},
	}
	for i, c := range cases {
		text := strings.Repeat("a", i+1)
		samples, rates, err := speak(t, sp, voice.SpeechRequest{Text: text, Voice: "11labs-George", Rate: c.rate})
		if err != nil {
			t.Fatalf("rate %d: %v", c.rate, err)
		}
		reqs := speechRequests(srv)
		if got := reqs[len(reqs)-1].Query.Get("output_format"); got != "pcm_"+strconv.Itoa(c.want) {
			t.Errorf("rate %d: output_format %q, want pcm_%d", c.rate, got, c.want)
		}
		if got := elevenlabs.OutputRate(c.rate); got != c.want {
			t.Errorf("OutputRate(%d) = %d, want %d", c.rate, got, c.want)
		}
		if len(rates) == 0 || rates[0] != c.want {
			t.Errorf("rate %d: frames at %v, want %d", c.rate, rates, c.want)
		}
		if want := len(elevenlabstest.Tone(text, c.want)); len(samples) != want {
			t.Errorf("rate %d: %d samples, want %d", c.rate, len(samples), want)
		}
	}
}

func TestSpeed(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want float64 }{
		{0, 1}, {math.NaN(), 1}, {1, 1}, {0.5, 0.7}, {0.7, 0.7}, {0.9, 0.9},
		{1.2, 1.2}, {1.5, 1.2}, {2, 1.2}, {-3, 0.7}, {math.Inf(1), 1.2},
	}
	for _, c := range cases {
		if got := elevenlabs.Speed(c.in); got != c.want {
			t.Errorf("Speed(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestSpeaker_Stream_SpeedClamped(t *testing.T) {
	t.Parallel()
	sp, srv := setup(t, nil)
	cases := []struct {
		speed float64
		want  *float64 // nil: no voice_settings
	}{
		{0.5, new(0.7)}, {2.0, new(1.2)}, {0.8, new(0.8)}, {1, nil}, {0, nil},
	}
	for _, c := range cases {
		// The fake refuses a speed outside 0.7–1.2, as ElevenLabs does.
		if _, _, err := speak(t, sp, voice.SpeechRequest{Text: "Okay.", Voice: "11labs-Brian", Speed: c.speed, Rate: 8000}); err != nil {
			t.Fatalf("speed %v: %v", c.speed, err)
		}
		reqs := speechRequests(srv)
		vs := reqs[len(reqs)-1].Speech.VoiceSettings
		switch {
		case c.want == nil && vs != nil:
			t.Errorf("speed %v: voice_settings %s sent, want none", c.speed, reqs[len(reqs)-1].Body)
		case c.want != nil && (vs == nil || vs.Speed == nil || *vs.Speed != *c.want):
			t.Errorf("speed %v: body %s, want speed %v", c.speed, reqs[len(reqs)-1].Body, *c.want)
		}
	}
}

func TestSpeaker_Stream_LanguageCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		model, language string
		want            *string
	}{
		{"", "es-419", new("es")},
		{"", "PT-br", new("pt")},
		{"", "de", new("de")},
		{"", "fil-PH", nil}, // no ISO 639-1 code
		{"", "", nil},
		{"eleven_v3", "fr-FR", new("fr")},
		// The fake, like ElevenLabs' documentation, refuses language_code
		// for these models.
		{"eleven_multilingual_v2", "fr-FR", nil},
		{"eleven_flash_v2", "en-US", nil},
	}
	for _, c := range cases {
		sp, srv := setup(t, func(cfg *elevenlabs.Config) { cfg.Model = c.model })
		if _, _, err := speak(t, sp, voice.SpeechRequest{Text: "Bonjour.", Voice: "11labs-Brian", Language: c.language, Rate: 16000}); err != nil {
			t.Fatalf("model %q language %q: %v", c.model, c.language, err)
		}
		got := speechRequests(srv)[0].Speech.LanguageCode
		if (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("model %q language %q: language_code %v, want %v", c.model, c.language, deref(got), deref(c.want))
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return "<none>"
	}
	return *p
}

// emitRecorder collects a stream's samples and closes first at the first
// emit.
type emitRecorder struct {
	mu      sync.Mutex
	samples []int16
	first   chan struct{}
	once    sync.Once
}

func newEmitRecorder() *emitRecorder { return &emitRecorder{first: make(chan struct{})} }

func (e *emitRecorder) emit(f audio.Frame) error {
	e.mu.Lock()
	e.samples = append(e.samples, f.Samples...)
	e.mu.Unlock()
	e.once.Do(func() { close(e.first) })
	return nil
}

func (e *emitRecorder) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.samples)
}

func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestSpeaker_Stream_EmitsBeforeTheLastChunk(t *testing.T) {
	t.Parallel()
	sp, srv := setup(t, nil)
	release := srv.HoldLastChunk()
	defer release()

	const text = "Your appointment is confirmed for Tuesday at three."
	rec := newEmitRecorder()
	done := make(chan error, 1)
	go func() {
		done <- sp.Stream(context.Background(), voice.SpeechRequest{Text: text, Voice: "11labs-Brian", Rate: 16000}, rec.emit)
	}()

	await(t, srv.Held(), "the fake to hold the last chunk")
	await(t, rec.first, "the first emit while the last chunk is held")
	if srv.Completed() != 0 {
		t.Fatal("the fake sent the last chunk before it was released")
	}
	want := elevenlabstest.Tone(text, 16000)
	if n := rec.count(); n == 0 || n >= len(want) {
		t.Errorf("%d of %d samples emitted before the last chunk, want some but not all", n, len(want))
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Stream did not return after the last chunk")
	}
	if !slices.Equal(rec.samples, want) {
		t.Errorf("got %d samples, want the fake's %d exactly", len(rec.samples), len(want))
	}
}

func TestSpeaker_Stream_CancelStopsPromptly(t *testing.T) {
	t.Parallel()
	sp, srv := setup(t, nil)
	release := srv.HoldLastChunk()
	defer release()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := newEmitRecorder()
	done := make(chan error, 1)
	go func() {
		done <- sp.Stream(ctx, voice.SpeechRequest{Text: "A long answer that is cut short.", Voice: "11labs-Brian", Rate: 8000}, rec.emit)
	}()
	await(t, rec.first, "the first emit")
	await(t, srv.Held(), "the fake to hold the last chunk")

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Stream returned %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Stream returned %v after the cancel, want promptly", d)
		}
	case <-time.After(waitLimit):
		t.Fatal("Stream did not return after its context was cancelled")
	}
	await(t, srv.Aborted(), "the fake to see the client leave")
	if srv.Completed() != 0 {
		t.Error("the fake completed a cancelled stream")
	}
}

func TestSpeaker_Stream_EmitErrorEndsTheStream(t *testing.T) {
	t.Parallel()
	sp, srv := setup(t, nil)
	release := srv.HoldLastChunk()
	defer release()
	stop := errors.New("caller hung up")
	calls := 0
	err := sp.Stream(context.Background(), voice.SpeechRequest{Text: "Hello there, how are you?", Voice: "11labs-Brian", Rate: 16000},
		func(audio.Frame) error { calls++; return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("Stream returned %v, want emit's error", err)
	}
	if calls != 1 {
		t.Errorf("emit called %d times after failing, want once", calls)
	}
	await(t, srv.Aborted(), "the fake to see the client leave")
}

func TestSpeaker_Stream_Errors(t *testing.T) {
	t.Parallel()
	t.Run("WrongKey", func(t *testing.T) {
		t.Parallel()
		sp, _ := setup(t, func(c *elevenlabs.Config) { c.APIKey = "sk_wrong" })
		_, _, err := speak(t, sp, voice.SpeechRequest{Text: "Hi.", Voice: "11labs-nPczCjzI2devNBz1zQrb", Rate: 8000})
		var e *elevenlabs.Error
		if !errors.As(err, &e) || e.Status != 401 || e.Code != "invalid_api_key" || e.Message != "Invalid API key" {
			t.Fatalf("error %v (%+v), want 401 invalid_api_key with ElevenLabs' message", err, e)
		}
		if !strings.Contains(err.Error(), "Invalid API key") {
			t.Errorf("error text %q lacks ElevenLabs' message", err)
		}
	})
	t.Run("VoiceNotFound", func(t *testing.T) {
		t.Parallel()
		sp, _ := setup(t, nil)
		_, _, err := speak(t, sp, voice.SpeechRequest{Text: "Hi.", Voice: "11labs-abcdefghij0123456789", Rate: 8000})
		var e *elevenlabs.Error
		if !errors.As(err, &e) || e.Status != 404 || e.Code != "voice_not_found" ||
			!strings.Contains(err.Error(), "A voice with the voice_id abcdefghij0123456789 was not found.") {
			t.Fatalf("error %v, want 404 voice_not_found with ElevenLabs' message", err)
		}
		if e.RequestID == "" || e.Type == "" {
			t.Errorf("error %+v lacks request_id or type", e)
		}
	})
	t.Run("Quota", func(t *testing.T) {
		t.Parallel()
		sp, srv := setup(t, nil)
		warm(t, sp)
		srv.FailNext(401, "quota_exceeded", "This request exceeds your quota of 10000. You have 3 credits remaining.")
		_, _, err := speak(t, sp, voice.SpeechRequest{Text: "Hi.", Voice: "11labs-Brian", Rate: 8000})
		if !strings.Contains(err.Error(), "quota_exceeded: This request exceeds your quota") || elevenlabs.IsTemporary(err) {
			t.Fatalf("error %v, want quota_exceeded with its message, not temporary", err)
		}
	})
	t.Run("TooManyRequests", func(t *testing.T) {
		t.Parallel()
		sp, srv := setup(t, nil)
		warm(t, sp)
		srv.FailNext(429, "concurrent_limit_exceeded", "Too many concurrent requests.")
		_, _, err := speak(t, sp, voice.SpeechRequest{Text: "Hi.", Voice: "11labs-Brian", Rate: 8000})
		if !elevenlabs.IsTemporary(err) || !strings.Contains(err.Error(), "Too many concurrent requests.") {
			t.Fatalf("error %v, want a temporary error with ElevenLabs' message", err)
		}
	})
	t.Run("ValidationList", func(t *testing.T) {
		t.Parallel()
		sp, srv := setup(t, nil)
		warm(t, sp)
		srv.FailNextRaw(422, "application/json", `{"detail":[{"loc":["body","text"],"msg":"Field required","type":"missing"}]}`)
		_, _, err := speak(t, sp, voice.SpeechRequest{Text: "Hi.", Voice: "11labs-Brian", Rate: 8000})
		if !strings.Contains(err.Error(), "body.text: Field required") {
			t.Fatalf("error %v, want the validation message", err)
		}
	})
	t.Run("NotJSON", func(t *testing.T) {
		t.Parallel()
		sp, srv := setup(t, nil)
		warm(t, sp)
		srv.FailNextRaw(502, "text/html", "<html><body>bad gateway</body></html>")
		_, _, err := speak(t, sp, voice.SpeechRequest{Text: "Hi.", Voice: "11labs-Brian", Rate: 8000})
		var e *elevenlabs.Error
		if !errors.As(err, &e) || e.Status != 502 || !strings.Contains(e.Message, "Bad Gateway: <html>") || !e.Temporary() {
			t.Fatalf("error %v, want a temporary 502 with a snippet of the page", err)
		}
	})
}

func TestSpeaker_Stream_UnknownVoice(t *testing.T) {
	t.Parallel()
	sp, srv := setup(t, nil)
	for _, id := range []string{"11labs-Nobody", "espeak-brian", "11labs-"} {
		_, _, err := speak(t, sp, voice.SpeechRequest{Text: "Hi.", Voice: id, Rate: 8000})
		if !errors.Is(err, elevenlabs.ErrUnknownVoice) {
			t.Errorf("voice %q: error %v, want ErrUnknownVoice", id, err)
		}
	}
	if n := len(speechRequests(srv)); n != 0 {
		t.Errorf("%d speech requests for unknown voices, want none", n)
	}
}

func TestSpeaker_Stream_NothingToSay(t *testing.T) {
	t.Parallel()
	sp, srv := setup(t, nil)
	called := false
	err := sp.Stream(context.Background(), voice.SpeechRequest{Text: " \n\t", Voice: "11labs-Brian", Rate: 8000},
		func(audio.Frame) error { called = true; return nil })
	if err != nil || called {
		t.Fatalf("err %v, emit called %v: want nil and no emit", err, called)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests for white space, want none", n)
	}
}

func TestNew_Validates(t *testing.T) {
	t.Parallel()
	bad := []elevenlabs.Config{
		{},
		{APIKey: "  "},
		{APIKey: "k", BaseURL: "ftp://api.elevenlabs.io"},
		{APIKey: "k", BaseURL: "https://user:pw@api.elevenlabs.io"},
		{APIKey: "k", BaseURL: "https://api.elevenlabs.io?x=1"},
		{APIKey: "k", OptimizeStreamingLatency: 5},
		{APIKey: "k", VoicesTimeout: -time.Second},
	}
	for _, cfg := range bad {
		if _, err := elevenlabs.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
	sp, err := elevenlabs.New(elevenlabs.Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Model() != elevenlabs.DefaultModel {
		t.Errorf("model %q, want %q", sp.Model(), elevenlabs.DefaultModel)
	}
}
