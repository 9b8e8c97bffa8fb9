package sip_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sip"
	"github.com/agentphone/agentphone/storetest"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts
// it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "agentphone test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestInboundTLS: a phone that trusts the server's certificate calls over
// SIP on TLS; the answer offers SRTP (SDES keys in the SDP), and the
// greeting decrypted is the agent's speech.
func TestInboundTLS(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		cert, pool := selfSigned(t)
		r := newRig(t, b, rigOptions{tls: &tls.Config{Certificates: []tls.Certificate{cert}}})
		ua, err := sipgo.NewUA(sipgo.WithUserAgent("tls-phone"), sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ua.Close() })
		dg := diago.NewDiago(ua, diago.WithTransport(diago.Transport{
			ID: "tls", Transport: "tls", BindHost: "127.0.0.1", BindPort: 0, MediaSRTP: 1,
			TLSConf: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}},
		}))
		serve(t, dg, nil)
		dialog, med, err := dg.Invite(t.Context(), sipmsg.Uri{Scheme: "sip", User: r.number.PhoneNumber, Host: "127.0.0.1", Port: r.tlsPort},
			diago.InviteOptions{Transport: "tls"})
		if err != nil {
			t.Fatalf("INVITE over TLS: %v", err)
		}
		t.Cleanup(func() { dialog.Close() })
		answer := string(dialog.InviteResponse.Body())
		if !strings.Contains(answer, "RTP/SAVP") || !strings.Contains(answer, "a=crypto:") {
			t.Fatalf("the answer over TLS offers no SRTP:\n%s", answer)
		}
		if loud, _ := listen(t, med, 600*time.Millisecond, 15*time.Second); loud < time.Second {
			t.Fatalf("heard %s of the greeting over SRTP", loud)
		}
		call := r.waitStatus(r.only().ID, agentphone.CallInProgress)
		if err := dialog.Hangup(t.Context()); err != nil {
			t.Fatal(err)
		}
		if c := r.waitEnd(call.ID); c.EndReason == nil || *c.EndReason != agentphone.EndCallerHangup {
			t.Fatalf("ended call %+v", c)
		}
	})
}

// TestOutboundTLS: a call placed through a trunk whose transport is TLS
// reaches the phone over TLS, its media SRTP, and the phone hears the
// greeting.
func TestOutboundTLS(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		cert, pool := selfSigned(t)
		ua, err := sipgo.NewUA(sipgo.WithUserAgent("tls-carrier"), sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ua.Close() })
		port := freePort(t)
		dg := diago.NewDiago(ua, diago.WithTransport(diago.Transport{
			ID: "tls", Transport: "tls", BindHost: "127.0.0.1", BindPort: port, MediaSRTP: 1,
			TLSConf: &tls.Config{Certificates: []tls.Certificate{cert}},
		}))
		type heard struct {
			offer string
			loud  time.Duration
		}
		got := make(chan heard, 1)
		serve(t, dg, func(d *diago.DialogServerSession) {
			_ = d.Ringing()
			med, err := d.Answer(diago.AnswerOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			loud, _ := listen(t, med, 600*time.Millisecond, 15*time.Second)
			got <- heard{string(d.InviteRequest.Body()), loud}
			_ = d.Hangup(t.Context())
		})
		r := newRig(t, b, rigOptions{tls: &tls.Config{Certificates: []tls.Certificate{cert}}, tlsRoots: pool,
			trunks: []sip.Trunk{{Name: "carrier", Outbound: &sip.OutboundTrunk{Host: "127.0.0.1", Port: port, Transport: "tls"}}}})
		c, err := r.calls.Create(t.Context(), r.sc, agentphone.CallInput{AgentID: agentphone.Some(r.agent.ID),
			ToNumber: agentphone.Some("+14155559876"), InitialGreeting: agentphone.Some("Hi, this is Acme calling over TLS.")})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case h := <-got:
			if !strings.Contains(h.offer, "RTP/SAVP") || !strings.Contains(h.offer, "a=crypto:") {
				t.Fatalf("the offer over TLS has no SRTP:\n%s", h.offer)
			}
			if h.loud < time.Second {
				t.Fatalf("the phone heard %s of the greeting over SRTP", h.loud)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the call over TLS did not reach the phone")
		}
		if c := r.waitEnd(c.ID); c.Status != agentphone.CallCompleted || c.AnsweredAt == nil {
			t.Fatalf("ended call %+v", c)
		}
	})
}

// TestTLSConfig: a TLS address needs a certificate, and a trunk that
// sends its calls over TLS needs the TLS listener.
func TestTLSConfig(t *testing.T) {
	t.Parallel()
	if _, err := sip.New(sip.Config{Addr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0"}, nil, nil, nil); err == nil ||
		!strings.Contains(err.Error(), "certificate") {
		t.Errorf("TLS without a certificate: %v", err)
	}
	trunks := []sip.Trunk{{Name: "carrier", Outbound: &sip.OutboundTrunk{Host: "sip.example.com", Transport: "tls"}}}
	if _, err := sip.New(sip.Config{Addr: "127.0.0.1:0", Trunks: trunks}, nil, nil, nil); err == nil ||
		!strings.Contains(err.Error(), "--sip-tls-addr") {
		t.Errorf("a TLS trunk without TLS: %v", err)
	}
	if err := sip.ValidateTrunks(trunks); err != nil || trunks[0].Outbound.Port != 5061 {
		t.Errorf("a TLS trunk's default port: %d, %v", trunks[0].Outbound.Port, err)
	}
}
