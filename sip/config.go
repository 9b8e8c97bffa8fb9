package sip

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
)

// Trunk is a SIP trunk: a carrier or PBX that sends calls to this server
// (Inbound) and takes the calls it places (Outbound).
type Trunk struct {
	// Name identifies the trunk in logs and in the call's event log.
	Name string `json:"name"`
	// Inbound says which INVITEs are this trunk's.
	Inbound *InboundTrunk `json:"inbound,omitempty"`
	// Outbound says where calls placed through this trunk go.
	Outbound *OutboundTrunk `json:"outbound,omitempty"`
	// Numbers, when not empty, are the E.164 numbers whose outbound calls
	// use this trunk; a trunk without Numbers carries every other number.
	Numbers []string `json:"numbers,omitempty"`
	// Refer, when false, keeps a transfer of this trunk's calls from
	// trying a SIP REFER (for trunks that refuse it, or that would bill
	// the transferred call without telling): the transfer places a new
	// call and bridges it at once. Default (nil) true.
	Refer *bool `json:"refer,omitempty"`
}

// refers reports whether a transfer of a call on trunk t (nil: a caller
// on no trunk) tries a SIP REFER first.
func (t *Trunk) refers() bool {
	return t == nil || t.Refer == nil || *t.Refer
}

// InboundTrunk accepts INVITEs whose source address is in Allow, or that
// answer a digest challenge with Username and Password (from an address in
// Allow, when Allow is not empty too).
type InboundTrunk struct {
	Allow    []string `json:"allow,omitempty"` // IP addresses or CIDR prefixes
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	Realm    string   `json:"realm,omitempty"` // digest realm; default "agentphone"
	allow    []netip.Prefix
}

// OutboundTrunk is where a trunk's outbound calls are sent.
type OutboundTrunk struct {
	Host      string `json:"host"`
	Port      int    `json:"port,omitempty"`      // default 5060
	Transport string `json:"transport,omitempty"` // udp (default), tcp or tls
	// Username and Password answer the trunk's digest challenge.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// CallerIDFormat is how the calling number is written in From:
	// "e164" (+14155550100, default), "e164-no-plus" (14155550100) or
	// "national" (4155550100 for NANP numbers).
	CallerIDFormat string `json:"callerIdFormat,omitempty"`
}

// Config configures the SIP edge.
type Config struct {
	// Addr is the host:port SIP listens on, on UDP and TCP (e.g.
	// "0.0.0.0:5060").
	Addr string
	// TLSAddr, when set, is the host:port SIP also listens on over TLS
	// (e.g. "0.0.0.0:5061"), with TLS's certificate; calls over it carry
	// their media as SRTP, keyed in the SDP (SDES, RFC 4568).
	TLSAddr string
	TLS     *tls.Config
	// TLSRoots are the certificate authorities trusted for calls placed
	// over TLS (trunks with transport tls); nil: the system's.
	TLSRoots *x509.CertPool
	// ExternalHost is the address written in Contact and SDP for peers to
	// reach this server (behind NAT: the public IP); "" = the bind address.
	ExternalHost string
	// NoLoopbackTrust makes INVITEs from loopback addresses pass the trunk
	// checks like any other (by default they are accepted without a trunk).
	NoLoopbackTrust bool
	// RTPPortMin and RTPPortMax bound the UDP ports of media; 0 = any.
	RTPPortMin, RTPPortMax int
	// Trunks are the configured trunks.
	Trunks []Trunk
	// RecordingsDir is where call recordings are written; "" = calls are
	// not recorded.
	RecordingsDir string
	// AnswerDelay is how long an inbound call rings before it is answered.
	AnswerDelay time.Duration
	// RingTimeout is how long an outbound call rings before it is given up
	// as no-answer; 0 = 60 s.
	RingTimeout time.Duration
	// MaxCallDuration bounds a call that is bridged to a transfer target
	// (the runner bounds the rest); 0: no bound.
	MaxCallDuration time.Duration
	// InviteRate and InviteBurst bound the new INVITEs per second from one
	// source address (503 with Retry-After past them); InviteRate 0 = no
	// bound.
	InviteRate  float64
	InviteBurst int
	// OnSendInterval, when set, is told the time between each RTP packet a
	// call sends and the one before (for the packet-spacing metric).
	OnSendInterval func(time.Duration)
}

