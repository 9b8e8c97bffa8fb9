package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is Twilio's REST API host.
const DefaultBaseURL = "https://api.twilio.com"

// apiVersion prefixes every path of the REST API this package uses.
const apiVersion = "/2010-04-01"

// Response bodies larger than these are cut: Twilio's resources are a few
// KiB, and an error body is only ever read for its JSON or a snippet.
const (
	maxBody      = 1 << 20
	maxErrorBody = 64 << 10
)

// defaultTimeout bounds a request when Config.HTTPClient is nil.
const defaultTimeout = 30 * time.Second

// Config holds what a Client needs. AccountSID is always required; the
// credentials are AuthToken, or the pair APIKeySID and APIKeySecret (a
// Twilio API key of that account), which is then used instead of AuthToken
// for REST calls. AuthToken is also the key of X-Twilio-Signature, which
// ValidateSignature takes separately.
type Config struct {
	AccountSID string // "AC" and 32 hex digits
	AuthToken  string

	APIKeySID    string // "SK" and 32 hex digits
	APIKeySecret string

	// BaseURL replaces DefaultBaseURL, e.g. with twiliotest.Server.URL.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Client calls Twilio's REST API for one account. It is safe for
// concurrent use.
type Client struct {
	accountSID string
	user, pass string
	base       string
	hc         *http.Client
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if !validSID(cfg.AccountSID, "AC") {
		return nil, errors.New(`twilio: AccountSID must be "AC" followed by 32 hex digits`)
	}
	c := &Client{accountSID: cfg.AccountSID}
	switch {
	case cfg.APIKeySID != "" || cfg.APIKeySecret != "":
		if !validSID(cfg.APIKeySID, "SK") {
			return nil, errors.New(`twilio: APIKeySID must be "SK" followed by 32 hex digits`)
		}
		if cfg.APIKeySecret == "" {
			return nil, errors.New("twilio: APIKeySecret is required with APIKeySID")
		}
		c.user, c.pass = cfg.APIKeySID, cfg.APIKeySecret
	case cfg.AuthToken != "":
		c.user, c.pass = cfg.AccountSID, cfg.AuthToken
	default:
		return nil, errors.New("twilio: AuthToken, or APIKeySID and APIKeySecret, are required")
	}

	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("twilio: BaseURL %q must be an http(s) URL without credentials, query or fragment", base)
	}
	c.base = strings.TrimRight(u.String(), "/")

	c.hc = cfg.HTTPClient
	if c.hc == nil {
		c.hc = &http.Client{Timeout: defaultTimeout}
	}
	return c, nil
}

// accountPath returns the URL of a resource under the account.
func (c *Client) accountPath(rest string) string {
	return c.base + apiVersion + "/Accounts/" + c.accountSID + "/" + rest
}

// do sends one request and decodes a 2xx JSON body into out (when out is
// not nil). For POST, form is the form-encoded body; for GET and DELETE it
// is the query string. A non-2xx answer is returned as *Error.
func (c *Client) do(ctx context.Context, method, rawURL string, form url.Values, out any) error {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else if len(form) > 0 {
		rawURL += "?" + form.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return fmt.Errorf("twilio: %s: %w", method, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "agentphone-twilio")
	req.SetBasicAuth(c.user, c.pass)

	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("twilio: %s %s: %w", method, req.URL.Path, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return parseError(resp.StatusCode, raw)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return fmt.Errorf("twilio: %s %s: decoding response: %w", method, req.URL.Path, err)
	}
	return nil
}

// validSID reports whether s is prefix followed by 32 hex digits, the shape
// of every Twilio SID.
func validSID(s, prefix string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for _, r := range s[2:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
