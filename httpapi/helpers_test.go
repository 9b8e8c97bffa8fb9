package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/espeak"
	"github.com/agentphone/agentphone/httpapi"
	"github.com/agentphone/agentphone/sandbox"
	"github.com/agentphone/agentphone/sqlstore"
	"github.com/agentphone/agentphone/storetest"
	"github.com/agentphone/agentphone/webhook"
)

// The API tests run against real stores: every test runs once per backend
// of storetest.Backends (SQLite always, PostgreSQL when
// AGENTPHONE_TEST_POSTGRES_URL is set), each run on a fresh database.

// each runs fn as a parallel subtest per backend.
func each(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	t.Helper()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// env is one server over one fresh store, with an account and its key.
type env struct {
	t         testing.TB
	store     *sqlstore.Store
	accounts  *agentphone.AccountService
	srv       *httpapi.Server
	reg       *prometheus.Registry
	logs      *syncBuffer
	key       string // API key of the account "acme"
	accountID string
	calls     *agentphone.CallService
}

// envOptions adjusts an env before its server is built.
type envOptions struct {
	areaCodes map[string][]string             // sandbox pool; nil: the sandbox default
	voices    agentphone.VoiceCatalog         // Options.Voices; nil: espeak.Catalog
	ready     func(ctx context.Context) error // Options.Ready
	maxNums   int                             // NumberService.MaxNumbersPerAccount
	logTo     io.Writer                       // the JSON log; nil: env.logs
	// Calls.
	controller    agentphone.CallController // CallService.Controller; nil: none (no SIP trunk)
	maxCalls      int                       // CallService.MaxConcurrentCalls
	recordCalls   bool                      // CallService.RecordCalls
	recordingsDir string                    // Options.RecordingsDir
	publicURL     string                    // Options.PublicURL
	heartbeat     time.Duration             // Options.Heartbeat
	sayer         httpapi.CallSayer         // Options.CallSayer; nil: no conversation engine
}

func newEnv(t testing.TB, b storetest.Backend, opts ...func(*envOptions)) *env {
	t.Helper()
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	store := b.Open(t)
	e := &env{t: t, store: store, accounts: &agentphone.AccountService{Store: store}, logs: &syncBuffer{}}
	e.accountID, e.key = e.newAccount("acme")

	voices := o.voices
	if voices == nil {
		voices = espeak.Catalog{}
	}
	e.reg = prometheus.NewRegistry()
	var logTo io.Writer = e.logs
	if o.logTo != nil {
		logTo = o.logTo
	}
	logger := slog.New(httpapi.LogHandler(slog.NewJSONHandler(logTo, &slog.HandlerOptions{Level: slog.LevelDebug})))
	webhooks := &agentphone.WebhookService{Store: store, Poster: newPoster(t)}
	messages := &agentphone.MessageService{Store: store, Webhooks: webhooks, Logger: logger}
	// The sandbox carrier delivers texts between this server's numbers.
	messages.Senders = map[string]agentphone.MessageSender{"sandbox": &sandbox.Carrier{Deliver: messages.ReceiveAt}}
	e.calls = &agentphone.CallService{
		Store: store, Webhooks: webhooks, Controller: o.controller, Voices: espeak.Catalog{}, Logger: logger,
		MaxConcurrentCalls: o.maxCalls, RecordCalls: o.recordCalls,
	}
	opt := httpapi.Options{
		Accounts: e.accounts,
		Agents:   &agentphone.AgentService{Store: store, Voices: espeak.Catalog{}},
		Numbers: &agentphone.NumberService{
			Store:                store,
			Provider:             sandbox.New(sandbox.Options{AreaCodes: o.areaCodes, Held: store.HeldPhoneNumbers}),
			Logger:               logger,
			MaxNumbersPerAccount: o.maxNums,
		},
		Webhooks:   webhooks,
		Contacts:   &agentphone.ContactService{Store: store},
		Messages:   messages,
		Voices:     voices,
		Usage:      &agentphone.UsageService{Store: store, MaxNumbersPerAccount: o.maxNums},
		Calls:      e.calls,
		Ready:      o.ready,
		Logger:     logger,
		Registerer: e.reg,
		Gatherer:   e.reg,
		Version:    "test",

		PublicURL:     o.publicURL,
		RecordingsDir: o.recordingsDir,
		Heartbeat:     o.heartbeat,
		CallSayer:     o.sayer,
	}
	e.srv = httpapi.New(opt)
	return e
}

// newPoster returns the real poster, over a client that may reach the
// tests' local receivers.
func newPoster(t testing.TB) *webhook.Poster {
	client := webhook.NewHTTPClient(webhook.ClientOptions{})
	t.Cleanup(client.CloseIdleConnections)
	return &webhook.Poster{Sender: &webhook.Sender{Client: client, UserAgent: "agentphone/test"}}
}

// newAccount creates a top-level account and a key for it.
func (e *env) newAccount(name string) (id, key string) {
	e.t.Helper()
	ctx := context.Background()
	acct, _, err := e.accounts.EnsureAccount(ctx, name)
	if err != nil {
		e.t.Fatalf("account %s: %v", name, err)
	}
	key, _, err = e.accounts.CreateKey(ctx, acct.ID, "test")
	if err != nil {
		e.t.Fatalf("key for %s: %v", name, err)
	}
	return acct.ID, key
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // guarded by mu
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

// request options.
type reqOpt func(r *http.Request)

func withKey(key string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}
func noKey() reqOpt            { return func(r *http.Request) { r.Header.Del("Authorization") } }
func withSub(id string) reqOpt { return func(r *http.Request) { r.Header.Set("X-Sub-Account-Id", id) } }
func withHeader(k, v string) reqOpt {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// raw marks a request body sent as is.
type raw string

// resp is a recorded response.
type resp struct {
	t      testing.TB
	method string
	path   string
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request through the handler. body is nil (no body), a raw
// string, or a value encoded as JSON.
func (e *env) do(method, path string, body any, opts ...reqOpt) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case raw:
		rd = strings.NewReader(string(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	r := httptest.NewRequest(method, path, rd)
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", "Bearer "+e.key)
	for _, o := range opts {
		o(r)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return &resp{t: e.t, method: method, path: path, Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
}

// want fails the test unless the status is status.
func (r *resp) want(status int) *resp {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("%s %s: status %d, want %d; body %s", r.method, r.path, r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		r.t.Fatalf("%s %s: Content-Type %q", r.method, r.path, ct)
	}
	return r
}

// obj decodes the body as a JSON object.
func (r *resp) obj() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil || m == nil {
		r.t.Fatalf("%s %s: body is not a JSON object: %s", r.method, r.path, r.Body)
	}
	return m
}

// wantDetail checks a non-422 error: status and {"detail": detail}.
func (r *resp) wantDetail(status int, detail string) {
	r.t.Helper()
	r.want(status)
	want := map[string]any{"detail": detail}
	if got := r.obj(); !reflect.DeepEqual(got, want) {
		r.t.Fatalf("%s %s: body %s, want %v", r.method, r.path, r.Body, want)
	}
}

// fieldErr is one expected 422 item: its loc and type.
type fieldErr struct {
	loc string // JSON of the loc, e.g. ["body","name"]
	typ string
}

// errs returns the (loc, type) pairs of a 422, failing unless the status is
// 422 and every item has exactly loc, msg and type.
func (r *resp) errs() []fieldErr {
	r.t.Helper()
	r.want(http.StatusUnprocessableEntity)
	var body struct {
		Detail []map[string]json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Detail) == 0 {
		r.t.Fatalf("%s %s: not a validation error: %s", r.method, r.path, r.Body)
	}
	out := make([]fieldErr, len(body.Detail))
	for i, d := range body.Detail {
		var msg, typ string
		if len(d) != 3 || json.Unmarshal(d["msg"], &msg) != nil || json.Unmarshal(d["type"], &typ) != nil || msg == "" {
			r.t.Fatalf("%s %s: bad validation item %s", r.method, r.path, r.Body)
		}
		out[i] = fieldErr{loc: string(d["loc"]), typ: typ}
	}
	return out
}

// wantErrs checks that a 422 lists exactly the given errors, in any order.
func (r *resp) wantErrs(want ...fieldErr) {
	r.t.Helper()
	got := r.errs()
	key := func(fs []fieldErr) []string {
		out := make([]string, len(fs))
		for i, f := range fs {
			out[i] = f.loc + " " + f.typ
		}
		sort.Strings(out)
		return out
	}
	if g, w := key(got), key(want); !reflect.DeepEqual(g, w) {
		r.t.Fatalf("%s %s: validation errors\n got %q\nwant %q\nbody %s", r.method, r.path, g, w, r.Body)
	}
}

// fe builds an expected error from loc elements.
func fe(typ string, loc ...any) fieldErr {
	b, _ := json.Marshal(append([]any{"body"}, loc...))
	return fieldErr{loc: string(b), typ: typ}
}

// qe builds an expected query error.
func qe(typ, name string) fieldErr {
	b, _ := json.Marshal([]any{"query", name})
	return fieldErr{loc: string(b), typ: typ}
}

var (
	timeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`)
	idRE   = func(prefix string) *regexp.Regexp { return regexp.MustCompile(`^` + prefix + `[0-9A-Za-z]{22}$`) }
)

// wantObject compares a decoded JSON object with want, exactly: same keys,
// same values. Values of want that are *regexp.Regexp match strings; want
// is normalised through JSON so that numbers compare as float64.
func wantObject(t testing.TB, got map[string]any, want map[string]any) {
	t.Helper()
	var wk, gk []string
	for k := range want {
		wk = append(wk, k)
	}
	for k := range got {
		gk = append(gk, k)
	}
	sort.Strings(wk)
	sort.Strings(gk)
	if !reflect.DeepEqual(wk, gk) {
		t.Fatalf("keys\n got %v\nwant %v", gk, wk)
	}
	for k, w := range want {
		g := got[k]
		if re, ok := w.(*regexp.Regexp); ok {
			if s, ok := g.(string); !ok || !re.MatchString(s) {
				t.Errorf("%s = %#v, want a match of %s", k, g, re)
			}
			continue
		}
		var norm any
		b, _ := json.Marshal(w)
		_ = json.Unmarshal(b, &norm)
		if !reflect.DeepEqual(g, norm) {
			gb, _ := json.Marshal(g)
			t.Errorf("%s = %s, want %s", k, gb, b)
		}
	}
}

// createAgent creates an agent and returns its JSON.
func (e *env) createAgent(body map[string]any, opts ...reqOpt) map[string]any {
	e.t.Helper()
	return e.do("POST", "/v1/agents", body, opts...).want(200).obj()
}

// createNumber provisions a number and returns its JSON.
func (e *env) createNumber(body any, opts ...reqOpt) map[string]any {
	e.t.Helper()
	return e.do("POST", "/v1/numbers", body, opts...).want(200).obj()
}

// createSub creates a sub-account of the key's account and returns its id.
func (e *env) createSub(name string, opts ...reqOpt) string {
	e.t.Helper()
	return e.do("POST", "/v1/sub-accounts", map[string]any{"name": name}, opts...).want(200).obj()["id"].(string)
}

// without returns a copy of m without the given keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// with returns a copy of m with the given key/value pairs set.
func with(m map[string]any, kv ...any) map[string]any {
	out := without(m)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// schema is a component schema of the served OpenAPI document.
type schema struct {
	Properties map[string]json.RawMessage
	Required   []string
}

// schemas returns the component schemas of the document e serves.
func (e *env) schemas() map[string]schema {
	e.t.Helper()
	var doc struct {
		Components struct{ Schemas map[string]schema }
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", nil, noKey()).want(200).Body, &doc); err != nil {
		e.t.Fatal(err)
	}
	return doc.Components.Schemas
}

// checkSchema fails t unless schema name of schemas documents exactly the
// keys of obj and the optional ones, the keys of obj other than the
// optional ones required.
func checkSchema(t testing.TB, schemas map[string]schema, name string, obj map[string]any, optional ...string) {
	t.Helper()
	s, ok := schemas[name]
	if !ok {
		t.Fatalf("schema %s missing", name)
	}
	emitted, documented := sortedKeys(obj), sortedKeys(s.Properties)
	var wantReq []string
	for _, k := range emitted {
		if !slices.Contains(optional, k) {
			wantReq = append(wantReq, k)
		}
	}
	wantDoc := slices.Sorted(slices.Values(append(slices.Clone(wantReq), optional...)))
	req := slices.Sorted(slices.Values(s.Required))
	if !slices.Equal(documented, wantDoc) || !slices.Equal(req, wantReq) {
		t.Errorf("%s: emitted %v (optional %v), documented %v, required %v", name, emitted, optional, documented, req)
	}
}
