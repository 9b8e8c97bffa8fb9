//go:build e2e

// Package e2e drives the real agentphone binary from the outside: it builds
// it once, starts it on a free loopback port with a fresh database per test
// (SQLite always, PostgreSQL when AGENTPHONE_TEST_POSTGRES_URL is set), and
// talks to it the way users do — with the official TypeScript SDK (e2e/sdk)
// and with the CLI.
//
// Run it with
//
//	go test -tags e2e -count=1 ./e2e/...
//
// or, with everything else, scripts/test. The SDK checks need Node.js (20 or
// newer) and npm; the SDK is installed with `npm ci` in e2e/sdk when
// node_modules is missing. Without Node the SDK test is skipped, saying why,
// except under CI=true where it fails.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentphone/agentphone/openai/openaitest"
	"github.com/agentphone/agentphone/storetest"
)

// binPath is the agentphone binary built by TestMain.
var binPath string

// repoRoot is the module root (the parent of this package's directory).
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = filepath.Dir(wd)
	dir, err := os.MkdirTemp("", "agentphone-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	binPath = filepath.Join(dir, "agentphone")
	build := exec.Command("go", "build", "-o", binPath, "./cmd/agentphone")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/agentphone: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// ---------------------------------------------------------------------------
// Backends.

// backend names a database the server can run on; url returns a fresh,
// empty database for one test.
type backend struct {
	name string
	url  func(t *testing.T) string
}

// backends returns SQLite, and PostgreSQL when AGENTPHONE_TEST_POSTGRES_URL
// is set (each test gets its own schema). When it is not set, a postgres
// subtest is still listed and skips, saying why.
func backends() []backend {
	return []backend{
		{name: "sqlite", url: func(t *testing.T) string {
			return "sqlite:" + filepath.Join(t.TempDir(), "agentphone.db")
		}},
		{name: "postgres", url: func(t *testing.T) string {
			base := os.Getenv("AGENTPHONE_TEST_POSTGRES_URL")
			if base == "" {
				t.Skip("PostgreSQL not tested: set AGENTPHONE_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
			}
			return storetest.PostgresSchemaURL(t, base)
		}},
	}
}

// forEachBackend runs fn as a parallel subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, databaseURL string)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.url(t))
		})
	}
}

// ---------------------------------------------------------------------------
// The server process.

// server is one running `agentphone serve`.
type server struct {
	URL         string // http://127.0.0.1:PORT
	Key         string // the API key of the default account
	DatabaseURL string
	args        []string // extra arguments of serve

	cmd     *exec.Cmd
	out     *syncBuffer // stdout and stderr
	done    chan struct{}
	waitErr error // set before done is closed
}

// startServer starts the binary on a free loopback port with databaseURL, a
// fresh API key and extra arguments args of serve, and returns once GET
// /readyz answers 200. The process is killed at cleanup if the test did not
// stop it; its output is logged when the test failed.
func startServer(t *testing.T, databaseURL string, args ...string) *server {
	t.Helper()
	return startServerKey(t, databaseURL, "sk_live_e2e"+randomHex(t, 16), args...)
}

// restart starts the binary again on s's database with s's key and
// arguments, on another port; s must have exited.
func (s *server) restart(t *testing.T) *server {
	t.Helper()
	return startServerKey(t, s.DatabaseURL, s.Key, s.args...)
}

func startServerKey(t *testing.T, databaseURL, key string, args ...string) *server {
	t.Helper()
	var lastErr error
	// A port found free can be taken before the server binds it; try again
	// with another port when that happens.
	for attempt := 0; attempt < 3; attempt++ {
		s, err := tryStartServer(t, databaseURL, key, args)
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("start server: %v", lastErr)
	return nil
}

func tryStartServer(t *testing.T, databaseURL, key string, args []string) (*server, error) {
	addr := freeLoopbackAddr(t)
	s := &server{
		URL:         "http://" + addr,
		Key:         key,
		DatabaseURL: databaseURL,
		args:        args,
		out:         &syncBuffer{},
		done:        make(chan struct{}),
	}
	// SIP is off unless a test asks for it: servers run in parallel, and
	// the default SIP port is one port.
	base := []string{"serve", "--addr", addr, "--database-url", databaseURL, "--sip-addr="}
	s.cmd = exec.Command(binPath, append(base, args...)...)
	s.cmd.Env = append(cleanEnv(), "AGENTPHONE_API_KEY="+key)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("server output (%s), last %d lines:\n%s", s.URL, serverLogLines, lastLines(s.out.String(), serverLogLines))
		}
	})
	if err := s.waitReady(30 * time.Second); err != nil {
		return nil, fmt.Errorf("%w\nserver output:\n%s", err, s.out.String())
	}
	return s, nil
}

