// Package openaitest is a local fake of OpenAI's audio API and of its chat
// completions, speaking their documented wire format, for tests of package
// openai and as the speech-to-text, text-to-speech (and language model)
// double of end-to-end tests: the audio is real and is checked, only the
// words are scripted.
//
// The fake serves, under /v1 (BaseURL):
//
//	POST /v1/audio/transcriptions  multipart form: file, model, language,
//	                               response_format, prompt, include[]
//	POST /v1/audio/speech          JSON: model, input, voice, response_format,
//	                               speed, instructions
//	POST /v1/chat/completions      JSON: model, messages, tools, max_tokens,
//	                               temperature, stream (see chat.go and
//	                               ChatReply)
//	GET  /v1/realtime              WebSocket of a Realtime transcription
//	                               session (?intent=transcription; see
//	                               realtime.go and ScriptRealtime)
//
// A transcription request must have a model (one of AllowModels, when
// set), a language, if any, of two lowercase letters (ISO-639-1), a
// response_format of json (the default), verbose_json or text, and a file
// that is a well-formed 16-bit PCM WAV of at least 0.1 s. Its answer is
// the next reply of the script (Script, ScriptReplies), else what the
// function set by SetTranscribe returns, else the empty text: {"text"}
// for json (with "logprobs" when include[] asks for them), the shape of
// openai/whisper with one segment for verbose_json, plain text for text.
//
// A speech request must have a model, an input of 1–4,096 characters, a
// voice (a name or {"id"}), response_format "pcm" (the only one the fake
// speaks) and a speed, if any, within 0.25–4.0. Its answer is
// SpeechPCM(input, speed), a tone whose length is proportional to the
// input, as 16-bit little-endian PCM at SpeechRate, sent in SpeechChunks
// flushed pieces whose sizes are odd numbers of bytes (so a client must
// join samples split across reads).
// HoldLastChunk keeps the last piece back until the test releases it.
//
// Failures use OpenAI's error JSON {"error": {"message", "type", "param",
// "code"}}: 401 invalid_api_key when SetAPIKey was called and the request
// does not carry "Authorization: Bearer <key>"; 400 invalid_request_error
// for a bad field; 404 model_not_found for a model AllowModels does not
// list; 404 for other paths; and whatever FailNext queues. Texts are close
// to OpenAI's, not guaranteed equal. A Realtime session takes the beta
// (v1) events transcription_session.update (input_audio_format pcm16
// only), input_audio_buffer.append and input_audio_buffer.commit, counts
// the 24 kHz audio and answers from the script of ScriptRealtime; it does
// no VAD of its own. It does not model streaming transcription of
// POST requests (stream=true), other audio formats, translations, or rate
// limits (FailNext injects any error). It does not import package openai.
package openaitest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/agentphone/agentphone/audio"
)

// The fake's speech.
const (
	// SpeechRate is the rate of the speech the fake sends, OpenAI's
	// "pcm": 24 kHz.
	SpeechRate = 24000
	// SpeechPerChar is how long the fake speaks per character of input,
	// at speed 1.
	SpeechPerChar = 50 * time.Millisecond
	// SpeechChunks is how many flushed pieces a speech answer comes in.
	SpeechChunks = 4
	// maxUpload is OpenAI's limit on an uploaded file: 25 MB.
	maxUpload = 25 << 20
	// minDuration is the shortest audio OpenAI transcribes.
	minDuration = 100 * time.Millisecond
)

// SpeechSamples is the number of samples the fake speaks for input at
// speed (0 means 1): SpeechPerChar per character, divided by the speed.
func SpeechSamples(input string, speed float64) int {
	if speed == 0 {
		speed = 1
	}
	d := float64(utf8.RuneCountInString(input)) * SpeechPerChar.Seconds() / speed
	return int(math.Round(d * SpeechRate))
}

// Reply is what the fake answers to one transcription.
type Reply struct {
	Text string
	// Logprob is the log probability the fake reports: each token's
	// logprob (json with include[]=logprobs) and the segment's
	// avg_logprob (verbose_json). 0 is certainty; -0.105 is about 0.9.
	Logprob float64
	// NoSpeechProb is the segment's no_speech_prob (verbose_json).
	NoSpeechProb float64
}

