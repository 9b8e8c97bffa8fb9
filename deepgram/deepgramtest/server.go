// Package deepgramtest is a local fake of the two Deepgram endpoints that
// package deepgram uses, speaking their documented wire formats closely
// enough to test an adapter, or a whole conversation, without network
// access:
//
//	GET  /v1/listen  live speech-to-text over a WebSocket
//	POST /v1/speak   Aura text-to-speech, raw linear16 PCM
//
// Both check "Authorization: Token <APIKey>" (else 401 with Deepgram's
// error JSON {"err_code", "err_msg", "request_id"}, and on /v1/listen the
// dg-error header) and their query parameters (else 400 the same way).
//
// A /v1/listen stream counts the audio it receives (binary messages of
// linear16 at the stream's sample_rate), counts KeepAlive messages, and
// sends the Results of a script of utterances (Listen): each once enough
// audio has arrived, an interim result with the first half of its words
// then a final one with speech_final, start and duration within the audio
// received; on CloseStream it sends the utterances still due as finals,
// then a Metadata message, and closes the socket normally. A script can
// also end streams as Deepgram does on errors: a close frame such as 1011
// "NET-0001", an Error message, or a connection cut without a close frame.
//
// /v1/speak answers with SpeechFor(text, sample_rate), a deterministic
// tone, in several flushed chunks (Speak); a test can hold the last chunk
// back until it says so, or have the request refused.
//
// Every request is recorded (Requests); every stream is a *Session whose
// state a test can read or wait for.
//
// It does not model Deepgram's other encodings, containers, languages,
// multichannel audio, Finalize's from_finalize semantics beyond flagging
// the results, or its 10 s idle timeout.
package deepgramtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Request is one request the fake received, recorded before it was
// checked.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte // /v1/speak's JSON
}

// Utterance is one piece of scripted speech a /v1/listen stream
// recognises.
type Utterance struct {
	Text string
	// At is how much audio the stream must have received before the
	// utterance is sent; its words end there. 0 means: only when the
	// client sends CloseStream (or Finalize), ending at the audio then
	// received.
	At time.Duration
	// Speech is how long the words last (default 1 s), held to the audio
	// after the previous utterance.
	Speech time.Duration
	// Confidence of the results (default 0.98).
	Confidence float64
	// NotSpeechFinal leaves speech_final false on the final result, as
	// when Deepgram's endpointing did not fire: the end of the speech is
	// then told by UtteranceEnd alone.
	NotSpeechFinal bool
}

// Failure is how the script ends a stream with an error.
type Failure struct {
	// After is the audio the stream must have received first.
	After time.Duration
	// ErrorMessage, when set, is first sent as {"type":"Error",
	// "description": ErrorMessage, "message": …, "variant": …}.
	ErrorMessage string
	// CloseCode and Reason are the close frame's (default 1011 and
	// "NET-0000").
	CloseCode websocket.StatusCode
	Reason    string
	// Abrupt cuts the connection without a close frame.
	Abrupt bool
}

// Listen is the script of the /v1/listen streams opened after SetListen.
type Listen struct {
	Utterances []Utterance
	// UtteranceEnd: after each utterance's final result, also send
	// {"type":"UtteranceEnd"} when the stream asked for utterance_end_ms.
	UtteranceEnd bool
	// Fail, when set, ends the stream with an error.
	Fail *Failure
	// IgnoreCloseStream: answer CloseStream with nothing and keep the
	// stream open (a server that never ends it).
	IgnoreCloseStream bool
	// StallReads, when set, makes the stream stop reading after the first
	// audio message until it is closed: the client's writes then back up.
	StallReads <-chan struct{}
}

// Speak is the behaviour of /v1/speak after SetSpeak.
type Speak struct {
	// Chunks is how many flushed pieces the audio is written in (default
	// 4, at most the number of samples).
	Chunks int
	// BeforeLast, when set, is waited on (a receive, or its close) before
	// the last chunk is written.
	BeforeLast <-chan struct{}
	// Status, when non-zero, refuses requests with that status and Body
	// (default: Deepgram's error JSON with an err_msg of "scripted
	// failure").
	Status int
	Body   string
}

