package openai

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	sdk "github.com/openai/openai-go/v3"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/voice"
)

// Transcriber recognises finished utterances with POST
// {BaseURL}/audio/transcriptions. It keeps no state between requests and
// is safe for concurrent use.
type Transcriber struct {
	cfg Config
	svc sdk.AudioTranscriptionService
}

var _ voice.FileTranscriber = (*Transcriber)(nil)

// NewTranscriber returns a Transcriber for c (empty fields take their
// defaults). It fails when c.BaseURL is not an absolute http(s) URL or
// c.TranscriptionFormat is neither json nor verbose_json.
func NewTranscriber(c Config) (*Transcriber, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Transcriber{
		cfg: c,
		svc: sdk.NewAudioTranscriptionService(c.requestOptions(maxTranscriptBytes, true)...),
	}, nil
}

// Model returns the model that serves sttMode mode: the accurate model
// for "accurate", the fast one otherwise ("fast", "").
func (t *Transcriber) Model(mode string) string {
	if mode == "accurate" {
		return t.cfg.AccurateTranscriptionModel
	}
	return t.cfg.FastTranscriptionModel
}

// TranscribeFile sends speech, mono 16-bit PCM at speech.Rate (o.Rate
// when speech.Rate is 0), as a WAV file named utterance.wav, with the
// model of o.Mode, the language of o.Language as ISO-639-1 (the primary
// subtag of the BCP-47 tag: "en" for "en-US"; none, so the model detects
// it, when the tag has no two-letter one) and the configured
// response_format. With "json" and OpenAI's gpt-4o-transcribe and
// gpt-4o-mini-transcribe models it asks for the tokens' log probabilities
// (include[]=logprobs).
//
// The Transcript is Final, with the text trimmed of spaces, and a
// Confidence of 0–1:
//
//   - from token log probabilities when the answer has them: exp of their
//     mean, the geometric mean of the tokens' probabilities;
//   - else from verbose_json's segments: exp of the mean avg_logprob,
//     weighted by the segments' durations, times the share of the audio
//     in segments that are not silence (whisper's rule, which the API
//     documents: a segment whose no_speech_prob is over 0.6 and
//     avg_logprob under -1 is silence);
//   - else 0, which voice.Transcript defines as "none given": a plain
//     json answer without log probabilities (self-hosted servers, whisper-1).
//
// Start and End come from verbose_json's words or segments, held to the
// audio sent; they are 0 otherwise. EndOfSpeech stays false: the server
// does no endpointing of its own, the engine cut the utterance.
//
// Empty speech is not sent: it returns an empty Final transcript. Errors:
// an *APIError (errors.As) for an answer of status 400 or more, with the
// server's message; ctx's error when ctx ends first; others for a server
// that cannot be reached or whose answer is not a transcription.
func (t *Transcriber) TranscribeFile(ctx context.Context, speech audio.Frame, o voice.TranscribeOptions) (voice.Transcript, error) {
	rate := speech.Rate
	if rate == 0 {
		rate = o.Rate
	}
	if rate <= 0 {
		return voice.Transcript{}, fmt.Errorf("openai: transcribe: audio rate %d", rate)
	}
	if len(speech.Samples) == 0 {
		return voice.Transcript{Final: true}, nil
	}
	wav, err := encodeWAV(speech.Samples, rate)
	if err != nil {
		return voice.Transcript{}, fmt.Errorf("openai: transcribe: %w", err)
	}

	model := t.Model(o.Mode)
	params := sdk.AudioTranscriptionNewParams{
		File:           sdk.File(bytes.NewReader(wav), "utterance.wav", "audio/wav"),
		Model:          model,
		ResponseFormat: sdk.AudioResponseFormat(t.cfg.TranscriptionFormat),
	}
	if lang := TranscriptionLanguage(o.Language); lang != "" {
		params.Language = sdk.String(lang)
	}
	if wantsLogprobs(model, t.cfg.TranscriptionFormat) {
		params.Include = []sdk.TranscriptionInclude{sdk.TranscriptionIncludeLogprobs}
	}

	res, err := t.svc.New(ctx, params)
	if err != nil {
		return voice.Transcript{}, wrapError(ctx, "transcribe", err)
	}
	if res == nil {
		// The SDK decodes a JSON null (and leaves what follows it) to no
		// answer at all.
		return voice.Transcript{}, errors.New("openai: transcribe: answer is not a transcription")
	}
	if res.JSON.Text.Raw() == "" {
		// No "text" at all: whisper.cpp's server answers some failures
		// with status 200 and {"error": "…"}.
		if e := parseErrorBody([]byte(res.RawJSON())); e.Message != "" {
			return voice.Transcript{}, fmt.Errorf("openai: transcribe: %w", &APIError{StatusCode: http.StatusOK, Message: e.Message, Type: e.Type, Code: e.Code})
		}
		return voice.Transcript{}, errors.New("openai: transcribe: answer has no text")
	}

	duration := time.Duration(len(speech.Samples)) * time.Second / time.Duration(rate)
	tr := voice.Transcript{
		Text:       strings.TrimSpace(res.Text),
		Final:      true,
		Confidence: confidence(res),
	}
	tr.Start, tr.End = span(res, duration)
	return tr, nil
}