// waitReady polls GET /readyz with a growing backoff until it answers 200,
// the process exits or the deadline passes.
func (s *server) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	backoff := 5 * time.Millisecond
	var last string
	for {
		resp, err := client.Get(s.URL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET /readyz not 200 after %s (last: %s)", timeout, last)
		}
		timer := time.NewTimer(backoff)
		select {
		case <-s.done:
			timer.Stop()
			return fmt.Errorf("server exited before it was ready: %v", s.waitErr)
		case <-timer.C:
		}
		backoff = min(backoff*2, 200*time.Millisecond)
	}
}

// stop sends SIGTERM and fails the test unless the process exits with
// status 0 within 20 seconds.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("server still running 20s after SIGTERM")
	}
	if s.waitErr != nil {
		t.Fatalf("server exit after SIGTERM: %v, want status 0", s.waitErr)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("server exit status after SIGTERM = %d, want 0", code)
	}
}

// kill sends SIGKILL, as a crash or the OOM killer would, and waits for the
// process to exit.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("server still running 10s after SIGKILL")
	}
}

// get sends GET path with the bearer key (none when key is "") and returns
// the status and body.
func (s *server) get(t *testing.T, path, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post sends POST path with a JSON body and the bearer key.
func (s *server) post(t *testing.T, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cli runs the binary with args against databaseURL and returns its stdout
// and stderr.
func cli(t *testing.T, databaseURL string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(cleanEnv(), "AGENTPHONE_DATABASE_URL="+databaseURL)
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// cleanEnv is the test's environment without AGENTPHONE_* variables and
// providers' keys, so that a developer's own settings cannot leak into the
// processes under test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AGENTPHONE_") && !strings.HasPrefix(kv, "OPENAI_") && !strings.HasPrefix(kv, "ANTHROPIC_") &&
			!strings.HasPrefix(kv, "DEEPGRAM_") && !strings.HasPrefix(kv, "ELEVENLABS_") {
			env = append(env, kv)
		}
	}
	return env
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// serverLogLines is how much of a failed test's server output is shown.
const serverLogLines = 40

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a child
// process's stdout and stderr.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ---------------------------------------------------------------------------
// Node.js and the SDK.

// sdkDir holds package.json, package-lock.json and the SDK scripts.
func sdkDir() string { return filepath.Join(repoRoot, "e2e", "sdk") }

// minNodeMajor is the oldest Node.js the SDK checks run on (the machine's is 20).
const minNodeMajor = 20

var (
	nodeOnce sync.Once
	nodePath string
	nodeErr  error // why the SDK checks cannot run
)

// requireNode returns the node binary once the SDK is installed in
// e2e/sdk/node_modules (running `npm ci` when it is missing). Without a
// usable Node.js it skips the test, saying why — or fails it when CI is set.
func requireNode(t *testing.T) string {
	t.Helper()
	nodeOnce.Do(func() { nodePath, nodeErr = setupNode() })
	if nodeErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("SDK checks cannot run (CI requires them): %v", nodeErr)
		}
		t.Skipf("SDK checks skipped: %v", nodeErr)
	}
	return nodePath
}

func setupNode() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("node not found in PATH (install Node.js %d or newer)", minNodeMajor)
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v", node, err)
	}
	version := strings.TrimSpace(string(out))
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(version, "v"), ".", 2)[0])
	if err != nil || major < minNodeMajor {
		return "", fmt.Errorf("node %s is too old: need %d or newer", version, minNodeMajor)
	}
	want, err := packageVersion(filepath.Join(sdkDir(), "package.json"), "dependencies")
	if err != nil {
		return "", err
	}
	if got, err := packageVersion(filepath.Join(sdkDir(), "node_modules", "agentphone", "package.json"), ""); err == nil && got == want {
		return node, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("e2e/sdk/node_modules lacks agentphone %s and npm is not in PATH to install it (npm ci)", want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = sdkDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in e2e/sdk: %v\n%s", err, out)
	}
	return node, nil
}

