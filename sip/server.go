package sip

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/voice"
)

// Calls is what the SIP edge needs of agentphone.CallService.
type Calls interface {
	RouteInbound(ctx context.Context, to, from, sipCallID string) (*agentphone.Call, *agentphone.Agent, *agentphone.Number, error)
	Ringing(ctx context.Context, id string) error
	Answered(ctx context.Context, id string) error
	AddTurn(ctx context.Context, t *agentphone.Turn) error
	AddEvent(ctx context.Context, callID, typ string, data any) error
	Finish(ctx context.Context, id, status, endReason string, recordingPath *string) (*agentphone.Call, error)
	Recording(ctx context.Context, accountID string) (bool, error)
}

// Stats counts what the SIP edge refused or dropped, for /metrics.
type Stats struct {
	InvitesForbidden  atomic.Int64 // 403: no trunk accepts the source
	InvitesChallenged atomic.Int64 // 401: a digest challenge sent
	InvitesNotFound   atomic.Int64 // 404: no such number
	InvitesNoAgent    atomic.Int64 // 480
	InvitesBusy       atomic.Int64 // 486: concurrent-call limit
	InvitesNoCodec    atomic.Int64 // 488
	InvitesFlood      atomic.Int64 // 503: the source sent too many INVITEs
	CallsAnswered     atomic.Int64
	CallsPlaced       atomic.Int64
	Panics            atomic.Int64 // handlers that panicked (a bug: logged with its stack)
	RTPDropped        atomic.Int64 // datagrams on calls\' media ports that were not their audio
}

// Server is the SIP edge: it takes INVITEs from trunks (and from loopback),
// answers calls to the server's numbers and runs them, and places outbound
// calls through trunks. It implements agentphone.CallController.
type Server struct {
	cfg    Config
	calls  Calls
	run    voice.Runner
	logger *slog.Logger
	Stats  Stats

	ua     *sipgo.UserAgent
	dg     *diago.Diago
	limits *inviteLimiter
	auth   *digestAuth

	mu   sync.Mutex
	live map[string]context.CancelCauseFunc // call id → ends the call
	wg   sync.WaitGroup
	// ctx is the server's lifetime, set by Start; calls run under it.
	ctx context.Context
	// clock sends the calls' packets; it stops when Close has ended them.
	clock     *mediaClock
	stopClock context.CancelFunc
}

var _ agentphone.CallController = (*Server)(nil)

// errHangupAPI ends a call on POST /v1/calls/{id}/end.
var errHangupAPI = errors.New("hung up through the API")

// errStopping ends calls when the server stops.
var errStopping = errors.New("server stopping")

// New returns a SIP edge for cfg. It listens once Start is called.
func New(cfg Config, calls Calls, run voice.Runner, logger *slog.Logger) (*Server, error) {
	if err := ValidateTrunks(cfg.Trunks); err != nil {
		return nil, err
	}
	host, p, err := splitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sip address: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RTPPortMin > 0 {
		// diago keeps its RTP port range in package variables: one range
		// per process, which is what a server has.
		media.RTPPortStart, media.RTPPortEnd = cfg.RTPPortMin, cfg.RTPPortMax
	}
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent("agentphone")}
	if cfg.TLSRoots != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: cfg.TLSRoots, MinVersion: tls.VersionTLS12}))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	opts := []diago.DiagoOption{
		diago.WithLogger(logger.With("component", "sip")),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: mediaCodecs}),
	}
	for _, tr := range []string{"udp", "tcp"} {
		opts = append(opts, diago.WithTransport(diago.Transport{
			ID: tr, Transport: tr, BindHost: host, BindPort: p, ExternalHost: cfg.ExternalHost,
		}))
	}
	for _, t := range cfg.Trunks {
		if t.Outbound != nil && t.Outbound.Transport == "tls" && cfg.TLSAddr == "" {
			return nil, fmt.Errorf("trunk %q sends its calls over TLS: SIP must listen on TLS too (--sip-tls-addr, with a certificate)", t.Name)
		}
	}
	if cfg.TLSAddr != "" {
		thost, tport, err := splitHostPort(cfg.TLSAddr)
		if err != nil {
			return nil, fmt.Errorf("sip tls address: %w", err)
		}
		if cfg.TLS == nil || (len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil) {
			return nil, errors.New("sip tls address: a certificate is needed (--sip-tls-cert and --sip-tls-key)")
		}
		// SDES keys travel in the SDP, which only TLS keeps secret: calls
		// over TLS offer and answer SRTP.
		opts = append(opts, diago.WithTransport(diago.Transport{
			ID: "tls", Transport: "tls", BindHost: thost, BindPort: tport, ExternalHost: cfg.ExternalHost,
			TLSConf: cfg.TLS, MediaSRTP: 1,
		}))
	}
	s := &Server{cfg: cfg, calls: calls, run: run, logger: logger, ua: ua, live: map[string]context.CancelCauseFunc{},
		limits: newInviteLimiter(cfg.InviteRate, cfg.InviteBurst), auth: newDigestAuth()}
	s.dg = diago.NewDiago(ua, opts...)
	return s, nil
}

