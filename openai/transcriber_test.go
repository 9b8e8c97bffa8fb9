package openai_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/openai/openaitest"
	"github.com/agentphone/agentphone/voice"
)

// newFake starts a fake OpenAI server that is closed when the test ends.
func newFake(tb testing.TB) *openaitest.Server {
	tb.Helper()
	srv := openaitest.NewServer()
	tb.Cleanup(srv.Close)
	return srv
}

func newTranscriber(tb testing.TB, c openai.Config) *openai.Transcriber {
	tb.Helper()
	tr, err := openai.NewTranscriber(c)
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

// utterance is d of a 300 Hz tone at rate: something for the fake to hear.
func utterance(rate int, d time.Duration) audio.Frame {
	n := int(d * time.Duration(rate) / time.Second)
	f := audio.Frame{Samples: make([]int16, n), Rate: rate}
	for i := range f.Samples {
		f.Samples[i] = int16(8000 * math.Sin(2*math.Pi*300*float64(i)/float64(rate)))
	}
	return f
}

func TestTranscriber_SendsFieldsAndWAV(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.SetAPIKey("sk-test")
	srv.Script("Hello, I'd like to book a table.")
	tr := newTranscriber(t, openai.Config{APIKey: "sk-test", BaseURL: srv.BaseURL()})

	speech := utterance(16000, 1500*time.Millisecond)
	got, err := tr.TranscribeFile(context.Background(), speech, voice.TranscribeOptions{Rate: 16000, Language: "en-US", Mode: "fast"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "Hello, I'd like to book a table." || !got.Final {
		t.Errorf("transcript %+v, want the scripted text, final", got)
	}

	recs := srv.Transcriptions()
	if len(recs) != 1 {
		t.Fatalf("%d requests, want 1", len(recs))
	}
	r := recs[0]
	if r.Model != openai.DefaultFastTranscriptionModel || r.Language != "en" || r.ResponseFormat != "json" {
		t.Errorf("model %q language %q format %q, want %q en json", r.Model, r.Language, r.ResponseFormat, openai.DefaultFastTranscriptionModel)
	}
	if !slices.Equal(r.Include, []string{"logprobs"}) {
		t.Errorf("include[] %q, want logprobs for %s", r.Include, r.Model)
	}
	if r.Authorization != "Bearer sk-test" {
		t.Errorf("Authorization %q", r.Authorization)
	}
	if r.Filename != "utterance.wav" || r.ContentType != "audio/wav" {
		t.Errorf("file %q of type %q", r.Filename, r.ContentType)
	}
	if r.Rate != 16000 || r.Channels != 1 || r.Duration != 1500*time.Millisecond {
		t.Errorf("WAV of %d Hz, %d channels, %v; want 16000 Hz mono 1.5 s", r.Rate, r.Channels, r.Duration)
	}
	if !slices.Equal(r.Samples, speech.Samples) {
		t.Error("the WAV's samples are not the utterance's")
	}
}

func TestTranscriber_RateOfTheCall(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	tr := newTranscriber(t, openai.Config{BaseURL: srv.BaseURL()})

	// 8 kHz audio; the frame's rate wins over the options'.
	if _, err := tr.TranscribeFile(context.Background(), utterance(8000, 700*time.Millisecond), voice.TranscribeOptions{Rate: 16000}); err != nil {
		t.Fatal(err)
	}
	// A frame without a rate takes the options'.
	f := utterance(8000, 400*time.Millisecond)
	f.Rate = 0
	if _, err := tr.TranscribeFile(context.Background(), f, voice.TranscribeOptions{Rate: 8000}); err != nil {
		t.Fatal(err)
	}
	recs := srv.Transcriptions()
	if len(recs) != 2 {
		t.Fatalf("%d requests, want 2", len(recs))
	}
	if recs[0].Rate != 8000 || recs[0].Duration != 700*time.Millisecond {
		t.Errorf("first WAV %d Hz %v, want 8000 Hz 700ms", recs[0].Rate, recs[0].Duration)
	}
	if recs[1].Rate != 8000 || recs[1].Duration != 400*time.Millisecond {
		t.Errorf("second WAV %d Hz %v, want 8000 Hz 400ms", recs[1].Rate, recs[1].Duration)
	}
	if recs[0].Authorization != "" {
		t.Errorf("Authorization %q sent without an API key", recs[0].Authorization)
	}
	// Without a rate at all, nothing is sent.
	f.Rate = 0
	if _, err := tr.TranscribeFile(context.Background(), f, voice.TranscribeOptions{}); err == nil {
		t.Error("no error for audio without a rate")
	}
}

func TestTranscriber_EmptySpeechIsNotSent(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	tr := newTranscriber(t, openai.Config{BaseURL: srv.BaseURL()})
	got, err := tr.TranscribeFile(context.Background(), audio.Frame{Rate: 16000}, voice.TranscribeOptions{})
	if err != nil || got.Text != "" || !got.Final {
		t.Errorf("got %+v, %v; want an empty final transcript", got, err)
	}
	if n := len(srv.Transcriptions()); n != 0 {
		t.Errorf("%d requests for no audio", n)
	}
}

func TestTranscriber_ModeSelectsModel(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.AllowModels("Systran/faster-whisper-small", "Systran/faster-whisper-large-v3")
	tr := newTranscriber(t, openai.Config{
		BaseURL:                    srv.BaseURL(),
		FastTranscriptionModel:     "Systran/faster-whisper-small",
		AccurateTranscriptionModel: "Systran/faster-whisper-large-v3",
	})
	for _, mode := range []string{"fast", "accurate", ""} {
		if _, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{Mode: mode}); err != nil {
			t.Fatalf("mode %q: %v", mode, err)
		}
	}
	var models []string
	for _, r := range srv.Transcriptions() {
		models = append(models, r.Model)
		if len(r.Include) != 0 {
			t.Errorf("include[] %q asked of %s, which gives no logprobs", r.Include, r.Model)
		}
		if r.Language != "" {
			t.Errorf("language %q sent for none", r.Language)
		}
	}
	want := []string{"Systran/faster-whisper-small", "Systran/faster-whisper-large-v3", "Systran/faster-whisper-small"}
	if !slices.Equal(models, want) {
		t.Errorf("models %q, want %q", models, want)
	}
	if tr.Model("accurate") != want[1] || tr.Model("fast") != want[0] {
		t.Errorf("Model: %q, %q", tr.Model("accurate"), tr.Model("fast"))
	}
}

func TestTranscriber_Defaults(t *testing.T) {
	t.Parallel()
	tr := newTranscriber(t, openai.Config{})
	if tr.Model("fast") != "gpt-4o-mini-transcribe" || tr.Model("accurate") != "gpt-4o-transcribe" {
		t.Errorf("default models %q, %q", tr.Model("fast"), tr.Model("accurate"))
	}
}

func TestTranscriber_Confidence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		format   string
		model    string
		reply    openaitest.Reply
		want     float64
		wantSpan bool
	}{
		{"json logprobs", "json", "gpt-4o-transcribe", openaitest.Reply{Text: "yes please", Logprob: -0.105}, math.Exp(-0.105), false},
		{"json logprobs certain", "json", "gpt-4o-mini-transcribe-2025-12-15", openaitest.Reply{Text: "yes", Logprob: 0}, 1, false},
		{"json without logprobs", "json", "whisper-1", openaitest.Reply{Text: "yes please", Logprob: -0.105}, 0, false},
		{"verbose_json", "verbose_json", "whisper-1", openaitest.Reply{Text: "my number is 555", Logprob: -0.3, NoSpeechProb: 0.02}, math.Exp(-0.3), true},
		{"verbose_json doubtful speech", "verbose_json", "whisper-1", openaitest.Reply{Text: "uh", Logprob: -1.5, NoSpeechProb: 0.4}, math.Exp(-1.5), true},
		{"verbose_json silence", "verbose_json", "whisper-1", openaitest.Reply{Text: "Thank you.", Logprob: -1.2, NoSpeechProb: 0.9}, 0, true},
		{"verbose_json nothing heard", "verbose_json", "whisper-1", openaitest.Reply{Text: ""}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			srv.ScriptReplies(tt.reply)
			tr := newTranscriber(t, openai.Config{BaseURL: srv.BaseURL(), FastTranscriptionModel: tt.model, TranscriptionFormat: tt.format})
			got, err := tr.TranscribeFile(context.Background(), utterance(16000, 800*time.Millisecond), voice.TranscribeOptions{Language: "en"})
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != tt.reply.Text {
				t.Errorf("text %q, want %q", got.Text, tt.reply.Text)
			}
			if math.Abs(got.Confidence-tt.want) > 1e-9 {
				t.Errorf("confidence %v, want %v", got.Confidence, tt.want)
			}
			if rf := srv.Transcriptions()[0].ResponseFormat; rf != tt.format {
				t.Errorf("response_format %q, want %q", rf, tt.format)
			}
			wantEnd := time.Duration(0)
			if tt.wantSpan {
				wantEnd = 800 * time.Millisecond
			}
			if got.Start != 0 || got.End != wantEnd {
				t.Errorf("span %v–%v, want 0–%v", got.Start, got.End, wantEnd)
			}
		})
	}
}

