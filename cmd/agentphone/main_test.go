package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sandbox"
	"github.com/agentphone/agentphone/webhook"
)

func TestParseDatabaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, driver, dsn string
		bad             bool
	}{
		{in: "sqlite:./data/agentphone.db", driver: "sqlite", dsn: "./data/agentphone.db"},
		{in: "sqlite:/var/lib/ap.db", driver: "sqlite", dsn: "/var/lib/ap.db"},
		{in: "sqlite:///var/lib/ap.db", driver: "sqlite", dsn: "/var/lib/ap.db"},
		{in: "sqlite:rel.db", driver: "sqlite", dsn: "rel.db"},
		{in: "postgres://u:p@h:5432/db?sslmode=disable", driver: "postgres", dsn: "postgres://u:p@h:5432/db?sslmode=disable"},
		{in: "postgresql://h/db", driver: "postgres", dsn: "postgresql://h/db"},
		{in: "sqlite:", bad: true},
		{in: "mysql://h/db", bad: true},
		{in: "./data.db", bad: true},
	}
	for _, tt := range tests {
		got, err := parseDatabaseURL(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseDatabaseURL(%q) = %+v, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got.Driver != tt.driver || got.DSN != tt.dsn {
			t.Errorf("parseDatabaseURL(%q) = %+v, %v; want %s %s", tt.in, got, err, tt.driver, tt.dsn)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	if got := redactURL("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Fatalf("redactURL leaked the password: %s", got)
	}
	if got := redactURL("sqlite:./x.db"); got != "sqlite:./x.db" {
		t.Fatalf("redactURL(sqlite) = %s", got)
	}
}

// run executes the CLI with args and env and returns stdout and stderr.
func run(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newRootCmd(func(k string) string { return env[k] }, &out, &errb)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestKeys(t *testing.T) {
	t.Parallel()
	env := map[string]string{"AGENTPHONE_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "ap.db")}
	key1, stderr, err := run(t, env, "keys", "create", "--account", "acme")
	if err != nil {
		t.Fatal(err, stderr)
	}
	if !regexp.MustCompile(`^sk_live_[0-9A-Za-z]+\n$`).MatchString(key1) {
		t.Fatalf("stdout = %q, want the key alone", key1)
	}
	if !strings.Contains(stderr, `created account "acme"`) {
		t.Errorf("stderr = %q, want the account creation noted", stderr)
	}
	key2, stderr, err := run(t, env, "keys", "create", "--account", "acme", "--name", "ci")
	if err != nil || key2 == key1 || strings.Contains(stderr, "created account") {
		t.Fatalf("second key %q (first %q), stderr %q, err %v", key2, key1, stderr, err)
	}
	list, _, err := run(t, env, "keys", "list", "--account", "acme")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 || strings.Contains(list, strings.TrimSpace(key1)) {
		t.Fatalf("keys list = %q: want a header and two rows, never a key", list)
	}
	if all, _, _ := run(t, env, "keys", "list"); all != list {
		t.Fatalf("keys list without --account = %q, want the same two keys", all)
	}
	id := strings.Fields(lines[1])[0]
	if _, stderr, err = run(t, env, "keys", "revoke", id); err != nil || !strings.Contains(stderr, "revoked key "+id) {
		t.Fatalf("revoke: %v %s", err, stderr)
	}
	list, _, _ = run(t, env, "keys", "list", "--account", "acme")
	if !regexp.MustCompile(id + `.*\d{4}-\d\d-\d\dT`).MatchString(strings.SplitN(list, id, 2)[0] + id + strings.SplitN(list, id, 2)[1]) {
		t.Fatalf("revoked key shows no revocation time:\n%s", list)
	}
	if _, _, err = run(t, env, "keys", "revoke", "key_doesnotexist"); err == nil {
		t.Fatal("revoking an unknown key succeeded")
	}
}

func TestFlagBeatsEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envDB, flagDB := filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db")
	env := map[string]string{"AGENTPHONE_DATABASE_URL": "sqlite:" + envDB}
	if _, stderr, err := run(t, env, "migrate", "--database-url", "sqlite:"+flagDB); err != nil {
		t.Fatal(err, stderr)
	}
	if _, err := os.Stat(flagDB); err != nil {
		t.Fatalf("flag database not created: %v", err)
	}
	if _, err := os.Stat(envDB); err == nil {
		t.Fatal("env database created although the flag was given")
	}
	if _, _, err := run(t, env, "migrate", "--log-level", "loud"); err == nil {
		t.Fatal("a bad log level was accepted")
	}
}

// startServe runs serveRun until the returned stop is called and returns
// what the start banner printed: the base URL and, on a first start, the key.
func startServe(t *testing.T, cfg *Config) (baseURL, key string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serveRun(ctx, cfg, streams{Out: pw, Err: io.Discard})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for baseURL == "" && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "sk_live_") {
			key = line
		}
		if rest, ok := strings.CutPrefix(line, "agentphone is running at "); ok {
			baseURL = rest
		}
	}
	// The key follows the URL in a first-start banner.
	for key == "" && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "sk_live_") {
			key = line
		}
		if strings.HasPrefix(line, "Need a key?") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if baseURL == "" {
		cancel()
		t.Fatalf("serve printed no URL: %v", <-done)
	}
	return baseURL, key, func() error { cancel(); return <-done }
}