// splitHostPort splits a listen address into its host and port number.
func splitHostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, fmt.Errorf("%q: port: %w", addr, err)
	}
	return host, p, nil
}

// Start listens on UDP and TCP and serves calls until ctx ends or Close.
func (s *Server) Start(ctx context.Context) error {
	s.ctx = ctx
	cctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.clock, s.stopClock = newMediaClock(cctx, s.logger), stop
	if err := s.dg.ServeBackground(ctx, s.serveInvite); err != nil {
		return fmt.Errorf("sip listen on %s: %w", s.cfg.Addr, err)
	}
	transports := "udp,tcp"
	if s.cfg.TLSAddr != "" {
		transports += ",tls " + s.cfg.TLSAddr + " (SRTP)"
	}
	s.logger.Info("SIP listening", "addr", s.cfg.Addr, "transports", transports, "trunks", len(s.cfg.Trunks))
	return nil
}

// Close ends every live call and waits for them to be recorded as ended.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	for _, end := range s.live {
		end(errStopping)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("sip: calls still ending: %w", ctx.Err())
	}
	if s.stopClock != nil {
		s.stopClock()
	}
	return errors.Join(err, s.ua.Close())
}

// track registers a live call; the returned context ends with it.
func (s *Server) track(parent context.Context, id string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	s.mu.Lock()
	s.live[id] = cancel
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		delete(s.live, id)
		s.mu.Unlock()
		cancel(nil)
	}
}

// Hangup implements agentphone.CallController.
func (s *Server) Hangup(ctx context.Context, id string) error {
	s.mu.Lock()
	end, ok := s.live[id]
	s.mu.Unlock()
	if !ok {
		return agentphone.Errorf(agentphone.KindNotFound, "Call %s is not live on this server", id)
	}
	end(errHangupAPI)
	return nil
}