// SessionState is what a /v1/listen stream has received so far.
type SessionState struct {
	AudioBytes  int64
	Audio       time.Duration // AudioBytes at the stream's sample rate
	EmptyAudio  int           // empty binary messages (Deepgram reads them as the end)
	KeepAlives  int
	Finalizes   int
	CloseStream bool
	Messages    []string // every text message, in order
	Sent        []string // every message the fake sent, in order
	Ended       bool     // the stream is over
}

// Session is one /v1/listen stream.
type Session struct {
	Request    Request
	SampleRate int

	mu      sync.Mutex
	state   SessionState
	changed chan struct{} // closed and replaced at every change
}

// State returns a copy of what the stream has received so far.
func (s *Session) State() SessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	st.Messages = slices.Clone(st.Messages)
	st.Sent = slices.Clone(st.Sent)
	return st
}

// Wait waits until cond holds for the stream's state, and returns that
// state, or ctx's error.
func (s *Session) Wait(ctx context.Context, cond func(SessionState) bool) (SessionState, error) {
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if st := s.State(); cond(st) {
			return st, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return s.State(), ctx.Err()
		}
	}
}

func (s *Session) update(fn func(*SessionState)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.state)
	s.state.Audio = time.Duration(s.state.AudioBytes/2) * time.Second / time.Duration(s.SampleRate)
	close(s.changed)
	s.changed = make(chan struct{})
}

// Server is the fake. Its URL is the BaseURL of deepgram.Transcriber and
// deepgram.Speaker.
type Server struct {
	*httptest.Server
	// APIKey is the key requests must carry; NewServer sets a random one.
	// It must not change after NewServer.
	APIKey string

	ctx    context.Context // ends the streams on Close
	cancel context.CancelFunc

	mu       sync.Mutex
	requests []Request
	listen   Listen
	speak    Speak
	sessions []*Session
	changed  chan struct{} // closed and replaced when a session starts
}

// NewServer starts a fake with a random API key. Close it when done.
func NewServer() *Server {
	s := &Server{APIKey: randomHex(20), changed: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/listen", s.handleListen)
	mux.HandleFunc("/v1/speak", s.handleSpeak)
	s.Server = httptest.NewServer(mux)
	return s
}

// Close ends the open streams and shuts the server down.
func (s *Server) Close() {
	s.cancel()
	s.Server.Close()
}

// SetListen sets the script of the streams opened from now on.
func (s *Server) SetListen(l Listen) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listen = l
}

// SetSpeak sets how /v1/speak answers from now on.
func (s *Server) SetSpeak(sp Speak) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.speak = sp
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Sessions returns the /v1/listen streams accepted so far, in order.
func (s *Server) Sessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sessions)
}

// WaitSession waits for the i-th (from 0) /v1/listen stream to be
// accepted.
func (s *Server) WaitSession(ctx context.Context, i int) (*Session, error) {
	for {
		s.mu.Lock()
		changed := s.changed
		if i < len(s.sessions) {
			sess := s.sessions[i]
			s.mu.Unlock()
			return sess, nil
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *Server) record(r *http.Request, body []byte) Request {
	req := Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Body:   body,
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	return req
}

// apiError answers as Deepgram does when it refuses a request.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	id := newRequestID()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("dg-request-id", id)
	w.Header().Set("dg-error", msg)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"err_code": code, "err_msg": msg, "request_id": id})
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Token "+s.APIKey {
		apiError(w, http.StatusUnauthorized, "INVALID_AUTH", "Invalid credentials.")
		return false
	}
	return true
}

// ---- /v1/listen ----

