package openai

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"

	sdk "github.com/openai/openai-go/v3"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/voice"
)

// Speaker speaks with POST {BaseURL}/audio/speech. It keeps no state
// between requests and is safe for concurrent use.
type Speaker struct {
	cfg Config
	svc sdk.AudioSpeechService
}

var _ voice.Synthesizer = (*Speaker)(nil)

// NewSpeaker returns a Speaker for c (empty fields take their defaults).
// It fails when c.BaseURL is not an absolute http(s) URL.
func NewSpeaker(c Config) (*Speaker, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Speaker{
		cfg: c,
		svc: sdk.NewAudioSpeechService(c.requestOptions(0, false)...),
	}, nil
}

// Rate is the sample rate of the audio Stream emits (Config.SpeechRate).
func (s *Speaker) Rate() int { return s.cfg.SpeechRate }

// readSize is how much Stream reads at a time: 8 KiB is 170 ms of 24 kHz
// audio. A read returns what has arrived, so this bounds a chunk's size,
// not how long it waits.
const readSize = 8 << 10

// Stream speaks req.Text with the configured model and the voice of
// req.Voice ("openai-alloy" is sent as "alloy"; "" is DefaultVoice), at
// req.Speed (0 is the server's default, 1; others are held to the API's
// 0.25–4.0), asking for response_format "pcm": 16-bit little-endian mono
// at Rate(). req.Language and req.Rate are not sent: OpenAI's voices
// speak the language of the text, and the engine resamples.
//
// It calls emit with each piece of the answer as it arrives, never
// waiting for the whole: a sample split across two reads is joined, and a
// last odd byte is dropped. Each Frame's Samples are new, emit may keep
// them. The text is sent trimmed of spaces; text that is empty or only
// spaces is not sent.
//
// It returns nil after the last piece; emit's error (wrapped) as soon as
// emit fails; ctx's error (wrapped) promptly when ctx ends, the request
// being abandoned; an error wrapping ErrUnknownVoice for a voice id that
// is not "openai-…"; an *APIError (errors.As) for an answer of status 400
// or more, with the server's message, and for a successful status whose
// body is JSON or text rather than audio.
func (s *Speaker) Stream(ctx context.Context, req voice.SpeechRequest, emit func(audio.Frame) error) error {
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return nil
	}
	name := DefaultVoice
	if req.Voice != "" {
		var ok bool
		if name, ok = VoiceName(req.Voice); !ok {
			return fmt.Errorf("openai: speak: voice %q: %w", req.Voice, ErrUnknownVoice)
		}
	}
	params := sdk.AudioSpeechNewParams{
		Input:          text,
		Model:          s.cfg.SpeechModel,
		Voice:          sdk.AudioSpeechNewParamsVoiceUnion{OfString: sdk.String(name)},
		ResponseFormat: sdk.AudioSpeechNewParamsResponseFormatPCM,
	}
	if speed, ok := speechSpeed(req.Speed); ok {
		params.Speed = sdk.Float(speed)
	}

	res, err := s.svc.New(ctx, params)
	if err != nil {
		return wrapError(ctx, "speak", err)
	}
	defer res.Body.Close()
	if err := checkAudio(res); err != nil {
		return fmt.Errorf("openai: speak: %w", err)
	}
	return readPCM(ctx, res.Body, s.cfg.SpeechRate, emit)
}

// speechSpeed is the speed to send for a request's Speed: none for 0 (or
// NaN), else held to the API's 0.25–4.0.
func speechSpeed(speed float64) (float64, bool) {
	if speed == 0 || math.IsNaN(speed) {
		return 0, false
	}
	return min(max(speed, 0.25), 4), true
}

// checkAudio refuses a successful answer that is not audio: a server that
// ignored response_format, or reported an error with status 200.
func checkAudio(res *http.Response) error {
	mediaType, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mediaType != "application/json" && !strings.HasPrefix(mediaType, "text/") {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBytes))
	e := parseErrorBody(body)
	if e.Message == "" {
		e.Message = fmt.Sprintf("answer of type %s instead of audio", mediaType)
	}
	return &APIError{StatusCode: res.StatusCode, Message: e.Message, Type: e.Type, Code: e.Code}
}

// readPCM emits the 16-bit little-endian PCM of r as it arrives.
func readPCM(ctx context.Context, r io.Reader, rate int, emit func(audio.Frame) error) error {
	buf := make([]byte, readSize)
	carry := 0 // 1 when buf[0] is the first byte of a sample split across reads
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("openai: speak: %w", err)
		}
		n, rerr := r.Read(buf[carry:])
		total += int64(n)
		if total > maxSpeechBytes {
			return fmt.Errorf("openai: speak: answer of more than %d MiB", maxSpeechBytes>>20)
		}
		n += carry
		if whole := n / 2; whole > 0 {
			samples := make([]int16, whole)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(buf[2*i:]))
			}
			if err := emit(audio.Frame{Samples: samples, Rate: rate}); err != nil {
				return fmt.Errorf("openai: speak: %w", err)
			}
		}
		carry = n % 2
		if carry == 1 {
			buf[0] = buf[n-1]
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF):
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("openai: speak: %w", ctx.Err())
		default:
			return fmt.Errorf("openai: speak: read answer: %w", rerr)
		}
	}
}
