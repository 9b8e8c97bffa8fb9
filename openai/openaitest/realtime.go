package openaitest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// RealtimeRate is the rate of the Realtime API's pcm16 input: 24 kHz.
const RealtimeRate = 24000

// realtimeMinCommit is the least audio a commit takes: 100 ms.
const realtimeMinCommit = 2 * RealtimeRate / 10

// RealtimeUtterance is one scripted answer of a Realtime transcription
// session.
type RealtimeUtterance struct {
	// Text is transcribed: one delta per word, then the completed event.
	Text string
	// At: the answer is sent once this much audio (at 24 kHz) was received
	// in the session, as if the server's VAD had found the end of speech
	// there (speech_stopped and committed come first).
	At time.Duration
	// OnCommit: the answer is sent only when the client commits the
	// buffer (At is then ignored). A commit without one is answered with
	// an empty transcript, as OpenAI transcribes every committed item.
	OnCommit bool
	// Error, when set, makes this answer an "error" event with this
	// message (code "fake_error") instead of a transcript.
	Error string
}

// RealtimeSession is one Realtime WebSocket the fake accepted.
type RealtimeSession struct {
	Authorization string // the header as sent
	Beta          string // the OpenAI-Beta header

	// Updates is how many transcription_session.update events came; the
	// fields below are those of the last.
	Updates        int
	Format         string // input_audio_format
	Model          string // input_audio_transcription.model
	Language       string // input_audio_transcription.language
	NoiseReduction string // input_audio_noise_reduction.type
	VAD            RealtimeVAD
	// Session is the last update's session object as sent.
	Session json.RawMessage

	Appends    int // input_audio_buffer.append events
	AudioBytes int // bytes of PCM they carried
	Commits    int // input_audio_buffer.commit events
	Sent       int // utterances answered
	Closed     bool
}

// RealtimeVAD is the session's turn_detection.
type RealtimeVAD struct {
	Type              string  `json:"type"`
	Threshold         float64 `json:"threshold"`
	PrefixPaddingMs   int     `json:"prefix_padding_ms"`
	SilenceDurationMs int     `json:"silence_duration_ms"`
}

// Audio is the duration of the audio received, at 24 kHz.
func (r RealtimeSession) Audio() time.Duration {
	return time.Duration(r.AudioBytes/2) * time.Second / RealtimeRate
}

// ScriptRealtime sets the answers of the Realtime sessions that begin
// from now on (each session takes the whole script).
func (s *Server) ScriptRealtime(utterances ...RealtimeUtterance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rtScript = append([]RealtimeUtterance(nil), utterances...)
}

// RealtimeSessions returns the Realtime sessions so far, oldest first, as
// they stand.
func (s *Server) RealtimeSessions() []RealtimeSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RealtimeSession, len(s.rtSessions))
	for i, r := range s.rtSessions {
		out[i] = *r
	}
	return out
}

// WaitRealtime waits until cond holds of the Realtime sessions (it is
// asked again at every change) and returns them, or ctx's error.
func (s *Server) WaitRealtime(ctx context.Context, cond func([]RealtimeSession) bool) ([]RealtimeSession, error) {
	for {
		s.mu.Lock()
		if s.rtChanged == nil {
			s.rtChanged = make(chan struct{})
		}
		changed := s.rtChanged
		s.mu.Unlock()
		sessions := s.RealtimeSessions()
		if cond(sessions) {
			return sessions, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return sessions, ctx.Err()
		}
	}
}

// rtUpdate changes a session's record under the lock and wakes the
// waiters.
func (s *Server) rtUpdate(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
	if s.rtChanged != nil {
		close(s.rtChanged)
	}
	s.rtChanged = make(chan struct{})
}