// packageVersion reads a package.json: with field "dependencies" it returns
// the version required for agentphone, with "" the package's own version.
func packageVersion(path, field string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var pkg struct {
		Version      string            `json:"version"`
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if field == "dependencies" {
		v, ok := pkg.Dependencies["agentphone"]
		if !ok {
			return "", fmt.Errorf("%s: no agentphone dependency", path)
		}
		return v, nil
	}
	return pkg.Version, nil
}

// sdkSummary is the last line the SDK script prints on success.
var sdkSummary = regexp.MustCompile(`(?m)^e2e-sdk: (\d+) checks passed$`)

// TestSDK runs e2e/sdk/agents_numbers_webhooks.mjs — the official TypeScript
// SDK driving agents, numbers, webhooks and agent webhooks — against a fresh
// server on each backend, then stops the server with SIGTERM. At least 400
// checks must run (a script that silently stopped checking fails).
func TestSDK(t *testing.T) {
	t.Parallel()
	runSDKScript(t, "agents_numbers_webhooks.mjs", 400)
}

// TestSDKMessaging runs e2e/sdk/messaging.mjs — the official TypeScript SDK
// driving messages, conversations, number messages, agent conversations and
// contacts, with the sandbox inbound route standing in for a customer — as
// TestSDK does, with at least 600 checks.
func TestSDKMessaging(t *testing.T) {
	t.Parallel()
	runSDKScript(t, "messaging.mjs", 600)
}

// runSDKScript runs the SDK script e2e/sdk/<script> against a fresh server
// on each backend, requires its summary line with at least minChecks
// checks and nothing on stderr, then stops the server with SIGTERM.
func runSDKScript(t *testing.T, script string, minChecks int) {
	forEachBackend(t, func(t *testing.T, databaseURL string) {
		node := requireNode(t)
		// Hosted agents need a model: an OpenAI-protocol double stands in.
		llm := openaitest.NewServer()
		t.Cleanup(llm.Close)
		s := startServer(t, databaseURL, "--llm-base-url", llm.BaseURL())

		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, node, script)
		cmd.Dir = sdkDir()
		cmd.Env = append(cleanEnv(), "AGENTPHONE_BASE_URL="+s.URL, "AGENTPHONE_API_KEY="+s.Key)
		cmd.Stdout = &stdout
		cmd.Stderr = &stderr
		err := cmd.Run()
		for _, line := range strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n") {
			t.Log(line)
		}
		if err != nil {
			t.Fatalf("node %s: %v\n--- stderr ---\n%s", script, err, stderr.String())
		}
		m := sdkSummary.FindStringSubmatch(stdout.String())
		if m == nil {
			t.Fatalf("stdout has no %q line\n--- stderr ---\n%s", sdkSummary, stderr.String())
		}
		if n, _ := strconv.Atoi(m[1]); n < minChecks {
			t.Fatalf("only %d SDK checks ran, want at least %d", n, minChecks)
		}
		if stderr.Len() > 0 {
			t.Errorf("the SDK script succeeded but wrote to stderr:\n%s", stderr.String())
		}

		if code, body := s.get(t, "/healthz", ""); code != http.StatusOK {
			t.Errorf("GET /healthz = %d %s, want 200", code, body)
		}
		s.stop(t)
	})
}

// TestHostedNeedsModel: on a server without a language model, a hosted
// agent is refused with what to configure; a webhook agent is not.
func TestHostedNeedsModel(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, databaseURL string) {
		s := startServer(t, databaseURL)
		code, body := s.post(t, "/v1/agents", s.Key, `{"name": "H", "voiceMode": "hosted", "systemPrompt": "Help."}`)
		if code != http.StatusBadRequest || !strings.Contains(body, "OPENAI_API_KEY") || !strings.Contains(body, "ANTHROPIC_API_KEY") {
			t.Errorf("POST /v1/agents hosted without a model = %d %s, want 400 naming what to set", code, body)
		}
		if code, body := s.post(t, "/v1/agents", s.Key, `{"name": "W"}`); code != http.StatusOK {
			t.Errorf("POST /v1/agents webhook = %d %s", code, body)
		}
		if !strings.Contains(s.out.String(), "no language model is configured") {
			t.Errorf("the server did not say at start that hosted mode is off:\n%s", s.out.String())
		}
	})
}

