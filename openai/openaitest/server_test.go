package openaitest_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone/openai/openaitest"
)

func newServer(tb testing.TB) *openaitest.Server {
	tb.Helper()
	s := openaitest.NewServer()
	tb.Cleanup(s.Close)
	return s
}

// wav is a mono 16-bit WAV of n samples at rate, written here by hand.
func wav(rate, n int) []byte {
	var b []byte
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+2*n))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(2*rate))
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(2*n))
	for i := range n {
		b = binary.LittleEndian.AppendUint16(b, uint16(i))
	}
	return b
}

// transcribe posts a transcription request with fields and file (none
// when nil) and returns the status and body.
func transcribe(tb testing.TB, s *openaitest.Server, fields map[string]string, file []byte) (int, []byte) {
	tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "a.wav")
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.BaseURL()+"/audio/transcriptions", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return do(tb, req)
}

func do(tb testing.TB, req *http.Request) (int, []byte) {
	tb.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res.StatusCode, b
}

// errorOf decodes OpenAI's error JSON.
func errorOf(tb testing.TB, body []byte) (message, code string) {
	tb.Helper()
	var v struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Error.Message == "" || v.Error.Type == "" {
		tb.Fatalf("not OpenAI's error JSON: %s", body)
	}
	if v.Error.Code != nil {
		code = *v.Error.Code
	}
	return v.Error.Message, code
}

func TestTranscriptions_ScriptThenFuncThenEmpty(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.Script("hello", "my number is 555")
	var seen []time.Duration
	var mu sync.Mutex
	s.SetTranscribe(func(tr openaitest.Transcription) openaitest.Reply {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, tr.Duration)
		return openaitest.Reply{Text: "from func"}
	})

	var texts []string
	for range 3 {
		status, body := transcribe(t, s, map[string]string{"model": "whisper-1", "language": "en"}, wav(16000, 3200))
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var v struct{ Text string }
		_ = json.Unmarshal(body, &v)
		texts = append(texts, v.Text)
	}
	s.SetTranscribe(nil)
	_, body := transcribe(t, s, map[string]string{"model": "whisper-1"}, wav(8000, 800))
	if string(body) != "{\"text\":\"\"}\n" {
		t.Errorf("answer with nothing scripted: %s", body)
	}
	if want := []string{"hello", "my number is 555", "from func"}; !slices.Equal(texts, want) {
		t.Errorf("texts %q, want %q", texts, want)
	}
	if !slices.Equal(seen, []time.Duration{200 * time.Millisecond}) {
		t.Errorf("func saw %v", seen)
	}

	recs := s.Transcriptions()
	if len(recs) != 4 {
		t.Fatalf("%d recorded", len(recs))
	}
	r := recs[3]
	if r.Model != "whisper-1" || r.Language != "" || r.Rate != 8000 || r.Channels != 1 || r.Duration != 100*time.Millisecond || len(r.Samples) != 800 || r.Samples[799] != 799 {
		t.Errorf("record %+v", r)
	}
	if recs[0].Reply.Text != "hello" || recs[0].Filename != "a.wav" {
		t.Errorf("first record %+v", recs[0])
	}
}