// serveInvite handles one INVITE: checks its source, routes it to a
// number's agent, answers it and runs the call until it ends.
func (s *Server) serveInvite(d *diago.DialogServerSession) {
	s.wg.Add(1)
	defer s.wg.Done()
	// A panic here would take the whole server down with it: answer 500
	// (or hang up) and keep serving.
	defer func() {
		if v := recover(); v != nil {
			s.Stats.Panics.Add(1)
			s.logger.Error("SIP call handler panicked", "panic", v, "stack", string(debug.Stack()))
			_ = d.Respond(sip.StatusInternalServerError, "Server Internal Error", nil)
		}
	}()
	req := d.InviteRequest
	if !s.limits.allow(req.Source(), time.Now()) {
		if s.Stats.InvitesFlood.Add(1)%100 == 1 { // log the first of each hundred
			s.logger.Warn("SIP INVITEs refused: the source sends more than its rate", "source", req.Source(),
				"refused_so_far", s.Stats.InvitesFlood.Load())
		}
		_ = d.Respond(sip.StatusServiceUnavailable, "Service Unavailable", nil, sip.NewHeader("Retry-After", "1"))
		return
	}
	log := s.logger.With("sip_call_id", req.CallID().Value(), "source", req.Source())
	trunk, ok := s.admit(d, log)
	if !ok {
		return
	}
	// A late (delayed) offer, an INVITE without SDP, is answered with our
	// offer in the 200 OK; the caller's answer comes in its ACK.
	late := len(bytes.TrimSpace(req.Body())) == 0
	if !late && !offersKnownCodec(req.Body()) {
		s.Stats.InvitesNoCodec.Add(1)
		log.Info("SIP INVITE refused: no codec in common (this server speaks PCMU, PCMA, G722)")
		_ = d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		return
	}
	to := dialedNumber(req)
	from := callerNumber(req)
	ctx := d.Context()
	call, agent, number, err := s.calls.RouteInbound(ctx, to, from, req.CallID().Value())
	if err != nil {
		code, reason := inviteRefusal(err)
		switch code {
		case sip.StatusNotFound:
			s.Stats.InvitesNotFound.Add(1)
		case sip.StatusTemporarilyUnavailable:
			s.Stats.InvitesNoAgent.Add(1)
		case sip.StatusBusyHere:
			s.Stats.InvitesBusy.Add(1)
		}
		log.Info("SIP INVITE refused", "to", to, "from", from, "status", code, "err", err)
		_ = d.Respond(code, reason, nil)
		return
	}
	log = log.With("call_id", call.ID)
	s.prepare(ctx, call, agent)
	if trunk != "" {
		s.event(call.ID, "trunk", map[string]any{"trunk": trunk})
	}
	callCtx, untrack := s.track(s.lifetime(), call.ID)
	defer untrack()
	_ = d.Trying()
	_ = d.Ringing()
	if s.cfg.AnswerDelay > 0 {
		select {
		case <-time.After(s.cfg.AnswerDelay):
		case <-ctx.Done():
		case <-callCtx.Done():
		}
	}
	if ctx.Err() != nil { // CANCEL before the answer
		s.finish(call.ID, agentphone.CallCanceled, agentphone.EndCanceled, nil)
		return
	}
	if callCtx.Err() != nil { // hung up through the API, or stopping
		_ = d.Respond(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
		s.finish(call.ID, agentphone.CallCanceled, endReasonOf(callCtx), nil)
		return
	}
	// Symmetric RTP: media goes back to where the caller's comes from,
	// whatever its SDP said (callers behind NAT).
	var med *diago.DialogMedia
	if late {
		med, err = answerLate(d)
	} else {
		med, err = d.Answer(diago.AnswerOptions{RTPNAT: media.RTPNATSymetric})
	}
	if err != nil {
		if ctx.Err() != nil {
			s.finish(call.ID, agentphone.CallCanceled, agentphone.EndCanceled, nil)
			return
		}
		log.Warn("answering the call failed", "err", err)
		s.finish(call.ID, agentphone.CallFailed, agentphone.EndError, nil)
		return
	}
	defer med.Close()
	s.Stats.CallsAnswered.Add(1)
	if err := s.calls.Answered(ctx, call.ID); err != nil {
		log.Error("recording the answer failed", "err", err)
	}
	s.converse(callCtx, med, &peer{
		ctx: ctx, hangup: d.Hangup, trunk: trunkNamed(s.cfg.Trunks, trunk), contact: contactURI(d.RemoteContact()),
		refer: func(ctx context.Context, to sip.Uri, onNotify func(int)) error {
			if d.RemoteContact() == nil { // diago sends the REFER to the caller's Contact
				return errNoContact
			}
			return d.ReferOptions(ctx, to, diago.ReferServerOptions{OnNotify: onNotify})
		},
	}, call, agent, number, log)
}

// converse runs an answered call until it ends and records its end:
// recording, media pipe, the runner, a transfer's bridge, and the BYE when
// the other side has not hung up. callCtx ends with an end-call request
// or the server's stop; peer is the call's dialog.
func (s *Server) converse(callCtx context.Context, med *diago.DialogMedia, p *peer,
	call *agentphone.Call, agent *agentphone.Agent, number *agentphone.Number, log *slog.Logger) {
	answered := time.Now()
	recPath, rec := s.startRecording(callCtx, call, callRate(med), log)
	pipe, err := s.startMedia(med, rec, log)
	if err != nil {
		log.Error("setting up the call's media failed", "err", err)
		_ = p.hangup(context.WithoutCancel(callCtx))
		s.discardRecording(rec, recPath, log)
		s.finish(call.ID, agentphone.CallFailed, agentphone.EndError, nil)
		return
	}
	runCtx, stop := context.WithCancelCause(callCtx)
	tr := &transfer{s: s, call: call, number: number, peer: p, pipe: pipe, runCtx: runCtx, stopRun: stop, log: log}
	sess := &voice.Session{Call: call, Agent: agent, Number: number, Caller: pipe, Out: pipe, Rate: pipe.rate,
		DTMF: pipe.dtmf, SendDTMF: pipe.sendDTMF, Transfer: tr.Transfer, Calls: s.calls, Log: log}
	go func() { // a BYE from the other side ends the run
		select {
		case <-p.ctx.Done():
			stop(errCallerHangup)
		case <-runCtx.Done():
		}
	}()
	reason := s.run.Run(runCtx, sess)
	stop(nil)
	// A transferred call ends "transfer", whatever ended the run after
	// Transfer returned; a bridged one stays up until either side hangs
	// up (or the call is ended), which hangs up the other.
	transferred, b := tr.close()
	if transferred {
		reason = agentphone.EndTransfer
	}
	if reason == "" {
		reason = endReasonOf(runCtx)
	}
	if b != nil {
		var limit <-chan time.Time
		if max := s.cfg.MaxCallDuration; max > 0 {
			t := time.NewTimer(max - time.Since(answered))
			defer t.Stop()
			limit = t.C
		}
		if b.wait(callCtx, p.ctx, limit) {
			reason = agentphone.EndMaxDuration
		}
	}
	if p.ctx.Err() == nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(callCtx), 5*time.Second)
		if err := p.hangup(hctx); err != nil {
			log.Warn("sending BYE failed", "err", err)
		}
		cancel()
	}
	if b != nil {
		b.close(context.WithoutCancel(callCtx))
	}
	_ = med.Close()
	pipe.close()
	s.finish(call.ID, agentphone.CallCompleted, reason, closeRecording(rec, recPath, log))
}

