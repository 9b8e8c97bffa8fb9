package hosted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
)

// toolRequest is what a tool endpoint received.
type toolRequest struct {
	Method string
	URL    string
	Header http.Header
	Body   string
}

// toolServer is a tool endpoint answering with answer; it records every
// request it gets.
type toolServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []toolRequest
}

func newToolServer(t testing.TB, answer http.HandlerFunc) *toolServer {
	t.Helper()
	ts := &toolServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ts.mu.Lock()
		ts.reqs = append(ts.reqs, toolRequest{r.Method, r.URL.String(), r.Header.Clone(), string(b)})
		ts.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *toolServer) requests() []toolRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]toolRequest(nil), ts.reqs...)
}

func answerJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
}

func toolPtr[T any](v T) *T { return &v }

// checkErrorResult asserts out is an error outcome whose Result carries its
// Error.
func checkErrorResult(t *testing.T, out ToolOutcome) {
	t.Helper()
	var r map[string]string
	if out.OK || out.Error == "" {
		t.Fatalf("outcome OK=%v Error=%q, want an error", out.OK, out.Error)
	}
	if err := json.Unmarshal([]byte(out.Result), &r); err != nil || len(r) != 1 || r["error"] != out.Error {
		t.Fatalf("Result = %s, want {\"error\": %q}", out.Result, out.Error)
	}
}

func TestCustomTools_POST(t *testing.T) {
	t.Parallel()
	ts := newToolServer(t, answerJSON(`{ "temp": 21,
		"unit": "C" }`))
	tool := agentphone.CustomTool{
		Name: "weather", URL: ts.URL + "/weather", Method: "POST",
		Headers: map[string]string{
			"Authorization":        "Bearer s3cret",
			"x-agentphone-call-id": "spoofed",
			"content-type":         "text/plain",
		},
	}
	var tools CustomTools
	args := `{"city": "Paris", "days": [1, 2]}`
	out := tools.Call(context.Background(), tool, "call_1", "agent_1", json.RawMessage("  "+args+"\n"))
	if !out.OK || out.Status != 200 || out.Error != "" || out.Result != `{"temp":21,"unit":"C"}` {
		t.Fatalf("outcome = %+v", out)
	}
	reqs := ts.requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.URL != "/weather" || r.Body != args {
		t.Errorf("request %s %s body %q, want POST /weather %q", r.Method, r.URL, r.Body, args)
	}
	for k, want := range map[string]string{
		"Authorization": "Bearer s3cret", "X-Agentphone-Call-Id": "call_1", "X-Agentphone-Agent-Id": "agent_1",
		"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "agentphone",
	} {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}

	// The log: configured headers redacted, ours visible.
	wantLog := ToolRequestLog{
		Method: "POST", URL: ts.URL + "/weather",
		Headers: map[string]string{
			"Authorization": "[redacted]", "X-Agentphone-Call-Id": "call_1", "X-Agentphone-Agent-Id": "agent_1",
			"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "agentphone",
		},
		Arguments: json.RawMessage(`{"city":"Paris","days":[1,2]}`),
	}
	if !reflect.DeepEqual(out.Request, wantLog) {
		t.Errorf("request log =\n%+v\nwant\n%+v", out.Request, wantLog)
	}
	if b, _ := json.Marshal(out.Request); strings.Contains(string(b), "s3cret") {
		t.Errorf("the log holds the secret: %s", b)
	}

	// No arguments: an empty object.
	out = tools.Call(context.Background(), tool, "call_1", "agent_1", nil)
	if reqs := ts.requests(); !out.OK || len(reqs) != 2 || reqs[1].Body != "{}" {
		t.Fatalf("empty args: outcome %+v, requests %+v", out, reqs)
	}
}

