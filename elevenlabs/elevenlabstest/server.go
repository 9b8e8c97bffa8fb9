// Package elevenlabstest is a local fake of the parts of ElevenLabs' API
// that package elevenlabs uses, speaking ElevenLabs' documented wire
// format, so the provider can be tested end to end without network access
// or an account.
//
// The fake serves:
//
//	POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_<rate>[&optimize_streaming_latency=0–4]
//	GET  /v1/voices[?show_legacy=true]
//
// with the xi-api-key header. Speech is a 440 Hz tone, 60 ms per character
// of text (Tone), sent as raw 16-bit little-endian PCM in ChunkCount
// flushed pieces cut at odd byte offsets, so a client must carry half a
// sample from one read to the next. HoldLastChunk keeps the last piece
// back until the test releases it, which proves a client plays speech as
// it arrives.
//
// Errors use ElevenLabs' JSON {"detail": {"type", "code", "message",
// "status", "request_id", "param"}}: 401 needs_authorization (no key) or
// invalid_api_key; 404 voice_not_found; 400 invalid_parameters for an
// empty text, an unknown model_id ("model_not_found"), a language_code that
// is not ISO 639-1 or is sent to a model that does not take it, a speed
// outside 0.7–1.2, an output format other than PCM; and FastAPI's 422
// {"detail": [{"loc", "msg", "type"}]} for a body that is not JSON, lacks
// text or has unknown fields, and for malformed query parameters. Texts are
// close to ElevenLabs', not guaranteed equal. FailNext and FailNextRaw
// inject any other answer.
//
// The fake is stricter than ElevenLabs where that catches client bugs: it
// refuses unknown body fields (ElevenLabs ignores them), a language_code
// for the models documented not to take it (ElevenLabs may ignore it), and
// formats other than PCM (ElevenLabs would send MP3). It does not model
// quotas, concurrency limits, models' character limits or voice settings
// other than speed.
package elevenlabstest

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// MsPerChar is the length of the fake's speech per character of text.
const MsPerChar = 60

// Rates are the PCM rates of the documented output formats pcm_<rate>.
var Rates = []int{8000, 16000, 22050, 24000, 32000, 44100, 48000}

// Models maps the models the fake knows to whether they take a
// language_code.
var Models = map[string]bool{
	"eleven_flash_v2_5":      true,
	"eleven_turbo_v2_5":      true,
	"eleven_v3":              true,
	"eleven_multilingual_v2": false,
	"eleven_flash_v2":        false,
	"eleven_turbo_v2":        false,
}

// DefaultModel is the model of a request without model_id.
const DefaultModel = "eleven_multilingual_v2"

// Voice is a voice the fake lists and speaks with.
type Voice struct {
	VoiceID  string
	Name     string
	Category string            // "premade", "cloned", "generated", "professional"
	Labels   map[string]string // "gender", "accent", "age", "language", …
	// PreviewURL is the voice's sample, "" for none.
	PreviewURL string
	// Locale is the locale of its (first) verified language, "" for none.
	Locale string
	// Legacy voices are listed only with show_legacy=true.
	Legacy bool
}

// DefaultVoices are the voices of NewServer: three premade voices named
// the way ElevenLabs names its default voices (with a " - description"),
// one legacy premade voice and one cloned German voice.
func DefaultVoices() []Voice {
	return []Voice{
		{VoiceID: "nPczCjzI2devNBz1zQrb", Name: "Brian - Deep, Resonant and Comforting", Category: "premade",
			Labels:     map[string]string{"accent": "american", "gender": "male", "age": "middle_aged", "use_case": "social_media"},
			PreviewURL: "https://storage.example/voices/brian.mp3", Locale: "en-US"},
		{VoiceID: "EXAVITQu4vr4xnSDxMaL", Name: "Sarah - Mature, Reassuring, Confident", Category: "premade",
			Labels: map[string]string{"accent": "american", "gender": "female", "age": "young"}},
		{VoiceID: "JBFqnCBsd6RMkjVDRZzb", Name: "George - Warm, Captivating Storyteller", Category: "premade",
			Labels: map[string]string{"accent": "british", "gender": "male", "age": "middle_aged"}},
		{VoiceID: "21m00Tcm4TlvDq8ikWAM", Name: "Rachel", Category: "premade", Legacy: true,
			Labels: map[string]string{"accent": "american", "gender": "female", "age": "young"}},
		{VoiceID: "Cl0nedVoiceLukas0001", Name: "Lukas Office", Category: "cloned",
			Labels: map[string]string{"accent": "german", "gender": "male", "language": "de"}},
	}
}

