package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/webhook"
)

// The vectors of spec §15.9.
const (
	vecSecret = "whsec_test_5f2b8c1e9a7d4036"
	vecTS     = 1736942400
	vecBody1  = `{"ping":true}`
	vecSig1   = "sha256=1b5f40ad8f65d58bf13218258b0f5710693dd254e9c183c9344a256518a1e423"
	vecBody2  = `{"event":"agent.message","channel":"sms","timestamp":"2025-01-15T12:00:00Z","agentId":"agt_abc123","data":{"conversationId":"conv_def456","numberId":"num_xyz789","from":"+15559876543","to":"+15551234567","message":"Hi","direction":"inbound","receivedAt":"2025-01-15T12:00:00Z"},"conversationState":null,"recentHistory":[]}`
	vecSig2   = "sha256=23465e9f771429bb86d381fe6e4590c29f4897992f7c9a1627e8436dcc096609"
)

// independentSign is the algorithm written out again, as a receiver in
// another code base would.
func independentSign(secret string, ts int64, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", ts, body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestSign_SpecVectors(t *testing.T) {
	t.Parallel()
	if len(vecBody2) != 322 {
		t.Fatalf("vector 2 body is %d bytes, the spec says 322", len(vecBody2))
	}
	for _, v := range []struct{ body, want string }{{vecBody1, vecSig1}, {vecBody2, vecSig2}} {
		if got := webhook.Sign(vecSecret, vecTS, []byte(v.body)); got != v.want {
			t.Errorf("Sign(%.20s…) = %s, want %s", v.body, got, v.want)
		}
		if got := independentSign(vecSecret, vecTS, v.body); got != v.want {
			t.Errorf("independent HMAC = %s, want %s", got, v.want)
		}
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	at := time.Unix(vecTS, 0)
	hdr := func(sig, ts string) http.Header {
		h := http.Header{}
		if sig != "" {
			h.Set(webhook.HeaderSignature, sig)
		}
		if ts != "" {
			h.Set(webhook.HeaderTimestamp, ts)
		}
		return h
	}
	tests := []struct {
		name string
		h    http.Header
		body string
		now  time.Time
		want error
	}{
		{"Genuine", hdr(vecSig1, "1736942400"), vecBody1, at, nil},
		{"GenuineLong", hdr(vecSig2, "1736942400"), vecBody2, at.Add(299 * time.Second), nil},
		{"ClockBehind", hdr(vecSig1, "1736942400"), vecBody1, at.Add(-299 * time.Second), nil},
		{"OtherTimestamp", hdr("sha256=2ef80935c415ef9283b60b3ac7cff604dc40a35419061d1f668b265174193bc2", "1736942400"), vecBody1, at, webhook.ErrSignatureMismatch},
		{"TimestampSwapped", hdr(vecSig1, "1736942401"), vecBody1, at, webhook.ErrSignatureMismatch},
		{"BodyAlone", hdr("sha256=29479258b1c053fb4ea21799b7e9ea2a4bced6010c8cc00e1c306f9bd78ec23d", "1736942400"), vecBody1, at, webhook.ErrSignatureMismatch},
		{"BodyChanged", hdr(vecSig1, "1736942400"), `{"ping":false}`, at, webhook.ErrSignatureMismatch},
		{"NoPrefix", hdr(vecSig1[len("sha256="):], "1736942400"), vecBody1, at, webhook.ErrSignatureMismatch},
		{"NotHex", hdr("sha256=zz", "1736942400"), vecBody1, at, webhook.ErrSignatureMismatch},
		{"TooOld", hdr(vecSig1, "1736942400"), vecBody1, at.Add(301 * time.Second), webhook.ErrTimestampTooOld},
		{"FromTheFuture", hdr(vecSig1, "1736942400"), vecBody1, at.Add(-301 * time.Second), webhook.ErrTimestampTooOld},
		{"NoSignature", hdr("", "1736942400"), vecBody1, at, webhook.ErrMissingHeader},
		{"NoTimestamp", hdr(vecSig1, ""), vecBody1, at, webhook.ErrMissingHeader},
		{"BadTimestamp", hdr(vecSig1, "2025-01-15T12:00:00Z"), vecBody1, at, webhook.ErrBadTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(vecSecret, tt.h, []byte(tt.body), tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	if err := webhook.Verify("whsec_other", hdr(vecSig1, "1736942400"), []byte(vecBody1), at); !errors.Is(err, webhook.ErrSignatureMismatch) {
		t.Fatalf("Verify with another secret = %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(vecSig1, "1736942400", []byte(vecBody1))
	f.Add("sha256=", "-1", []byte{})
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		err := webhook.VerifyWithTolerance(vecSecret, sig, ts, body, time.Unix(vecTS, 0), time.Hour)
		if err == nil && !strings.EqualFold(strings.TrimSpace(sig), webhook.Sign(vecSecret, mustAtoi(ts), body)) {
			t.Fatalf("accepted a signature %q that Sign does not produce", sig)
		}
	})
}

func mustAtoi(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

func ExampleVerify() {
	body := []byte(`{"ping":true}`)
	h := http.Header{}
	h.Set(webhook.HeaderTimestamp, "1736942400")
	h.Set(webhook.HeaderSignature, webhook.Sign(vecSecret, 1736942400, body))
	fmt.Println(webhook.Verify(vecSecret, h, body, time.Unix(1736942460, 0)))
	fmt.Println(webhook.Verify(vecSecret, h, []byte(`{"ping":false}`), time.Unix(1736942460, 0)))
	// Output:
	// <nil>
	// webhook: signature does not match
}
