package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentphone/agentphone"
)

// TestStartSIPTLS: --sip-tls-addr needs a certificate and its key; with
// them, SIP answers TLS handshakes with that certificate.
func TestStartSIPTLS(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	start := func(cfg *Config) error {
		srv, err := startSIP(t.Context(), cfg, &agentphone.CallService{}, nil, prometheus.NewRegistry(), logger)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			t.Cleanup(func() { _ = srv.Close(ctx) })
		}
		return err
	}
	if err := start(&Config{SIPAddr: "127.0.0.1:0", SIPTLSAddr: "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "--sip-tls-cert") {
		t.Fatalf("TLS without a certificate: %v", err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := start(&Config{SIPAddr: "127.0.0.1:0", SIPTLSAddr: "127.0.0.1:0", SIPTLSCert: certFile, SIPTLSKey: keyFile}); err == nil {
		t.Fatal("missing certificate files: no error")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	addr := ln.Addr().String()
	ln.Close()
	must(start(&Config{SIPAddr: "127.0.0.1:0", SIPTLSAddr: addr, SIPTLSCert: certFile, SIPTLSKey: keyFile}))
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	must(err)
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(); got != 7 {
		t.Fatalf("SIP over TLS presented certificate %d, want the configured one", got)
	}
}
