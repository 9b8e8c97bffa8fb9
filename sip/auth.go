package sip

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// nonceTTL is how long a digest challenge's nonce is accepted.
const nonceTTL = 5 * time.Minute

// digestAuth challenges and checks INVITEs of trunks that authenticate
// with a username and password (RFC 3261 §22.4, digest with qop=auth).
// Its nonces are stateless: a time and an HMAC of it under a key of the
// process, so any of them it issued in the last nonceTTL checks, with no
// table to keep.
type digestAuth struct {
	key []byte
	now func() time.Time
}

func newDigestAuth() *digestAuth {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &digestAuth{key: key, now: time.Now}
}

func (a *digestAuth) nonce() string {
	ts := strconv.FormatInt(a.now().Unix(), 10)
	return ts + "." + a.sign(ts)
}

func (a *digestAuth) sign(ts string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(ts))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// fresh reports whether nonce is one of ours, issued less than nonceTTL
// ago.
func (a *digestAuth) fresh(nonce string) bool {
	ts, sig, ok := strings.Cut(nonce, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(a.sign(ts))) {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	age := a.now().Sub(time.Unix(sec, 0))
	return age >= -time.Minute && age < nonceTTL
}

// challenge is the WWW-Authenticate value for realm.
func (a *digestAuth) challenge(realm string) string {
	c := digest.Challenge{Realm: realm, Nonce: a.nonce(), Algorithm: "MD5", QOP: []string{"auth"}}
	return c.String()
}

// check returns the trunk of trunks whose credentials req's Authorization
// proves (and whose allow-list, if it has one, holds src), or "", and
// whether the Authorization answered a nonce that is not (or no longer)
// one of ours: the caller is then challenged again.
func (a *digestAuth) check(trunks []Trunk, req *sip.Request, src netip.Addr) (trunk string, stale bool) {
	h := req.GetHeader("Authorization")
	if h == nil {
		return "", false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return "", false
	}
	if !a.fresh(cred.Nonce) {
		return "", true
	}
	for _, t := range trunks {
		in := t.Inbound
		if in == nil || in.Username == "" || in.Username != cred.Username || in.realm() != cred.Realm {
			continue
		}
		if len(in.allow) > 0 && !allowed(in.allow, src) {
			continue
		}
		chal := &digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm}
		if cred.QOP != "" {
			chal.QOP = []string{cred.QOP}
		}
		want, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: cred.URI,
			Username: in.Username, Password: in.Password, Cnonce: cred.Cnonce, Count: cred.Nc})
		if err != nil {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) == 1 {
			return t.Name, false
		}
	}
	return "", false
}

// realm is the trunk's digest realm.
func (in *InboundTrunk) realm() string { return cmp.Or(in.Realm, "agentphone") }

// wantsDigest reports whether some trunk could accept src by digest: one
// with credentials whose allow-list is empty or holds src.
func wantsDigest(trunks []Trunk, src netip.Addr) (realm string, ok bool) {
	for _, t := range trunks {
		in := t.Inbound
		if in != nil && in.Username != "" && (len(in.allow) == 0 || allowed(in.allow, src)) {
			return in.realm(), true
		}
	}
	return "", false
}

func allowed(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// sourceAddr parses src ("ip:port" or "ip").
func sourceAddr(src string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		host = src
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
