package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Request headers of every delivery (spec §15.2).
const (
	HeaderSignature = "X-Webhook-Signature"
	HeaderTimestamp = "X-Webhook-Timestamp"
	HeaderID        = "X-Webhook-ID"
	HeaderEvent     = "X-Webhook-Event"
)

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock before Verify rejects it as a replay.
const DefaultTolerance = 5 * time.Minute

// signaturePrefix starts the value of X-Webhook-Signature.
const signaturePrefix = "sha256="

// Sign returns the X-Webhook-Signature value for body sent at timestamp
// (Unix seconds) with secret: "sha256=" and the lowercase hex HMAC-SHA256,
// keyed with the whole secret string, of "{timestamp}.{body}".
func Sign(secret string, timestamp int64, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret string, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors returned by Verify.
var (
	ErrMissingHeader     = errors.New("webhook: missing signature or timestamp header")
	ErrBadTimestamp      = errors.New("webhook: timestamp is not Unix seconds")
	ErrTimestampTooOld   = errors.New("webhook: timestamp outside the tolerance (replay?)")
	ErrSignatureMismatch = errors.New("webhook: signature does not match")
)

// Verify checks a delivery the way receivers should: the signature in
// header h must be the HMAC of the raw body (before any JSON parsing) with
// secret, compared in constant time, and the timestamp must be within
// DefaultTolerance of now. It returns nil for a genuine, fresh delivery.
//
//	body, _ := io.ReadAll(r.Body)
//	if err := webhook.Verify(secret, r.Header, body, time.Now()); err != nil {
//		http.Error(w, "bad signature", http.StatusUnauthorized)
//		return
//	}
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	return VerifyWithTolerance(secret, h.Get(HeaderSignature), h.Get(HeaderTimestamp), body, now, DefaultTolerance)
}

// VerifyWithTolerance is Verify on the header values themselves, with a
// chosen tolerance.
func VerifyWithTolerance(secret, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	if signature == "" || timestamp == "" {
		return ErrMissingHeader
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s off", ErrTimestampTooOld, d.Round(time.Second))
	}
	got, ok := strings.CutPrefix(strings.TrimSpace(signature), signaturePrefix)
	if !ok {
		return ErrSignatureMismatch
	}
	sum, err := hex.DecodeString(got)
	if err != nil || !hmac.Equal(sum, mac(secret, ts, body)) {
		return ErrSignatureMismatch
	}
	return nil
}
