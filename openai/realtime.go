package openai

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/voice"
)

// Defaults of RealtimeOptions.
const (
	// RealtimeRate is the only rate of the Realtime API's pcm16 input:
	// 24 kHz mono, 16-bit little-endian.
	RealtimeRate = 24000
	// DefaultRealtimeBatch is how much audio one input_audio_buffer.append
	// carries: five 20 ms frames per message rather than one.
	DefaultRealtimeBatch = 100 * time.Millisecond
	// DefaultRealtimeFastSilence and DefaultRealtimeAccurateSilence are
	// server_vad's silence_duration_ms of the modes "fast" and "accurate"
	// (OpenAI's default is 500 ms).
	DefaultRealtimeFastSilence     = 500 * time.Millisecond
	DefaultRealtimeAccurateSilence = 800 * time.Millisecond
	// DefaultRealtimeCloseTimeout bounds Close's wait for the last
	// transcripts.
	DefaultRealtimeCloseTimeout = 3 * time.Second
	// DefaultRealtimeQueueFrames is 5 s of 20 ms frames.
	DefaultRealtimeQueueFrames = 250
)

const (
	// realtimeThreshold and realtimePrefixPadding are server_vad's
	// threshold and prefix_padding_ms (OpenAI's defaults).
	realtimeThreshold     = 0.5
	realtimePrefixPadding = 300 * time.Millisecond
	// realtimeDialTimeout bounds the handshake and the session update.
	realtimeDialTimeout = 10 * time.Second
	// realtimeWriteTimeout bounds one message's write.
	realtimeWriteTimeout = 10 * time.Second
	// realtimeWriteGrace is how long a writer that failed lets the reader
	// find out why before it cuts the socket.
	realtimeWriteGrace = time.Second
	// realtimeReadLimit bounds one server message.
	realtimeReadLimit = 1 << 20
	// realtimeResults is how many transcripts wait for the reader of
	// Results before the stream stops reading from the server.
	realtimeResults = 128
	// minCommit is the least audio the server commits; a commit of less
	// is answered with an error (input_audio_buffer_commit_empty).
	minCommit = 100 * time.Millisecond
	// codeCommitEmpty is the error code of a commit of (almost) nothing:
	// the server's own VAD committed the audio first. It is not a
	// failure of the stream.
	codeCommitEmpty = "input_audio_buffer_commit_empty"
)

// Errors of RealtimeTranscriber's streams.
var (
	// ErrQueueFull: the stream's audio queue overflowed because the
	// server did not take the audio as fast as the call sent it; the
	// stream failed.
	ErrQueueFull = errors.New("openai: realtime: audio queue full")
	// ErrClosed: Send or Finalize on a stream that Close has ended.
	ErrClosed = errors.New("openai: realtime: stream closed")
)

// RealtimeError is an "error" event of a Realtime session: the server
// refused a client event or failed. It ends the stream (except a commit
// of an empty buffer, which is only logged).
type RealtimeError struct {
	// Type and Code are error.type and error.code, e.g.
	// "invalid_request_error" and "invalid_value".
	Type, Code string
	// Message is error.message.
	Message string
	// Param is error.param, the field at fault, if any.
	Param string
}

// Error is "openai: realtime: <type> (<code>): <message>".
func (e *RealtimeError) Error() string {
	var b strings.Builder
	b.WriteString("openai: realtime: ")
	b.WriteString(cmp.Or(e.Type, "error"))
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Param != "" {
		fmt.Fprintf(&b, " [%s]", e.Param)
	}
	return b.String()
}

// RealtimeOptions tunes a RealtimeTranscriber; zero fields take the
// defaults above.
type RealtimeOptions struct {
	// Batch is how much audio each input_audio_buffer.append carries.
	Batch time.Duration
	// FastSilence and AccurateSilence are server_vad's
	// silence_duration_ms of the modes "fast" (and "") and "accurate".
	FastSilence, AccurateSilence time.Duration
	// CloseTimeout bounds how long Close waits for the transcripts of
	// the audio sent.
	CloseTimeout time.Duration
	// QueueFrames is how many frames Send queues while the socket is
	// busy; past it the stream fails with ErrQueueFull.
	QueueFrames int
	// Logger gets the stream's debug and warning lines; nil discards them.
	Logger *slog.Logger
}

