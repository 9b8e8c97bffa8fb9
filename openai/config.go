package openai

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// Defaults of Config.
const (
	// DefaultBaseURL is OpenAI's API, version included, as OPENAI_BASE_URL
	// gives it.
	DefaultBaseURL = "https://api.openai.com/v1"
	// DefaultFastTranscriptionModel serves agents whose sttMode is "fast".
	DefaultFastTranscriptionModel = "gpt-4o-mini-transcribe"
	// DefaultAccurateTranscriptionModel serves agents whose sttMode is
	// "accurate".
	DefaultAccurateTranscriptionModel = "gpt-4o-transcribe"
	// DefaultTranscriptionFormat is the response_format asked of the
	// transcription endpoint.
	DefaultTranscriptionFormat = "json"
	// DefaultSpeechModel speaks the agents' text.
	DefaultSpeechModel = "gpt-4o-mini-tts"
	// DefaultSpeechRate is the rate of OpenAI's "pcm" speech: 24 kHz.
	DefaultSpeechRate = 24000
)

// Bounds of what is read from a server.
const (
	// maxTranscriptBytes bounds a transcription answer: the verbose_json of
	// a minute of speech is some tens of kilobytes.
	maxTranscriptBytes = 4 << 20
	// maxErrorBytes bounds what is read of an error answer.
	maxErrorBytes = 64 << 10
	// maxSpeechBytes bounds a speech answer: 64 MiB is 23 minutes of
	// 24 kHz PCM, the API's 4,096 characters of text take about five.
	maxSpeechBytes = 64 << 20
	// maxMessageRunes bounds the message kept from an error answer.
	maxMessageRunes = 500
)

// Config is what the Transcriber, the Speaker and Chat need. Its zero value
// speaks to OpenAI without an API key; every empty field takes its
// default.
type Config struct {
	// APIKey is sent as "Authorization: Bearer <APIKey>". Empty sends no
	// Authorization header, for self-hosted servers that want none.
	APIKey string
	// BaseURL is the root of the API with its version, the meaning of
	// OPENAI_BASE_URL: requests go to BaseURL + "/audio/transcriptions",
	// BaseURL + "/audio/speech" and BaseURL + "/chat/completions". Default
	// DefaultBaseURL; e.g. "http://localhost:8000/v1" for a speaches
	// server, "http://localhost:11434/v1" for Ollama.
	BaseURL string
	// HTTPClient makes the requests; nil means http.DefaultClient. Leave
	// its Timeout at 0: a speech answer streams for as long as the
	// utterance lasts, and every call's deadline comes from its context.
	HTTPClient *http.Client
	// MaxRetries is how many times a request answered 408, 409, 429 or
	// 5xx, or that failed to connect, is sent again (after the SDK's
	// backoff of 0.5 s, 1 s, … or the server's Retry-After). 0, the
	// default, means never: on a live call an answer that comes seconds
	// late is rarely worth more than a quick error. Negative is 0.
	MaxRetries int

	// FastTranscriptionModel transcribes for agents whose sttMode is
	// "fast" (or unset). Default DefaultFastTranscriptionModel. A
	// self-hosted server needs its own model names here, e.g.
	// "Systran/faster-whisper-small".
	FastTranscriptionModel string
	// AccurateTranscriptionModel transcribes for agents whose sttMode is
	// "accurate". Default DefaultAccurateTranscriptionModel.
	AccurateTranscriptionModel string
	// TranscriptionFormat is the response_format asked for: "json" (the
	// default; the only one OpenAI's gpt-4o models give besides "text")
	// or "verbose_json" (whisper-1 and self-hosted whisper servers), whose
	// segments carry the log probabilities the confidence is made from.
	TranscriptionFormat string

	// SpeechModel speaks. Default DefaultSpeechModel.
	SpeechModel string
	// SpeechRate is the sample rate of the server's "pcm" answers: 24,000
	// for OpenAI (the default) and for servers that copy it faithfully;
	// set it for one that speaks at its engine's own rate (22,050 for a
	// Piper voice, say).
	SpeechRate int
}