func TestCustomTools_GET(t *testing.T) {
	t.Parallel()
	ts := newToolServer(t, answerJSON(`[1, 2]`))
	tool := agentphone.CustomTool{
		Name: "find", URL: ts.URL + "/find?key=abc&lang=en", Method: "GET",
		Headers: map[string]string{"X-Api-Key": "k1"},
	}
	var tools CustomTools
	args := `{"s": "a b&c=d", "n": 1.50, "i": 3, "t": true, "f": false, "arr": ["x", 2, null, [1, 2], {"k": 1}],
		"obj": {"a": [1, 2], "b": null}, "nul": null, "empty": [], "ü": "é"}`
	out := tools.Call(context.Background(), tool, "call_2", "agent_2", json.RawMessage(args))
	if !out.OK || out.Result != `[1,2]` {
		t.Fatalf("outcome = %+v", out)
	}
	reqs := ts.requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "GET" || r.Body != "" || r.Header.Get("Content-Type") != "" {
		t.Errorf("request %s body %q content type %q, want a GET without body", r.Method, r.Body, r.Header.Get("Content-Type"))
	}
	if !strings.HasPrefix(r.URL, "/find?key=abc&lang=en&") {
		t.Errorf("URL %s does not keep its own query first", r.URL)
	}
	if r.Header.Get("X-Api-Key") != "k1" || r.Header.Get("X-Agentphone-Call-Id") != "call_2" || r.Header.Get("X-Agentphone-Agent-Id") != "agent_2" {
		t.Errorf("headers = %v", r.Header)
	}
	got, err := urlQuery(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"key": {"abc"}, "lang": {"en"}, "s": {"a b&c=d"}, "n": {"1.50"}, "i": {"3"}, "t": {"true"}, "f": {"false"},
		"arr": {"x", "2", "[1,2]", `{"k":1}`}, "obj": {`{"a":[1,2],"b":null}`}, "ü": {"é"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("query =\n%v\nwant\n%v", got, want)
	}
	if out.Request.URL != ts.URL+r.URL || out.Request.Headers["X-Api-Key"] != "[redacted]" {
		t.Errorf("log URL %s headers %v; server saw %s", out.Request.URL, out.Request.Headers, r.URL)
	}

	// No arguments: the URL as configured.
	tools.Call(context.Background(), tool, "c", "a", json.RawMessage(`{}`))
	if reqs := ts.requests(); len(reqs) != 2 || reqs[1].URL != "/find?key=abc&lang=en" {
		t.Errorf("no-argument GET went to %+v", reqs)
	}
}

func urlQuery(u string) (map[string][]string, error) {
	req, err := http.NewRequest("GET", "http://x"+u, nil)
	if err != nil {
		return nil, err
	}
	return req.URL.Query(), nil
}

const citySchema = `{"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
	"required": ["city"]}`

func TestCustomTools_Schema(t *testing.T) {
	t.Parallel()
	ts := newToolServer(t, answerJSON(`{"ok":1}`))
	tool := agentphone.CustomTool{Name: "w", URL: ts.URL, Parameters: json.RawMessage(citySchema)}
	var tools CustomTools
	if out := tools.Call(context.Background(), tool, "c", "a", json.RawMessage(`{"city":"Oslo","days":3}`)); !out.OK {
		t.Fatalf("valid args refused: %+v", out)
	}
	for _, tt := range []struct{ args, want string }{
		{`{}`, "missing property 'city'"},
		{`{"days": 2}`, "missing property 'city'"},
		{`{"city": 5}`, "at '/city': got number, want string"},
		{`{"city": "Oslo", "days": "three"}`, "at '/days': got string, want integer"},
		{`{"city": "Oslo", "days": 0}`, "at '/days'"},
		{`{"city": 1, "days": 1.5}`, "'/city'"},
	} {
		out := tools.Call(context.Background(), tool, "c", "a", json.RawMessage(tt.args))
		checkErrorResult(t, out)
		if !strings.HasPrefix(out.Error, "arguments do not match the tool's parameters: ") || !strings.Contains(out.Error, tt.want) {
			t.Errorf("%s: error %q, want it to name %q", tt.args, out.Error, tt.want)
		}
		if len(out.Error) > 400 || out.Status != 0 || out.Request.Headers != nil {
			t.Errorf("%s: outcome %+v", tt.args, out)
		}
	}
	if n := len(ts.requests()); n != 1 {
		t.Fatalf("server saw %d requests, want only the valid one", n)
	}
}

func TestCustomTools_SchemaErrorIsShort(t *testing.T) {
	t.Parallel()
	ts := newToolServer(t, answerJSON(`{}`))
	props := map[string]any{}
	var required []string
	args := map[string]any{}
	for i := range 60 {
		name := fmt.Sprintf("field_with_a_long_name_%d", i)
		props[name] = map[string]any{"type": "integer"}
		required = append(required, name+"_x")
		args[name] = "not a number"
	}
	schema, _ := json.Marshal(map[string]any{"type": "object", "properties": props, "required": required})
	a, _ := json.Marshal(args)
	var tools CustomTools
	out := tools.Call(context.Background(), agentphone.CustomTool{URL: ts.URL, Parameters: schema}, "c", "a", a)
	checkErrorResult(t, out)
	if n := len([]rune(out.Error)); n > 360 || !strings.Contains(out.Error, "field_with_a_long_name_") {
		t.Fatalf("error of %d characters: %q", n, out.Error)
	}
}

func TestCustomTools_BadArguments(t *testing.T) {
	t.Parallel()
	ts := newToolServer(t, answerJSON(`{}`))
	tool := agentphone.CustomTool{URL: ts.URL}
	var tools CustomTools
	for args, want := range map[string]string{
		`{"city": `:       "unexpected end of JSON input",
		`not json`:        "invalid character",
		`{"a":1} {}`:      "invalid character",
		`[1, 2]`:          "got an array",
		`"Paris"`:         "got a string",
		`null`:            "got null",
		`42`:              "got a number",
		`true`:            "got a boolean",
		"{\"a\":\"\xff\"": "unexpected end",
	} {
		out := tools.Call(context.Background(), tool, "c", "a", json.RawMessage(args))
		checkErrorResult(t, out)
		if !strings.HasPrefix(out.Error, "arguments are not a JSON object: ") || !strings.Contains(out.Error, want) {
			t.Errorf("%q: error %q, want %q", args, out.Error, want)
		}
		if !json.Valid(out.Request.Arguments) {
			t.Errorf("%q: logged arguments %q are not JSON", args, out.Request.Arguments)
		}
	}
	if n := len(ts.requests()); n != 0 {
		t.Fatalf("server saw %d requests, want 0", n)
	}
}

func TestCustomTools_Answers(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300)
	tests := []struct {
		name      string
		status    int
		body      string
		max       int
		ok        bool
		result    string // when ok
		errPrefix string // when not
	}{
		{"JSON", 200, "{\n  \"a\": [1, 2]\n}\n", 0, true, `{"a":[1,2]}`, ""},
		{"JSONString", 201, `"done"`, 0, true, `"done"`, ""},
		{"Empty200", 200, "", 0, true, `{"ok":true}`, ""},
		{"NoContent", 204, "", 0, true, `{"ok":true}`, ""},
		{"Server500", 500, "upstream\n down", 0, false, "", "the tool answered HTTP 500: upstream down"},
		{"Server503Empty", 503, "", 0, false, "", "the tool answered HTTP 503"},
		{"Server500Long", 500, long, 0, false, "", "the tool answered HTTP 500: " + long[:200] + "…"},
		{"NotFoundJSON", 404, `{"error":"no"}`, 0, false, "", `the tool answered HTTP 404: {"error":"no"}`},
		{"NotJSON", 200, "<html>" + long, 0, false, "", "the tool answered with something that is not JSON: <html>" + long[:94] + "…"},
		{"AtLimit", 200, `"` + strings.Repeat("y", 98) + `"`, 100, true, `"` + strings.Repeat("y", 98) + `"`, ""},
		{"TooLarge", 200, `"` + strings.Repeat("y", 99) + `"`, 100, false, "", "answer too large"},
		{"TooLargeDefault", 200, `"` + strings.Repeat("y", 64<<10) + `"`, 0, false, "", "answer too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			tools := CustomTools{MaxResponseBytes: tt.max}
			out := tools.Call(context.Background(), agentphone.CustomTool{URL: ts.URL}, "c", "a", nil)
			if out.Status != tt.status {
				t.Errorf("Status = %d, want %d", out.Status, tt.status)
			}
			if tt.ok {
				if !out.OK || out.Error != "" || out.Result != tt.result {
					t.Fatalf("outcome = %+v, want OK with %s", out, tt.result)
				}
				return
			}
			checkErrorResult(t, out)
			if !strings.HasPrefix(out.Error, tt.errPrefix) {
				t.Fatalf("error %q, want prefix %q", out.Error, tt.errPrefix)
			}
		})
	}
}