// Transcription is one transcription request the fake answered with a
// transcript (the requests it refused are not recorded).
type Transcription struct {
	Model          string
	Language       string // "" when not sent
	ResponseFormat string // "" when not sent
	Prompt         string
	Include        []string // include[] values
	Authorization  string   // the header as sent
	Filename       string
	ContentType    string // of the file part

	// The audio: Rate and Channels of the WAV, its Duration, and the
	// samples of its first channel.
	Rate     int
	Channels int
	Duration time.Duration
	Samples  []int16

	Reply Reply // what the fake answered
}

// Speech is one speech request the fake accepted.
type Speech struct {
	Model          string
	Input          string
	Voice          string // the name, or the id of a {"id"} voice
	ResponseFormat string
	Speed          float64 // 0 when not sent
	Instructions   string
	Authorization  string

	Samples  int  // samples of the answer
	Sent     int  // bytes of the answer written before the request ended
	Complete bool // the whole answer was written
}

type failure struct {
	status       int
	typ, message string
}

// Server is the fake. Its URL is the server's root; BaseURL is what
// openai.Config.BaseURL takes. Close it when done.
type Server struct {
	*httptest.Server

	mu             sync.Mutex
	apiKey         string
	models         map[string]bool // nil: any model
	script         []Reply
	transcribe     func(Transcription) Reply
	transcriptions []Transcription
	speeches       []*Speech
	failures       []failure
	chatAbandoned  int           // streamed answers whose client went away
	hold           chan struct{} // nil: the last chunk is not held

	chatScript  []ChatReply
	chatFunc    func(ChatRequest) ChatReply
	chats       []ChatRequest
	chatSeq     int
	chatArrived chan struct{} // closed when a chat request is recorded; nil: none waits

	rtScript   []RealtimeUtterance
	rtSessions []*RealtimeSession
	rtChanged  chan struct{} // closed at every change of rtSessions
}

// NewServer starts a fake that accepts any API key and any model and has
// an empty script.
func NewServer() *Server {
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/audio/transcriptions", s.handleTranscription)
	mux.HandleFunc("POST /v1/audio/speech", s.handleSpeech)
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("GET /v1/realtime", s.handleRealtime)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "", "", fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// BaseURL is the API root with its version: URL + "/v1".
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// SetAPIKey makes the fake require "Authorization: Bearer <key>"; "" (the
// default) accepts any request.
func (s *Server) SetAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = key
}

// AllowModels makes the fake refuse models other than these (for every
// endpoint); with none, it accepts any.
func (s *Server) AllowModels(models ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(models) == 0 {
		s.models = nil
		return
	}
	s.models = make(map[string]bool, len(models))
	for _, m := range models {
		s.models[m] = true
	}
}

// Script queues the texts of the next transcriptions, in order, each
// with Logprob 0.
func (s *Server) Script(texts ...string) {
	replies := make([]Reply, len(texts))
	for i, t := range texts {
		replies[i] = Reply{Text: t}
	}
	s.ScriptReplies(replies...)
}

// ScriptReplies queues the replies of the next transcriptions, in order.
func (s *Server) ScriptReplies(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, replies...)
}

// SetTranscribe sets the function that answers a transcription when the
// script is empty (nil: the empty text). It gets the request with its
// audio and is called without the fake's lock held, one request at a
// time per connection but possibly concurrently.
func (s *Server) SetTranscribe(fn func(Transcription) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transcribe = fn
}

// FailNext makes the next request (to any endpoint) fail with status
// and OpenAI's error JSON carrying message; calls queue.
func (s *Server) FailNext(status int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := "invalid_request_error"
	if status >= 500 {
		typ = "server_error"
	}
	s.failures = append(s.failures, failure{status: status, typ: typ, message: message})
}