// SpeechRequest is the JSON body of a text-to-speech request. Pointers
// are nil for fields not sent.
type SpeechRequest struct {
	Text                            string          `json:"text"`
	ModelID                         *string         `json:"model_id"`
	LanguageCode                    *string         `json:"language_code"`
	VoiceSettings                   *VoiceSettings  `json:"voice_settings"`
	PronunciationDictionaryLocators json.RawMessage `json:"pronunciation_dictionary_locators"`
	Seed                            *int64          `json:"seed"`
	PreviousText                    *string         `json:"previous_text"`
	NextText                        *string         `json:"next_text"`
	PreviousRequestIDs              []string        `json:"previous_request_ids"`
	NextRequestIDs                  []string        `json:"next_request_ids"`
	UsePVCAsIVC                     *bool           `json:"use_pvc_as_ivc"`
	ApplyTextNormalization          *string         `json:"apply_text_normalization"`
	ApplyLanguageTextNormalization  *bool           `json:"apply_language_text_normalization"`
}

// VoiceSettings is the body's voice_settings.
type VoiceSettings struct {
	Stability       *float64 `json:"stability"`
	SimilarityBoost *float64 `json:"similarity_boost"`
	Style           *float64 `json:"style"`
	UseSpeakerBoost *bool    `json:"use_speaker_boost"`
	Speed           *float64 `json:"speed"`
}

// Request is one request the fake received, recorded before validation.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	// VoiceID is the path's voice_id of a text-to-speech request.
	VoiceID string
	// Body is the raw body (up to 1 MiB).
	Body []byte
	// Speech is Body decoded, for a text-to-speech request whose body
	// decodes; nil otherwise.
	Speech *SpeechRequest
}

type failure struct {
	status      int
	contentType string
	body        []byte
}

// Server is the fake. Its URL is the BaseURL for elevenlabs.Config.
// APIKey and ChunkCount must not change after NewServer.
type Server struct {
	*httptest.Server

	APIKey string
	// ChunkCount is how many pieces each speech is sent in; NewServer
	// sets 4.
	ChunkCount int

	mu         sync.Mutex
	requests   []Request
	voices     []Voice
	failures   []failure
	hold       chan struct{} // non-nil: streams wait before their last piece until it closes
	hangVoices bool
	held       chan struct{} // a value per stream that reached hold
	aborted    chan struct{} // a value per stream the client left
	hung       chan struct{} // a value per voice list request held by HangVoices
	completed  int
}

// NewServer starts a fake with a fresh random API key and DefaultVoices.
func NewServer() *Server {
	s := &Server{
		APIKey:     "sk_" + randomHex(),
		ChunkCount: 4,
		voices:     DefaultVoices(),
		held:       make(chan struct{}, 64),
		aborted:    make(chan struct{}, 64),
		hung:       make(chan struct{}, 64),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/text-to-speech/{voice_id}/stream", s.speak)
	mux.HandleFunc("GET /v1/voices", s.listVoices)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not Found"})
	})
	s.Server = httptest.NewServer(s.front(mux))
	return s
}

// SetVoices replaces the voices the fake lists and speaks with.
func (s *Server) SetVoices(vs ...Voice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.voices = append([]Voice(nil), vs...)
}

// FailNext makes the next authenticated request fail with ElevenLabs'
// error JSON for status, code ("quota_exceeded", "rate_limit_exceeded"…)
// and message (queued: several calls fail several requests in order).
func (s *Server) FailNext(status int, code, message string) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(errorJSON(status, code, message, ""))
	s.FailNextRaw(status, "application/json", buf.String())
}

// FailNextRaw makes the next authenticated request answer status with
// this body (a proxy's HTML page, another JSON shape).
func (s *Server) FailNextRaw(status int, contentType, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{status, contentType, []byte(body)})
}

// HoldLastChunk makes every stream from now on wait, before its last
// piece, until release is called (or its client goes away). Each stream
// that starts waiting sends a value on Held. release may be called more
// than once.
func (s *Server) HoldLastChunk() (release func()) {
	hold := make(chan struct{})
	s.mu.Lock()
	s.hold = hold
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == hold {
				s.hold = nil
			}
			s.mu.Unlock()
			close(hold)
		})
	}
}

// Held receives a value each time a stream starts waiting before its last
// piece (HoldLastChunk).
func (s *Server) Held() <-chan struct{} { return s.held }