func TestCustomTools_Timeout(t *testing.T) {
	t.Parallel()
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	var tools CustomTools
	out := tools.Call(context.Background(), agentphone.CustomTool{URL: ts.URL, TimeoutMs: toolPtr(1000)}, "c", "a", nil)
	checkErrorResult(t, out)
	if out.Error != "the tool did not answer within 1s" || out.Status != 0 {
		t.Fatalf("outcome = %+v", out)
	}
	if out.Duration < time.Second || out.Duration > 5*time.Second {
		t.Fatalf("Duration = %v, want about 1s", out.Duration)
	}
}

// A body that stops coming in time is a time-out too.
func TestCustomTools_TimeoutInBody(t *testing.T) {
	t.Parallel()
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"partial":`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	var tools CustomTools
	out := tools.Call(context.Background(), agentphone.CustomTool{URL: ts.URL, TimeoutMs: toolPtr(1500)}, "c", "a", nil)
	checkErrorResult(t, out)
	if out.Error != "the tool did not answer within 1.5s" || out.Status != 200 {
		t.Fatalf("outcome = %+v", out)
	}
}

// The call's own context ending (the caller hung up) is not a time-out.
func TestCustomTools_Canceled(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	var tools CustomTools
	out := tools.Call(ctx, agentphone.CustomTool{URL: ts.URL}, "c", "a", nil)
	checkErrorResult(t, out)
	if !strings.HasPrefix(out.Error, "the tool call was canceled") {
		t.Fatalf("error %q", out.Error)
	}
}

func TestCustomTools_ConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var tools CustomTools
	out := tools.Call(context.Background(), agentphone.CustomTool{URL: "http://" + addr + "/t"}, "c", "a", nil)
	checkErrorResult(t, out)
	if out.Error != "could not connect to the tool at "+addr+": connection refused" || out.Status != 0 {
		t.Fatalf("outcome = %+v", out)
	}
}

func TestCustomTools_DNS(t *testing.T) {
	t.Parallel()
	// A resolver that cannot reach any DNS server: hermetic.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Resolver: &net.Resolver{PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			return nil, errors.New("no DNS in tests")
		}}}).DialContext
	tools := CustomTools{Client: &http.Client{Transport: tr}}
	out := tools.Call(context.Background(), agentphone.CustomTool{URL: "https://tool.example.com/t"}, "c", "a", nil)
	checkErrorResult(t, out)
	if !strings.HasPrefix(out.Error, "could not resolve the tool's host tool.example.com") {
		t.Fatalf("error %q", out.Error)
	}
}

func TestCustomTools_Redirects(t *testing.T) {
	t.Parallel()
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusTemporaryRedirect)
			return
		}
		io.WriteString(w, `{"done":true}`)
	})
	var tools CustomTools
	out := tools.Call(context.Background(), agentphone.CustomTool{URL: ts.URL + "/r/3"}, "c", "a", json.RawMessage(`{"a":1}`))
	reqs := ts.requests()
	if !out.OK || out.Result != `{"done":true}` || len(reqs) != 4 || reqs[3].Body != `{"a":1}` {
		t.Fatalf("3 redirects: outcome %+v, requests %+v", out, reqs)
	}
	out = tools.Call(context.Background(), agentphone.CustomTool{URL: ts.URL + "/r/4"}, "c", "a", nil)
	checkErrorResult(t, out)
	if !strings.Contains(out.Error, "stopped after 3 redirects") {
		t.Fatalf("4 redirects: error %q", out.Error)
	}
}

// A schema with a remote $ref is refused without fetching it, and the tool is
// not called.
func TestCustomTools_RemoteRefSchema(t *testing.T) {
	t.Parallel()
	schemas := newToolServer(t, answerJSON(`{"type":"object"}`))
	ts := newToolServer(t, answerJSON(`{}`))
	var tools CustomTools
	for _, params := range []string{
		`{"$ref": "` + schemas.URL + `/s.json"}`,
		`{"type": "object", "properties": {"a": {"$ref": "` + schemas.URL + `/a.json"}}}`,
		`{"$schema": "` + schemas.URL + `/meta"}`,
	} {
		out := tools.Call(context.Background(), agentphone.CustomTool{URL: ts.URL, Parameters: json.RawMessage(params)}, "c", "a", json.RawMessage(`{"a":1}`))
		checkErrorResult(t, out)
		if !strings.HasPrefix(out.Error, "cannot check the arguments: ") || !strings.Contains(out.Error, "external schema") {
			t.Errorf("%s: error %q", params, out.Error)
		}
	}
	if n, m := len(schemas.requests()), len(ts.requests()); n != 0 || m != 0 {
		t.Fatalf("schema server saw %d requests, tool %d; want 0", n, m)
	}
}

func TestCustomTools_Concurrent(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, `{"ok":1}`)
	}))
	defer ts.Close()
	tool := agentphone.CustomTool{URL: ts.URL, Parameters: json.RawMessage(citySchema)}
	var tools CustomTools
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			args := `{"city":"Rome"}`
			if i%2 == 1 {
				args = `{"city":1}`
			}
			out := tools.Call(context.Background(), tool, "c", "a", json.RawMessage(args))
			if out.OK != (i%2 == 0) {
				t.Errorf("call %d: %+v", i, out)
			}
		})
	}
	wg.Wait()
	if n := hits.Load(); n != 8 {
		t.Fatalf("server saw %d requests, want 8", n)
	}
}

var fuzzSchemas = []string{
	"",
	`null`,
	citySchema,
	`{"type":"object","properties":{"q":{"type":"string","pattern":"^[a-z]+$","maxLength":5}},"additionalProperties":false}`,
	`{"properties":{"n":{"type":"number","multipleOf":0.1},"l":{"type":"array","items":{"type":"integer"},"uniqueItems":true}}}`,
	`{"$ref":"#"}`,
	`{"$defs":{"x":{"$ref":"#/$defs/x"}},"properties":{"a":{"$ref":"#/$defs/x"}}}`,
	`{"type":5}`,
	`{"$ref":"https://schemas.example.com/s.json"}`,
	`{"oneOf":[{"required":["a"]},{"required":["b"]}],"dependentRequired":{"a":["c"]}}`,
}

func FuzzCustomToolArgs(f *testing.F) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, `{"ok":1}`)
	}))
	defer ts.Close()
	for _, s := range []string{``, `{}`, `{"city":"Oslo","days":2}`, `{"city":1}`, `{"q":"abc"}`, `{"n":0.3,"l":[1,1]}`,
		`{"a":1,"b":2}`, `[1]`, `null`, `{"a":`, `{"x":1e400}`, "{\"\xff\":1}", `{"a":{"b":[null,{"c":true}]}}`} {
		for i := range fuzzSchemas {
			f.Add([]byte(s), uint8(i))
		}
	}
	var tools CustomTools
	f.Fuzz(func(t *testing.T, args []byte, schema uint8) {
		tool := agentphone.CustomTool{URL: ts.URL, Method: "GET", Parameters: json.RawMessage(fuzzSchemas[int(schema)%len(fuzzSchemas)])}
		if schema&0x80 != 0 {
			tool.Method = "POST"
		}
		before := hits.Load()
		out := tools.Call(context.Background(), tool, "c", "a", args)
		if !json.Valid([]byte(out.Result)) {
			t.Fatalf("Result %q is not JSON", out.Result)
		}
		if len(out.Request.Arguments) > 0 && !json.Valid(out.Request.Arguments) {
			t.Fatalf("logged arguments %q are not JSON", out.Request.Arguments)
		}
		if out.OK != (out.Error == "") {
			t.Fatalf("OK %v with error %q", out.OK, out.Error)
		}
		sent := hits.Load() > before
		if out.OK && (!sent || out.Result != `{"ok":1}`) {
			t.Fatalf("OK without the tool's answer: %+v", out)
		}
		if sent && out.Status != 200 {
			t.Fatalf("status %d", out.Status)
		}
	})
}