// HoldLastChunk makes the speech answers that begin from now on send all
// their pieces but the last, then wait until release is called (or the
// client goes away). release may be called more than once; the answers
// that begin after it are not held.
func (s *Server) HoldLastChunk() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == ch {
				s.hold = nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Transcriptions returns the transcription requests answered so far,
// oldest first.
func (s *Server) Transcriptions() []Transcription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Transcription, len(s.transcriptions))
	for i, t := range s.transcriptions {
		out[i] = t
		out[i].Include = append([]string(nil), t.Include...)
		out[i].Samples = append([]int16(nil), t.Samples...)
	}
	return out
}

// Speeches returns the speech requests accepted so far, oldest first,
// as they stand (an answer still streaming is not Complete yet).
func (s *Server) Speeches() []Speech {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Speech, len(s.speeches))
	for i, sp := range s.speeches {
		out[i] = *sp
	}
	return out
}

// admit checks the API key and the queued failures; it answers and
// returns false when the request is refused.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	key := s.apiKey
	var f *failure
	if len(s.failures) > 0 {
		f = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.mu.Unlock()
	if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "", "invalid_api_key",
			"Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.")
		return false
	}
	if f != nil {
		writeError(w, f.status, f.typ, "", "", f.message)
		return false
	}
	return true
}

// checkModel answers and returns false when model is missing or not
// allowed.
func (s *Server) checkModel(w http.ResponseWriter, model string) bool {
	if model == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "model", "", "you must provide a model parameter")
		return false
	}
	s.mu.Lock()
	allowed := s.models == nil || s.models[model]
	s.mu.Unlock()
	if !allowed {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model", "model_not_found",
			fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model))
		return false
	}
	return true
}

var iso639_1 = regexp.MustCompile(`^[a-z]{2}$`)

