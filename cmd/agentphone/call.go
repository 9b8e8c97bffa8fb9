package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// clientConfig is how a command reaches a running server's API.
type clientConfig struct {
	URL        string // the server's base URL
	Key        string // an API key
	SubAccount string // X-Sub-Account-Id; "" for the key's own account
}

// clientSettings are the settings of commands that talk to a running
// server over HTTP, named like the variables its start banner prints.
func clientSettings(c *clientConfig) []setting {
	return []setting{
		{"url", "AGENTPHONE_URL", "base URL of the running server", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.URL, n, "http://127.0.0.1:8080", u) }},
		{"key", "AGENTPHONE_KEY", "API key (sk_live_…) of the account the call belongs to", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.Key, n, "", u) }},
		{"sub-account", "AGENTPHONE_SUB_ACCOUNT_ID", "act on this sub-account of the key's account (X-Sub-Account-Id)", func(fs *pflag.FlagSet, n, u string) { fs.StringVar(&c.SubAccount, n, "", u) }},
	}
}

// newCallCmd is `agentphone call`: tools for live calls.
func newCallCmd(getenv func(string) string, io streams) *cobra.Command {
	call := &cobra.Command{
		Use:   "call",
		Short: "Tools for live calls on a running server",
	}
	cc := &clientConfig{}
	ss := clientSettings(cc)
	say := &cobra.Command{
		Use:   "say CALL_ID TEXT",
		Short: "Make the caller of a live call say TEXT, as if they had spoken it",
		Long: `Give a live call TEXT as its caller's next utterance, through the running
server's POST /sandbox/v1/calls/{call_id}/say: the conversation engine ends the
caller's turn with it and the agent answers as it answers speech (its webhook
gets agent.message on channel voice), so a conversation can be driven without
a phone. The server is --url (AGENTPHONE_URL), the key --key (AGENTPHONE_KEY),
as the server's start banner prints them.`,
		Example: `  export AGENTPHONE_URL=http://127.0.0.1:8080 AGENTPHONE_KEY=sk_live_...
  agentphone call say <call id> "Where is my order?"`,
		Args: cobra.ExactArgs(2),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return fromEnv(cmd.Flags(), getenv, ss)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				CallID string `json:"callId"`
				Text   string `json:"text"`
			}
			if err := cc.post(cmd.Context(), "/sandbox/v1/calls/"+url.PathEscape(args[0])+"/say",
				map[string]string{"text": args[1]}, &out, http.StatusAccepted); err != nil {
				return fmt.Errorf("call say: %w", err)
			}
			_, err := fmt.Fprintf(io.Out, "%s: the caller said %q\n", out.CallID, out.Text)
			return err
		},
	}
	declare(say.Flags(), ss)
	call.AddCommand(say)
	return call
}

// clientTimeout bounds one request of a client command.
const clientTimeout = 30 * time.Second

// post sends body as JSON to path of the server and decodes an answer of
// status want into out. Another status is an error carrying the server's
// message: its detail, or each field error of a 422.
func (c *clientConfig) post(ctx context.Context, path string, body, out any, want int) error {
	if c.Key == "" {
		return fmt.Errorf("an API key is needed: --key or AGENTPHONE_KEY (the server prints one on its first start; or agentphone keys create)")
	}
	base := strings.TrimRight(c.URL, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("server URL %q: want http(s)://host[:port]", c.URL)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, clientTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "agentphone-cli/"+buildVersion())
	if c.SubAccount != "" {
		req.Header.Set("X-Sub-Account-Id", c.SubAccount)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s: %w", base, err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s: %s", res.Status, errorDetail(answer))
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("the server's answer is not what was expected (%w): %.200s", err, answer)
	}
	return nil
}

// errorDetail is the message of an API error answer: {"detail": "…"}, or
// the fields of a 422 ({"detail": [{loc, msg, type}]}) as "text: msg";
// else the answer itself, cut short.
func errorDetail(answer []byte) string {
	var e struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(answer, &e) == nil && len(e.Detail) > 0 {
		var s string
		if json.Unmarshal(e.Detail, &s) == nil {
			return s
		}
		var fields []struct {
			Loc []any  `json:"loc"`
			Msg string `json:"msg"`
		}
		if json.Unmarshal(e.Detail, &fields) == nil && len(fields) > 0 {
			parts := make([]string, len(fields))
			for i, f := range fields {
				loc := make([]string, 0, len(f.Loc))
				for _, l := range f.Loc {
					if l != "body" {
						loc = append(loc, fmt.Sprint(l))
					}
				}
				parts[i] = f.Msg
				if len(loc) > 0 {
					parts[i] = strings.Join(loc, ".") + ": " + f.Msg
				}
			}
			return strings.Join(parts, "; ")
		}
	}
	s := strings.TrimSpace(string(answer))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = "(no body)"
	}
	return s
}