// withDefaults returns c with its empty fields set to their defaults.
func (c Config) withDefaults() Config {
	c.BaseURL = cmp.Or(c.BaseURL, DefaultBaseURL)
	c.FastTranscriptionModel = cmp.Or(c.FastTranscriptionModel, DefaultFastTranscriptionModel)
	c.AccurateTranscriptionModel = cmp.Or(c.AccurateTranscriptionModel, DefaultAccurateTranscriptionModel)
	c.TranscriptionFormat = cmp.Or(c.TranscriptionFormat, DefaultTranscriptionFormat)
	c.SpeechModel = cmp.Or(c.SpeechModel, DefaultSpeechModel)
	c.SpeechRate = cmp.Or(c.SpeechRate, DefaultSpeechRate)
	c.MaxRetries = max(c.MaxRetries, 0)
	return c
}

// validate checks c (with its defaults).
func (c Config) validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return fmt.Errorf("openai: base url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("openai: base url %q: not an absolute http or https URL", c.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("openai: base url %q: has a query or fragment", c.BaseURL)
	}
	switch c.TranscriptionFormat {
	case "json", "verbose_json":
	default:
		return fmt.Errorf("openai: transcription format %q: want json or verbose_json", c.TranscriptionFormat)
	}
	if c.SpeechRate < 0 {
		return fmt.Errorf("openai: speech rate %d", c.SpeechRate)
	}
	return nil
}

// requestOptions are the SDK options of every request: nothing comes from
// the environment. limit bounds successful answers that the SDK reads
// whole (0: the body is ours to stream), and forceJSON makes it decode
// them as JSON whatever their Content-Type says.
func (c Config) requestOptions(limit int64, forceJSON bool) []option.RequestOption {
	return []option.RequestOption{
		option.WithBaseURL(c.BaseURL),
		option.WithAPIKey(c.APIKey),
		option.WithHTTPClient(cmp.Or(c.HTTPClient, http.DefaultClient)),
		option.WithMaxRetries(c.MaxRetries),
		option.WithMiddleware(answerMiddleware(limit, forceJSON)),
	}
}

// answerMiddleware adapts the answers of servers that copy OpenAI's API
// to what the SDK expects of OpenAI's.
//
// An error answer (status 400 or more) gets a body in OpenAI's error shape
// {"error": {"message", "type", "code"}} with the message found in
// whatever the server sent (see parseErrorBody): the SDK only understands
// OpenAI's, and fails with a JSON error that loses the status on
// {"error": "text"}, the shape of whisper.cpp. The status is kept, so the
// SDK's retries still apply.
func answerMiddleware(limit int64, forceJSON bool) option.Middleware {
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		res, err := next(req)
		if err != nil || res == nil {
			return res, err
		}
		if res.StatusCode >= 400 {
			body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBytes))
			_ = res.Body.Close()
			e := parseErrorBody(body)
			if e.Message == "" {
				e.Message = cmp.Or(http.StatusText(res.StatusCode), fmt.Sprintf("status %d", res.StatusCode))
			}
			normalized, _ := json.Marshal(map[string]errorBody{"error": e})
			res.Body = io.NopCloser(bytes.NewReader(normalized))
			res.ContentLength = int64(len(normalized))
			res.Header.Set("Content-Type", "application/json")
			res.Header.Del("Content-Encoding")
			return res, nil
		}
		if limit > 0 {
			res.Body = &limitedBody{rc: res.Body, n: limit}
		}
		if forceJSON {
			res.Header.Set("Content-Type", "application/json")
		}
		return res, nil
	}
}

