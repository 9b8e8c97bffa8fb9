package deepgram

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/agentphone/agentphone/voice"
)

// The server messages of /v1/listen (listen.v1 AsyncAPI: ListenV1Results,
// ListenV1Metadata, ListenV1UtteranceEnd, ListenV1SpeechStarted) and the
// Error message Deepgram's SDKs also handle.
const (
	typeResults       = "Results"
	typeMetadata      = "Metadata"
	typeUtteranceEnd  = "UtteranceEnd"
	typeSpeechStarted = "SpeechStarted"
	typeError         = "Error"
)

// The client's control messages, sent as text frames.
var (
	msgKeepAlive   = []byte(`{"type":"KeepAlive"}`)
	msgCloseStream = []byte(`{"type":"CloseStream"}`)
	msgFinalize    = []byte(`{"type":"Finalize"}`)
)

// eventKind is what a server message means to a stream.
type eventKind int

const (
	evOther eventKind = iota // a type this package does not use
	evResults
	evUtteranceEnd
	evSpeechStarted
	evMetadata
	evError
)

// event is one parsed server message.
type event struct {
	kind eventKind
	typ  string // the message's type, cleaned (for logs)
	// transcript of a Results message.
	transcript voice.Transcript
	// at is an UtteranceEnd's last_word_end or a SpeechStarted's
	// timestamp.
	at        time.Duration
	requestID string
	// err of an Error message.
	err *Error
}

// wireMessage is the union of the fields of the server messages. The
// "channel" field is an object in Results and an array of channel indexes
// in UtteranceEnd and SpeechStarted, so it is decoded in a second step.
type wireMessage struct {
	Type         string          `json:"type"`
	Channel      json.RawMessage `json:"channel"`
	Start        float64         `json:"start"`
	Duration     float64         `json:"duration"`
	IsFinal      bool            `json:"is_final"`
	SpeechFinal  bool            `json:"speech_final"`
	FromFinalize bool            `json:"from_finalize"`
	LastWordEnd  float64         `json:"last_word_end"`
	Timestamp    float64         `json:"timestamp"`
	RequestID    string          `json:"request_id"`
	Metadata     struct {
		RequestID string `json:"request_id"`
	} `json:"metadata"`
	errorBody
}

type wireChannel struct {
	Alternatives []struct {
		Transcript string  `json:"transcript"`
		Confidence float64 `json:"confidence"`
	} `json:"alternatives"`
}

// parseMessage parses one text message of the server. Its input is
// untrusted: any bytes give an event or an error, never a panic, and the
// transcript's numbers are sane (Confidence in 0–1, 0 ≤ Start ≤ End).
func parseMessage(data []byte) (event, error) {
	var m wireMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return event{}, fmt.Errorf("deepgram: message: %w", err)
	}
	ev := event{typ: clean(m.Type), requestID: clean(firstNonEmpty(m.RequestID, m.Metadata.RequestID))}
	switch m.Type {
	case typeResults:
		ev.kind = evResults
		var ch wireChannel
		if len(m.Channel) > 0 {
			if err := json.Unmarshal(m.Channel, &ch); err != nil {
				return event{}, fmt.Errorf("deepgram: Results channel: %w", err)
			}
		}
		start := seconds(m.Start)
		end := start + seconds(m.Duration)
		if end < start { // overflow of two huge values
			end = start
		}
		tr := voice.Transcript{
			Final:       m.IsFinal,
			EndOfSpeech: m.SpeechFinal,
			Start:       start,
			End:         end,
		}
		if len(ch.Alternatives) > 0 {
			tr.Text = strings.TrimSpace(strings.ToValidUTF8(ch.Alternatives[0].Transcript, "\uFFFD"))
			tr.Confidence = unit(ch.Alternatives[0].Confidence)
		}
		ev.transcript = tr
	case typeUtteranceEnd:
		ev.kind = evUtteranceEnd
		ev.at = seconds(m.LastWordEnd)
	case typeSpeechStarted:
		ev.kind = evSpeechStarted
		ev.at = seconds(m.Timestamp)
	case typeMetadata:
		ev.kind = evMetadata
	case typeError:
		ev.kind = evError
		ev.err = &Error{}
		m.errorBody.fill(ev.err)
		if ev.err.Message == "" {
			ev.err.Message = "error message without a description"
		}
		ev.err.RequestID = ev.requestID
	default:
		ev.kind = evOther
	}
	return ev, nil
}

// maxSeconds bounds the offsets taken from the network: a day of audio.
const maxSeconds = 24 * 60 * 60

// seconds turns Deepgram's offsets in seconds into a Duration, 0 for
// negative or NaN values and at most maxSeconds.
func seconds(s float64) time.Duration {
	if !(s > 0) { // also NaN
		return 0
	}
	s = min(s, maxSeconds)
	return time.Duration(math.Round(s * float64(time.Second)))
}

// unit holds a confidence to 0–1 (0 for NaN).
func unit(v float64) float64 {
	if !(v > 0) {
		return 0
	}
	return min(v, 1)
}