func (s *Server) handleListen(w http.ResponseWriter, r *http.Request) {
	req := s.record(r, nil)
	if r.Method != http.MethodGet {
		apiError(w, http.StatusMethodNotAllowed, "Bad Request", "Method not allowed.")
		return
	}
	if !s.authorized(w, r) {
		return
	}
	q := r.URL.Query()
	rate, err := strconv.Atoi(q.Get("sample_rate"))
	if err != nil || rate <= 0 {
		apiError(w, http.StatusBadRequest, "Bad Request", "sample_rate must be a positive integer for raw audio.")
		return
	}
	if msg := checkListenQuery(q); msg != "" {
		apiError(w, http.StatusBadRequest, "Bad Request", msg)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(1 << 20)

	s.mu.Lock()
	script := s.listen
	script.Utterances = slices.Clone(script.Utterances)
	sess := &Session{Request: req, SampleRate: rate, changed: make(chan struct{})}
	s.sessions = append(s.sessions, sess)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	l := &listener{
		conn:    conn,
		sess:    sess,
		script:  script,
		id:      newRequestID(),
		model:   q.Get("model"),
		utEnd:   q.Get("utterance_end_ms") != "",
		interim: q.Get("interim_results") == "true",
		ctx:     s.ctx,
	}
	l.run()
	sess.update(func(st *SessionState) { st.Ended = true })
}

// checkListenQuery checks the parameters package deepgram sends, as
// Deepgram would take them; it returns the refusal, or "".
func checkListenQuery(q url.Values) string {
	if q.Get("encoding") != "linear16" {
		return "The fake speaks encoding=linear16 only."
	}
	if ch := q.Get("channels"); ch != "" && ch != "1" {
		return "The fake speaks channels=1 only."
	}
	if q.Get("model") == "" {
		return "No model given."
	}
	for _, k := range []string{"interim_results", "punctuate", "smart_format", "vad_events"} {
		if v := q.Get(k); v != "" && v != "true" && v != "false" {
			return fmt.Sprintf("%s must be true or false.", k)
		}
	}
	if v := q.Get("endpointing"); v != "" && v != "false" {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return "endpointing must be false or a number of milliseconds."
		}
	}
	if v := q.Get("utterance_end_ms"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n <= 0 {
			return "utterance_end_ms must be a number of milliseconds."
		}
	}
	return ""
}

// listener runs one /v1/listen stream.
type listener struct {
	conn    *websocket.Conn
	sess    *Session
	script  Listen
	id      string
	model   string
	utEnd   bool
	interim bool
	ctx     context.Context

	audio   int64         // bytes received
	prevEnd time.Duration // end of the last utterance sent
	stalled bool
}

func (l *listener) received() time.Duration {
	return time.Duration(l.audio/2) * time.Second / time.Duration(l.sess.SampleRate)
}

func (l *listener) run() {
	defer l.conn.CloseNow()
	for {
		typ, data, err := l.conn.Read(l.ctx)
		if err != nil {
			return
		}
		if typ == websocket.MessageBinary {
			if len(data) == 0 {
				l.sess.update(func(st *SessionState) { st.EmptyAudio++ })
				continue
			}
			l.audio += int64(len(data))
			l.sess.update(func(st *SessionState) { st.AudioBytes = l.audio })
			if f := l.script.Fail; f != nil && l.received() >= f.After {
				l.fail(*f)
				return
			}
			for len(l.script.Utterances) > 0 {
				u := l.script.Utterances[0]
				if u.At <= 0 || u.At > l.received() {
					break
				}
				l.script.Utterances = l.script.Utterances[1:]
				if !l.utterance(u, u.At, true, false) {
					return
				}
			}
			if l.script.StallReads != nil && !l.stalled {
				l.stalled = true
				select {
				case <-l.script.StallReads:
				case <-l.ctx.Done():
					return
				}
			}
			continue
		}
		text := string(data)
		l.sess.update(func(st *SessionState) { st.Messages = append(st.Messages, text) })
		var m struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(data, &m)
		switch m.Type {
		case "KeepAlive":
			l.sess.update(func(st *SessionState) { st.KeepAlives++ })
		case "Finalize":
			l.sess.update(func(st *SessionState) { st.Finalizes++ })
			if !l.flush(true) {
				return
			}
		case "CloseStream":
			l.sess.update(func(st *SessionState) { st.CloseStream = true })
			if l.script.IgnoreCloseStream {
				continue
			}
			if !l.flush(false) || !l.send(l.metadata()) {
				return
			}
			_ = l.conn.Close(websocket.StatusNormalClosure, "")
			return
		}
	}
}