// RealtimeTranscriber recognises a call's speech as it is spoken with
// OpenAI's Realtime API in transcription mode (voice.Transcriber): one
// WebSocket per call to {BaseURL}/realtime?intent=transcription, with
// BaseURL's http(s) mapped to ws(s). It is safe for concurrent use and
// keeps no state between streams.
//
// The session is configured with the beta (v1) interface, asked for by
// the header "OpenAI-Beta: realtime=v1": a transcription_session.update
// whose session has input_audio_format "pcm16", input_audio_transcription
// {model, language}, turn_detection server_vad and
// input_audio_noise_reduction near_field. The GA interface (no beta
// header, what openai-go v3's realtime package speaks) configures the same
// with session.update and {"type": "transcription", "audio": {"input":
// {...}}}; the beta one is kept because the servers that copy the API
// (and OpenAI's transcription guide until the GA) speak it. The events the
// stream reads are named alike in both.
//
// Audio is resampled from the call's rate to 24 kHz and sent base64 in
// input_audio_buffer.append messages of Batch each. The server's VAD
// commits the buffer at each pause; each committed item's
// conversation.item.input_audio_transcription.delta events give interim
// transcripts (Final false, the item's text so far) and its .completed
// event the final one (Final and EndOfSpeech). Start, End and Confidence
// are not given. An "error" event ends the stream with a *RealtimeError.
type RealtimeTranscriber struct {
	cfg  Config
	opts RealtimeOptions
	url  string
}

var _ voice.Transcriber = (*RealtimeTranscriber)(nil)