// Aborted receives a value each time a stream ends because its client
// went away before the last piece was sent.
func (s *Server) Aborted() <-chan struct{} { return s.aborted }

// Completed returns how many streams have sent their last piece.
func (s *Server) Completed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.completed
}

// HangVoices makes GET /v1/voices, while on, answer nothing until the
// client goes away (a slow or unreachable API). Each request held sends a
// value on Hung.
func (s *Server) HangVoices(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangVoices = on
}

// Hung receives a value each time HangVoices holds a request.
func (s *Server) Hung() <-chan struct{} { return s.hung }

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsTo returns the requests received so far whose path starts with
// prefix, oldest first.
func (s *Server) RequestsTo(prefix string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// Tone is the speech the fake sends for text at rate: a 440 Hz tone at a
// quarter of full scale, MsPerChar per character.
func Tone(text string, rate int) []int16 {
	n := rate * MsPerChar * utf8.RuneCountInString(text) / 1000
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8192 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	return out
}

// front records every request, checks xi-api-key and plays injected
// failures before routing.
func (s *Server) front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
		if v, ok := strings.CutPrefix(r.URL.Path, "/v1/text-to-speech/"); ok && r.Method == http.MethodPost {
			rec.VoiceID, _, _ = strings.Cut(v, "/")
			var sr SpeechRequest
			if json.Unmarshal(body, &sr) == nil {
				rec.Speech = &sr
			}
		}
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()

		switch key := r.Header.Get("xi-api-key"); {
		case key == "":
			writeError(w, http.StatusUnauthorized, "needs_authorization", "Neither authorization header nor xi-api-key received, please provide one.", "")
			return
		case key != s.APIKey:
			writeError(w, http.StatusUnauthorized, "invalid_api_key", "Invalid API key", "")
			return
		}

		s.mu.Lock()
		var fail *failure
		if len(s.failures) > 0 {
			fail = &s.failures[0]
			s.failures = s.failures[1:]
		}
		s.mu.Unlock()
		if fail != nil {
			w.Header().Set("Content-Type", fail.contentType)
			w.WriteHeader(fail.status)
			_, _ = w.Write(fail.body)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) speak(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if v := q.Get("optimize_streaming_latency"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 4 {
			writeValidation(w, []any{"query", "optimize_streaming_latency"}, "Input should be a valid integer between 0 and 4")
			return
		}
	}
	rate, ok := pcmRate(q.Get("output_format"))
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_parameters",
			fmt.Sprintf("output_format %q: this fake streams PCM only, one of pcm_8000 … pcm_48000", q.Get("output_format")), "output_format")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeValidation(w, []any{"body"}, "Content-Type must be application/json")
		return
	}

	data, _ := io.ReadAll(r.Body) // front keeps the body in memory
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var body SpeechRequest
	if err := dec.Decode(&body); err != nil {
		writeValidation(w, []any{"body"}, "Invalid request body: "+err.Error())
		return
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(data, &raw)
	if _, ok := raw["text"]; !ok {
		writeValidation(w, []any{"body", "text"}, "Field required")
		return
	}
	if strings.TrimSpace(body.Text) == "" {
		writeError(w, http.StatusBadRequest, "invalid_parameters", "Text must not be empty.", "text")
		return
	}
	model := DefaultModel
	if body.ModelID != nil {
		model = *body.ModelID
	}
	takesLanguage, known := Models[model]
	if !known {
		writeError(w, http.StatusBadRequest, "model_not_found", fmt.Sprintf("A model with model ID %s does not exist.", model), "model_id")
		return
	}
	if lc := body.LanguageCode; lc != nil {
		if !iso6391(*lc) {
			writeError(w, http.StatusBadRequest, "invalid_parameters", fmt.Sprintf("language_code %q is not an ISO 639-1 code.", *lc), "language_code")
			return
		}
		if !takesLanguage {
			writeError(w, http.StatusBadRequest, "invalid_parameters", fmt.Sprintf("Model %s does not support language_code.", model), "language_code")
			return
		}
	}
	if vs := body.VoiceSettings; vs != nil && vs.Speed != nil && (*vs.Speed < 0.7 || *vs.Speed > 1.2) {
		writeError(w, http.StatusBadRequest, "invalid_parameters", "voice_settings.speed must be between 0.7 and 1.2.", "voice_settings.speed")
		return
	}
	voiceID := r.PathValue("voice_id")
	s.mu.Lock()
	found := false
	for _, v := range s.voices {
		found = found || v.VoiceID == voiceID
	}
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "voice_not_found", fmt.Sprintf("A voice with the voice_id %s was not found.", voiceID), "voice_id")
		return
	}

	pcm := make([]byte, 0, 2*rate)
	for _, v := range Tone(body.Text, rate) {
		pcm = binary.LittleEndian.AppendUint16(pcm, uint16(v))
	}
	s.stream(w, r, pcm)
}

