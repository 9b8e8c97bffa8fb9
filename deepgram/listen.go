package deepgram

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/voice"
)

// Defaults of Transcriber.
const (
	// DefaultBaseURL is Deepgram's API.
	DefaultBaseURL = "https://api.deepgram.com"
	// DefaultModel is the model of both modes: Nova-3, Deepgram's most
	// accurate streaming model and the one its guides use for voice
	// agents. The modes differ in endpointing.
	DefaultModel = "nova-3"
	// DefaultFastEndpointing and DefaultAccurateEndpointing are the
	// silence after which Deepgram marks a result speech_final. Deepgram's
	// own default is 10 ms; its guide recommends 300–500 ms for
	// conversations, where speakers pause mid-thought. "fast" takes the
	// low end, "accurate" the high end.
	DefaultFastEndpointing     = 300 * time.Millisecond
	DefaultAccurateEndpointing = 500 * time.Millisecond
	// DefaultUtteranceEnd is utterance_end_ms, the gap after the last
	// finalised word after which Deepgram sends UtteranceEnd (its
	// documented example value; it works from interim results, which
	// streams always ask for).
	DefaultUtteranceEnd = time.Second
	// DefaultKeepAlive: Deepgram closes a stream that received neither
	// audio nor a text message for 10 s (NET-0001) and asks for a
	// KeepAlive every 3–5 s of silence.
	DefaultKeepAlive = 4 * time.Second
	// DefaultCloseTimeout bounds Close's wait for the last results.
	DefaultCloseTimeout = 5 * time.Second
	// DefaultQueueFrames is 5 s of 20 ms frames.
	DefaultQueueFrames = 250
)

const (
	// dialTimeout bounds the WebSocket handshake.
	dialTimeout = 10 * time.Second
	// writeTimeout bounds one message's write; a stream whose writes stall
	// longer fails.
	writeTimeout = 10 * time.Second
	// readLimit bounds one server message (a long final with its words).
	readLimit = 1 << 20
	// writeGrace is how long a writer that failed lets the reader find
	// out why before it cuts the socket.
	writeGrace = time.Second
	// resultsBuffer is how many transcripts wait for the reader of
	// Results before the stream stops reading from Deepgram.
	resultsBuffer = 128
)

// Transcriber recognises a call's speech with Deepgram's live streaming
// API. Only APIKey is required; zero fields take the defaults above. A
// Transcriber is safe for concurrent use and keeps no state between
// streams.
//
// A stream's transcripts are Deepgram's Results: Text is the first
// alternative's transcript, Final is is_final, EndOfSpeech is
// speech_final, Start and End are start and start+duration in the audio
// sent. Results without text (silence) are dropped, except a
// speech_final that ends speech not yet ended. An UtteranceEnd that
// follows speech not yet ended becomes a transcript without text, Final
// and EndOfSpeech, at its last_word_end; one after a speech_final says
// nothing new and is dropped. SpeechStarted and Metadata are only logged
// (at debug), and an Error message ends the stream with an *Error.
//
// Results holds 128 transcripts; a reader that falls further behind
// stops the stream from reading Deepgram, and Close then times out.
type Transcriber struct {
	APIKey string
	// BaseURL is the API's scheme and host (and optional path prefix):
	// http(s) is mapped to ws(s). "" means DefaultBaseURL
	// (wss://api.deepgram.com for streams).
	BaseURL string
	// FastModel and AccurateModel are the models of the agent's sttMode
	// "fast" and "accurate" ("" means DefaultModel). Any other mode is
	// "fast".
	FastModel, AccurateModel string
	// FastEndpointing and AccurateEndpointing are the endpointing of the
	// two modes, sent in whole milliseconds; a negative value turns
	// endpointing off (endpointing=false).
	FastEndpointing, AccurateEndpointing time.Duration
	// UtteranceEnd is utterance_end_ms; negative leaves it out (no
	// UtteranceEnd messages).
	UtteranceEnd time.Duration
	// KeepAlive is how long a stream may send nothing before it sends
	// {"type":"KeepAlive"}.
	KeepAlive time.Duration
	// CloseTimeout bounds how long Close waits, after CloseStream, for
	// Deepgram's last results and its end of the stream.
	CloseTimeout time.Duration
	// QueueFrames is how many frames Send queues while the socket is busy;
	// past it the stream fails with ErrQueueFull.
	QueueFrames int
	// HTTPClient makes the handshake; nil means http.DefaultClient. Its
	// Timeout, if any, bounds the handshake only.
	HTTPClient *http.Client
	// Logger gets the stream's debug and warning lines; nil discards them.
	Logger *slog.Logger
}