// NewRealtimeTranscriber returns a RealtimeTranscriber for c (empty
// fields take their defaults; c.HTTPClient makes the handshake). It fails
// when c.BaseURL is not an absolute http(s) URL.
func NewRealtimeTranscriber(c Config, o RealtimeOptions) (*RealtimeTranscriber, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	u, err := realtimeURL(c.BaseURL)
	if err != nil {
		return nil, err
	}
	o.Batch = cmp.Or(o.Batch, DefaultRealtimeBatch)
	o.FastSilence = cmp.Or(o.FastSilence, DefaultRealtimeFastSilence)
	o.AccurateSilence = cmp.Or(o.AccurateSilence, DefaultRealtimeAccurateSilence)
	o.CloseTimeout = cmp.Or(o.CloseTimeout, DefaultRealtimeCloseTimeout)
	o.QueueFrames = max(cmp.Or(o.QueueFrames, DefaultRealtimeQueueFrames), 1)
	if o.Batch < 0 || o.FastSilence < 0 || o.AccurateSilence < 0 || o.CloseTimeout < 0 {
		return nil, errors.New("openai: realtime: negative duration in options")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &RealtimeTranscriber{cfg: c, opts: o, url: u}, nil
}

// realtimeURL is base's ws(s) URL of /realtime?intent=transcription.
func realtimeURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("openai: base url: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/realtime"
	u.RawPath = ""
	u.RawQuery = url.Values{"intent": {"transcription"}}.Encode()
	return u.String(), nil
}

// Model returns the model that serves sttMode mode: the accurate model
// for "accurate", the fast one otherwise.
func (t *RealtimeTranscriber) Model(mode string) string {
	if mode == "accurate" {
		return t.cfg.AccurateTranscriptionModel
	}
	return t.cfg.FastTranscriptionModel
}

// sessionUpdate is the transcription_session.update of options o.
func (t *RealtimeTranscriber) sessionUpdate(o voice.TranscribeOptions) []byte {
	silence := t.opts.FastSilence
	if o.Mode == "accurate" {
		silence = t.opts.AccurateSilence
	}
	transcription := map[string]any{"model": t.Model(o.Mode)}
	if lang := TranscriptionLanguage(o.Language); lang != "" {
		transcription["language"] = lang
	}
	b, _ := json.Marshal(map[string]any{
		"type": "transcription_session.update",
		"session": map[string]any{
			"input_audio_format":          "pcm16",
			"input_audio_transcription":   transcription,
			"input_audio_noise_reduction": map[string]any{"type": "near_field"},
			"turn_detection": map[string]any{
				"type":                "server_vad",
				"threshold":           realtimeThreshold,
				"prefix_padding_ms":   realtimePrefixPadding.Milliseconds(),
				"silence_duration_ms": silence.Milliseconds(),
			},
		},
	})
	return b
}

// Open starts a recognition stream of audio at o.Rate (8 or 16 kHz, or
// any rate audio.NewResampler takes). ctx bounds the whole stream: when
// it ends, the stream ends (Err wraps ctx's error). A refused handshake
// is returned as an *APIError with the status and the server's message.
func (t *RealtimeTranscriber) Open(ctx context.Context, o voice.TranscribeOptions) (voice.TranscriptionStream, error) {
	if o.Rate <= 0 {
		return nil, fmt.Errorf("openai: realtime: sample rate %d", o.Rate)
	}
	rs, err := audio.NewResampler(o.Rate, RealtimeRate)
	if err != nil {
		return nil, fmt.Errorf("openai: realtime: %w", err)
	}
	header := http.Header{"Openai-Beta": {"realtime=v1"}}
	if t.cfg.APIKey != "" {
		header.Set("Authorization", "Bearer "+t.cfg.APIKey)
	}
	dialCtx, cancel := context.WithTimeout(ctx, realtimeDialTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dialCtx, t.url, &websocket.DialOptions{
		HTTPClient: t.cfg.HTTPClient,
		HTTPHeader: header,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("openai: realtime: %w", handshakeError(resp))
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("openai: realtime: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("openai: realtime: %w", err)
	}
	conn.SetReadLimit(realtimeReadLimit)
	if err := conn.Write(dialCtx, websocket.MessageText, t.sessionUpdate(o)); err != nil {
		_ = conn.CloseNow()
		return nil, fmt.Errorf("openai: realtime: session update: %w", err)
	}
	s := &rtStream{
		conn:         conn,
		log:          t.opts.Logger,
		rate:         o.Rate,
		resampler:    rs,
		batchBytes:   2 * int(int64(RealtimeRate)*int64(t.opts.Batch)/int64(time.Second)),
		batch:        t.opts.Batch,
		closeTimeout: t.opts.CloseTimeout,
		parent:       ctx,
		audio:        make(chan []int16, t.opts.QueueFrames),
		closeReq:     make(chan struct{}),
		finalize:     make(chan struct{}, 1),
		results:      make(chan voice.Transcript, realtimeResults),
		done:         make(chan struct{}),
		items:        newRTItems(),
	}
	s.batchBytes = max(s.batchBytes, 2)
	s.ctx, s.cancel = context.WithCancel(ctx)
	go s.run()
	return s, nil
}

// handshakeError is the *APIError of a refused handshake.
func handshakeError(resp *http.Response) *APIError {
	var body []byte
	if resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	}
	e := parseErrorBody(body)
	return &APIError{
		StatusCode: resp.StatusCode,
		Message:    cmp.Or(e.Message, http.StatusText(resp.StatusCode)),
		Type:       e.Type,
		Code:       e.Code,
	}
}

// rtStream is one Realtime transcription stream. Like deepgram's, two
// goroutines serve it: a writer (audio, commits) and a reader (events);
// run starts them and, once both have returned, closes the socket,
// Results and done. Every path out of the stream cancels ctx.
type rtStream struct {
	conn         *websocket.Conn
	log          *slog.Logger
	rate         int
	resampler    audio.Resampler // the writer's
	batchBytes   int
	batch        time.Duration
	closeTimeout time.Duration

	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc

	audio    chan []int16 // frames at rate, as sent
	closeReq chan struct{}
	finalize chan struct{}
	results  chan voice.Transcript
	done     chan struct{}

	items *rtItems // the reader's

	mu          sync.Mutex
	closing     bool
	writerDone  bool // Close's commit (if any) was sent: the writer has ended
	finalCommit bool // Close's commit was sent and not yet answered
	pending     int  // items awaiting their transcript (the reader's count)
	err         error
	writeErr    error
	clean       bool // the stream ended as Close asked
}

var (
	_ voice.TranscriptionStream = (*rtStream)(nil)
	_ voice.Finalizer           = (*rtStream)(nil)
)

func (s *rtStream) run() {
	var wg sync.WaitGroup
	wg.Go(s.write)
	wg.Go(s.read)
	wg.Wait()
	_ = s.conn.CloseNow()
	s.cancel()
	close(s.results)
	close(s.done)
}

// Send implements voice.TranscriptionStream: it queues a copy of the
// frame for the writer and never waits. A frame at another rate than the
// stream's is refused; an empty one is dropped.
func (s *rtStream) Send(f audio.Frame) error {
	if f.Rate != s.rate {
		return fmt.Errorf("openai: realtime: frame at %d Hz on a %d Hz stream", f.Rate, s.rate)
	}
	if len(f.Samples) == 0 {
		return nil
	}
	samples := append([]int16(nil), f.Samples...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(); err != nil {
		return err
	}
	select {
	case s.audio <- samples:
		return nil
	default:
		n := cap(s.audio)
		err := fmt.Errorf("%w: %d frames (%v of audio) not yet sent", ErrQueueFull, n, time.Duration(n)*f.Duration())
		s.failLocked(err)
		return err
	}
}

// Finalize implements voice.Finalizer: after the audio queued so far,
// the writer sends input_audio_buffer.commit, and the server transcribes
// the buffer at once instead of at its VAD's end of speech. It never
// waits; a Finalize asked while one is pending is the same one. Nothing is
// committed when less than 100 ms was sent since the last commit.
func (s *rtStream) Finalize() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(); err != nil {
		return err
	}
	select {
	case s.finalize <- struct{}{}:
	default:
	}
	return nil
}

func (s *rtStream) usableLocked() error {
	switch {
	case s.err != nil:
		return s.err
	case s.closing:
		return ErrClosed
	case s.ctx.Err() != nil:
		return fmt.Errorf("openai: realtime: stream ended: %w", context.Cause(s.ctx))
	}
	return nil
}

// Results implements voice.TranscriptionStream.
func (s *rtStream) Results() <-chan voice.Transcript { return s.results }

// Err implements voice.TranscriptionStream.
func (s *rtStream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close implements voice.TranscriptionStream: the writer sends what is
// queued and commits it; the reader waits for the transcripts of every
// item committed; then the socket is closed. Close waits for that at most
// CloseTimeout, then cuts the stream (Err says so). It returns Err.
func (s *rtStream) Close() error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.closeReq)
	}
	s.mu.Unlock()
	timer := time.NewTimer(s.closeTimeout)
	defer timer.Stop()
	select {
	case <-s.done:
	case <-timer.C:
		s.fail(fmt.Errorf("openai: realtime: the last transcripts did not come within %v of Close", s.closeTimeout))
		<-s.done
	}
	return s.Err()
}

