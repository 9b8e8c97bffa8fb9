package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/hosted"
	"github.com/agentphone/agentphone/sip"
	"github.com/agentphone/agentphone/voice"
	"github.com/agentphone/agentphone/webhook"
)

// startSIP starts the SIP edge cfg configures and makes it the calls'
// controller; it returns nil when SIP is disabled (--sip-addr "").
func startSIP(ctx context.Context, cfg *Config, calls *agentphone.CallService, runner voice.Runner, reg prometheus.Registerer, logger *slog.Logger) (*sip.Server, error) {
	if cfg.SIPAddr == "" {
		logger.Info("SIP disabled (--sip-addr is empty): no phone calls")
		return nil, nil
	}
	sc := sip.Config{Addr: cfg.SIPAddr, ExternalHost: cfg.SIPExternalHost, RecordingsDir: cfg.RecordingsDir,
		AnswerDelay: cfg.SIPAnswerDelay, InviteRate: cfg.SIPInviteRate, InviteBurst: int(2 * cfg.SIPInviteRate),
		NoLoopbackTrust: !cfg.SIPTrustLoopback, MaxCallDuration: cfg.MaxCallDuration, TLSAddr: cfg.SIPTLSAddr}
	if cfg.SIPTLSAddr != "" {
		if cfg.SIPTLSCert == "" || cfg.SIPTLSKey == "" {
			return nil, fmt.Errorf("--sip-tls-addr needs --sip-tls-cert and --sip-tls-key (AGENTPHONE_SIP_TLS_CERT, AGENTPHONE_SIP_TLS_KEY)")
		}
		cert, err := tls.LoadX509KeyPair(cfg.SIPTLSCert, cfg.SIPTLSKey)
		if err != nil {
			return nil, fmt.Errorf("SIP over TLS (--sip-tls-cert, --sip-tls-key): %w", err)
		}
		sc.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if cfg.SIPTLSCA != "" {
		pem, err := os.ReadFile(cfg.SIPTLSCA)
		if err != nil {
			return nil, fmt.Errorf("--sip-tls-ca (AGENTPHONE_SIP_TLS_CA): %w", err)
		}
		sc.TLSRoots = x509.NewCertPool()
		if !sc.TLSRoots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--sip-tls-ca (AGENTPHONE_SIP_TLS_CA) %s: no PEM certificate in it", cfg.SIPTLSCA)
		}
	}
	if cfg.RTPPorts != "" {
		lo, hi, ok := strings.Cut(cfg.RTPPorts, "-")
		min, err1 := strconv.Atoi(strings.TrimSpace(lo))
		max, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if !ok || err1 != nil || err2 != nil || min < 1024 || max > 65535 || max-min < 10 {
			return nil, fmt.Errorf("--rtp-ports (AGENTPHONE_RTP_PORTS) is %q: want MIN-MAX, e.g. 10000-20000 (at least 10 ports, above 1023)", cfg.RTPPorts)
		}
		sc.RTPPortMin, sc.RTPPortMax = min, max
	}
	if cfg.SIPTrunks != "" {
		trunks, err := sip.LoadTrunks(cfg.SIPTrunks)
		if err != nil {
			return nil, fmt.Errorf("--sip-trunks (AGENTPHONE_SIP_TRUNKS): %w", err)
		}
		sc.Trunks = trunks
	}
	interval := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "agentphone_rtp_send_interval_seconds",
		Help: "Time between consecutive RTP packets a call sends (20 ms is on time).",
		Buckets: []float64{0.005, 0.010, 0.015, 0.017, 0.018, 0.019, 0.0195, 0.020, 0.0205, 0.021, 0.022, 0.023,
			0.025, 0.030, 0.040, 0.060, 0.100},
	})
	reg.MustRegister(interval)
	sc.OnSendInterval = func(d time.Duration) { interval.Observe(d.Seconds()) }
	srv, err := sip.New(sc, calls, runner, logger)
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		return nil, fmt.Errorf("%w (set --sip-addr to a free address, or \"\" to run without calls)", err)
	}
	calls.Controller = srv
	registerSIPMetrics(reg, &srv.Stats)
	return srv, nil
}

// registerSIPMetrics exposes the SIP edge's counters on /metrics.
func registerSIPMetrics(reg prometheus.Registerer, st *sip.Stats) {
	for _, c := range []struct {
		reason string
		load   func() int64
	}{
		{"forbidden", st.InvitesForbidden.Load},
		{"not_found", st.InvitesNotFound.Load},
		{"no_agent", st.InvitesNoAgent.Load},
		{"busy", st.InvitesBusy.Load},
		{"no_codec", st.InvitesNoCodec.Load},
		{"flood", st.InvitesFlood.Load},
		{"challenged", st.InvitesChallenged.Load},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "agentphone_sip_invites_refused_total", Help: "INVITEs refused by the SIP edge, by reason.",
			ConstLabels: prometheus.Labels{"reason": c.reason},
		}, func() float64 { return float64(c.load()) }))
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "agentphone_sip_calls_answered_total", Help: "Inbound calls answered."},
			func() float64 { return float64(st.CallsAnswered.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "agentphone_sip_calls_placed_total", Help: "Outbound calls answered by the callee."},
			func() float64 { return float64(st.CallsPlaced.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "agentphone_sip_handler_panics_total", Help: "SIP call handlers that panicked (a bug)."},
			func() float64 { return float64(st.Panics.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "agentphone_rtp_dropped_total", Help: "Datagrams on calls' media ports that were not their audio (garbage, unknown payload types)."},
			func() float64 { return float64(st.RTPDropped.Load()) }),
	)
}

// newConversation is the conversation engine of calls, with its latency
// histograms on /metrics.
func newConversation(cfg *Config, sp *speech, model *llm, calls *agentphone.CallService, webhooks *agentphone.WebhookService,
	messages *agentphone.MessageService, sender *webhook.Sender, reg prometheus.Registerer, logger *slog.Logger) *voice.Conversation {
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "agentphone_voice_turn_latency_seconds",
		Help:    "Stages of an agent turn: transcript (caller's end of speech → final transcript), decision (→ end of turn), first_byte (→ webhook's first byte), first_audio (→ first synthesised audio), first_packet (→ first audio packet sent), engine (end of turn → first packet), total (end of speech → first packet).",
		Buckets: []float64{0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10},
	}, []string{"stage"})
	reg.MustRegister(latency)
	respond := voice.ByMode{Webhook: &voice.WebhookResponder{Webhooks: webhooks, Calls: calls, Sender: sender, Log: logger}}
	if model.model != nil {
		respond.Hosted = &hosted.Responder{
			LLM: model.model, Models: model.models, Messages: hosted.Messages{Service: messages}, Events: calls,
			Location: model.loc, Log: logger,
		}
	}
	return &voice.Conversation{
		Speech: sp.speak, Listen: sp.listen, ListenFile: sp.listenFile,
		Respond:     respond,
		Location:    model.loc,
		MaxDuration: cfg.MaxCallDuration,
		Observe:     func(stage string, d time.Duration) { latency.WithLabelValues(stage).Observe(d.Seconds()) },
	}
}