func newTestConfig(t *testing.T) *Config {
	return &Config{
		Addr: "127.0.0.1:0", DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "ap.db"),
		LogLevel: "warn", LogFormat: "text", ShutdownTimeout: 5 * time.Second, DefaultAccount: "default",
		WebhookRetrySchedule: "100ms,200ms", WebhookWorkers: 4, WebhookRescueAfter: webhook.DefaultRescueAfter,
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	baseURL, key, stop := startServe(t, cfg)
	if key == "" {
		t.Fatal("first start printed no key")
	}
	req, _ := http.NewRequest("POST", baseURL+"/v1/agents", strings.NewReader(`{"name":"Support Bot"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"voiceMode":"webhook"`) {
		t.Fatalf("create agent: %d %s", resp.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v after cancel, want nil", err)
	}

	// A restart prints no new key: the account exists.
	_, key2, stop := startServe(t, cfg)
	if err := stop(); err != nil || key2 != "" {
		t.Fatalf("second start: key %q, err %v", key2, err)
	}
}

func TestServeFixedKey(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	cfg.APIKey = "sk_test_0123456789abcdef"
	for range 2 { // twice: registering the same key again is fine
		_, key, stop := startServe(t, cfg)
		if err := stop(); err != nil || key != "" {
			t.Fatalf("start with a fixed key: printed key %q, err %v", key, err)
		}
	}
	store, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	accounts := &agentphone.AccountService{Store: store}
	if _, err := accounts.Authenticate(context.Background(), cfg.APIKey, ""); err != nil {
		t.Fatalf("the fixed key does not authenticate: %v", err)
	}
}

// TestServeGracefulShutdown: a request in flight when shutdown begins is
// still answered, and serve then returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	baseURL, key, stop := startServe(t, cfg)

	// Send the headers and half of the body, shut down, then the rest.
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"In Flight"}`
	fmt.Fprintf(conn, "POST /v1/agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", key, len(body), body[:8])
	// Wait until the server is serving it (the scrape itself is the other
	// request in flight); until then the connection may still sit in the
	// listen backlog, which shutdown closes.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("the partial request never showed as in flight")
		}
		resp, err := http.Get(baseURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(m), "\nagentphone_http_requests_in_flight 2\n") {
			break
		}
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	if _, err := io.WriteString(conn, body[8:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request got no answer: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(got), `"name":"In Flight"`) {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, got)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
}

func TestServe_BadWebhookSettings(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		schedule    string
		workers     int
		rescueAfter time.Duration
		want        string
	}{
		{"1m,soon", 4, time.Minute, "--webhook-retry-schedule"},
		{"1m,-5s", 4, time.Minute, "delays must be positive"},
		{"1m", 0, time.Minute, "--webhook-workers"},
		{"1m", 4, 0, "--webhook-rescue-after"},
		{"1m", 4, -time.Second, "--webhook-rescue-after"},
	} {
		cfg := newTestConfig(t)
		cfg.WebhookRetrySchedule, cfg.WebhookWorkers, cfg.WebhookRescueAfter = c.schedule, c.workers, c.rescueAfter
		err := serveRun(t.Context(), cfg, streams{Out: io.Discard, Err: io.Discard})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("schedule %q, workers %d, rescue after %s: %v, want an error about %s", c.schedule, c.workers, c.rescueAfter, err, c.want)
		}
	}
}

// TestServe_BadCarrierSettings: Twilio and number-provider settings that
// cannot work stop the server at start with a message naming the setting.
func TestServe_BadCarrierSettings(t *testing.T) {
	t.Parallel()
	const sid, token = "AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"token without account", func(c *Config) { c.TwilioAuthToken = token }, "TWILIO_ACCOUNT_SID"},
		{"account without token", func(c *Config) { c.TwilioAccountSID = sid }, "TWILIO_AUTH_TOKEN"},
		{"bad account SID", func(c *Config) { c.TwilioAccountSID, c.TwilioAuthToken = "AC123", token }, "twilio configuration"},
		{"no countries", func(c *Config) { c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioCountries = sid, token, " , " }, "--twilio-countries"},
		{"twilio not configured", func(c *Config) { c.NumberProvider = "twilio" }, "Twilio is not configured"},
		{"unknown provider", func(c *Config) { c.NumberProvider = "telnyx" }, "use sandbox or twilio"},
	} {
		cfg := newTestConfig(t)
		c.set(cfg)
		err := serveRun(t.Context(), cfg, streams{Out: io.Discard, Err: io.Discard})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %s", c.name, err, c.want)
		}
	}
}

// TestMigrate: migrate applies the schema, so that a server started later
// needs no schema change.
func TestMigrate(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "ap.db")
	if _, stderr, err := run(t, nil, "migrate", "--database-url", "sqlite:"+db); err != nil || !strings.Contains(stderr, "up to date") {
		t.Fatalf("migrate: %v %s", err, stderr)
	}
	store, err := openStore(context.Background(), &Config{DatabaseURL: "sqlite:" + db})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, table := range []string{"agents", "webhook_deliveries"} {
		var n int
		if err := store.DB().QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s after migrate: %d, %v", table, n, err)
		}
	}
}

func TestServe_RescueAfterFromEnv(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "ap.db")
	for v, want := range map[string]string{
		"soon": `AGENTPHONE_WEBHOOK_RESCUE_AFTER="soon"`,
		"0s":   "--webhook-rescue-after (AGENTPHONE_WEBHOOK_RESCUE_AFTER) is 0s",
	} {
		_, _, err := run(t, map[string]string{"AGENTPHONE_DATABASE_URL": db, "AGENTPHONE_WEBHOOK_RESCUE_AFTER": v}, "serve")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("AGENTPHONE_WEBHOOK_RESCUE_AFTER=%s: %v, want an error containing %q", v, err, want)
		}
	}
}

// TestSMSSimulate: `sms simulate` stores an inbound text to an active
// number in its conversation, and refuses a number nobody holds and a bad
// sender.
func TestSMSSimulate(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "ap.db")
	cfg := &Config{DatabaseURL: db}
	store, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	accounts := &agentphone.AccountService{Store: store}
	acct, _, err := accounts.EnsureAccount(t.Context(), "default")
	if err != nil {
		t.Fatal(err)
	}
	sc := agentphone.Scope{KeyAccountID: acct.ID, AccountID: acct.ID}
	numbers := &agentphone.NumberService{Store: store, Provider: sandbox.New(sandbox.Options{Held: store.HeldPhoneNumbers})}
	n, err := numbers.Create(t.Context(), sc, agentphone.NumberInput{})
	if err != nil {
		t.Fatal(err)
	}

	stdout, stderr, err := run(t, nil, "sms", "simulate", "--database-url", db, "--to", n.PhoneNumber, "--from", "(415) 555-0199", "Is my order ready?")
	if err != nil || !strings.HasPrefix(stdout, "msg_") || !strings.Contains(stdout, "+14155550199 → "+n.PhoneNumber) {
		t.Fatalf("sms simulate: %v, stdout %q, stderr %q", err, stdout, stderr)
	}
	msgs, _, err := store.ListNumberMessages(t.Context(), acct.ID, n.ID, agentphone.MessageCursor{Limit: 10})
	if err != nil || len(msgs) != 1 || msgs[0].Body != "Is my order ready?" || msgs[0].From != "+14155550199" ||
		!strings.Contains(stdout, msgs[0].ConversationID) {
		t.Fatalf("stored messages %+v, %v", msgs, err)
	}

	if _, _, err := run(t, nil, "sms", "simulate", "--database-url", db, "--to", "+15555550199", "--from", "+14155550199", "x"); err == nil ||
		!strings.Contains(err.Error(), "No active number +15555550199") {
		t.Errorf("unknown number: %v", err)
	}
	if _, _, err := run(t, nil, "sms", "simulate", "--database-url", db, "--to", n.PhoneNumber, "--from", "nope", "x"); err == nil ||
		!strings.Contains(err.Error(), "from") {
		t.Errorf("bad sender: %v", err)
	}
}