// answerLate answers a late-offer INVITE with our offer in the 200 OK;
// diago waits for the ACK and applies the caller's answer in it (a caller
// whose answer has no codec of ours is hung up on). diago v0.42.1's
// AnswerLate then starts the RTP monitor of the session it began with,
// which the answer has already replaced (and whose replacement monitors
// itself): that fails for want of the remote address the answer gave the
// new one. The call is up when the media it returns has that address.
func answerLate(d *diago.DialogServerSession) (*diago.DialogMedia, error) {
	med, err := d.AnswerLate()
	if err != nil && med != nil && med.MediaSession() != nil && med.MediaSession().Raddr.Port != 0 {
		err = nil
	}
	return med, err
}

// Preparer is a Runner that gets ready for a call while it is set up
// (voice.Conversation synthesises the greeting while the phone rings).
type Preparer interface {
	Prepare(ctx context.Context, call *agentphone.Call, agent *agentphone.Agent, rate int)
}

// prepare lets the runner get ready for call; phone calls are 8 kHz
// (G.711) unless they end up on G.722.
func (s *Server) prepare(ctx context.Context, call *agentphone.Call, agent *agentphone.Agent) {
	if p, ok := s.run.(Preparer); ok {
		p.Prepare(ctx, call, agent, 8000)
	}
}