// stream sends pcm in ChunkCount pieces, each but the last of an odd
// length, flushed one by one; before the last it honours HoldLastChunk.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, pcm []byte) {
	w.Header().Set("Content-Type", "audio/pcm")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	n := max(s.ChunkCount, 1)
	size := (len(pcm) / n) | 1
	for i := 0; i < n-1 && len(pcm) > size; i++ {
		if _, err := w.Write(pcm[:size]); err != nil {
			s.abort()
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		pcm = pcm[size:]
	}
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case s.held <- struct{}{}:
		default:
		}
		select {
		case <-hold:
		case <-r.Context().Done():
			s.abort()
			return
		}
	}
	if _, err := w.Write(pcm); err != nil {
		s.abort()
		return
	}
	if flusher != nil {
		flusher.Flush()
	}
	s.mu.Lock()
	s.completed++
	s.mu.Unlock()
}

func (s *Server) abort() {
	select {
	case s.aborted <- struct{}{}:
	default:
	}
}

func (s *Server) listVoices(w http.ResponseWriter, r *http.Request) {
	legacy := false
	if v := r.URL.Query().Get("show_legacy"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeValidation(w, []any{"query", "show_legacy"}, "Input should be a valid boolean")
			return
		}
		legacy = b
	}
	s.mu.Lock()
	hang := s.hangVoices
	vs := append([]Voice(nil), s.voices...)
	s.mu.Unlock()
	if hang {
		select {
		case s.hung <- struct{}{}:
		default:
		}
		<-r.Context().Done()
		return
	}
	list := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		if v.Legacy && !legacy {
			continue
		}
		var preview any
		if v.PreviewURL != "" {
			preview = v.PreviewURL
		}
		verified := []map[string]any{}
		if v.Locale != "" {
			lang, _, _ := strings.Cut(v.Locale, "-")
			verified = append(verified, map[string]any{
				"language": lang, "model_id": "eleven_multilingual_v2", "accent": v.Labels["accent"],
				"locale": v.Locale, "preview_url": preview,
			})
		}
		labels := v.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		list = append(list, map[string]any{
			"voice_id":                    v.VoiceID,
			"name":                        v.Name,
			"samples":                     nil,
			"category":                    v.Category,
			"fine_tuning":                 map[string]any{"is_allowed_to_fine_tune": v.Category != "premade", "state": map[string]any{}},
			"labels":                      labels,
			"description":                 nil,
			"preview_url":                 preview,
			"available_for_tiers":         []string{},
			"settings":                    nil,
			"sharing":                     nil,
			"high_quality_base_model_ids": []string{"eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_multilingual_v2"},
			"verified_languages":          verified,
			"is_owner":                    v.Category != "premade",
			"is_legacy":                   v.Legacy,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"voices": list})
}

// pcmRate parses an output_format of PCM.
func pcmRate(format string) (int, bool) {
	v, ok := strings.CutPrefix(format, "pcm_")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	for _, r := range Rates {
		if r == n {
			return n, true
		}
	}
	return 0, false
}

// iso6391 reports whether s has the shape of an ISO 639-1 code.
func iso6391(s string) bool {
	return len(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z'
}

// errorJSON is ElevenLabs' error body.
func errorJSON(status int, code, message, param string) map[string]any {
	typ := "invalid_request"
	switch {
	case status == http.StatusUnauthorized:
		typ = "authentication_error"
	case status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case status == http.StatusNotFound:
		typ = "not_found"
	case status >= 500:
		typ = "service_error"
	case code == "invalid_parameters":
		typ = "validation_error"
	}
	var p any
	if param != "" {
		p = param
	}
	return map[string]any{"detail": map[string]any{
		"type": typ, "code": code, "message": message, "status": code,
		"request_id": randomHex(), "param": p,
	}}
}

func writeError(w http.ResponseWriter, status int, code, message, param string) {
	writeJSON(w, status, errorJSON(status, code, message, param))
}

// writeValidation writes FastAPI's 422 list.
func writeValidation(w http.ResponseWriter, loc []any, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"detail": []map[string]any{{"loc": loc, "msg": msg, "type": "value_error"}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