func TestTranscriptions_Formats(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.ScriptReplies(
		openaitest.Reply{Text: "two words", Logprob: -0.5},
		openaitest.Reply{Text: "two words", Logprob: -0.5, NoSpeechProb: 0.25},
		openaitest.Reply{Text: "plain"},
	)

	_, body := transcribe(t, s, map[string]string{"model": "gpt-4o-transcribe", "include[]": "logprobs"}, wav(16000, 1600))
	var j struct {
		Text     string
		Logprobs []struct {
			Token   string
			Logprob float64
		}
	}
	if err := json.Unmarshal(body, &j); err != nil || j.Text != "two words" || len(j.Logprobs) != 2 || j.Logprobs[1].Token != " words" || j.Logprobs[0].Logprob != -0.5 {
		t.Errorf("json with logprobs: %s", body)
	}

	_, body = transcribe(t, s, map[string]string{"model": "whisper-1", "response_format": "verbose_json", "language": "de"}, wav(16000, 8000))
	var v struct {
		Task, Language, Text string
		Duration             float64
		Segments             []struct {
			Start, End, AvgLogprob, NoSpeechProb float64
			AvgLogprobAlias                      float64 `json:"avg_logprob"`
			NoSpeech                             float64 `json:"no_speech_prob"`
			Text                                 string
		}
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if v.Task != "transcribe" || v.Language != "german" || v.Text != "two words" || v.Duration != 0.5 || len(v.Segments) != 1 {
		t.Fatalf("verbose_json: %s", body)
	}
	if sg := v.Segments[0]; sg.Start != 0 || sg.End != 0.5 || sg.AvgLogprobAlias != -0.5 || sg.NoSpeech != 0.25 || sg.Text != " two words" {
		t.Errorf("segment: %s", body)
	}

	status, body := transcribe(t, s, map[string]string{"model": "whisper-1", "response_format": "text"}, wav(16000, 1600))
	if status != 200 || string(body) != "plain\n" {
		t.Errorf("text: %d %q", status, body)
	}
}

func TestTranscriptions_Refusals(t *testing.T) {
	t.Parallel()
	good := wav(16000, 1600)
	badSize := wav(16000, 1600)
	binary.LittleEndian.PutUint32(badSize[4:8], 99999) // RIFF size of another file
	truncated := bytes.Clone(good[:len(good)-10])      // data chunk longer than the file
	binary.LittleEndian.PutUint32(truncated[4:8], uint32(len(truncated)-8))
	eightBit := wav(16000, 1600)
	binary.LittleEndian.PutUint16(eightBit[34:36], 8)

	tests := []struct {
		name     string
		fields   map[string]string
		file     []byte
		status   int
		code     string
		contains string
	}{
		{"no model", map[string]string{}, good, 400, "", "model"},
		{"BCP-47 language", map[string]string{"model": "m", "language": "en-US"}, good, 400, "invalid_language_format", "ISO-639-1"},
		{"no file", map[string]string{"model": "m"}, nil, 400, "", "file"},
		{"not a WAV", map[string]string{"model": "m"}, []byte("ID3 mp3 data"), 400, "invalid_value", "RIFF"},
		{"wrong RIFF size", map[string]string{"model": "m"}, badSize, 400, "invalid_value", "RIFF size"},
		{"truncated", map[string]string{"model": "m"}, truncated, 400, "invalid_value", "data"},
		{"8-bit", map[string]string{"model": "m"}, eightBit, 400, "invalid_value", "16-bit"},
		{"too short", map[string]string{"model": "m"}, wav(16000, 1500), 400, "audio_too_short", "0.1 seconds"},
		{"srt", map[string]string{"model": "m", "response_format": "srt"}, good, 400, "", "response_format"},
		{"include", map[string]string{"model": "m", "include[]": "words"}, good, 400, "", "include"},
	}
	s := newServer(t)
	for _, tt := range tests {
		status, body := transcribe(t, s, tt.fields, tt.file)
		if status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, status, tt.status, body)
			continue
		}
		msg, code := errorOf(t, body)
		if code != tt.code || !strings.Contains(msg, tt.contains) {
			t.Errorf("%s: code %q message %q, want %q containing %q", tt.name, code, msg, tt.code, tt.contains)
		}
	}
	if n := len(s.Transcriptions()); n != 0 {
		t.Errorf("%d refused requests recorded", n)
	}
}

func TestServer_KeyModelsFailuresAndPaths(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.SetAPIKey("sk-1")
	s.AllowModels("whisper-1")

	status, body := transcribe(t, s, map[string]string{"model": "whisper-1"}, wav(16000, 1600))
	if _, code := errorOf(t, body); status != 401 || code != "invalid_api_key" {
		t.Errorf("without a key: %d %s", status, body)
	}

	post := func(model string) (int, []byte) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("model", model)
		fw, _ := mw.CreateFormFile("file", "a.wav")
		_, _ = fw.Write(wav(16000, 1600))
		_ = mw.Close()
		req, _ := http.NewRequest(http.MethodPost, s.BaseURL()+"/audio/transcriptions", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer sk-1")
		return do(t, req)
	}
	if status, body := post("gpt-4o-transcribe"); status != 404 {
		t.Errorf("unknown model: %d %s", status, body)
	}
	s.FailNext(503, "first")
	s.FailNext(429, "second")
	for _, want := range []struct {
		status int
		msg    string
	}{{503, "first"}, {429, "second"}, {200, ""}} {
		status, body := post("whisper-1")
		if status != want.status {
			t.Errorf("status %d, want %d: %s", status, want.status, body)
		} else if want.msg != "" {
			if msg, _ := errorOf(t, body); msg != want.msg {
				t.Errorf("message %q, want %q", msg, want.msg)
			}
		}
	}
	if got := s.Transcriptions(); len(got) != 1 || got[0].Authorization != "Bearer sk-1" {
		t.Errorf("records %+v", got)
	}

	req, _ := http.NewRequest(http.MethodGet, s.BaseURL()+"/models", nil)
	if status, body := do(t, req); status != 404 {
		t.Errorf("GET /v1/models: %d %s", status, body)
	} else if msg, _ := errorOf(t, body); !strings.Contains(msg, "/v1/models") {
		t.Errorf("message %q", msg)
	}
}

// writeRecorder is a ResponseWriter that keeps each Write apart and
// signals it.
type writeRecorder struct {
	header http.Header
	status int
	mu     sync.Mutex
	writes [][]byte
	wrote  chan int // the number of writes so far, after each
}