// TranscriptionLanguage is the ISO-639-1 code the transcription endpoint
// takes for a BCP-47 tag: its primary language subtag, lowercased ("en"
// for "en-US", "pt" for "pt_BR"), with the deprecated codes iw, in, ji
// and jw replaced by he, id, yi and jv, and Norwegian Bokmål ("nb") as
// "no", the code Whisper knows. It is "" when the tag has no two-letter
// primary subtag ("", "fil", "yue"): the model then detects the language.
func TranscriptionLanguage(tag string) string {
	base, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
	base, _, _ = strings.Cut(base, "_")
	base = strings.ToLower(base)
	if len(base) != 2 || base[0] < 'a' || base[0] > 'z' || base[1] < 'a' || base[1] > 'z' {
		return ""
	}
	switch base {
	case "iw":
		return "he"
	case "in":
		return "id"
	case "ji":
		return "yi"
	case "jw":
		return "jv"
	case "nb":
		return "no"
	}
	return base
}

// wantsLogprobs says whether to ask model for its tokens' log
// probabilities: the API gives them only with response_format json and
// only for gpt-4o-transcribe and gpt-4o-mini-transcribe (and their dated
// snapshots), and may refuse the request of another model that asks.
func wantsLogprobs(model, format string) bool {
	if format != "json" || strings.Contains(model, "diarize") {
		return false
	}
	return strings.HasPrefix(model, "gpt-4o-transcribe") || strings.HasPrefix(model, "gpt-4o-mini-transcribe")
}

// Whisper's thresholds for a silent segment (openai/whisper transcribe.py:
// no_speech_threshold 0.6, logprob_threshold -1.0), which the API's
// reference repeats for verbose_json's segments.
const (
	noSpeechThreshold = 0.6
	logprobThreshold  = -1.0
)

// confidence is the 0–1 confidence of an answer; see TranscribeFile.
func confidence(res *sdk.AudioTranscriptionNewResponseUnion) float64 {
	var sum float64
	var n int
	for _, lp := range res.Logprobs {
		if !lp.JSON.Logprob.Valid() {
			continue
		}
		sum += clampLogprob(lp.Logprob)
		n++
	}
	if n > 0 {
		return probability(sum / float64(n))
	}
	return segmentConfidence(res.Segments)
}

// segmentConfidence is the confidence of verbose_json's segments.
func segmentConfidence(segments []sdk.TranscriptionSegment) float64 {
	type seg struct {
		logprob, weight float64
		silent          bool
	}
	var segs []seg
	byDuration := true
	for _, s := range segments {
		if !s.JSON.AvgLogprob.Valid() {
			continue
		}
		d := min(s.End-s.Start, maxSeconds)
		if !(d > 0) {
			byDuration = false
		}
		lp := clampLogprob(s.AvgLogprob)
		silent := s.JSON.NoSpeechProb.Valid() && s.NoSpeechProb > noSpeechThreshold && lp < logprobThreshold
		segs = append(segs, seg{logprob: lp, weight: d, silent: silent})
	}
	if len(segs) == 0 {
		return 0
	}
	var total, speech, weighted float64
	for _, s := range segs {
		w := 1.0
		if byDuration {
			w = s.weight
		}
		total += w
		if !s.silent {
			speech += w
			weighted += w * s.logprob
		}
	}
	if !(speech > 0) || !(total > 0) {
		return 0
	}
	return probability(weighted/speech) * (speech / total)
}

// maxSeconds bounds the times read from an answer (an hour: far beyond an
// utterance), so that no arithmetic on them overflows.
const maxSeconds = 3600

// clampLogprob holds a log probability to [-1000, 0].
func clampLogprob(lp float64) float64 {
	if math.IsNaN(lp) {
		return -1000
	}
	return min(max(lp, -1000), 0)
}

// probability is exp(lp) held to [0, 1].
func probability(lp float64) float64 {
	p := math.Exp(clampLogprob(lp))
	if math.IsNaN(p) {
		return 0
	}
	return min(max(p, 0), 1)
}

// span is where the words are in the audio: from verbose_json's words, or
// else its segments, held to [0, duration]; 0, 0 when the answer has
// neither.
func span(res *sdk.AudioTranscriptionNewResponseUnion, duration time.Duration) (start, end time.Duration) {
	first, last := math.Inf(1), math.Inf(-1)
	see := func(s, e float64, ok bool) {
		if ok && s <= e {
			first, last = min(first, s), max(last, e)
		}
	}
	for _, w := range res.Words {
		see(w.Start, w.End, w.JSON.Start.Valid() && w.JSON.End.Valid())
	}
	if first > last {
		for _, s := range res.Segments {
			see(s.Start, s.End, s.JSON.Start.Valid() && s.JSON.End.Valid())
		}
	}
	if first > last {
		return 0, 0
	}
	return min(seconds(first), duration), min(seconds(last), duration)
}

// seconds converts a time in seconds from an answer, held to
// [0, maxSeconds].
func seconds(s float64) time.Duration {
	if !(s > 0) {
		return 0
	}
	return time.Duration(min(s, maxSeconds) * float64(time.Second))
}

// encodeWAV returns samples as a mono 16-bit PCM WAV file at rate: the
// 44-byte header of the RIFF WAVE format (a "fmt " chunk of 16 bytes, a
// "data" chunk), then the samples little-endian.
func encodeWAV(samples []int16, rate int) ([]byte, error) {
	const headerSize = 44
	data := 2 * len(samples)
	if int64(data) > math.MaxUint32-headerSize || int64(rate) > math.MaxUint32/2 {
		return nil, fmt.Errorf("wav: %d samples at %d Hz do not fit a WAV file", len(samples), rate)
	}
	b := make([]byte, 0, headerSize+data)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(headerSize-8+data))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1) // PCM
	b = binary.LittleEndian.AppendUint16(b, 1) // mono
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(2*rate)) // bytes per second
	b = binary.LittleEndian.AppendUint16(b, 2)              // bytes per sample frame
	b = binary.LittleEndian.AppendUint16(b, 16)             // bits per sample
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(data))
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b, nil
}