// errCallerHangup ends a call's run when the caller hangs up.
var errCallerHangup = errors.New("caller hung up")

// endReasonOf maps the cause of a call's context to its end reason.
func endReasonOf(ctx context.Context) string {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errHangupAPI):
		return agentphone.EndAPI
	case errors.Is(cause, errStopping):
		return agentphone.EndServerStopped
	case errors.Is(cause, errCallerHangup):
		return agentphone.EndCallerHangup
	}
	return agentphone.EndAgentHangup
}

// lifetime is the server's context, or background before Start.
func (s *Server) lifetime() context.Context {
	if s.ctx == nil {
		return context.Background()
	}
	return context.WithoutCancel(s.ctx)
}

// finish records the end of a call, whatever contexts have ended.
func (s *Server) finish(id, status, reason string, recording *string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.calls.Finish(ctx, id, status, reason, recording); err != nil {
		s.logger.Error("recording the end of a call failed", "call_id", id, "err", err)
	}
}

// event appends to a call's event log, logging a failure.
func (s *Server) event(id, typ string, data any) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.calls.AddEvent(ctx, id, typ, data); err != nil {
		s.logger.Error("recording a call event failed", "call_id", id, "type", typ, "err", err)
	}
}

// inviteRefusal maps a routing error to the SIP response refusing the
// INVITE.
func inviteRefusal(err error) (int, string) {
	switch {
	case errors.Is(err, agentphone.ErrNoAgent):
		return sip.StatusTemporarilyUnavailable, "No Agent For This Number"
	case errors.Is(err, agentphone.ErrCallLimit):
		return sip.StatusBusyHere, "Busy Here"
	case agentphone.ErrorKind(err) == agentphone.KindNotFound, agentphone.ErrorKind(err) == agentphone.KindBadRequest:
		return sip.StatusNotFound, "Not Found"
	}
	return sip.StatusInternalServerError, "Server Internal Error"
}

// admit decides whether an INVITE may come in, and from which trunk:
// loopback sources (unless NoLoopbackTrust) and sources in the allow-list
// of a trunk without credentials are admitted; a source a trunk with
// credentials could send from is challenged (401) until its Authorization
// proves them; anything else is refused (403), logged and counted. It
// answers the INVITE itself when it does not admit it.
func (s *Server) admit(d *diago.DialogServerSession, log *slog.Logger) (trunk string, ok bool) {
	req := d.InviteRequest
	if name, ok := inboundTrunk(s.cfg.Trunks, req.Source(), !s.cfg.NoLoopbackTrust); ok {
		return name, true
	}
	src, _ := sourceAddr(req.Source())
	if realm, ok := wantsDigest(s.cfg.Trunks, src); ok {
		name, stale := s.auth.check(s.cfg.Trunks, req, src)
		if name != "" {
			return name, true
		}
		if req.GetHeader("Authorization") != nil && !stale {
			s.Stats.InvitesForbidden.Add(1)
			log.Warn("SIP INVITE refused: its digest credentials match no trunk's", "from", req.From().Address.String())
			_ = d.Respond(sip.StatusForbidden, "Forbidden", nil)
			return "", false
		}
		s.Stats.InvitesChallenged.Add(1)
		_ = d.Respond(sip.StatusUnauthorized, "Unauthorized", nil, sip.NewHeader("WWW-Authenticate", s.auth.challenge(realm)))
		return "", false
	}
	s.Stats.InvitesForbidden.Add(1)
	log.Warn("SIP INVITE refused: its source matches no trunk's inbound allow-list", "from", req.From().Address.String(),
		"to", req.Recipient.String())
	_ = d.Respond(sip.StatusForbidden, "Forbidden", nil)
	return "", false
}