func (s *rtStream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLocked(err)
}

func (s *rtStream) failLocked(err error) {
	if s.err == nil {
		s.err = err
		level := slog.LevelWarn
		if s.parent.Err() != nil {
			level = slog.LevelDebug
		}
		s.log.Log(context.Background(), level, "openai: realtime stream ended early", "err", err)
	}
	s.cancel()
}

// write resamples the queued audio and sends it in batches, a commit on
// Finalize, and, once Close asks, the rest and a last commit.
func (s *rtStream) write() {
	var pending []byte  // resampled audio not yet appended
	var uncommitted int // bytes appended since the last commit
	minCommitBytes := 2 * int(int64(RealtimeRate)*int64(minCommit)/int64(time.Second))
	flushTimer := time.NewTimer(s.batch)
	flushTimer.Stop()
	defer flushTimer.Stop()

	add := func(samples []int16) bool {
		empty := len(pending) == 0
		for _, v := range s.resampler.Resample(samples) {
			pending = binary.LittleEndian.AppendUint16(pending, uint16(v))
		}
		for len(pending) >= s.batchBytes {
			if !s.appendAudio(pending[:s.batchBytes]) {
				return false
			}
			uncommitted += s.batchBytes
			pending = pending[s.batchBytes:]
		}
		if empty && len(pending) > 0 {
			flushTimer.Reset(s.batch)
		}
		return true
	}
	flush := func() bool {
		for {
			select {
			case f := <-s.audio:
				if !add(f) {
					return false
				}
				continue
			default:
			}
			break
		}
		if len(pending) > 0 {
			if !s.appendAudio(pending) {
				return false
			}
			uncommitted += len(pending)
			pending = pending[:0]
		}
		return true
	}
	commit := func() (sent, ok bool) {
		if !flush() {
			return false, false
		}
		if uncommitted < minCommitBytes {
			return false, true
		}
		uncommitted = 0
		return true, s.send([]byte(`{"type":"input_audio_buffer.commit"}`))
	}

	for {
		select {
		case <-s.ctx.Done():
			return
		case f := <-s.audio:
			if !add(f) {
				return
			}
		case <-flushTimer.C:
			if len(pending) > 0 && !flush() {
				return
			}
		case <-s.finalize:
			if _, ok := commit(); !ok {
				return
			}
		case <-s.closeReq:
			// Close set closing under the lock Send queues under: the
			// queue holds all the audio there is.
			s.mu.Lock()
			s.finalCommit = true // before the commit: the reader may see its answer at once
			s.mu.Unlock()
			sent, ok := commit()
			if !ok {
				return
			}
			s.mu.Lock()
			s.writerDone = true
			if !sent {
				s.finalCommit = false
			}
			s.mu.Unlock()
			s.endIfDone()
			return
		}
	}
}

