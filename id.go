package agentphone

import (
	"crypto/rand"
	"math/big"
	"time"
)

// ID prefixes, one per object type, stable on the wire.
const (
	PrefixAccount = "acct_"
	PrefixAPIKey  = "key_"
	PrefixAgent   = "agt_"
	PrefixNumber  = "num_"
	PrefixWebhook = "wh_"
)

// NewID returns prefix followed by 128 random bits in base62 (22 characters),
// so ids are unguessable and may serve as capability tokens.
func NewID(prefix string) string {
	return prefix + randomBase62(16)
}

// randomBase62 encodes n random bytes in base62, left-padded to a fixed width.
func randomBase62(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ crashes
		// the program instead); keep the signature simple.
		panic(err)
	}
	s := new(big.Int).SetBytes(b).Text(62)
	width := (n*8*1000 + 5953) / 5954 // ceil(bits / log2(62)), log2(62) ≈ 5.954
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// Now returns the current time in UTC truncated to microseconds, the precision
// both SQLite and PostgreSQL keep, so that what is stored reads back equal.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