// limitedBody fails a read past n bytes, where io.LimitReader would end
// the answer silently (and cut it into something that might parse).
type limitedBody struct {
	rc io.ReadCloser
	n  int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// One byte more tells an answer of exactly the limit from a
		// longer one.
		var b [1]byte
		n, err := l.rc.Read(b[:])
		if n > 0 {
			return 0, errTooLong
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.rc.Read(p)
	l.n -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

var errTooLong = errors.New("answer too long")

// errorBody is OpenAI's error object.
type errorBody struct {
	Message string `json:"message"`
	Type    string `json:"type,omitempty"`
	Code    string `json:"code,omitempty"`
}

// parseErrorBody finds the message (and type and code, if any) in an
// error answer: OpenAI's {"error": {"message", "type", "code"}},
// whisper.cpp's {"error": "text"}, FastAPI's {"detail": "text"} or
// {"detail": [{"msg": "text"}, …]}, {"message": "text"}, or a short plain
// text. It returns a zero errorBody when it finds none (an HTML page, an
// empty body).
func parseErrorBody(body []byte) errorBody {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Detail  json.RawMessage `json:"detail"`
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		text := strings.TrimSpace(string(body))
		if strings.HasPrefix(text, "<") || strings.HasPrefix(text, "{") || strings.HasPrefix(text, "[") {
			return errorBody{} // markup, or JSON that is not an object of ours
		}
		return errorBody{Message: cleanMessage(text)}
	}
	var e errorBody
	var obj struct {
		Message json.RawMessage `json:"message"`
		Type    json.RawMessage `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	switch {
	case len(v.Error) > 0 && v.Error[0] == '{' && json.Unmarshal(v.Error, &obj) == nil:
		e = errorBody{Message: jsonText(obj.Message), Type: jsonText(obj.Type), Code: jsonText(obj.Code)}
	case len(v.Error) > 0 && v.Error[0] == '"':
		e.Message = jsonText(v.Error)
	case len(v.Detail) > 0:
		e.Message = detailText(v.Detail)
	case len(v.Message) > 0:
		e.Message = jsonText(v.Message)
	}
	e.Message = cleanMessage(e.Message)
	e.Type = cleanMessage(e.Type)
	e.Code = cleanMessage(e.Code)
	return e
}

// detailText is the message of FastAPI's "detail": a string, or a list of
// validation errors each with a "msg" (and a "loc").
func detailText(raw json.RawMessage) string {
	var items []struct {
		Msg json.RawMessage `json:"msg"`
		Loc []any           `json:"loc"`
	}
	if json.Unmarshal(raw, &items) == nil {
		var parts []string
		for _, it := range items {
			msg := jsonText(it.Msg)
			if msg == "" {
				continue
			}
			if len(it.Loc) > 0 {
				loc := make([]string, len(it.Loc))
				for i, l := range it.Loc {
					loc[i] = fmt.Sprint(l)
				}
				msg = strings.Join(loc, ".") + ": " + msg
			}
			parts = append(parts, msg)
		}
		return strings.Join(parts, "; ")
	}
	return jsonText(raw)
}

// jsonText is a JSON string's text, a number's or bool's literal, and ""
// for null, objects, arrays and what does not parse.
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	case '{', '[', 'n':
		return ""
	}
	var x any
	if json.Unmarshal(raw, &x) != nil {
		return ""
	}
	return string(raw)
}

// cleanMessage makes a server's text fit for an error string and a log
// line: valid UTF-8, control characters as spaces, runs of space as one,
// at most maxMessageRunes runes.
func cleanMessage(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxMessageRunes {
		r := []rune(s)
		s = string(r[:maxMessageRunes]) + "…"
	}
	return s
}

// APIError is a request the server refused: its answer had a status of
// 400 or more (or, from whisper.cpp, an error object instead of the
// result). It unwraps to the SDK's *openai.Error when the SDK made it.
type APIError struct {
	StatusCode int
	// Message is the server's error message (error.message of OpenAI's
	// answer), or the status text when it sent none.
	Message string
	// Type and Code are OpenAI's error.type and error.code, e.g.
	// "invalid_request_error" and "invalid_api_key"; often empty elsewhere.
	Type, Code string

	err error
}

// Error is "<status> <status text>: <message> (<code>)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" && e.Message != http.StatusText(e.StatusCode) {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	return b.String()
}

// Unwrap returns the SDK's error, if any.
func (e *APIError) Unwrap() error { return e.err }

// Temporary reports whether the same request may succeed later: the
// server timed out (408), was rate limited (429) or failed (5xx).
func (e *APIError) Temporary() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// wrapError returns err of the request op as an error of this package: an
// *APIError for the SDK's *openai.Error, ctx's error when ctx ended.
func wrapError(ctx context.Context, op string, err error) error {
	var sdkErr *sdk.Error
	if errors.As(err, &sdkErr) {
		return fmt.Errorf("openai: %s: %w", op, &APIError{
			StatusCode: sdkErr.StatusCode,
			Message:    sdkErr.Message,
			Type:       sdkErr.Type,
			Code:       sdkErr.Code,
			err:        sdkErr,
		})
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("openai: %s: %w (%v)", op, ctx.Err(), err)
	}
	return fmt.Errorf("openai: %s: %w", op, err)
}
