package sip

import (
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

func invite(t *testing.T, src string) *sip.Request {
	t.Helper()
	msg, err := sip.ParseMessage([]byte("INVITE sip:+14155550123@192.0.2.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK1\r\nFrom: <sip:+15551234567@203.0.113.5>;tag=1\r\n" +
		"To: <sip:+14155550123@192.0.2.1>\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	req.SetSource(src)
	return req
}

// TestInboundTrunk: a source is admitted by a trunk's allow-list (not by
// one that authenticates by password), loopback only while trusted.
func TestInboundTrunk(t *testing.T) {
	trunks := []Trunk{
		{Name: "carrier", Inbound: &InboundTrunk{Allow: []string{"203.0.113.0/24"}}},
		{Name: "pbx", Inbound: &InboundTrunk{Allow: []string{"198.51.100.7"}, Username: "pbx", Password: "secret"}},
	}
	if err := ValidateTrunks(trunks); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		src   string
		trust bool
		name  string
		ok    bool
	}{
		{"203.0.113.5:5060", true, "carrier", true},
		{"[::ffff:203.0.113.9]:5060", true, "carrier", true},
		{"198.51.100.7:5060", true, "", false}, // that trunk needs its password too
		{"192.0.2.99:5060", true, "", false},
		{"127.0.0.1:5070", true, "", true},
		{"127.0.0.1:5070", false, "", false},
		{"garbage", true, "", false},
	} {
		name, ok := inboundTrunk(trunks, c.src, c.trust)
		if name != c.name || ok != c.ok {
			t.Errorf("inboundTrunk(%s, trust %v) = %q, %v; want %q, %v", c.src, c.trust, name, ok, c.name, c.ok)
		}
	}
}

// TestDigestAuth: an Authorization computed from our challenge with the
// trunk's password admits the INVITE as that trunk; a wrong password, a
// user no trunk has or a source outside the trunk's allow-list do not; a
// nonce older than nonceTTL asks for a new challenge.
func TestDigestAuth(t *testing.T) {
	trunks := []Trunk{
		{Name: "pbx", Inbound: &InboundTrunk{Username: "pbx", Password: "s3cret", Realm: "office"}},
		{Name: "fenced", Inbound: &InboundTrunk{Allow: []string{"198.51.100.0/24"}, Username: "fenced", Password: "pw"}},
	}
	if err := ValidateTrunks(trunks); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	a := newDigestAuth()
	a.now = func() time.Time { return now }
	answer := func(user, password string) *sip.Request {
		t.Helper()
		req := invite(t, "203.0.113.5:5060")
		realm, ok := wantsDigest(trunks, mustAddr(t, "203.0.113.5"))
		if !ok {
			t.Fatal("no trunk wants a digest from 203.0.113.5")
		}
		chal, err := digest.ParseChallenge(a.challenge(realm))
		if err != nil {
			t.Fatal(err)
		}
		cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: req.Recipient.String(), Username: user, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
		return req
	}
	src := mustAddr(t, "203.0.113.5")
	if name, stale := a.check(trunks, answer("pbx", "s3cret"), src); name != "pbx" || stale {
		t.Fatalf("right password: %q, stale %v", name, stale)
	}
	for _, c := range [][2]string{{"pbx", "wrong"}, {"nobody", "s3cret"}, {"fenced", "pw"}} {
		if name, stale := a.check(trunks, answer(c[0], c[1]), src); name != "" || stale {
			t.Errorf("%s/%s admitted as %q (stale %v)", c[0], c[1], name, stale)
		}
	}
	if name, _ := a.check(trunks, invite(t, "203.0.113.5:5060"), src); name != "" {
		t.Fatal("admitted without Authorization")
	}
	req := answer("pbx", "s3cret")
	now = now.Add(nonceTTL + time.Second)
	if name, stale := a.check(trunks, req, src); name != "" || !stale {
		t.Fatalf("old nonce: %q, stale %v; want a new challenge", name, stale)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, ok := sourceAddr(s)
	if !ok {
		t.Fatalf("bad address %q", s)
	}
	return a
}
