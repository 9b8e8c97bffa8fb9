// Package httpapi serves the AgentPhone REST API (spec: shared/spec/API.md)
// over the domain services of package agentphone.
//
// It owns everything that is HTTP and nothing else: routing on a private
// net/http ServeMux with method patterns, bearer authentication and the
// X-Sub-Account-Id header, decoding JSON bodies into the domain's Opt inputs
// with FastAPI/Pydantic-v2 style 422 errors, the translation of domain errors
// into status codes (done once, in error.go), the response shapes of the spec,
// request ids, access logs, Prometheus metrics, health endpoints and the
// OpenAPI document. Validation of meaning (enums, ranges, required fields,
// cross-field rules) stays in the domain; this package only checks JSON types.
//
// Files follow the spec's resource groups: agent.go, number.go, webhook.go,
// delivery.go (the webhook delivery log and test deliveries),
// subaccount.go, voice.go; the plumbing is in server.go (routes), middleware.go
// (request ids, panics, access log), auth.go, decode.go (bodies), query.go
// (query strings), error.go,
// json.go (shared response shapes), metrics.go, log.go and health.go
// (health, metrics and the embedded openapi.json).
package httpapi