func (s *Server) handleRealtime(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r) {
		return
	}
	if r.URL.Query().Get("intent") != "transcription" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "intent", "",
			"The fake serves transcription sessions only: intent=transcription.")
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 22)

	sess := &RealtimeSession{Authorization: r.Header.Get("Authorization"), Beta: r.Header.Get("OpenAI-Beta")}
	var script []RealtimeUtterance
	s.rtUpdate(func() {
		s.rtSessions = append(s.rtSessions, sess)
		script = append(script, s.rtScript...)
	})
	defer s.rtUpdate(func() { sess.Closed = true })

	rt := &rtConn{ctx: r.Context(), conn: conn}
	rt.event("transcription_session.created", map[string]any{"session": map[string]any{"object": "realtime.transcription_session"}})
	buffered := 0 // bytes since the last commit
	for {
		typ, data, err := conn.Read(r.Context())
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			rt.fail("invalid_request_error", "", "The fake takes text messages only.")
			continue
		}
		var ev struct {
			Type    string          `json:"type"`
			Audio   *string         `json:"audio"`
			Session json.RawMessage `json:"session"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			rt.fail("invalid_request_error", "invalid_json", "The event is not valid JSON: "+err.Error())
			continue
		}
		switch ev.Type {
		case "transcription_session.update":
			var cfg struct {
				Format        string `json:"input_audio_format"`
				Transcription struct {
					Model    string `json:"model"`
					Language string `json:"language"`
				} `json:"input_audio_transcription"`
				Noise struct {
					Type string `json:"type"`
				} `json:"input_audio_noise_reduction"`
				VAD RealtimeVAD `json:"turn_detection"`
			}
			if err := json.Unmarshal(ev.Session, &cfg); err != nil {
				rt.fail("invalid_request_error", "invalid_value", "Invalid session: "+err.Error())
				continue
			}
			if cfg.Format != "pcm16" {
				rt.fail("invalid_request_error", "invalid_value", fmt.Sprintf("The fake takes input_audio_format 'pcm16' only, not '%s'.", cfg.Format))
				continue
			}
			s.rtUpdate(func() {
				sess.Updates++
				sess.Format, sess.Model, sess.Language = cfg.Format, cfg.Transcription.Model, cfg.Transcription.Language
				sess.NoiseReduction, sess.VAD = cfg.Noise.Type, cfg.VAD
				sess.Session = append(json.RawMessage(nil), ev.Session...)
			})
			rt.event("transcription_session.updated", map[string]any{"session": ev.Session})
		case "input_audio_buffer.append":
			var pcm []byte
			if ev.Audio != nil {
				pcm, err = base64.StdEncoding.DecodeString(*ev.Audio)
			}
			if ev.Audio == nil || err != nil || len(pcm)%2 != 0 {
				rt.fail("invalid_request_error", "invalid_value", "Invalid 'audio': base64 of 16-bit PCM expected.")
				continue
			}
			buffered += len(pcm)
			var total int
			s.rtUpdate(func() {
				sess.Appends++
				sess.AudioBytes += len(pcm)
				total = sess.AudioBytes
			})
			at := time.Duration(total/2) * time.Second / RealtimeRate
			for len(script) > 0 && !script[0].OnCommit && script[0].At <= at {
				u := script[0]
				script = script[1:]
				if u.Error == "" {
					rt.event("input_audio_buffer.speech_stopped", map[string]any{"audio_end_ms": at.Milliseconds(), "item_id": rt.nextItem()})
					rt.event("input_audio_buffer.committed", map[string]any{"item_id": rt.item, "previous_item_id": nil})
					buffered = 0
				}
				rt.answer(u)
				s.rtUpdate(func() { sess.Sent++ })
			}
		case "input_audio_buffer.commit":
			s.rtUpdate(func() { sess.Commits++ })
			if buffered < realtimeMinCommit {
				rt.fail("invalid_request_error", "input_audio_buffer_commit_empty", fmt.Sprintf(
					"Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has %.2fms of audio.",
					float64(buffered/2)*1000/RealtimeRate))
				continue
			}
			buffered = 0
			rt.event("input_audio_buffer.committed", map[string]any{"item_id": rt.nextItem(), "previous_item_id": nil})
			// Every committed item is transcribed: with the first OnCommit
			// utterance of the script, else as nothing.
			u := RealtimeUtterance{}
			for i, v := range script {
				if v.OnCommit {
					script = append(script[:i:i], script[i+1:]...)
					u = v
					s.rtUpdate(func() { sess.Sent++ })
					break
				}
			}
			rt.answer(u)
		default:
			rt.fail("invalid_request_error", "invalid_value", fmt.Sprintf("Invalid value: '%s'. The fake does not take this event.", ev.Type))
		}
	}
}

// rtConn writes a session's events.
type rtConn struct {
	ctx   context.Context
	conn  *websocket.Conn
	seq   int
	items int
	item  string // the last item's id
}

func (c *rtConn) nextItem() string {
	c.items++
	c.item = fmt.Sprintf("item_%03d", c.items)
	return c.item
}

// event writes one event of type typ with fields (and an event_id).
func (c *rtConn) event(typ string, fields map[string]any) {
	c.seq++
	m := map[string]any{"type": typ, "event_id": fmt.Sprintf("event_%d", c.seq)}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	_ = c.conn.Write(c.ctx, websocket.MessageText, b)
}

func (c *rtConn) fail(typ, code, message string) {
	e := map[string]any{"type": typ, "message": message, "code": nil, "param": nil, "event_id": nil}
	if code != "" {
		e["code"] = code
	}
	c.event("error", map[string]any{"error": e})
}

// answer sends u for the last item: deltas word by word, then completed;
// or u's error.
func (c *rtConn) answer(u RealtimeUtterance) {
	if u.Error != "" {
		c.fail("server_error", "fake_error", u.Error)
		return
	}
	for i, w := range strings.Fields(u.Text) {
		if i > 0 {
			w = " " + w
		}
		c.event("conversation.item.input_audio_transcription.delta", map[string]any{"item_id": c.item, "content_index": 0, "delta": w})
	}
	c.event("conversation.item.input_audio_transcription.completed", map[string]any{
		"item_id": c.item, "content_index": 0, "transcript": u.Text,
		"usage": map[string]any{"type": "duration", "seconds": 1},
	})
}
