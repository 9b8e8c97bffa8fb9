package main

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/espeak"
	"github.com/agentphone/agentphone/httpapi"
	"github.com/agentphone/agentphone/sandbox"
)

// recordingSayer stands in for the conversation engine behind the API.
type recordingSayer struct {
	mu   sync.Mutex
	said []string // "callID text"; guarded by mu
}

func (r *recordingSayer) Say(ctx context.Context, callID, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.said = append(r.said, callID+" "+text)
	return nil
}

func (r *recordingSayer) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.said)
}

// TestCallSay: `call say` posts the text to the server named by
// AGENTPHONE_URL (or --url) with the key of AGENTPHONE_KEY (or --key) and
// prints what the caller said; the server's refusals come back as errors
// with its message; without a key nothing is sent.
func TestCallSay(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store, err := openStore(ctx, &Config{DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "ap.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	accounts := &agentphone.AccountService{Store: store}
	acct, _, err := accounts.EnsureAccount(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := accounts.CreateKey(ctx, acct.ID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	sc := agentphone.Scope{KeyAccountID: acct.ID, AccountID: acct.ID}
	agents := &agentphone.AgentService{Store: store, Voices: espeak.Catalog{}}
	a, err := agents.Create(ctx, sc, agentphone.AgentInput{Name: agentphone.Some("Bot")})
	if err != nil {
		t.Fatal(err)
	}
	numbers := &agentphone.NumberService{Store: store, Provider: sandbox.New(sandbox.Options{Held: store.HeldPhoneNumbers})}
	n, err := numbers.Create(ctx, sc, agentphone.NumberInput{AgentID: agentphone.Some(a.ID)})
	if err != nil {
		t.Fatal(err)
	}
	webhooks := &agentphone.WebhookService{Store: store}
	calls := &agentphone.CallService{Store: store, Webhooks: webhooks}
	c, _, _, err := calls.RouteInbound(ctx, n.PhoneNumber, "+14155550199", "sip-1")
	if err != nil {
		t.Fatal(err)
	}
	sayer := &recordingSayer{}
	srv := httptest.NewServer(httpapi.New(httpapi.Options{
		Accounts: accounts, Agents: agents, Numbers: numbers, Webhooks: webhooks,
		Contacts: &agentphone.ContactService{Store: store},
		Messages: &agentphone.MessageService{Store: store, Webhooks: webhooks},
		Voices:   espeak.Catalog{}, Usage: &agentphone.UsageService{Store: store}, Calls: calls, CallSayer: sayer,
	}))
	defer srv.Close()
	env := map[string]string{"AGENTPHONE_URL": srv.URL + "/", "AGENTPHONE_KEY": key}

	stdout, stderr, err := run(t, env, "call", "say", c.ID, "  Where is my order?")
	if err != nil || stdout != c.ID+": the caller said \"Where is my order?\"\n" {
		t.Fatalf("call say: %v, stdout %q, stderr %q", err, stdout, stderr)
	}
	if got := sayer.calls(); !slices.Equal(got, []string{c.ID + " Where is my order?"}) {
		t.Fatalf("the engine got %q", got)
	}
	// Flags win over the environment.
	if _, _, err := run(t, map[string]string{"AGENTPHONE_URL": "http://127.0.0.1:1", "AGENTPHONE_KEY": "sk_live_nope"},
		"call", "say", "--url", srv.URL, "--key", key, c.ID, "Thanks"); err != nil {
		t.Fatalf("with flags: %v", err)
	}

	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string // in the error
	}{
		{"unknown call", env, []string{c.ID + "x", "hi"}, "call say: 404 Not Found: Call not found"},
		{"blank text", env, []string{c.ID, " "}, "call say: 422 Unprocessable Entity: text: String should have at least 1 character"},
		{"bad key", map[string]string{"AGENTPHONE_URL": srv.URL, "AGENTPHONE_KEY": "sk_live_nope"}, []string{c.ID, "hi"}, "call say: 401 Unauthorized: "},
		{"unknown sub-account", env, []string{"--sub-account", "acct_nope", c.ID, "hi"}, "call say: 404 Not Found: Sub-account not found"},
		{"no key", map[string]string{"AGENTPHONE_URL": srv.URL}, []string{c.ID, "hi"}, "call say: an API key is needed: --key or AGENTPHONE_KEY"},
		{"bad URL", map[string]string{"AGENTPHONE_URL": "localhost:8080", "AGENTPHONE_KEY": key}, []string{c.ID, "hi"}, `server URL "localhost:8080"`},
		{"no server", map[string]string{"AGENTPHONE_URL": "http://127.0.0.1:1", "AGENTPHONE_KEY": key}, []string{c.ID, "hi"}, "call say: cannot reach the server at http://127.0.0.1:1"},
	} {
		_, _, err := run(t, tt.env, append([]string{"call", "say"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if _, _, err := run(t, env, "call", "say", c.ID); err == nil {
		t.Error("call say without a text succeeded")
	}
	if got := sayer.calls(); len(got) != 2 {
		t.Fatalf("the engine got %q; want only the two accepted texts", got)
	}
	// An ended call.
	if _, err := calls.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, env, "call", "say", c.ID, "hi")
	if want := "call say: 409 Conflict: Call " + c.ID + " has already ended (completed)"; err == nil || err.Error() != want {
		t.Errorf("ended call: %v, want %q", err, want)
	}
}

// TestCallSay_Serve: `agentphone serve` runs the conversation engine:
// `call say` reaches it, and reports the server's 404 for an unknown call.
func TestCallSay_Serve(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	baseURL, key, stop := startServe(t, cfg)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	_, _, err := run(t, map[string]string{"AGENTPHONE_URL": baseURL, "AGENTPHONE_KEY": key}, "call", "say", "call_nope", "hi")
	if want := "call say: 404 Not Found: Call not found"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("call say against serve: %v, want %q", err, want)
	}
}