// serveAnswer starts a server that answers every request with status,
// contentType and body.
func serveAnswer(tb testing.TB, status int, contentType, body string) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func TestTranscriber_SegmentsOfOtherServers(t *testing.T) {
	t.Parallel()
	// Two segments of whisper.cpp's verbose_json (no no_speech_prob), the
	// first twice as long as the second; words give the span.
	base := serveAnswer(t, http.StatusOK, "application/json", `{"task":"transcribe","language":"english","duration":2.0,
		"text":" Hello there. How are you?",
		"segments":[
		 {"id":0,"text":" Hello there.","start":0.2,"end":1.2,"tokens":[1,2],"words":[{"word":" Hello","start":0.2,"end":0.6,"probability":0.9}],"temperature":0,"avg_logprob":-0.1},
		 {"id":1,"text":" How are you?","start":1.2,"end":1.7,"tokens":[3,4],"temperature":0,"avg_logprob":-0.4}],
		"words":[{"word":"Hello","start":0.25,"end":0.6},{"word":"you","start":1.5,"end":1.65}]}`)
	tr := newTranscriber(t, openai.Config{BaseURL: base, TranscriptionFormat: "verbose_json"})
	got, err := tr.TranscribeFile(context.Background(), utterance(16000, 2*time.Second), voice.TranscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "Hello there. How are you?" {
		t.Errorf("text %q", got.Text)
	}
	want := math.Exp((1.0*-0.1 + 0.5*-0.4) / 1.5)
	if math.Abs(got.Confidence-want) > 1e-9 {
		t.Errorf("confidence %v, want %v (duration-weighted)", got.Confidence, want)
	}
	if got.Start != 250*time.Millisecond || got.End != 1650*time.Millisecond {
		t.Errorf("span %v–%v, want 250ms–1.65s from the words", got.Start, got.End)
	}
}

func TestTranscriber_Errors(t *testing.T) {
	t.Parallel()
	t.Run("FailNext", func(t *testing.T) {
		t.Parallel()
		srv := newFake(t)
		srv.FailNext(http.StatusTooManyRequests, "Rate limit reached for gpt-4o-mini-transcribe")
		tr := newTranscriber(t, openai.Config{BaseURL: srv.BaseURL()})
		_, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{})
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("error %v, want an *APIError", err)
		}
		if apiErr.StatusCode != 429 || apiErr.Message != "Rate limit reached for gpt-4o-mini-transcribe" || !apiErr.Temporary() {
			t.Errorf("APIError %+v", apiErr)
		}
		if !strings.Contains(err.Error(), "Rate limit reached for gpt-4o-mini-transcribe") {
			t.Errorf("error %q does not carry the message", err)
		}
	})
	t.Run("WrongKey", func(t *testing.T) {
		t.Parallel()
		srv := newFake(t)
		srv.SetAPIKey("sk-right")
		tr := newTranscriber(t, openai.Config{BaseURL: srv.BaseURL(), APIKey: "sk-wrong"})
		_, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{})
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" || apiErr.Temporary() {
			t.Fatalf("error %v, want a 401 invalid_api_key", err)
		}
		if !strings.HasPrefix(apiErr.Message, "Incorrect API key provided") {
			t.Errorf("message %q", apiErr.Message)
		}
	})
	t.Run("UnknownModel", func(t *testing.T) {
		t.Parallel()
		srv := newFake(t)
		srv.AllowModels("whisper-1")
		tr := newTranscriber(t, openai.Config{BaseURL: srv.BaseURL()})
		_, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{})
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Fatalf("error %v, want 404 model_not_found", err)
		}
	})

	// The error answers of servers that copy the API.
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantStatus  int
		wantMessage string
	}{
		{"whisper.cpp status 200", 200, "application/json", `{"error":"failed to read WAV file"}`, 200, "failed to read WAV file"},
		{"whisper.cpp", 400, "application/json", `{"error":"no 'file' field in the request"}`, 400, "no 'file' field in the request"},
		{"FastAPI detail", 404, "application/json", `{"detail":"Model 'x' not installed"}`, 404, "Model 'x' not installed"},
		{"FastAPI validation", 422, "application/json", `{"detail":[{"loc":["body","model"],"msg":"Field required","type":"missing"}]}`, 422, "body.model: Field required"},
		{"plain text", 500, "text/plain", "500 Internal Server Error\nCUDA out of memory", 500, "500 Internal Server Error CUDA out of memory"},
		{"HTML", 502, "text/html", "<html><body>Bad gateway</body></html>", 502, "Bad Gateway"},
		{"empty", 503, "", "", 503, "Service Unavailable"},
		{"error object with numeric code", 400, "application/json", `{"error":{"message":"bad audio","code":40001,"type":null}}`, 400, "bad audio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTranscriber(t, openai.Config{BaseURL: serveAnswer(t, tt.status, tt.contentType, tt.body)})
			_, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{})
			var apiErr *openai.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v, want an *APIError", err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.Message != tt.wantMessage {
				t.Errorf("status %d message %q, want %d %q", apiErr.StatusCode, apiErr.Message, tt.wantStatus, tt.wantMessage)
			}
		})
	}

	t.Run("NotATranscription", func(t *testing.T) {
		t.Parallel()
		for _, body := range []string{`[1,2]`, `{"words":[]}`, `not json`} {
			tr := newTranscriber(t, openai.Config{BaseURL: serveAnswer(t, 200, "application/json", body)})
			if _, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{}); err == nil {
				t.Errorf("no error for the answer %s", body)
			}
		}
	})
	t.Run("AnswerTooLong", func(t *testing.T) {
		t.Parallel()
		body := `{"text":"` + strings.Repeat("a", 5<<20) + `"}`
		tr := newTranscriber(t, openai.Config{BaseURL: serveAnswer(t, 200, "application/json", body)})
		if _, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{}); err == nil {
			t.Error("no error for an answer of 5 MiB")
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		base := srv.URL + "/v1"
		srv.Close()
		tr := newTranscriber(t, openai.Config{BaseURL: base})
		if _, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{}); err == nil {
			t.Error("no error for a closed server")
		}
	})
}

