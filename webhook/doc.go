// Package webhook delivers events to the webhooks developers configure:
// it signs requests (sign.go), sends them over an HTTP client that refuses
// redirects and, on request, private destinations (client.go), and decides
// what is retried and when (retry.go).
//
// Receivers verify deliveries with Verify, which this package exports for
// Go programs; the algorithm is in spec §15.9 and in the README.
//
// The outbox (outbox.go) attempts the deliveries queued in the store's
// delivery log in the background, on this schedule; the voice engine's
// synchronous turns build on the same pieces.
package webhook
