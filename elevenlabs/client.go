package elevenlabs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is ElevenLabs' API host.
const DefaultBaseURL = "https://api.elevenlabs.io"

// DefaultModel is the model of Config.Model "": Flash v2.5, ElevenLabs'
// lowest-latency model (~75 ms), multilingual (32 languages).
const DefaultModel = "eleven_flash_v2_5"

// Defaults of the catalogue's timing (Config).
const (
	DefaultVoicesRefresh = time.Hour
	DefaultVoicesTimeout = 3 * time.Second
	DefaultVoicesRetry   = time.Minute
)

// Response bodies larger than these are cut: an error is read for its JSON
// or a snippet; a voice list is a few KiB per voice.
const (
	maxErrorBody  = 64 << 10
	maxVoicesBody = 16 << 20
)

// Config holds what the provider needs. APIKey is required; the zero
// value of every other field means its default.
type Config struct {
	// APIKey is sent as xi-api-key.
	APIKey string
	// BaseURL replaces DefaultBaseURL, e.g. with elevenlabstest.Server.URL.
	BaseURL string
	// Model is the model_id of every utterance; "" means DefaultModel.
	Model string
	// HTTPClient sends the requests; nil means a client whose only limit
	// is 15 s to connect and 20 s for the response headers. A client with
	// a Timeout cuts utterances that stream for longer than it: prefer
	// none, every request here carries its context.
	HTTPClient *http.Client
	// OptimizeStreamingLatency is ElevenLabs' optimize_streaming_latency
	// (1–4; deprecated by ElevenLabs, and 4 misreads numbers and dates);
	// 0 sends none.
	OptimizeStreamingLatency int

	// VoicesRefresh is how long the account's voice list is kept before
	// it is fetched again; 0 means DefaultVoicesRefresh (1 h).
	VoicesRefresh time.Duration
	// VoicesTimeout bounds one fetch of the voice list, so that a slow API
	// does not hold up GET /v1/agents/voices; 0 means
	// DefaultVoicesTimeout (3 s).
	VoicesTimeout time.Duration
	// VoicesRetry is how long after a failed fetch the next is tried (the
	// built-in list, or the last list fetched, serves meanwhile); 0 means
	// DefaultVoicesRetry (1 min).
	VoicesRetry time.Duration

	// Logger receives a warning when the voice list cannot be fetched;
	// nil discards.
	Logger *slog.Logger
	// Now is the catalogue's clock; nil means time.Now.
	Now func() time.Time
}

// client sends requests to ElevenLabs' REST API.
type client struct {
	key  string
	base string
	hc   *http.Client
}

func newClient(cfg Config) (*client, error) {
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, errors.New("elevenlabs: APIKey is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("elevenlabs: BaseURL %q must be an http(s) URL without credentials, query or fragment", base)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	return &client{key: cfg.APIKey, base: strings.TrimRight(u.String(), "/"), hc: hc}, nil
}

// defaultHTTPClient has no overall timeout (an utterance streams for as
// long as it lasts) but bounds connecting and waiting for the headers.
func defaultHTTPClient() *http.Client {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return &http.Client{}
	}
	t = t.Clone()
	t.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 20 * time.Second
	return &http.Client{Transport: t}
}

// do sends one request and returns the response of a 2xx answer, whose
// body the caller closes; any other answer is returned as *Error.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("elevenlabs: %s %s: %w", method, path, err)
	}
	req.Header.Set("xi-api-key", c.key)
	req.Header.Set("User-Agent", "agentphone-elevenlabs")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("elevenlabs: %s %s: %w", method, path, ctx.Err())
		}
		return nil, fmt.Errorf("elevenlabs: %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		return nil, parseError(resp.StatusCode, raw)
	}
	return resp, nil
}