// appendAudio sends b (24 kHz PCM) as one input_audio_buffer.append.
func (s *rtStream) appendAudio(b []byte) bool {
	msg := make([]byte, 0, 48+base64.StdEncoding.EncodedLen(len(b)))
	msg = append(msg, `{"type":"input_audio_buffer.append","audio":"`...)
	msg = base64.StdEncoding.AppendEncode(msg, b)
	msg = append(msg, `"}`...)
	return s.send(msg)
}

// send writes one text message; see deepgram's stream.send.
func (s *rtStream) send(b []byte) bool {
	ctx, cancel := context.WithTimeout(s.ctx, realtimeWriteTimeout)
	err := s.conn.Write(ctx, websocket.MessageText, b)
	cancel()
	if err == nil {
		return true
	}
	s.mu.Lock()
	if s.writeErr == nil {
		s.writeErr = fmt.Errorf("openai: realtime: send: %w", err)
	}
	s.mu.Unlock()
	grace := time.NewTimer(realtimeWriteGrace)
	defer grace.Stop()
	select {
	case <-s.ctx.Done():
	case <-grace.C:
	}
	_ = s.conn.CloseNow()
	return false
}

// read turns the server's events into transcripts until the socket ends,
// the stream fails, or (after Close) every committed item is transcribed.
func (s *rtStream) read() {
	defer s.cancel()
	for {
		typ, data, err := s.conn.Read(s.ctx)
		if err != nil {
			s.ended(err)
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		ev, err := parseRealtimeEvent(data)
		if err != nil {
			s.log.Warn("openai: realtime: unreadable event", "err", err)
			continue
		}
		if ev.err != nil {
			if ev.err.Code != codeCommitEmpty {
				s.fail(ev.err)
				return
			}
			s.log.Debug("openai: realtime: empty commit", "err", ev.err)
		}
		tr, ok := s.items.apply(ev)
		if ok {
			select {
			case s.results <- tr:
			case <-s.ctx.Done():
				return
			}
		}
		s.mu.Lock()
		if ev.typ == evtCommitted || ev.err != nil {
			s.finalCommit = false // after Close's commit, the first answer is taken as its answer
		}
		s.pending = s.items.pending()
		s.mu.Unlock()
		if s.endIfDone() {
			return
		}
	}
}

// endIfDone ends the stream cleanly, and reports true, when Close has
// sent all there was, its commit is answered and no item awaits its
// transcript. The reader or the writer calls it; the first to find the
// stream done closes the socket (which ends a read in progress).
func (s *rtStream) endIfDone() bool {
	s.mu.Lock()
	done := s.writerDone && !s.finalCommit && s.pending == 0 && s.err == nil && !s.clean
	if done {
		s.clean = true
	}
	s.mu.Unlock()
	if done {
		_ = s.conn.Close(websocket.StatusNormalClosure, "")
	}
	return done
}

// ended records why the socket ended, as the reader saw it: nothing after
// the clean end, else the first of: the stream's own failure, ctx's end,
// the server's close frame, the writer's failure, the broken connection.
func (s *rtStream) ended(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.clean {
		return
	}
	if s.parent.Err() != nil {
		s.failLocked(fmt.Errorf("openai: realtime: %w", context.Cause(s.parent)))
		return
	}
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce):
		s.failLocked(&RealtimeError{Type: "closed", Code: fmt.Sprint(int(ce.Code)),
			Message: cmp.Or(cleanMessage(ce.Reason), "the server ended the stream")})
	case s.writeErr != nil:
		s.failLocked(s.writeErr)
	default:
		s.failLocked(fmt.Errorf("openai: realtime: stream lost: %w", err))
	}
}