// flush sends the utterances still due as finals ending at the audio
// received.
func (l *listener) flush(fromFinalize bool) bool {
	for _, u := range l.script.Utterances {
		at := l.received()
		if u.At > 0 {
			at = min(u.At, at)
		}
		if !l.utterance(u, at, false, fromFinalize) {
			return false
		}
	}
	l.script.Utterances = nil
	return true
}

// utterance sends u's results, its words ending at end.
func (l *listener) utterance(u Utterance, end time.Duration, withInterim, fromFinalize bool) bool {
	speech := u.Speech
	if speech <= 0 {
		speech = time.Second
	}
	start := max(end-speech, l.prevEnd, 0)
	if end < start {
		end = start
	}
	l.prevEnd = end
	conf := u.Confidence
	if conf == 0 {
		conf = 0.98
	}
	words := strings.Fields(u.Text)
	if withInterim && l.interim && len(words) > 1 {
		half := len(words) / 2
		mid := start + (end-start)/2
		if !l.send(l.results(words[:half], start, mid, conf*0.9, false, false, false)) {
			return false
		}
	}
	if !l.send(l.results(words, start, end, conf, true, !u.NotSpeechFinal, fromFinalize)) {
		return false
	}
	if l.script.UtteranceEnd && l.utEnd {
		return l.send(map[string]any{"type": "UtteranceEnd", "channel": []int{0, 1}, "last_word_end": seconds(end)})
	}
	return true
}

func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

// results is a Results message as the listen.v1 AsyncAPI describes it.
func (l *listener) results(words []string, start, end time.Duration, conf float64, final, speechFinal, fromFinalize bool) map[string]any {
	ws := make([]map[string]any, len(words))
	step := (end - start) / time.Duration(max(len(words), 1))
	for i, w := range words {
		ws[i] = map[string]any{
			"word":            strings.ToLower(strings.Trim(w, ".,!?;:")),
			"start":           seconds(start + time.Duration(i)*step),
			"end":             seconds(start + time.Duration(i+1)*step),
			"confidence":      conf,
			"punctuated_word": w,
		}
	}
	m := map[string]any{
		"type":          "Results",
		"channel_index": []int{0, 1},
		"duration":      seconds(end - start),
		"start":         seconds(start),
		"is_final":      final,
		"speech_final":  speechFinal,
		"channel": map[string]any{"alternatives": []map[string]any{{
			"transcript": strings.Join(words, " "),
			"confidence": conf,
			"words":      ws,
		}}},
		"metadata": map[string]any{
			"request_id": l.id,
			"model_info": map[string]string{"name": l.model, "version": "fake", "arch": "fake"},
			"model_uuid": "00000000-0000-0000-0000-000000000000",
		},
	}
	if fromFinalize {
		m["from_finalize"] = true
	}
	return m
}

func (l *listener) metadata() map[string]any {
	return map[string]any{
		"type":            "Metadata",
		"transaction_key": "deprecated",
		"request_id":      l.id,
		"sha256":          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"created":         time.Now().UTC().Format(time.RFC3339Nano),
		"duration":        seconds(l.received()),
		"channels":        1,
	}
}

func (l *listener) send(m any) bool {
	b, err := json.Marshal(m)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(l.ctx, 10*time.Second)
	defer cancel()
	if l.conn.Write(ctx, websocket.MessageText, b) != nil {
		return false
	}
	l.sess.update(func(st *SessionState) { st.Sent = append(st.Sent, string(b)) })
	return true
}