func (w *writeRecorder) Header() http.Header { return w.header }
func (w *writeRecorder) WriteHeader(s int)   { w.status = s }
func (w *writeRecorder) Flush()              {}
func (w *writeRecorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, bytes.Clone(p))
	n := len(w.writes)
	w.mu.Unlock()
	if w.wrote != nil {
		w.wrote <- n
	}
	return len(p), nil
}

func speechRequest(tb testing.TB, s *openaitest.Server, body string) *http.Request {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, s.BaseURL()+"/audio/speech", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func TestSpeech_ChunksOfOddSizes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	w := &writeRecorder{header: http.Header{}}
	s.Config.Handler.ServeHTTP(w, speechRequest(t, s, `{"model":"tts-1","input":"Hello there, caller.","voice":"nova","response_format":"pcm","speed":2}`))

	if w.status != 200 || w.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("status %d, type %q", w.status, w.header.Get("Content-Type"))
	}
	if len(w.writes) != openaitest.SpeechChunks {
		t.Fatalf("%d pieces, want %d", len(w.writes), openaitest.SpeechChunks)
	}
	var all []byte
	for i, p := range w.writes {
		if len(p)%2 == 0 {
			t.Errorf("piece %d of %d bytes, want an odd size", i, len(p))
		}
		all = append(all, p...)
	}
	want := openaitest.SpeechPCM("Hello there, caller.", 2)
	if len(want) != openaitest.SpeechSamples("Hello there, caller.", 2) || len(want) != 20*24000*50/1000/2 {
		t.Fatalf("SpeechPCM of %d samples", len(want))
	}
	got := make([]int16, len(all)/2)
	for i := range got {
		got[i] = int16(binary.LittleEndian.Uint16(all[2*i:]))
	}
	if len(all)%2 != 0 || !slices.Equal(got, want) {
		t.Errorf("answer of %d bytes is not SpeechPCM", len(all))
	}
	recs := s.Speeches()
	if len(recs) != 1 || !recs[0].Complete || recs[0].Sent != len(all) || recs[0].Voice != "nova" || recs[0].Speed != 2 || recs[0].Samples != len(want) {
		t.Errorf("records %+v", recs)
	}
}

func TestSpeech_HoldLastChunk(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	release := s.HoldLastChunk()
	w := &writeRecorder{header: http.Header{}, wrote: make(chan int, openaitest.SpeechChunks)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Config.Handler.ServeHTTP(w, speechRequest(t, s, `{"model":"m","input":"Please hold.","voice":{"id":"voice_123"},"response_format":"pcm"}`))
	}()
	for n := range w.wrote {
		if n == openaitest.SpeechChunks-1 {
			break
		}
	}
	select {
	case <-done:
		t.Fatal("the answer ended while its last piece was held")
	default:
	}
	if recs := s.Speeches(); len(recs) != 1 || recs[0].Complete || recs[0].Voice != "voice_123" {
		t.Errorf("records while held: %+v", recs)
	}
	release()
	release() // twice is fine
	<-done
	if recs := s.Speeches(); !recs[0].Complete {
		t.Error("not complete after release")
	}

	// Answers after the release are not held.
	w2 := &writeRecorder{header: http.Header{}}
	s.Config.Handler.ServeHTTP(w2, speechRequest(t, s, `{"model":"m","input":"Next.","voice":"alloy","response_format":"pcm"}`))
	if !s.Speeches()[1].Complete {
		t.Error("second answer held")
	}
}

func TestSpeech_Refusals(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for body, contains := range map[string]string{
		`{"model":"m","voice":"alloy","response_format":"pcm"}`:                                    "input",
		`{"model":"m","input":"","voice":"alloy","response_format":"pcm"}`:                         "input",
		`{"model":"m","input":"hi","response_format":"pcm"}`:                                       "voice",
		`{"model":"m","input":"hi","voice":"alloy"}`:                                               "pcm",
		`{"model":"m","input":"hi","voice":"alloy","response_format":"mp3"}`:                       "pcm",
		`{"model":"m","input":"hi","voice":"alloy","response_format":"pcm","speed":4.5}`:           "speed",
		`{"input":"hi","voice":"alloy","response_format":"pcm"}`:                                   "model",
		`{"model":"m","input":"hi","voice":"alloy","response_format":"pcm","stream_format":"sse"}`: "audio",
		`{"model":`: "JSON",
		`{"model":"m","input":"` + strings.Repeat("a", 4097) + `","voice":"alloy","response_format":"pcm"}`: "4096",
	} {
		req, _ := http.NewRequest(http.MethodPost, s.BaseURL()+"/audio/speech", strings.NewReader(body))
		status, answer := do(t, req)
		if status != 400 {
			t.Errorf("%.60s: status %d, want 400", body, status)
			continue
		}
		if msg, _ := errorOf(t, answer); !strings.Contains(msg, contains) {
			t.Errorf("%.60s: message %q does not mention %q", body, msg, contains)
		}
	}
	if n := len(s.Speeches()); n != 0 {
		t.Errorf("%d refused requests recorded", n)
	}
}