// LoadTrunks reads trunks from a JSON file holding an array of Trunk.
func LoadTrunks(path string) ([]Trunk, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sip trunks: %w", err)
	}
	var ts []Trunk
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil, fmt.Errorf("sip trunks %s: %w", path, err)
	}
	if err := ValidateTrunks(ts); err != nil {
		return nil, fmt.Errorf("sip trunks %s: %w", path, err)
	}
	return ts, nil
}

// ValidateTrunks checks trunks and prepares their allow-lists.
func ValidateTrunks(ts []Trunk) error {
	names := map[string]bool{}
	for i := range ts {
		t := &ts[i]
		if t.Name == "" {
			return fmt.Errorf("trunk %d has no name", i)
		}
		if names[t.Name] {
			return fmt.Errorf("two trunks are named %q", t.Name)
		}
		names[t.Name] = true
		if t.Inbound == nil && t.Outbound == nil {
			return fmt.Errorf("trunk %q has neither inbound nor outbound", t.Name)
		}
		if in := t.Inbound; in != nil {
			if len(in.Allow) == 0 && in.Username == "" {
				return fmt.Errorf("trunk %q: inbound needs an allow list, or a username and password", t.Name)
			}
			if (in.Username == "") != (in.Password == "") {
				return fmt.Errorf("trunk %q: inbound needs both username and password", t.Name)
			}
			in.allow = in.allow[:0]
			for _, a := range in.Allow {
				p, err := parsePrefix(a)
				if err != nil {
					return fmt.Errorf("trunk %q: inbound.allow %q: %w", t.Name, a, err)
				}
				in.allow = append(in.allow, p)
			}
		}
		if out := t.Outbound; out != nil {
			if out.Host == "" {
				return fmt.Errorf("trunk %q: outbound.host is empty", t.Name)
			}
			out.Transport = strings.ToLower(cmp.Or(out.Transport, "udp"))
			if out.Transport != "udp" && out.Transport != "tcp" && out.Transport != "tls" {
				return fmt.Errorf("trunk %q: outbound.transport %q: use udp, tcp or tls", t.Name, out.Transport)
			}
			if out.Port == 0 {
				out.Port = 5060
				if out.Transport == "tls" {
					out.Port = 5061
				}
			}
			if out.Port < 1 || out.Port > 65535 {
				return fmt.Errorf("trunk %q: outbound.port %d", t.Name, out.Port)
			}
			out.CallerIDFormat = cmp.Or(out.CallerIDFormat, "e164")
			if !slices.Contains([]string{"e164", "e164-no-plus", "national"}, out.CallerIDFormat) {
				return fmt.Errorf("trunk %q: outbound.callerIdFormat %q: use e164, e164-no-plus or national", t.Name, out.CallerIDFormat)
			}
		}
	}
	return nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// inboundTrunk returns the trunk without credentials whose allow-list
// holds the source address src ("ip:port"), "" with ok for a loopback
// source when trustLoopback (development and tests need no trunk), and ok
// false when none accepts it so.
func inboundTrunk(trunks []Trunk, src string, trustLoopback bool) (name string, ok bool) {
	a, ok := sourceAddr(src)
	if !ok {
		return "", false
	}
	if trustLoopback && a.IsLoopback() {
		return "", true
	}
	for _, t := range trunks {
		if t.Inbound != nil && t.Inbound.Username == "" && allowed(t.Inbound.allow, a) {
			return t.Name, true
		}
	}
	return "", false
}

// trunkNamed returns the trunk called name, or nil ("" or no such trunk).
func trunkNamed(trunks []Trunk, name string) *Trunk {
	for i := range trunks {
		if name != "" && trunks[i].Name == name {
			return &trunks[i]
		}
	}
	return nil
}

// outboundTrunk returns the trunk that carries calls from phone number
// from: the first listing it, else the first without a Numbers list.
func outboundTrunk(trunks []Trunk, from string) *Trunk {
	var fallback *Trunk
	for i := range trunks {
		t := &trunks[i]
		if t.Outbound == nil {
			continue
		}
		if slices.Contains(t.Numbers, from) {
			return t
		}
		if len(t.Numbers) == 0 && fallback == nil {
			fallback = t
		}
	}
	return fallback
}

// callerID writes E.164 phone in the trunk's caller-id format.
func callerID(format, phone string) string {
	switch format {
	case "e164-no-plus":
		return strings.TrimPrefix(phone, "+")
	case "national":
		if strings.HasPrefix(phone, "+1") && len(phone) == 12 {
			return phone[2:]
		}
		return strings.TrimPrefix(phone, "+")
	}
	return phone
}