// TestCLIKeys checks `keys create`, `keys list` and `keys revoke` against a
// running server: a created key is printed alone on stdout and works at
// once, a second one differs and works too, and a revoked key gets 401.
func TestCLIKeys(t *testing.T) {
	t.Parallel()
	keyLine := regexp.MustCompile(`^sk_live_[0-9A-Za-z]+\n$`)
	forEachBackend(t, func(t *testing.T, databaseURL string) {
		s := startServer(t, databaseURL)

		if code, body := s.get(t, "/v1/agents", ""); code != http.StatusUnauthorized {
			t.Errorf("GET /v1/agents without a key = %d %s, want 401", code, body)
		}
		// Something in the default account that acme must not see.
		if code, body := s.post(t, "/v1/agents", s.Key, `{"name": "Default Agent"}`); code != http.StatusOK {
			t.Fatalf("POST /v1/agents with the default key = %d %s", code, body)
		}

		create := func() string {
			t.Helper()
			out, stderr, err := cli(t, s.DatabaseURL, "keys", "create", "--account", "acme")
			if err != nil {
				t.Fatalf("keys create --account acme: %v\n%s", err, stderr)
			}
			if !keyLine.MatchString(out) {
				t.Fatalf("keys create stdout = %q, want the key alone matching %s", out, keyLine)
			}
			return strings.TrimSuffix(out, "\n")
		}
		key1 := create()
		key2 := create()
		if key1 == key2 {
			t.Fatalf("two keys create runs printed the same key %s", key1)
		}
		for i, key := range []string{key1, key2} {
			code, body := s.get(t, "/v1/agents", key)
			if code != http.StatusOK {
				t.Fatalf("GET /v1/agents with acme key %d = %d %s, want 200", i+1, code, body)
			}
			var list struct {
				Total *int `json:"total"`
			}
			if err := json.Unmarshal([]byte(body), &list); err != nil || list.Total == nil || *list.Total != 0 {
				t.Errorf("GET /v1/agents with acme key %d = %s, want acme's own empty list (total 0)", i+1, body)
			}
		}

		keys := listKeys(t, s.DatabaseURL, "acme")
		if len(keys) != 2 {
			t.Fatalf("keys list --account acme: %d keys, want 2: %+v", len(keys), keys)
		}
		id1 := keyIDFor(t, keys, key1)
		keyIDFor(t, keys, key2)

		if _, stderr, err := cli(t, s.DatabaseURL, "keys", "revoke", id1); err != nil {
			t.Fatalf("keys revoke %s: %v\n%s", id1, err, stderr)
		}
		if code, body := s.get(t, "/v1/agents", key1); code != http.StatusUnauthorized {
			t.Errorf("GET /v1/agents with the revoked key = %d %s, want 401", code, body)
		}
		if code, body := s.get(t, "/v1/agents", key2); code != http.StatusOK {
			t.Errorf("GET /v1/agents with the other acme key after revoking the first = %d %s, want 200", code, body)
		}
		if code, body := s.get(t, "/v1/agents", s.Key); code != http.StatusOK {
			t.Errorf("GET /v1/agents with the default key = %d %s, want 200", code, body)
		}
		for _, k := range listKeys(t, s.DatabaseURL, "acme") {
			if k.id == id1 && k.revoked == "-" {
				t.Errorf("keys list shows revoked key %s as not revoked: %+v", id1, k)
			}
		}
		if _, _, err := cli(t, s.DatabaseURL, "keys", "revoke", "key_doesNotExist0000000000"); err == nil {
			t.Errorf("keys revoke of an unknown id succeeded, want a non-zero exit")
		}
		s.stop(t)
	})
}

// keyRow is one row of `keys list`.
type keyRow struct {
	id, prefix, revoked string
}

// listKeys runs `keys list --account NAME` and parses its table (ID first,
// PREFIX third ending in "…", REVOKED last).
func listKeys(t *testing.T, databaseURL, account string) []keyRow {
	t.Helper()
	out, stderr, err := cli(t, databaseURL, "keys", "list", "--account", account)
	if err != nil {
		t.Fatalf("keys list --account %s: %v\n%s", account, err, stderr)
	}
	var rows []keyRow
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[0] == "ID" {
			continue
		}
		rows = append(rows, keyRow{id: f[0], prefix: strings.TrimSuffix(f[2], "…"), revoked: f[len(f)-1]})
	}
	return rows
}

// keyIDFor returns the id of the listed key whose prefix starts key.
func keyIDFor(t *testing.T, rows []keyRow, key string) string {
	t.Helper()
	var ids []string
	for _, r := range rows {
		if r.prefix != "" && strings.HasPrefix(key, r.prefix) {
			ids = append(ids, r.id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("keys list: %d rows match the prefix of %s…, want 1: %+v", len(ids), key[:12], rows)
	}
	return ids[0]
}

// TestVersion checks that `agentphone version` prints a version and exits 0.
func TestVersion(t *testing.T) {
	t.Parallel()
	out, stderr, err := cli(t, "sqlite:"+filepath.Join(t.TempDir(), "unused.db"), "version")
	if err != nil {
		t.Fatalf("version: %v\n%s", err, stderr)
	}
	if !regexp.MustCompile(`^agentphone \S+\n$`).MatchString(out) {
		t.Fatalf("version stdout = %q, want \"agentphone <version>\"", out)
	}
}
