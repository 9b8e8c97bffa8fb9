package httpapi

import (
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
)

// statusJSON is the body of the health endpoints.
type statusJSON struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// healthz is the liveness probe: the process serves HTTP.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, statusJSON{Status: "ok"})
}

// readyz is the readiness probe: 200 when Options.Ready passes, else 503
// with its reason.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			s.logger.LogAttrs(r.Context(), slog.LevelWarn, "not ready", slog.String("err", err.Error()))
			s.writeJSON(w, r, http.StatusServiceUnavailable, statusJSON{Status: "unavailable", Detail: err.Error()})
			return
		}
	}
	s.writeJSON(w, r, http.StatusOK, statusJSON{Status: "ok"})
}

//go:embed openapi.json
var openAPISource []byte

// openAPIDocument returns the embedded OpenAPI document with info.version
// set to version (kept as is when version is empty).
func openAPIDocument(version string) []byte {
	if version == "" {
		return openAPISource
	}
	var doc map[string]any
	if err := json.Unmarshal(openAPISource, &doc); err != nil {
		panic("httpapi: openapi.json: " + err.Error()) // embedded and tested
	}
	if info, ok := doc["info"].(map[string]any); ok {
		info["version"] = version
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("httpapi: openapi.json: " + err.Error())
	}
	return b
}

// openAPI serves the OpenAPI 3.1 description of this server.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h[hdrContentType] = jsonContentType
	h[hdrContentLength] = []string{strconv.Itoa(len(s.openapi))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(s.openapi)
}