func TestTranscriber_ContentTypeOfJSONIgnored(t *testing.T) {
	t.Parallel()
	// A server that labels its JSON text/html, as whisper.cpp does for
	// response_format text.
	tr := newTranscriber(t, openai.Config{BaseURL: serveAnswer(t, 200, "text/html; charset=utf-8", `{"text":" ok "}`)})
	got, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{})
	if err != nil || got.Text != "ok" {
		t.Errorf("got %+v, %v; want ok", got, err)
	}
}

func TestTranscriber_Retries(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.FailNext(http.StatusServiceUnavailable, "overloaded")
	srv.Script("second time lucky")

	tr := newTranscriber(t, openai.Config{BaseURL: srv.BaseURL()})
	if _, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{}); err == nil {
		t.Fatal("no error with MaxRetries 0")
	}
	srv.FailNext(http.StatusServiceUnavailable, "overloaded")
	tr = newTranscriber(t, openai.Config{BaseURL: srv.BaseURL(), MaxRetries: 1})
	got, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{})
	if err != nil || got.Text != "second time lucky" {
		t.Errorf("got %+v, %v; want the retry's answer", got, err)
	}
}

func TestTranscriber_ContextCancel(t *testing.T) {
	t.Parallel()
	received := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices the client going away once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		close(received)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	tr := newTranscriber(t, openai.Config{BaseURL: srv.URL + "/v1"})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := tr.TranscribeFile(ctx, utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{})
		done <- err
	}()
	<-received
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("TranscribeFile did not return after its context was canceled")
	}
}

