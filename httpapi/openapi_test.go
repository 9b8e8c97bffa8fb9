package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/espeak"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Info    struct{ Version string }              `json:"info"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

func loadOpenAPI(t *testing.T, b []byte) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return doc
}

func routeServer() *Server {
	return New(Options{
		Accounts: &agentphone.AccountService{}, Agents: &agentphone.AgentService{},
		Numbers: &agentphone.NumberService{}, Webhooks: &agentphone.WebhookService{},
		Contacts: &agentphone.ContactService{}, Messages: &agentphone.MessageService{}, Voices: espeak.Catalog{},
		Usage: &agentphone.UsageService{}, Calls: &agentphone.CallService{},
		Version: "1.2.3",
	})
}

// TestOpenAPIMatchesRoutes keeps openapi.json true: every route registered on
// the mux is documented, every documented operation is registered, and the
// mux routes a request for each documented path to that very pattern.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	s := routeServer()
	doc := loadOpenAPI(t, s.openapi)
	if doc.OpenAPI != "3.1.0" || doc.Info.Version != "1.2.3" {
		t.Errorf("openapi %q version %q", doc.OpenAPI, doc.Info.Version)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(documented)
	registered := slices.Sorted(slices.Values(s.routes))
	if !slices.Equal(documented, registered) {
		for _, r := range registered {
			if !slices.Contains(documented, r) {
				t.Errorf("route %s is not in openapi.json", r)
			}
		}
		for _, d := range documented {
			if !slices.Contains(registered, d) {
				t.Errorf("openapi.json documents %s, which is not registered", d)
			}
		}
	}
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, op := range documented {
		method, path, _ := strings.Cut(op, " ")
		r := httptest.NewRequest(method, param.ReplaceAllString(path, "x_1"), nil)
		if _, pattern := s.mux.Handler(r); pattern != op {
			t.Errorf("%s %s is routed to %q", method, r.URL.Path, pattern)
		}
	}
}

// TestOpenAPIParameters checks that every path parameter of a documented
// path is declared by each of its operations.
func TestOpenAPIParameters(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Ref string `json:"$ref"`
			}
		}
		Components struct {
			Parameters map[string]struct{ Name, In string }
		}
	}
	if err := json.Unmarshal(openAPISource, &doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	for path, ops := range doc.Paths {
		for method, op := range ops {
			var inPath []string
			for _, p := range op.Parameters {
				c, ok := doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				if !ok {
					t.Errorf("%s %s: unknown parameter %s", method, path, p.Ref)
				}
				if c.In == "path" {
					inPath = append(inPath, c.Name)
				}
			}
			var want []string
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				want = append(want, m[1])
			}
			if !slices.Equal(inPath, want) {
				t.Errorf("%s %s: path parameters %v, want %v", method, path, inPath, want)
			}
		}
	}
}

// TestOpenAPIRefs checks that every $ref of the document resolves.
func TestOpenAPIRefs(t *testing.T) {
	t.Parallel()
	var root any
	if err := json.Unmarshal(openAPISource, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				var cur any = root
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := cur.(map[string]any)
					cur = m[part]
				}
				if cur == nil {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(root)
}