func (s *Server) handleTranscription(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	if err := r.ParseMultipartForm(maxUpload); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "file", "", "Maximum content size limit (26214400) exceeded.")
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "", "Could not parse multipart form: "+err.Error())
		return
	}
	defer r.MultipartForm.RemoveAll()
	form := r.MultipartForm.Value
	first := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	t := Transcription{
		Model:          first("model"),
		Language:       first("language"),
		ResponseFormat: first("response_format"),
		Prompt:         first("prompt"),
		Include:        append([]string(nil), form["include[]"]...),
		Authorization:  r.Header.Get("Authorization"),
	}
	if !s.checkModel(w, t.Model) {
		return
	}
	if _, ok := form["language"]; ok && !iso639_1.MatchString(t.Language) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "language", "invalid_language_format",
			fmt.Sprintf("Invalid language '%s'. Language parameter must be specified in ISO-639-1 format.", t.Language))
		return
	}
	switch t.ResponseFormat {
	case "", "json", "verbose_json", "text":
	default:
		writeError(w, http.StatusBadRequest, "invalid_request_error", "response_format", "",
			fmt.Sprintf("The fake does not give response_format '%s': json, verbose_json and text only.", t.ResponseFormat))
		return
	}
	for _, inc := range t.Include {
		if inc != "logprobs" {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "include", "", fmt.Sprintf("Invalid include value '%s'.", inc))
			return
		}
	}

	files := r.MultipartForm.File["file"]
	if len(files) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "file", "", "you must provide a file parameter")
		return
	}
	t.Filename, t.ContentType = files[0].Filename, files[0].Header.Get("Content-Type")
	wav, err := readFile(files[0])
	if err == nil {
		err = checkWAV(wav)
	}
	var decoded *audio.WAV
	if err == nil {
		decoded, err = audio.ReadWAV(bytes.NewReader(wav))
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "file", "invalid_value",
			"Invalid file format: the fake takes 16-bit PCM WAV only: "+err.Error())
		return
	}
	t.Rate, t.Channels, t.Duration = decoded.Rate, decoded.Channels, decoded.Duration()
	t.Samples = decoded.Channel(0)
	if t.Duration < minDuration {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "file", "audio_too_short",
			"Audio file is too short. Minimum audio length is 0.1 seconds.")
		return
	}

	t.Reply = s.reply(t)
	s.mu.Lock()
	s.transcriptions = append(s.transcriptions, t)
	s.mu.Unlock()

	switch t.ResponseFormat {
	case "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, t.Reply.Text+"\n")
	case "verbose_json":
		writeJSON(w, http.StatusOK, verboseJSON(t))
	default:
		body := map[string]any{"text": t.Reply.Text}
		if len(t.Include) > 0 {
			body["logprobs"] = tokenLogprobs(t.Reply)
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// reply takes the next reply of the script, else asks the function.
func (s *Server) reply(t Transcription) Reply {
	s.mu.Lock()
	if len(s.script) > 0 {
		r := s.script[0]
		s.script = s.script[1:]
		s.mu.Unlock()
		return r
	}
	fn := s.transcribe
	s.mu.Unlock()
	if fn == nil {
		return Reply{}
	}
	t.Samples = append([]int16(nil), t.Samples...)
	return fn(t)
}

func readFile(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// checkWAV checks what audio.ReadWAV forgives: the RIFF size must be the
// file's, and every chunk, the data chunk included, must fit in it.
func checkWAV(b []byte) error {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return errors.New("no RIFF WAVE header")
	}
	if size := binary.LittleEndian.Uint32(b[4:8]); int64(size) != int64(len(b))-8 {
		return fmt.Errorf("RIFF size %d, file of %d bytes", size, len(b))
	}
	var hasFmt, hasData bool
	for off := 12; off < len(b); {
		if len(b)-off < 8 {
			return fmt.Errorf("%d stray bytes after the chunks", len(b)-off)
		}
		id, size := string(b[off:off+4]), int64(binary.LittleEndian.Uint32(b[off+4:off+8]))
		off += 8
		if size > int64(len(b)-off) {
			return fmt.Errorf("%q chunk of %d bytes, %d left in the file", id, size, len(b)-off)
		}
		switch id {
		case "fmt ":
			hasFmt = true
		case "data":
			if !hasFmt {
				return errors.New("data chunk before fmt chunk")
			}
			hasData = true
		}
		off += int(size + size%2)
	}
	if !hasData {
		return errors.New("no data chunk")
	}
	return nil
}

// verboseJSON is the verbose_json answer, shaped as openai/whisper's
// result: one segment over the whole audio when there is text.
func verboseJSON(t Transcription) map[string]any {
	d := t.Duration.Seconds()
	segments := []map[string]any{}
	if strings.TrimSpace(t.Reply.Text) != "" {
		tokens := make([]int, len(strings.Fields(t.Reply.Text)))
		for i := range tokens {
			tokens[i] = 1000 + i
		}
		segments = append(segments, map[string]any{
			"id": 0, "seek": 0, "start": 0.0, "end": d,
			"text":              " " + t.Reply.Text,
			"tokens":            tokens,
			"temperature":       0.0,
			"avg_logprob":       t.Reply.Logprob,
			"compression_ratio": 1.0,
			"no_speech_prob":    t.Reply.NoSpeechProb,
		})
	}
	return map[string]any{
		"task":     "transcribe",
		"language": languageName(t.Language),
		"duration": d,
		"text":     t.Reply.Text,
		"segments": segments,
		"usage":    map[string]any{"type": "duration", "seconds": math.Ceil(d)},
	}
}

// tokenLogprobs gives each word of the reply as a token with the reply's
// logprob.
func tokenLogprobs(r Reply) []map[string]any {
	out := []map[string]any{}
	for i, word := range strings.Fields(r.Text) {
		if i > 0 {
			word = " " + word
		}
		out = append(out, map[string]any{"token": word, "logprob": r.Logprob, "bytes": []byte(word)})
	}
	return out
}

func languageName(code string) string {
	names := map[string]string{"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese", "nl": "dutch"}
	if n, ok := names[code]; ok {
		return n
	}
	if code == "" {
		return "english"
	}
	return code
}

// speechRequest is the body of POST /v1/audio/speech.
type speechRequest struct {
	Model          string          `json:"model"`
	Input          *string         `json:"input"`
	Voice          json.RawMessage `json:"voice"`
	ResponseFormat string          `json:"response_format"`
	Speed          *float64        `json:"speed"`
	Instructions   string          `json:"instructions"`
	StreamFormat   string          `json:"stream_format"`
}

func (s *Server) handleSpeech(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r) {
		return
	}
	var req speechRequest
	body := http.MaxBytesReader(w, r.Body, 1<<20)
	err := json.NewDecoder(body).Decode(&req)
	// Read to the end, so that the server notices when the client goes
	// away while the answer streams.
	_, _ = io.Copy(io.Discard, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "", "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	if !s.checkModel(w, req.Model) {
		return
	}
	if req.Input == nil || *req.Input == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "input", "", "you must provide an input parameter")
		return
	}
	if n := utf8.RuneCountInString(*req.Input); n > 4096 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "input", "string_above_max_length",
			fmt.Sprintf("Invalid 'input': string too long. Expected a string with maximum length 4096, but got a string with length %d instead.", n))
		return
	}
	voiceName, ok := parseVoice(req.Voice)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "voice", "", "you must provide a voice parameter: a name or {\"id\"}")
		return
	}
	if req.ResponseFormat != "pcm" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "response_format", "",
			fmt.Sprintf("The fake speaks response_format 'pcm' only, not '%s'.", req.ResponseFormat))
		return
	}
	if req.StreamFormat != "" && req.StreamFormat != "audio" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "stream_format", "", "The fake streams audio only.")
		return
	}
	var speed float64
	if req.Speed != nil {
		speed = *req.Speed
		if speed < 0.25 || speed > 4 {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "speed", "",
				fmt.Sprintf("Invalid 'speed': %g is not within 0.25 to 4.0.", speed))
			return
		}
	}

	pcm := pcmBytes(SpeechPCM(*req.Input, speed))
	sp := &Speech{
		Model: req.Model, Input: *req.Input, Voice: voiceName, ResponseFormat: req.ResponseFormat,
		Speed: speed, Instructions: req.Instructions, Authorization: r.Header.Get("Authorization"),
		Samples: len(pcm) / 2,
	}
	s.mu.Lock()
	s.speeches = append(s.speeches, sp)
	hold := s.hold
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	cuts := chunkCuts(len(pcm), SpeechChunks)
	prev := 0
	for i, cut := range cuts {
		if i == len(cuts)-1 && hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		n, err := w.Write(pcm[prev:cut])
		s.mu.Lock()
		sp.Sent += n
		s.mu.Unlock()
		if err != nil || rc.Flush() != nil {
			return
		}
		prev = cut
	}
	s.mu.Lock()
	sp.Complete = true
	s.mu.Unlock()
}