func TestTranscriptionLanguage(t *testing.T) {
	t.Parallel()
	for tag, want := range map[string]string{
		"en-US": "en", "en": "en", "pt_BR": "pt", "DE-de": "de", "zh-Hant-TW": "zh", "es-419": "es",
		"iw-IL": "he", "nb-NO": "no", "": "", "fil-PH": "", "yue": "", "1a": "", " fr-CA ": "fr", "é": "",
	} {
		if got := openai.TranscriptionLanguage(tag); got != want {
			t.Errorf("TranscriptionLanguage(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestNewTranscriber_InvalidConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []openai.Config{
		{BaseURL: "localhost:8000/v1"},
		{BaseURL: "ftp://example.com/v1"},
		{BaseURL: "http://"},
		{BaseURL: "http://example.com/v1?x=1"},
		{TranscriptionFormat: "srt"},
	} {
		if _, err := openai.NewTranscriber(c); err == nil {
			t.Errorf("no error for %+v", c)
		}
	}
}

func TestTranscriber_BaseURLWithSlash(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.Script("ok")
	tr := newTranscriber(t, openai.Config{BaseURL: srv.BaseURL() + "/"})
	got, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{})
	if err != nil || got.Text != "ok" {
		t.Errorf("got %+v, %v", got, err)
	}
}

// TestConfig_IgnoresEnvironment checks that nothing comes from OPENAI_*
// variables, which the SDK's NewClient would read: only main reads the
// environment. (Not parallel: it sets the environment.)
func TestConfig_IgnoresEnvironment(t *testing.T) {
	srv := newFake(t)
	srv.Script("ok")
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_BASE_URL", "http://env.invalid/v1")
	t.Setenv("OPENAI_CUSTOM_HEADERS", "Authorization: Bearer sk-header")
	tr := newTranscriber(t, openai.Config{BaseURL: srv.BaseURL()})
	if _, err := tr.TranscribeFile(context.Background(), utterance(16000, 300*time.Millisecond), voice.TranscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	if a := srv.Transcriptions()[0].Authorization; a != "" {
		t.Errorf("Authorization %q sent from the environment", a)
	}
}
