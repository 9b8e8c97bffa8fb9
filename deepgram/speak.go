package deepgram

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/voice"
)

// Aura's speed control (query parameter speed, Aura-2 voices only): a
// multiplier of the voice's natural rate from 0.7 to 1.5.
const (
	minSpeed = 0.7
	maxSpeed = 1.5
)

// speakRates are the sample rates /v1/speak offers for linear16.
var speakRates = []int{8000, 16000, 24000, 32000, 48000}

// DefaultSpeakRate is the rate asked for when the request names none:
// Deepgram's default for linear16.
const DefaultSpeakRate = 24000

const (
	// readChunk is the most one read of the answer takes, and so the
	// largest chunk handed to emit: 4096 samples, 256 ms at 16 kHz.
	readChunk = 8 << 10
	// maxSpeech bounds the audio of one request: about 11 minutes at
	// 48 kHz, far beyond the 2,000 characters Aura takes per request.
	maxSpeech = 64 << 20
)

// Speaker speaks with Deepgram's Aura voices over POST /v1/speak, handing
// the audio on while Deepgram still produces it. Only APIKey is required.
// A Speaker is safe for concurrent use.
type Speaker struct {
	APIKey string
	// BaseURL is the API's scheme and host (and optional path prefix);
	// ws(s) is mapped to http(s). "" means DefaultBaseURL.
	BaseURL string
	// DefaultVoice is the voice id spoken when a request names none; ""
	// means the catalogue's first voice of the request's language, else
	// its first voice ("deepgram-aura-2-thalia-en").
	DefaultVoice string
	// HTTPClient makes the requests; nil means http.DefaultClient. A
	// client Timeout also bounds reading the audio, so it must exceed the
	// longest utterance's synthesis.
	HTTPClient *http.Client
}

var _ voice.Synthesizer = (*Speaker)(nil)

// Stream implements voice.Synthesizer. It asks for raw linear16 at
// req.Rate when Aura offers it (8, 16, 24, 32 or 48 kHz), else at the next
// higher of those (48 kHz above 48 kHz, 24 kHz when req.Rate is 0), and
// calls emit with each piece of the answer as it arrives. req.Speed other
// than 0 or 1 is sent as Aura-2's speed, held to 0.7–1.5; Aura-1 voices
// have no speed control and ignore it. Text that is empty or only spaces
// says nothing and makes no request.
//
// A refusal is returned as *Error carrying Deepgram's message; a voice id
// that is not Deepgram's as an error wrapping ErrUnknownVoice.
func (s *Speaker) Stream(ctx context.Context, req voice.SpeechRequest, emit func(audio.Frame) error) error {
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return nil
	}
	if s.APIKey == "" {
		return errors.New("deepgram: speak: no API key")
	}
	model, err := s.model(req.Voice, req.Language)
	if err != nil {
		return err
	}
	rate := speakRate(req.Rate)
	u, err := endpoint(orDefault(s.BaseURL, DefaultBaseURL), "/v1/speak", false)
	if err != nil {
		return err
	}
	q := url.Values{}
	q.Set("model", model)
	q.Set("encoding", "linear16")
	q.Set("sample_rate", strconv.Itoa(rate))
	q.Set("container", "none")
	if sp, ok := speed(req.Speed, model); ok {
		q.Set("speed", strconv.FormatFloat(sp, 'f', -1, 64))
	}
	u.RawQuery = q.Encode()
	body, err := json.Marshal(struct {
		Text string `json:"text"`
	}{text})
	if err != nil {
		return fmt.Errorf("deepgram: speak: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("deepgram: speak: %w", err)
	}
	hreq.Header.Set("Authorization", "Token "+s.APIKey)
	hreq.Header.Set("Content-Type", "application/json")

	client := s.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return fmt.Errorf("deepgram: speak: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("deepgram: speak with %s: %w", model, responseError(resp))
	}
	return streamPCM(ctx, resp.Body, rate, emit)
}

// streamPCM reads little-endian 16-bit PCM from r and emits it at rate a
// read at a time, as it arrives. A trailing odd byte is dropped.
func streamPCM(ctx context.Context, r io.Reader, rate int, emit func(audio.Frame) error) error {
	buf := make([]byte, readChunk)
	have, total := 0, 0
	for {
		n, rerr := r.Read(buf[have:])
		have += n
		total += n
		if total > maxSpeech {
			return fmt.Errorf("deepgram: speak: more than %d MiB of audio", maxSpeech>>20)
		}
		if even := have &^ 1; even > 0 {
			samples := make([]int16, even/2)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(buf[2*i:]))
			}
			if err := emit(audio.Frame{Samples: samples, Rate: rate}); err != nil {
				return err
			}
			have = copy(buf, buf[even:have])
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil && ctx.Err() != nil:
			return fmt.Errorf("deepgram: speak: %w", context.Cause(ctx))
		case rerr != nil:
			return fmt.Errorf("deepgram: speak: reading the audio: %w", rerr)
		}
	}
}

// model is the Aura model for a voice id, "" meaning DefaultVoice, else
// the first voice of language.
func (s *Speaker) model(id, language string) (string, error) {
	if id == "" {
		id = s.DefaultVoice
	}
	if id == "" {
		id = voiceFor(language).ID
	}
	model, ok := ModelForVoice(id)
	if !ok {
		return "", fmt.Errorf("deepgram: voice %q: %w", id, ErrUnknownVoice)
	}
	return model, nil
}

// speakRate is the rate to ask /v1/speak for when the call wants rate.
func speakRate(rate int) int {
	if rate <= 0 {
		return DefaultSpeakRate
	}
	for _, r := range speakRates {
		if r >= rate {
			return r
		}
	}
	return speakRates[len(speakRates)-1]
}

// speed is Aura's speed parameter for an agent's voiceSpeed, and whether to
// send one: not for 0 or 1 (the voice's own rate), nor for models without
// the control (Aura-1).
func speed(v float64, model string) (float64, bool) {
	if v == 0 || v == 1 || math.IsNaN(v) || !strings.HasPrefix(model, "aura-2-") {
		return 0, false
	}
	return min(max(v, minSpeed), maxSpeed), true
}