func (l *listener) fail(f Failure) {
	if f.ErrorMessage != "" {
		l.send(map[string]any{
			"type":        "Error",
			"description": f.ErrorMessage,
			"message":     f.ErrorMessage,
			"variant":     "scripted",
		})
	}
	if f.Abrupt {
		_ = l.conn.CloseNow()
		return
	}
	code, reason := f.CloseCode, f.Reason
	if code == 0 {
		code = websocket.StatusInternalError
	}
	if reason == "" {
		reason = "NET-0000"
	}
	_ = l.conn.Close(code, reason)
}

// ---- /v1/speak ----

// speakRates are the sample rates Aura offers for linear16.
var speakRates = []int{8000, 16000, 24000, 32000, 48000}

func (s *Server) handleSpeak(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.record(r, body)
	if r.Method != http.MethodPost {
		apiError(w, http.StatusMethodNotAllowed, "Bad Request", "Method not allowed.")
		return
	}
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	sp := s.speak
	s.mu.Unlock()

	q := r.URL.Query()
	rate := 24000
	if v := q.Get("sample_rate"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(speakRates, n) {
			apiError(w, http.StatusBadRequest, "Bad Request", "Unsupported sample_rate for linear16.")
			return
		}
		rate = n
	}
	var in struct {
		Text *string `json:"text"`
	}
	switch {
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		apiError(w, http.StatusUnsupportedMediaType, "Bad Request", "Content-Type must be application/json.")
		return
	case json.Unmarshal(body, &in) != nil || in.Text == nil:
		apiError(w, http.StatusBadRequest, "Bad Request", "Content-type was application/json, but we could not process the JSON payload.")
		return
	case strings.TrimSpace(*in.Text) == "":
		apiError(w, http.StatusBadRequest, "Bad Request", "Text is empty.")
		return
	case !strings.HasPrefix(q.Get("model"), "aura-"):
		apiError(w, http.StatusBadRequest, "Bad Request", "Invalid model.")
		return
	case q.Get("encoding") != "" && q.Get("encoding") != "linear16":
		apiError(w, http.StatusBadRequest, "Bad Request", "The fake speaks encoding=linear16 only.")
		return
	case q.Get("container") != "" && q.Get("container") != "none" && q.Get("container") != "wav":
		apiError(w, http.StatusBadRequest, "Bad Request", "Unsupported container for linear16.")
		return
	}
	if v := q.Get("speed"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0.7 || f > 1.5 {
			apiError(w, http.StatusBadRequest, "Bad Request", "speed must be between 0.7 and 1.5.")
			return
		}
	}
	if sp.Status != 0 {
		if sp.Body == "" {
			apiError(w, sp.Status, "Bad Request", "scripted failure")
			return
		}
		w.WriteHeader(sp.Status)
		_, _ = io.WriteString(w, sp.Body)
		return
	}

	pcm := SpeechFor(*in.Text, rate)
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		b[2*i], b[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	chunks := min(max(sp.Chunks, 1), len(pcm))
	if sp.Chunks == 0 {
		chunks = min(4, len(pcm))
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("dg-request-id", newRequestID())
	w.Header().Set("dg-model-name", q.Get("model"))
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	for i := range chunks {
		// Chunk boundaries fall on whole samples.
		from, to := 2*(len(pcm)*i/chunks), 2*(len(pcm)*(i+1)/chunks)
		if i == chunks-1 && sp.BeforeLast != nil {
			select {
			case <-sp.BeforeLast:
			case <-r.Context().Done():
				return
			case <-s.ctx.Done():
				return
			}
		}
		if _, err := w.Write(b[from:to]); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// SpeechFor is the audio /v1/speak answers for text at rate: a quiet
// 440 Hz tone, 60 ms per character of the trimmed text (at least one
// sample). Tests compare what an adapter emits with it.
func SpeechFor(text string, rate int) []int16 {
	n := max(len([]rune(strings.TrimSpace(text)))*rate*60/1000, 1)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(3000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	return out
}

func newRequestID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
