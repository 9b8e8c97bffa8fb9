package elevenlabs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/voice"
)

// Speed limits of voice_settings.speed at ElevenLabs
// (https://elevenlabs.io/docs/eleven-agents/customization/voice/speed-control):
// an agent's voiceSpeed (0.5–2.0) is held to them.
const (
	MinSpeed = 0.7
	MaxSpeed = 1.2
)

// readSize is the buffer one read of the audio stream fills at most; a
// read returns what has arrived, so it adds no latency. 8 KiB is 256 ms
// at 16 kHz.
const readSize = 8 << 10

// noLanguageCode lists the models documented not to take language_code
// (it is "not supported for multilingual_v2 models", and the v1 and v2
// models before v2.5 answered it with an error). Newer models take it, or
// ignore a language they do not support.
var noLanguageCode = map[string]bool{
	"eleven_monolingual_v1":      true,
	"eleven_multilingual_v1":     true,
	"eleven_multilingual_v2":     true,
	"eleven_turbo_v2":            true,
	"eleven_flash_v2":            true,
	"eleven_english_sts_v2":      true,
	"eleven_multilingual_sts_v2": true,
}

// Speaker speaks with ElevenLabs' streaming text-to-speech; it implements
// voice.Synthesizer. Its Catalog lists and resolves the voices. It is safe
// for concurrent use.
type Speaker struct {
	c       *client
	model   string
	latency int
	catalog *Catalog
}

var _ voice.Synthesizer = (*Speaker)(nil)

// New validates cfg and returns a Speaker with its Catalog. It sends
// nothing: the voice list is fetched when first needed.
func New(cfg Config) (*Speaker, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.OptimizeStreamingLatency < 0 || cfg.OptimizeStreamingLatency > 4 {
		return nil, fmt.Errorf("elevenlabs: OptimizeStreamingLatency %d is not 0–4", cfg.OptimizeStreamingLatency)
	}
	for _, d := range []time.Duration{cfg.VoicesRefresh, cfg.VoicesTimeout, cfg.VoicesRetry} {
		if d < 0 {
			return nil, errors.New("elevenlabs: VoicesRefresh, VoicesTimeout and VoicesRetry must not be negative")
		}
	}
	model := strings.TrimSpace(cfg.Model)
	if model == "" {
		model = DefaultModel
	}
	return &Speaker{c: c, model: model, latency: cfg.OptimizeStreamingLatency, catalog: newCatalog(c, cfg)}, nil
}

// Catalog returns the speaker's voice catalogue.
func (s *Speaker) Catalog() *Catalog { return s.catalog }

// Model returns the model_id the speaker sends.
func (s *Speaker) Model() string { return s.model }

// speechBody is the JSON body of a text-to-speech request.
type speechBody struct {
	Text          string         `json:"text"`
	ModelID       string         `json:"model_id"`
	LanguageCode  string         `json:"language_code,omitempty"`
	VoiceSettings *voiceSettings `json:"voice_settings,omitempty"`
}

type voiceSettings struct {
	Speed float64 `json:"speed"`
}

// Stream implements voice.Synthesizer: it speaks req.Text with the voice
// req.Voice ("11labs-Brian", "11labs-<voice_id>"; "" is the catalogue's
// first voice) and calls emit with each piece of PCM as it arrives, at the
// rate OutputRate(req.Rate). Every emitted frame's Samples is newly
// allocated: emit may keep it. Text that is only white space says nothing
// and sends no request.
//
// It returns an error wrapping ErrUnknownVoice for a voice the catalogue
// cannot resolve, an *Error (wrapped) carrying ElevenLabs' detail message
// when ElevenLabs refuses, emit's own error unchanged when emit fails (the
// stream is then abandoned), and an error wrapping ctx's error promptly
// when ctx ends.
func (s *Speaker) Stream(ctx context.Context, req voice.SpeechRequest, emit func(audio.Frame) error) error {
	if strings.TrimSpace(req.Text) == "" {
		return nil
	}
	voiceID, err := s.catalog.Resolve(ctx, req.Voice)
	if err != nil {
		return err
	}
	rate := OutputRate(req.Rate)
	body := speechBody{Text: req.Text, ModelID: s.model}
	if !noLanguageCode[s.model] {
		body.LanguageCode = languageCode(req.Language)
	}
	if sp := Speed(req.Speed); sp != 1 {
		body.VoiceSettings = &voiceSettings{Speed: sp}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("elevenlabs: encode request: %w", err)
	}
	q := url.Values{"output_format": {"pcm_" + strconv.Itoa(rate)}}
	if s.latency > 0 {
		q.Set("optimize_streaming_latency", strconv.Itoa(s.latency))
	}
	resp, err := s.c.do(ctx, http.MethodPost, "/v1/text-to-speech/"+url.PathEscape(voiceID)+"/stream", q, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("elevenlabs: speak with voice %s: %w", voiceID, err)
	}
	defer resp.Body.Close()
	return streamPCM(ctx, resp.Body, rate, emit)
}

// streamPCM reads 16-bit little-endian PCM from r until its end and emits
// it read by read. A read may end in the middle of a sample: its odd byte
// is kept for the next. An odd byte left at the end is dropped.
func streamPCM(ctx context.Context, r io.Reader, rate int, emit func(audio.Frame) error) error {
	buf := make([]byte, readSize+1)
	carry := 0 // bytes of an unfinished sample at the head of buf (0 or 1)
	for {
		n, err := r.Read(buf[carry:])
		n += carry
		if whole := n &^ 1; whole > 0 {
			samples := make([]int16, whole/2)
			for i := range samples {
				samples[i] = int16(uint16(buf[2*i]) | uint16(buf[2*i+1])<<8)
			}
			if eerr := emit(audio.Frame{Samples: samples, Rate: rate}); eerr != nil {
				return eerr
			}
			buf[0] = buf[whole] // the odd byte, if any
		}
		carry = n & 1
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			if ctx.Err() != nil {
				return fmt.Errorf("elevenlabs: read speech: %w", ctx.Err())
			}
			return fmt.Errorf("elevenlabs: read speech: %w", err)
		}
	}
}

// OutputRate is the PCM rate ElevenLabs is asked for when the call wants
// rate: the rate itself when ElevenLabs offers it without a higher tier
// (8000, 16000, 22050, 24000), else 16000 for lower rates (and 0) and
// 24000 for higher ones; the engine resamples.
func OutputRate(rate int) int {
	switch {
	case rate == 8000 || rate == 16000 || rate == 22050 || rate == 24000:
		return rate
	case rate <= 16000:
		return 16000
	default:
		return 24000
	}
}

// Speed is the voice_settings.speed sent for an agent's voiceSpeed: 0 (and
// NaN) mean 1, and values outside MinSpeed–MaxSpeed are held to them.
func Speed(speed float64) float64 {
	if speed == 0 || math.IsNaN(speed) {
		return 1
	}
	return min(max(speed, MinSpeed), MaxSpeed)
}

// languageCode is the ISO 639-1 code of a BCP-47 tag ("en" for "en-US",
// "es" for "es-419"), or "" when its primary subtag is not a two-letter
// code ("fil", "", "x-klingon").
func languageCode(tag string) string {
	base, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
	base, _, _ = strings.Cut(base, "_")
	if len(base) != 2 {
		return ""
	}
	base = strings.ToLower(base)
	for i := range len(base) {
		if base[i] < 'a' || base[i] > 'z' {
			return ""
		}
	}
	return base
}