var _ voice.Transcriber = (*Transcriber)(nil)

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// listenURL is the stream's URL with its query for o.
func (t *Transcriber) listenURL(o voice.TranscribeOptions) (string, error) {
	u, err := endpoint(orDefault(t.BaseURL, DefaultBaseURL), "/v1/listen", true)
	if err != nil {
		return "", err
	}
	model := orDefault(t.FastModel, DefaultModel)
	endpointing := orDefault(t.FastEndpointing, DefaultFastEndpointing)
	if o.Mode == "accurate" {
		model = orDefault(t.AccurateModel, DefaultModel)
		endpointing = orDefault(t.AccurateEndpointing, DefaultAccurateEndpointing)
	}
	q := url.Values{}
	q.Set("encoding", "linear16")
	q.Set("sample_rate", strconv.Itoa(o.Rate))
	q.Set("channels", "1")
	q.Set("model", model)
	if o.Language != "" {
		q.Set("language", o.Language)
	}
	q.Set("interim_results", "true")
	q.Set("punctuate", "true")
	q.Set("smart_format", "true")
	if endpointing < 0 {
		q.Set("endpointing", "false")
	} else {
		q.Set("endpointing", strconv.FormatInt(max(endpointing.Milliseconds(), 1), 10))
	}
	if ue := orDefault(t.UtteranceEnd, DefaultUtteranceEnd); ue > 0 {
		q.Set("utterance_end_ms", strconv.FormatInt(ue.Milliseconds(), 10))
	}
	q.Set("vad_events", "true")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Open starts a recognition stream. ctx bounds the whole stream, not just
// the handshake: when it ends, the stream ends (Err wraps ctx's error). A
// refused handshake is returned as *Error with Deepgram's status and
// message.
func (t *Transcriber) Open(ctx context.Context, o voice.TranscribeOptions) (voice.TranscriptionStream, error) {
	if t.APIKey == "" {
		return nil, errors.New("deepgram: listen: no API key")
	}
	if o.Rate <= 0 {
		return nil, fmt.Errorf("deepgram: listen: sample rate %d", o.Rate)
	}
	u, err := t.listenURL(o)
	if err != nil {
		return nil, err
	}
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	conn, resp, err := websocket.Dial(dialCtx, u, &websocket.DialOptions{
		HTTPClient: t.HTTPClient,
		HTTPHeader: http.Header{"Authorization": {"Token " + t.APIKey}},
	})
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("deepgram: listen: %w", responseError(resp))
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("deepgram: listen: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("deepgram: listen: %w", err)
	}
	conn.SetReadLimit(readLimit)

	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if resp != nil {
		if id := clean(resp.Header.Get("dg-request-id")); id != "" {
			log = log.With("deepgram_request", id)
		}
	}
	s := &stream{
		conn:         conn,
		log:          log,
		rate:         o.Rate,
		keepAlive:    orDefault(t.KeepAlive, DefaultKeepAlive),
		closeTimeout: orDefault(t.CloseTimeout, DefaultCloseTimeout),
		parent:       ctx,
		audio:        make(chan []byte, max(orDefault(t.QueueFrames, DefaultQueueFrames), 1)),
		closeReq:     make(chan struct{}),
		finalize:     make(chan struct{}, 1),
		results:      make(chan voice.Transcript, resultsBuffer),
		done:         make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	go s.run()
	return s, nil
}

// stream is one live recognition stream. Two goroutines serve it, a
// writer (audio, KeepAlive, CloseStream) and a reader (results); run
// starts them and, once both have returned, closes the socket, Results and
// done. Every path out of the stream cancels ctx, which ends both.
type stream struct {
	conn         *websocket.Conn
	log          *slog.Logger
	rate         int
	keepAlive    time.Duration
	closeTimeout time.Duration

	parent context.Context // Open's
	ctx    context.Context // the goroutines'
	cancel context.CancelFunc

	audio    chan []byte // little-endian PCM, one frame per message
	closeReq chan struct{}
	finalize chan struct{} // Finalize asked (one pending at most)
	results  chan voice.Transcript
	done     chan struct{}

	// closeStreamSent and metadataSeen tell a clean end from an early one.
	closeStreamSent atomic.Bool
	metadataSeen    atomic.Bool

	mu       sync.Mutex
	closing  bool  // Close was called: closeReq is closed, Send refuses
	err      error // why the stream ended early
	writeErr error // the writer's failure, reported if the reader has no better reason
}

var (
	_ voice.TranscriptionStream = (*stream)(nil)
	_ voice.Finalizer           = (*stream)(nil)
)

func (s *stream) run() {
	var wg sync.WaitGroup
	wg.Go(s.write)
	wg.Go(s.read)
	wg.Wait()
	_ = s.conn.CloseNow()
	close(s.results)
	close(s.done)
}

// Send implements voice.TranscriptionStream: it queues the frame for the
// writer and never waits. A frame at another rate than the stream's is
// refused; an empty one is dropped (Deepgram takes an empty binary
// message as the end of the audio).
func (s *stream) Send(f audio.Frame) error {
	if f.Rate != s.rate {
		return fmt.Errorf("deepgram: frame at %d Hz on a %d Hz stream", f.Rate, s.rate)
	}
	if len(f.Samples) == 0 {
		return nil
	}
	b := make([]byte, 2*len(f.Samples))
	for i, v := range f.Samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(); err != nil {
		return err
	}
	select {
	case s.audio <- b:
		return nil
	default:
		n := cap(s.audio)
		err := fmt.Errorf("%w: %d frames (%v of audio) not yet sent to Deepgram", ErrQueueFull, n, time.Duration(n)*f.Duration())
		s.failLocked(err)
		return err
	}
}

// Finalize implements voice.Finalizer: after the audio queued so far,
// the writer sends {"type":"Finalize"}, and Deepgram answers at once with
// the final results of the audio it holds (from_finalize true) instead of
// waiting for its own endpointing. It never waits; a Finalize asked while
// one is pending is the same one.
func (s *stream) Finalize() error {
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

// usableLocked is why the stream takes nothing more: its failure, Close,
// or its end; nil while it is open.
func (s *stream) usableLocked() error {
	switch {
	case s.err != nil:
		return s.err
	case s.closing:
		return ErrClosed
	case s.ctx.Err() != nil:
		return fmt.Errorf("deepgram: stream ended: %w", context.Cause(s.ctx))
	}
	return nil
}

// Results implements voice.TranscriptionStream.
func (s *stream) Results() <-chan voice.Transcript { return s.results }

// Err implements voice.TranscriptionStream.
func (s *stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close implements voice.TranscriptionStream: the writer sends what is
// queued, then CloseStream; Deepgram answers with its last results and
// closes the socket. Close waits for that at most CloseTimeout, then cuts
// the stream (Err says so). It returns Err.
func (s *stream) Close() error {
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
		s.fail(fmt.Errorf("deepgram: Deepgram did not end the stream within %v of CloseStream", s.closeTimeout))
		<-s.done
	}
	return s.Err()
}

// fail ends the stream with err, unless it already has an error.
func (s *stream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLocked(err)
}

func (s *stream) failLocked(err error) {
	if s.err == nil {
		s.err = err
		level := slog.LevelWarn
		if s.parent.Err() != nil {
			level = slog.LevelDebug // the call ended it
		}
		s.log.Log(context.Background(), level, "deepgram: stream ended early", "err", err)
	}
	s.cancel()
}

// write sends the queued audio, a KeepAlive after KeepAlive without
// anything to send, and, once Close asks, the rest of the queue and
// CloseStream.
func (s *stream) write() {
	idle := time.NewTimer(s.keepAlive)
	defer idle.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case b := <-s.audio:
			if !s.send(websocket.MessageBinary, b) {
				return
			}
		case <-idle.C:
			if !s.send(websocket.MessageText, msgKeepAlive) {
				return
			}
		case <-s.finalize:
			// After the audio asked to be finalized.
			if !s.drain() || !s.send(websocket.MessageText, msgFinalize) {
				return
			}
		case <-s.closeReq:
			// Close set closing before closing closeReq, under the lock
			// Send queues under: the queue holds all the audio there is.
			if !s.drain() {
				return
			}
			s.closeStreamSent.Store(true)
			s.send(websocket.MessageText, msgCloseStream)
			return
		}
		idle.Reset(s.keepAlive)
	}
}

// drain sends the audio queued; false when a write failed.
func (s *stream) drain() bool {
	for {
		select {
		case b := <-s.audio:
			if !s.send(websocket.MessageBinary, b) {
				return false
			}
		default:
			return true
		}
	}
}

// send writes one message. On failure it reports false after the reader
// has ended: a failed write most often means Deepgram closed the socket,
// and the reader is the one that reads why (its close frame). The reader
// is given writeGrace to get there before the socket is cut.
func (s *stream) send(typ websocket.MessageType, b []byte) bool {
	ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
	err := s.conn.Write(ctx, typ, b)
	cancel()
	if err == nil {
		return true
	}
	s.mu.Lock()
	if s.writeErr == nil {
		s.writeErr = fmt.Errorf("deepgram: send: %w", err)
	}
	s.mu.Unlock()
	grace := time.NewTimer(writeGrace)
	defer grace.Stop()
	select {
	case <-s.ctx.Done():
	case <-grace.C:
	}
	_ = s.conn.CloseNow()
	return false
}

// read turns the server's messages into transcripts until the socket
// ends, then cancels ctx, which stops the writer.
func (s *stream) read() {
	defer s.cancel()
	// atEnd: the last transcript delivered (if any) ended the speech, so
	// another end (an UtteranceEnd after a speech_final, an empty
	// speech_final) says nothing new.
	atEnd := true
	for {
		typ, data, err := s.conn.Read(s.ctx)
		if err != nil {
			s.ended(err)
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		ev, err := parseMessage(data)
		if err != nil {
			s.log.Warn("deepgram: unreadable message", "err", err)
			continue
		}
		var tr voice.Transcript
		switch ev.kind {
		case evResults:
			tr = ev.transcript
			if tr.Text == "" && (!tr.EndOfSpeech || atEnd) {
				continue // silence
			}
		case evUtteranceEnd:
			if atEnd {
				continue
			}
			tr = voice.Transcript{Final: true, EndOfSpeech: true, Start: ev.at, End: ev.at}
		case evError:
			s.fail(ev.err)
			return
		case evMetadata:
			s.metadataSeen.Store(true)
			s.log.Debug("deepgram: metadata", "request_id", ev.requestID)
			continue
		default:
			s.log.Debug("deepgram: message", "type", ev.typ, "at", ev.at)
			continue
		}
		atEnd = tr.EndOfSpeech
		select {
		case s.results <- tr:
		case <-s.ctx.Done():
			return
		}
	}
}

// ended records why the socket ended, as the reader saw it: nothing after
// the clean end of a closed stream, else the first of: the stream's own
// failure, ctx's end, Deepgram's close frame, the writer's failure, the
// broken connection.
func (s *stream) ended(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if s.parent.Err() != nil {
		s.failLocked(fmt.Errorf("deepgram: stream: %w", context.Cause(s.parent)))
		return
	}
	var ce websocket.CloseError
	isClose := errors.As(err, &ce)
	if s.closeStreamSent.Load() && (s.metadataSeen.Load() || isClose && ce.Code == websocket.StatusNormalClosure) {
		return // the end Close asked for
	}
	switch {
	case isClose && ce.Code == websocket.StatusNormalClosure:
		s.failLocked(&Error{CloseCode: int(ce.Code), Message: "Deepgram ended the stream before it was closed"})
	case isClose:
		reason := clean(ce.Reason)
		code, _, _ := strings.Cut(reason, " ")
		s.failLocked(&Error{CloseCode: int(ce.Code), Code: code, Message: reason})
	case s.writeErr != nil:
		s.failLocked(s.writeErr)
	default:
		s.failLocked(fmt.Errorf("deepgram: stream lost: %w", err))
	}
}