// parseVoice takes a voice name or a custom voice {"id": …}.
func parseVoice(raw json.RawMessage) (string, bool) {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		return name, name != ""
	}
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.ID, obj.ID != ""
	}
	return "", false
}

// chunkCuts returns the ends of n pieces of size bytes (an even number):
// the i-th cut has the parity of i, so every piece holds an odd number of
// bytes (the last too, for an even n) and samples straddle them.
func chunkCuts(size, n int) []int {
	var cuts []int
	prev := 0
	for i := 1; i < n; i++ {
		cut := size * i / n
		if cut%2 != i%2 {
			cut++
		}
		if cut > prev && cut < size && (cut-prev)%2 == 1 {
			cuts = append(cuts, cut)
			prev = cut
		}
	}
	return append(cuts, size)
}

// SpeechPCM is the speech the fake sends for input at speed (0 means 1):
// SpeechSamples(input, speed) samples of a 440 Hz sine at a third of full
// scale, at SpeechRate.
func SpeechPCM(input string, speed float64) []int16 {
	out := make([]int16, SpeechSamples(input, speed))
	for i := range out {
		out[i] = int16(math.Round(10000 * math.Sin(2*math.Pi*440*float64(i)/SpeechRate)))
	}
	return out
}

// pcmBytes is samples as 16-bit little-endian PCM.
func pcmBytes(samples []int16) []byte {
	b := make([]byte, 0, 2*len(samples))
	for _, v := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func writeError(w http.ResponseWriter, status int, typ, param, code, message string) {
	e := map[string]any{"message": message, "type": typ, "param": nil, "code": nil}
	if param != "" {
		e["param"] = param
	}
	if code != "" {
		e["code"] = code
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