// Event types the stream acts on.
const (
	evtDelta     = "conversation.item.input_audio_transcription.delta"
	evtCompleted = "conversation.item.input_audio_transcription.completed"
	evtFailed    = "conversation.item.input_audio_transcription.failed"
	evtCommitted = "input_audio_buffer.committed"
	evtError     = "error"
)

// rtEvent is one server event, as far as the stream reads it.
type rtEvent struct {
	typ    string
	itemID string
	text   string         // delta's delta, completed's transcript
	err    *RealtimeError // an error event's, or a failed transcription's
}

// parseRealtimeEvent reads one server event. Unknown types parse (with
// only typ set); what is not a JSON object with a string type fails.
func parseRealtimeEvent(data []byte) (rtEvent, error) {
	var v struct {
		Type       string `json:"type"`
		ItemID     string `json:"item_id"`
		Delta      string `json:"delta"`
		Transcript string `json:"transcript"`
		Error      *struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return rtEvent{}, err
	}
	if v.Type == "" {
		return rtEvent{}, errors.New("event without a type")
	}
	ev := rtEvent{typ: v.Type, itemID: v.ItemID}
	switch v.Type {
	case evtDelta:
		ev.text = strings.ToValidUTF8(v.Delta, "\uFFFD")
	case evtCompleted:
		ev.text = strings.ToValidUTF8(v.Transcript, "\uFFFD")
	case evtError:
		ev.err = &RealtimeError{Message: "error event without details"}
		if v.Error != nil {
			ev.err = &RealtimeError{
				Type: cleanMessage(v.Error.Type), Code: cleanMessage(v.Error.Code),
				Message: cmp.Or(cleanMessage(v.Error.Message), "error event without a message"),
				Param:   cleanMessage(v.Error.Param),
			}
		}
	}
	return ev, nil
}

// rtItems follows the items being transcribed: the text of each so far.
type rtItems struct {
	text      map[string]string
	committed map[string]bool // committed, transcript not yet completed
}

func newRTItems() *rtItems {
	return &rtItems{text: map[string]string{}, committed: map[string]bool{}}
}

// maxItems bounds the items followed: a server that never completes them
// must not grow the maps without end.
const maxItems = 256

// apply takes one event and returns the transcript it gives, if any.
func (it *rtItems) apply(ev rtEvent) (voice.Transcript, bool) {
	switch ev.typ {
	case evtCommitted:
		if len(it.committed) < maxItems {
			it.committed[ev.itemID] = true
		}
	case evtDelta:
		if _, ok := it.text[ev.itemID]; !ok && len(it.text) >= maxItems {
			return voice.Transcript{}, false
		}
		text := it.text[ev.itemID] + ev.text
		if len(text) > realtimeReadLimit {
			text = text[:realtimeReadLimit]
		}
		it.text[ev.itemID] = text
		if t := strings.TrimSpace(text); t != "" {
			return voice.Transcript{Text: t}, true
		}
	case evtCompleted:
		_, interim := it.text[ev.itemID]
		delete(it.text, ev.itemID)
		delete(it.committed, ev.itemID)
		t := strings.TrimSpace(ev.text)
		if t != "" || interim {
			return voice.Transcript{Text: t, Final: true, EndOfSpeech: true}, true
		}
	case evtFailed:
		_, interim := it.text[ev.itemID]
		delete(it.text, ev.itemID)
		delete(it.committed, ev.itemID)
		if interim {
			// The interim text will not be completed: retract it.
			return voice.Transcript{Final: true, EndOfSpeech: true}, true
		}
	}
	return voice.Transcript{}, false
}

// pending is how many items await their transcript.
func (it *rtItems) pending() int {
	n := len(it.committed)
	for id := range it.text {
		if !it.committed[id] {
			n++
		}
	}
	return n
}
