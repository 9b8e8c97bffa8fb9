package sip_test

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/espeak"
	"github.com/agentphone/agentphone/sip"
	"github.com/agentphone/agentphone/sqlstore"
	"github.com/agentphone/agentphone/storetest"
	"github.com/agentphone/agentphone/voice"
)

// The SIP tests run the real edge over loopback against a second diago
// user agent acting as the phone, on real stores (SQLite, and PostgreSQL
// when AGENTPHONE_TEST_POSTGRES_URL is set), with the real espeak-ng.

func each(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	t.Helper()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// freePort returns a port free on 127.0.0.1 for both UDP and TCP.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// rig is a SIP edge over a fresh store with one account, one agent and
// its number.
type rig struct {
	t      *testing.T
	store  *sqlstore.Store
	calls  *agentphone.CallService
	srv    *sip.Server
	port   int
	sc     agentphone.Scope
	agent  *agentphone.Agent
	number *agentphone.Number
	dir    string // recordings
	// tlsPort is SIP over TLS's port (rigOptions.tls).
	tlsPort int
}

type rigOptions struct {
	answerDelay time.Duration
	ringTimeout time.Duration
	maxCalls    int
	trunks      []sip.Trunk
	maxSilence  int // the agent's maxSilenceMs
	greeting    string
	inviteRate  float64
	// distrust treats loopback like any source: trunks must admit it.
	distrust bool
	runner   voice.Runner // nil: the conversation engine, speaking only
	// maxDuration bounds bridged calls (sip.Config.MaxCallDuration).
	maxDuration time.Duration
	// tls, when set, makes SIP listen on TLS too (the rig's tlsPort);
	// tlsRoots are the CAs its outbound TLS calls trust.
	tls      *tls.Config
	tlsRoots *x509.CertPool
	// agent changes the agent before it is stored.
	agent func(a *agentphone.Agent)
}

func newRig(t *testing.T, b storetest.Backend, o rigOptions) *rig {
	t.Helper()
	ctx := t.Context()
	store := b.Open(t)
	accounts := &agentphone.AccountService{Store: store}
	acct, _, err := accounts.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	now := agentphone.Now()
	greeting := o.greeting
	if greeting == "" {
		greeting = "Hello, thanks for calling Acme. How can I help?"
	}
	a := &agentphone.Agent{
		ID: agentphone.NewID(agentphone.PrefixAgent), AccountID: acct.ID, Name: "Support", VoiceMode: "webhook",
		ModelTier: "balanced", BeginMessage: &greeting, Voice: "espeak-skylar", STTMode: "fast", AmbientSound: "none",
		DenoisingMode: "noise-cancellation", MaxSilenceMs: o.maxSilence, VoiceSpeed: 1, InterruptionSensitivity: 0.5,
		Language: "en-US", CreatedAt: now, UpdatedAt: now,
	}
	if a.MaxSilenceMs == 0 {
		a.MaxSilenceMs = 60000
	}
	if o.agent != nil {
		o.agent(a)
	}
	if err := store.CreateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	n := &agentphone.Number{
		ID: agentphone.NewID(agentphone.PrefixNumber), AccountID: acct.ID, PhoneNumber: "+14155550123", Country: "US",
		Status: agentphone.NumberActive, Type: agentphone.NumberTypeSMS, AgentID: &a.ID, Provider: "sandbox",
		ProviderRef: "sandbox:+14155550123", Capabilities: agentphone.Capabilities{SMS: true, Voice: true},
		CreatedAt: now, AttachedAt: &now,
	}
	if err := store.CreateNumber(ctx, n, 0); err != nil {
		t.Fatal(err)
	}
	calls := &agentphone.CallService{Store: store, Webhooks: &agentphone.WebhookService{Store: store},
		MaxConcurrentCalls: o.maxCalls, RecordCalls: true}
	r := &rig{t: t, store: store, calls: calls, port: freePort(t), sc: agentphone.Scope{AccountID: acct.ID},
		agent: a, number: n, dir: t.TempDir()}
	logger := slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelInfo}))
	sc := sip.Config{
		Addr: "127.0.0.1:" + strconv.Itoa(r.port), RecordingsDir: r.dir, AnswerDelay: o.answerDelay,
		RingTimeout: o.ringTimeout, Trunks: o.trunks, InviteRate: o.inviteRate, InviteBurst: 1, NoLoopbackTrust: o.distrust,
		MaxCallDuration: o.maxDuration,
	}
	if o.tls != nil {
		r.tlsPort = freePort(t)
		sc.TLSAddr, sc.TLS, sc.TLSRoots = "127.0.0.1:"+strconv.Itoa(r.tlsPort), o.tls, o.tlsRoots
	}
	r.srv, err = sip.New(sc, calls, cmp.Or[voice.Runner](o.runner, &voice.Conversation{Speech: &voice.SpeechCache{Synth: &espeak.Synthesizer{}}, MaxDuration: time.Minute}), logger)
	if err != nil {
		t.Fatal(err)
	}
	calls.Controller = r.srv
	sctx, cancel := context.WithCancel(context.Background())
	if err := r.srv.Start(sctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		if err := r.srv.Close(cctx); err != nil {
			t.Errorf("close: %v", err)
		}
		cancel()
	})
	return r
}

// testWriter logs to t until t's cleanup: the SIP stack's goroutines may
// still log a late request after the test (t.Log then is a data race).
type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

// newTestWriter returns a writer to t; create it before what logs to it,
// so that its cleanup runs after theirs.
func newTestWriter(t *testing.T) *testWriter {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

// phone is a diago user agent on loopback acting as a telephone.
// With fixedPort it listens on a port it returns (for a trunk to point
// at).
func phone(t *testing.T, fixedPort bool, codecs ...media.Codec) (*diago.Diago, int) {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("phone"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	port := 0 // any free port: the phone is only reached in its dialogs
	if fixedPort {
		port = freePort(t)
	}
	opts := []diago.DiagoOption{diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: port})}
	if len(codecs) > 0 {
		opts = append(opts, diago.WithMediaConfig(diago.MediaConfig{Codecs: codecs}))
	}
	return diago.NewDiago(ua, opts...), port
}

// serve makes the phone answer INVITEs with handle (for outbound calls),
// or just take in-dialog requests when handle is nil.
func serve(t *testing.T, dg *diago.Diago, handle func(d *diago.DialogServerSession)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if handle == nil {
		handle = func(d *diago.DialogServerSession) {}
	}
	if err := dg.ServeBackground(ctx, handle); err != nil {
		t.Fatal(err)
	}
}

// newPhone is a phone that takes in-dialog requests (BYE) and answers no
// call.
func newPhone(t *testing.T, codecs ...media.Codec) *diago.Diago {
	t.Helper()
	dg, _ := phone(t, false, codecs...)
	serve(t, dg, nil)
	return dg
}

// call dials the rig's number from a new phone and fails t unless the
// call is answered; the dialog is closed at t's end.
func (r *rig) call(t *testing.T) (*diago.DialogClientSession, *diago.DialogMedia) {
	t.Helper()
	d, med, err := r.dial(t.Context(), newPhone(t), "+14155550123")
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d, med
}

// dial calls the rig's number from the phone.
func (r *rig) dial(ctx context.Context, dg *diago.Diago, user string) (d *diago.DialogClientSession, med *diago.DialogMedia, err error) {
	retryBind(func() error {
		d, med, err = dg.Invite(ctx, sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: r.port}, diago.InviteOptions{})
		return err
	})
	return d, med, err
}

// retryBind runs send again while it fails because the phone's UDP
// listener is not yet in sipgo's connection pool: sipgo reports a listener
// ready just before it adds it there (sipgo v1.7.2, server.go
// listenReadyCtx before TransportUDP.Serve's pool.Add), and a request sent
// in between tries to bind the same port again. The window is a few
// instructions wide; there is no event to wait for.
func retryBind(send func() error) {
	for range 50 {
		err := send()
		if err == nil || !strings.Contains(err.Error(), "failed to request connection") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// only returns the account's only call.
func (r *rig) only() *agentphone.Call {
	r.t.Helper()
	l, err := r.calls.List(r.t.Context(), r.sc, agentphone.CallFilter{}, agentphone.Page{Limit: 10})
	if err != nil || len(l.Items) != 1 {
		r.t.Fatalf("calls: %d, %v; want 1", len(l.Items), err)
	}
	return l.Items[0]
}

// waitStatus polls call id until it has status (the edge records the
// answer once the phone's ACK is in, just after the phone's INVITE
// returned), or fails after 5 s.
func (r *rig) waitStatus(id, status string) *agentphone.Call {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := r.calls.Get(r.t.Context(), r.sc, id)
		if err != nil {
			r.t.Fatal(err)
		}
		if c.Status == status {
			return c
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("call %s is %s, want %s", id, c.Status, status)
		}
		time.Sleep(10 * time.Millisecond) // polling the store for the edge's write
	}
}

// waitEnd waits for call id to end and returns it.
func (r *rig) waitEnd(id string) *agentphone.Call {
	r.t.Helper()
	c, err := r.calls.Wait(r.t.Context(), r.sc, id, 20*time.Second)
	if err != nil || !c.Ended() {
		r.t.Fatalf("call %s did not end: %+v, %v", id, c, err)
	}
	return c
}

// ear returns the reader of the audio the phone receives, its codec and
// the media's properties (the payload type the audio comes in).
func ear(t *testing.T, med *diago.DialogMedia, opts ...diago.AudioReaderOption) (io.Reader, audio.Codec, diago.MediaProps) {
	t.Helper()
	var props diago.MediaProps
	r, err := med.AudioReader(append(opts, diago.WithAudioReaderMediaProps(&props))...)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := audio.CodecForPayloadType(props.Codec.PayloadType)
	if err != nil {
		t.Fatal(err)
	}
	return r, codec, props
}

// listen reads the phone's received audio (PCMU or PCMA) and reports how
// much of it was loud (above -40 dBFS) until quiet follows speech for
// quietAfter, or timeout.
func listen(t *testing.T, med *diago.DialogMedia, quietAfter, timeout time.Duration) (loud, total time.Duration) {
	t.Helper()
	r, codec, _ := ear(t, med)
	buf := make([]byte, media.RTPBufSize)
	deadline := time.Now().Add(timeout)
	var quiet time.Duration
	for time.Now().Before(deadline) {
		n, err := r.Read(buf)
		if err != nil {
			break
		}
		if n == 0 {
			continue
		}
		pcm := codec.Decode(buf[:n], nil)
		d := time.Duration(len(pcm)) * time.Second / time.Duration(codec.SampleRate())
		total += d
		if audio.LevelDBFS(pcm) > -40 {
			loud += d
			quiet = 0
		} else if loud > 0 {
			quiet += d
			if quiet >= quietAfter {
				break
			}
		}
	}
	return loud, total
}

// events returns the types and data of a call's event log.
func (r *rig) events(id string) []*agentphone.CallEvent {
	r.t.Helper()
	evs, err := r.calls.Events(r.t.Context(), r.sc, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return evs
}

// waitEvent polls the call's event log until it holds an event of type
// typ whose data contains want, or fails after 5 s.
func (r *rig) waitEvent(id, typ, want string) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, e := range r.events(id) {
			if e.Type == typ && (want == "" || containsJSON(e.Data, want)) {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no %s event with %s on call %s: %v", typ, want, id, r.events(id))
		}
		time.Sleep(20 * time.Millisecond) // polling the store for the edge's write
	}
}

func containsJSON(data []byte, want string) bool {
	return want == "" || strings.Contains(string(data), want)
}

// TestInboundCall: a call to the number is answered; the phone hears the
// greeting (loud audio of plausible length); a key it presses is on the
// call's event log; its BYE ends the call as caller-hangup; the recording
// has two channels as long as the call, the agent's carrying the greeting;
// the greeting is the agent's turn in the transcript.
func TestInboundCall(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{})
		ctx := t.Context()
		dialog, med := r.call(t)
		call := r.waitStatus(r.only().ID, agentphone.CallInProgress)
		if call.Direction != agentphone.DirectionInbound ||
			call.To != "+14155550123" || call.AgentID == nil || *call.AgentID != r.agent.ID {
			t.Fatalf("call after the answer: %+v", call)
		}
		loud, _ := listen(t, med, 600*time.Millisecond, 15*time.Second)
		if loud < 1500*time.Millisecond || loud > 8*time.Second {
			t.Fatalf("heard %s of greeting, want 1.5–8 s", loud)
		}
		dw := &diago.DTMFWriter{}
		if _, err := med.AudioWriter(diago.WithAudioWriterDTMF(dw)); err != nil {
			t.Fatal(err)
		}
		if err := dw.WriteDTMF('5'); err != nil {
			t.Fatal(err)
		}
		r.waitEvent(call.ID, "dtmf", `"5"`)
		if err := dialog.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		c := r.waitEnd(call.ID)
		if c.Status != agentphone.CallCompleted || c.EndReason == nil || *c.EndReason != agentphone.EndCallerHangup ||
			c.DurationSeconds == nil || *c.DurationSeconds < 2 {
			t.Fatalf("ended call: %+v", c)
		}
		turns, err := r.calls.Transcript(ctx, r.sc, call.ID)
		if err != nil || len(turns) != 1 || turns[0].Role != agentphone.RoleAgent || turns[0].Text != *r.agent.BeginMessage {
			t.Fatalf("transcript %v, %v", turns, err)
		}
		checkRecording(t, r.dir, c)
	})
}

// checkRecording opens the call's recording: two channels, as long as the
// answered call (±0.3 s), the agent's channel loud, the caller's silent.
func checkRecording(t *testing.T, dir string, c *agentphone.Call) {
	t.Helper()
	w := openRecording(t, dir, c)
	if lvl := audio.LevelDBFS(w.Channel(1)); lvl < -40 {
		t.Fatalf("agent channel at %.1f dBFS: no greeting in it", lvl)
	}
	if lvl := audio.LevelDBFS(w.Channel(0)); lvl > -60 {
		t.Fatalf("caller channel at %.1f dBFS, but the phone sent nothing", lvl)
	}
}

// openRecording reads call c's recording and fails t unless it has two
// channels and lasts as long as the answered call (±0.3 s).
func openRecording(t *testing.T, dir string, c *agentphone.Call) *audio.WAV {
	t.Helper()
	if c.RecordingPath == nil {
		t.Fatal("no recording")
	}
	f, err := os.Open(filepath.Join(dir, *c.RecordingPath))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := audio.ReadWAV(f)
	if err != nil {
		t.Fatal(err)
	}
	answered := c.EndedAt.Sub(*c.AnsweredAt)
	if w.Channels != 2 || w.Duration() < answered-300*time.Millisecond || w.Duration() > answered+300*time.Millisecond {
		t.Fatalf("recording: %d channels, %s; call answered for %s", w.Channels, w.Duration(), answered)
	}
	return w
}

// TestInboundSilenceTimeout: a caller who says nothing after the greeting
// is hung up on after the agent's maxSilenceMs (the phone gets a BYE).
func TestInboundSilenceTimeout(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{maxSilence: 1000, greeting: "Hi."})
		dialog, _ := r.call(t)
		call := r.only()
		select {
		case <-dialog.Context().Done(): // the server's BYE
		case <-time.After(15 * time.Second):
			t.Fatal("no BYE from the server after the silence")
		}
		c := r.waitEnd(call.ID)
		if c.EndReason == nil || *c.EndReason != agentphone.EndSilence || c.Status != agentphone.CallCompleted {
			t.Fatalf("ended call: %+v", c)
		}
	})
}

// TestInboundLateOffer: an INVITE without SDP (a delayed offer, as some
// PBXes send) is answered with the server's offer in the 200 OK; the
// caller's answer comes in the ACK, and the greeting reaches the RTP
// address it names.
func TestInboundLateOffer(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{})
		ctx := t.Context()
		rtpConn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer rtpConn.Close()
		rtpPort := rtpConn.LocalAddr().(*net.UDPAddr).Port

		ua, err := sipgo.NewUA(sipgo.WithUserAgent("pbx"))
		if err != nil {
			t.Fatal(err)
		}
		defer ua.Close()
		client, err := sipgo.NewClient(ua)
		if err != nil {
			t.Fatal(err)
		}
		dua := sipgo.DialogUA{Client: client, ContactHDR: sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "pbx", Host: "127.0.0.1"}}}
		sess, err := dua.Invite(ctx, sipmsg.Uri{Scheme: "sip", User: r.number.PhoneNumber, Host: "127.0.0.1", Port: r.port}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
			t.Fatalf("the late-offer INVITE: %v", err)
		}
		offer := string(sess.InviteResponse.Body())
		if !strings.Contains(offer, "m=audio ") || !strings.Contains(strings.ToUpper(offer), "PCMU/8000") {
			t.Fatalf("the 200 OK's offer:\n%s", offer)
		}
		answer := fmt.Sprintf("v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", rtpPort)
		ack := sipmsg.NewRequest(sipmsg.ACK, sess.InviteResponse.Contact().Address)
		ack.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody([]byte(answer))
		if err := sess.WriteAck(ctx, ack); err != nil {
			t.Fatal(err)
		}

		// The greeting, as PCMU packets to the answer's address.
		buf := make([]byte, 1500)
		var loud time.Duration
		pcmu, _ := audio.CodecForPayloadType(0)
		_ = rtpConn.SetReadDeadline(time.Now().Add(15 * time.Second))
		for loud < time.Second {
			n, _, err := rtpConn.ReadFrom(buf)
			if err != nil {
				t.Fatalf("after %s of greeting: %v", loud, err)
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(buf[:n]) != nil || pkt.PayloadType != 0 {
				continue
			}
			if audio.LevelDBFS(pcmu.Decode(pkt.Payload, nil)) > -40 {
				loud += 20 * time.Millisecond
			}
		}
		call := r.waitStatus(r.only().ID, agentphone.CallInProgress)
		if err := sess.Bye(ctx); err != nil {
			t.Fatal(err)
		}
		if c := r.waitEnd(call.ID); c.EndReason == nil || *c.EndReason != agentphone.EndCallerHangup {
			t.Fatalf("ended call %+v", c)
		}
	})
}

// TestInboundRefused: INVITEs the server cannot take get the right final
// response and leave no call behind.
func TestInboundRefused(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{})
		ctx := t.Context()
		// A number with no agent.
		now := agentphone.Now()
		if err := r.store.CreateNumber(ctx, &agentphone.Number{
			ID: agentphone.NewID(agentphone.PrefixNumber), AccountID: r.sc.AccountID, PhoneNumber: "+14155550124", Country: "US",
			Status: agentphone.NumberActive, Type: agentphone.NumberTypeSMS, Provider: "sandbox", ProviderRef: "x",
			CreatedAt: now,
		}, 0); err != nil {
			t.Fatal(err)
		}
		dg := newPhone(t)
		for _, c := range []struct {
			user string
			want int
		}{
			{"+15555550000", 404}, // no such number
			{"+14155550124", 480}, // no agent
			{"not-a-number", 404},
		} {
			_, _, err := r.dial(ctx, dg, c.user)
			var re *sipgo.ErrDialogResponse
			if !errors.As(err, &re) || re.Res.StatusCode != c.want {
				t.Errorf("INVITE %s: %v, want %d", c.user, err, c.want)
			}
		}
		// A phone that speaks only L16: no codec in common.
		l16 := media.Codec{Name: "L16", PayloadType: 98, SampleRate: 8000, SampleDur: 20 * time.Millisecond, NumChannels: 1}
		dg2 := newPhone(t, l16)
		_, _, err := r.dial(ctx, dg2, "+14155550123")
		var re *sipgo.ErrDialogResponse
		if !errors.As(err, &re) || re.Res.StatusCode != 488 {
			t.Errorf("INVITE with L16 only: %v, want 488", err)
		}
		if l, err := r.calls.List(ctx, r.sc, agentphone.CallFilter{}, agentphone.Page{Limit: 10}); err != nil || len(l.Items) != 0 {
			t.Fatalf("calls after refusals: %d, %v", len(l.Items), err)
		}
		if got := r.srv.Stats.InvitesNotFound.Load(); got != 2 {
			t.Errorf("InvitesNotFound = %d, want 2", got)
		}
	})
}

// TestInboundBusy: over the account's concurrent-call limit an INVITE gets
// 486 Busy Here.
func TestInboundBusy(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{maxCalls: 1})
		ctx := t.Context()
		first, _ := r.call(t)
		_, _, err := r.dial(ctx, newPhone(t), "+14155550123")
		var re *sipgo.ErrDialogResponse
		if !errors.As(err, &re) || re.Res.StatusCode != 486 {
			t.Fatalf("second INVITE: %v, want 486", err)
		}
		_ = first.Hangup(ctx)
	})
}

// TestInboundCancel: a caller who hangs up while it rings ends the call as
// canceled, never answered.
func TestInboundCancel(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{answerDelay: 30 * time.Second})
		dg := newPhone(t)
		ctx, cancel := context.WithCancel(t.Context())
		ringing := make(chan struct{})
		var once sync.Once
		d, err := dg.NewDialog(sipmsg.Uri{Scheme: "sip", User: "+14155550123", Host: "127.0.0.1", Port: r.port}, diago.NewDialogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		done := make(chan error, 1)
		go func() {
			var err error
			retryBind(func() error {
				_, err = d.Invite(ctx, diago.InviteClientOptions{OnResponse: func(res *sipmsg.Response) error {
					if res.StatusCode == 180 {
						once.Do(func() { close(ringing) })
					}
					return nil
				}})
				return err
			})
			done <- err
		}()
		select {
		case <-ringing:
		case <-time.After(10 * time.Second):
			t.Fatal("no 180 Ringing")
		}
		cancel() // CANCEL
		if err := <-done; err == nil {
			t.Fatal("INVITE answered despite the CANCEL")
		}
		c := r.waitEnd(r.only().ID)
		if c.Status != agentphone.CallCanceled || c.AnsweredAt != nil || c.EndReason == nil || *c.EndReason != agentphone.EndCanceled {
			t.Fatalf("canceled call: %+v", c)
		}
	})
}

// TestEndCallAPI: POST /v1/calls/{id}/end (CallService.End) hangs up a
// live call: the phone gets a BYE, the call ends with reason api.
func TestEndCallAPI(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{})
		ctx := t.Context()
		dialog, _ := r.call(t)
		call := r.only()
		if _, err := r.calls.End(ctx, r.sc, call.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case <-dialog.Context().Done():
		case <-time.After(10 * time.Second):
			t.Fatal("no BYE after the end-call request")
		}
		c := r.waitEnd(call.ID)
		if c.EndReason == nil || *c.EndReason != agentphone.EndAPI {
			t.Fatalf("ended call: %+v", c)
		}
		if _, err := r.calls.End(ctx, r.sc, call.ID); agentphone.ErrorKind(err) != agentphone.KindConflict {
			t.Fatalf("ending an ended call: %v, want a conflict", err)
		}
	})
}

// TestOutboundCall: POST /v1/calls places the call through the trunk to
// the phone, with the number as caller id; answered, the phone hears the
// initial greeting; the phone's BYE ends it. A busy phone ends the call
// busy; one that never answers, no-answer.
func TestOutboundCall(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		type outcome struct {
			from  string
			heard time.Duration
		}
		answered := make(chan outcome, 1)
		mode := make(chan string, 4)
		dg, pport := phone(t, true)
		serve(t, dg, func(d *diago.DialogServerSession) {
			m := <-mode
			if m == "auth" { // a carrier that wants the trunk's credentials
				h := d.InviteRequest.GetHeader("Authorization")
				if h == nil {
					mode <- m // the challenged INVITE comes again
					chal := digest.Challenge{Realm: "carrier", Nonce: "n0nce", Algorithm: "MD5", QOP: []string{"auth"}}
					_ = d.Respond(401, "Unauthorized", nil, sipmsg.NewHeader("WWW-Authenticate", chal.String()))
					return
				}
				cred, err := digest.ParseCredentials(h.Value())
				if err != nil {
					t.Error(err)
					return
				}
				want, _ := digest.Digest(&digest.Challenge{Realm: "carrier", Nonce: "n0nce", Algorithm: "MD5", QOP: []string{"auth"}},
					digest.Options{Method: "INVITE", URI: cred.URI, Username: "acme", Password: "trunk-pw", Cnonce: cred.Cnonce, Count: cred.Nc})
				if cred.Username != "acme" || cred.Response != want.Response {
					_ = d.Respond(403, "Forbidden", nil)
					return
				}
			}
			switch m {
			case "busy":
				_ = d.Respond(486, "Busy Here", nil)
			case "ring":
				_ = d.Ringing()
				<-d.Context().Done()
			default:
				_ = d.Ringing()
				med, err := d.Answer(diago.AnswerOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				loud, _ := listen(t, med, 600*time.Millisecond, 15*time.Second)
				answered <- outcome{from: d.InviteRequest.From().Address.User, heard: loud}
				_ = d.Hangup(context.Background())
			}
		})
		r := newRig(t, b, rigOptions{ringTimeout: 2 * time.Second, trunks: []sip.Trunk{{
			Name: "test", Outbound: &sip.OutboundTrunk{Host: "127.0.0.1", Port: pport, CallerIDFormat: "e164",
				Username: "acme", Password: "trunk-pw"},
		}}})
		place := func(m string) *agentphone.Call {
			mode <- m
			c, err := r.calls.Create(ctx, r.sc, agentphone.CallInput{
				AgentID: agentphone.Some(r.agent.ID), ToNumber: agentphone.Some("+14155559876"),
				InitialGreeting: agentphone.Some("Hi, this is Acme calling about your order."),
			})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		c := place("answer")
		got := <-answered
		if got.from != r.number.PhoneNumber || got.heard < time.Second {
			t.Fatalf("the phone saw caller id %q and heard %s", got.from, got.heard)
		}
		c = r.waitEnd(c.ID)
		if c.Status != agentphone.CallCompleted || c.Direction != agentphone.DirectionOutbound || c.AnsweredAt == nil ||
			c.EndReason == nil || *c.EndReason != agentphone.EndCallerHangup {
			t.Fatalf("answered call: %+v", c)
		}
		// A carrier that challenges: the trunk's credentials answer it.
		c = place("auth")
		if got = <-answered; got.heard < time.Second {
			t.Fatalf("after the challenge the phone heard %s", got.heard)
		}
		if c = r.waitEnd(c.ID); c.Status != agentphone.CallCompleted || c.AnsweredAt == nil {
			t.Fatalf("challenged call: %+v", c)
		}
		for _, m := range []struct{ mode, status string }{{"busy", agentphone.CallBusy}, {"ring", agentphone.CallNoAnswer}} {
			c := r.waitEnd(place(m.mode).ID)
			if c.Status != m.status || c.AnsweredAt != nil {
				t.Fatalf("%s: call %+v, want %s", m.mode, c, m.status)
			}
		}
	})
}

// TestCodecs: a phone that speaks only A-law, or only G.722 (wideband),
// is answered in that codec and hears the greeting.
func TestCodecs(t *testing.T) {
	t.Parallel()
	g722 := media.Codec{Name: "G722", PayloadType: 9, SampleRate: 8000, SampleDur: 20 * time.Millisecond, NumChannels: 1}
	for _, c := range []media.Codec{media.CodecAudioAlaw, g722} {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			each(t, func(t *testing.T, b storetest.Backend) {
				r := newRig(t, b, rigOptions{greeting: "Hello, wideband or not."})
				ctx := t.Context()
				dg, _ := phone(t, false, c, media.CodecTelephoneEvent8000)
				serve(t, dg, nil)
				dialog, med, err := r.dial(ctx, dg, "+14155550123")
				if err != nil {
					t.Fatalf("INVITE: %v", err)
				}
				defer dialog.Close()
				var props diago.MediaProps
				if _, err := med.AudioReader(diago.WithAudioReaderMediaProps(&props)); err != nil {
					t.Fatal(err)
				}
				if props.Codec.PayloadType != c.PayloadType {
					t.Fatalf("negotiated %s, want %s", props.Codec.Name, c.Name)
				}
				if loud, _ := listen(t, med, 600*time.Millisecond, 15*time.Second); loud < time.Second {
					t.Fatalf("heard %s of greeting in %s", loud, c.Name)
				}
				_ = dialog.Hangup(ctx)
				r.waitEnd(r.only().ID)
			})
		})
	}
}

// TestGarbage: datagrams and TCP streams that are not SIP, and SIP that
// is malformed, are dropped; the server keeps answering calls.
func TestGarbage(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{greeting: "Still here."})
		addr := "127.0.0.1:" + strconv.Itoa(r.port)
		junk := [][]byte{
			{0, 1, 2, 3},
			[]byte("INVITE sip:@ SIP/2.0\r\n\r\n"),
			[]byte("INVITE sip:+14155550123@127.0.0.1 SIP/2.0\r\nContent-Length: 99999999\r\n\r\nv=0"),
			[]byte(strings.Repeat("A", 60000)),
			[]byte("INVITE sip:+14155550123@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:+14155550123@127.0.0.1>\r\nCall-ID: junk\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 7\r\n\r\ngarbage"),
		}
		u, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		for _, j := range junk {
			_, _ = u.Write(j)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range junk {
			_, _ = c.Write(j)
		}
		c.Close()
		ctx := t.Context()
		dg := newPhone(t)
		dialog, _, err := r.dial(ctx, dg, "+14155550123")
		if err != nil {
			t.Fatalf("INVITE after the garbage: %v", err)
		}
		_ = dialog.Hangup(ctx)
		dialog.Close()
		if p := r.srv.Stats.Panics.Load(); p != 0 {
			t.Fatalf("%d handler panics", p)
		}
	})
}

// TestInviteFlood: past its rate, a source's INVITEs are answered 503 with
// Retry-After before any routing, and counted.
func TestInviteFlood(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{inviteRate: 0.01})
		ctx := t.Context()
		dg := newPhone(t)
		first, _, err := r.dial(ctx, dg, "+14155550123")
		if err != nil {
			t.Fatal(err)
		}
		_ = first.Hangup(ctx)
		first.Close()
		_, _, err = r.dial(ctx, dg, "+14155550123")
		var re *sipgo.ErrDialogResponse
		if !errors.As(err, &re) || re.Res.StatusCode != 503 || re.Res.GetHeader("Retry-After") == nil {
			t.Fatalf("second INVITE: %v, want 503 with Retry-After", err)
		}
		if got := r.srv.Stats.InvitesFlood.Load(); got != 1 {
			t.Fatalf("InvitesFlood = %d, want 1", got)
		}
		l, err := r.calls.List(ctx, r.sc, agentphone.CallFilter{}, agentphone.Page{Limit: 10})
		if err != nil || len(l.Items) != 1 {
			t.Fatalf("calls: %d, %v; want only the first", len(l.Items), err)
		}
	})
}

// TestTrunkDigest: with loopback not trusted, an INVITE from a phone that
// knows the trunk's password is challenged and then answered; one that
// does not know it gets 401, one with a wrong password 403; with no trunk
// admitting the source at all, 403.
func TestTrunkDigest(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{distrust: true, trunks: []sip.Trunk{
			{Name: "pbx", Inbound: &sip.InboundTrunk{Username: "pbx", Password: "s3cret"}},
		}})
		ctx := t.Context()
		dg := newPhone(t)
		to := sipmsg.Uri{Scheme: "sip", User: "+14155550123", Host: "127.0.0.1", Port: r.port}
		code := func(user, password string) int {
			t.Helper()
			var d *diago.DialogClientSession
			var err error
			retryBind(func() error {
				d, _, err = dg.Invite(ctx, to, diago.InviteOptions{Username: user, Password: password})
				return err
			})
			if err == nil {
				_ = d.Hangup(ctx)
				d.Close()
				return 200
			}
			var re *sipgo.ErrDialogResponse
			if !errors.As(err, &re) {
				t.Fatalf("INVITE as %s: %v", user, err)
			}
			return re.Res.StatusCode
		}
		if got := code("pbx", "s3cret"); got != 200 {
			t.Fatalf("the trunk's password: %d, want the call answered", got)
		}
		if got := code("", ""); got != 401 {
			t.Fatalf("no credentials: %d, want 401", got)
		}
		if got := code("pbx", "guess"); got != 403 {
			t.Fatalf("a wrong password: %d, want 403", got)
		}
		if r.srv.Stats.InvitesChallenged.Load() < 2 || r.srv.Stats.InvitesForbidden.Load() != 1 {
			t.Fatalf("challenged %d, forbidden %d", r.srv.Stats.InvitesChallenged.Load(), r.srv.Stats.InvitesForbidden.Load())
		}
	})
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{distrust: true})
		dg := newPhone(t)
		_, _, err := r.dial(t.Context(), dg, "+14155550123")
		var re *sipgo.ErrDialogResponse
		if !errors.As(err, &re) || re.Res.StatusCode != 403 {
			t.Fatalf("no trunk: %v, want 403", err)
		}
	})
}

// keyPresser is a runner that presses keys (RFC 4733) and then waits for
// the call to end.
type keyPresser struct{ keys string }

func (k keyPresser) Run(ctx context.Context, s *voice.Session) string {
	for _, key := range k.keys {
		if err := s.SendDTMF(key); err != nil {
			s.Log.Error("sending a key failed", "err", err)
		}
	}
	<-ctx.Done()
	return ""
}

// TestSendDTMF: keys the agent's side presses reach the phone as RFC 4733
// events, in order.
func TestSendDTMF(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{runner: keyPresser{keys: "19#"}})
		ctx := t.Context()
		dialog, med := r.call(t)
		var dr diago.DTMFReader
		rd, err := med.AudioReader(diago.WithAudioReaderDTMF(&dr))
		if err != nil {
			t.Fatal(err)
		}
		keys := make(chan rune, 8)
		dr.OnDTMF(func(k rune) error { keys <- k; return nil })
		// The packets' headers, until the phone hangs up; after the three
		// keys' 21 event packets, a few audio ones.
		var hdrs []rtp.Header
		after := make(chan struct{})
		read := make(chan struct{})
		go func() {
			defer close(read)
			buf := make([]byte, media.RTPBufSize)
			events, audioAfter := 0, 0
			for {
				if _, err := rd.Read(buf); err != nil {
					return
				}
				h := med.RTPPacketReader.PacketHeader
				hdrs = append(hdrs, h)
				if h.PayloadType == 101 {
					events++
				} else if events == 21 {
					if audioAfter++; audioAfter == 3 {
						close(after)
					}
				}
			}
		}()
		var got []rune
		for len(got) < 3 {
			select {
			case k := <-keys:
				got = append(got, k)
			case <-time.After(10 * time.Second):
				t.Fatalf("the phone got keys %q, want 19#", string(got))
			}
		}
		if string(got) != "19#" {
			t.Fatalf("the phone got keys %q, want 19#", string(got))
		}
		select {
		case <-after:
		case <-time.After(10 * time.Second):
			t.Fatal("no audio after the keys")
		}
		_ = dialog.Hangup(ctx)
		<-read // hdrs is the reader's until it ends
		checkEventTimestamps(t, hdrs)
		r.waitEnd(r.only().ID)
	})
}

// checkEventTimestamps checks the RTP timing of a stream carrying keys:
// the audio's timestamp moves 160 (20 ms at 8 kHz) per sequence number,
// the event packets in between included, so the audio after a key goes on
// where the time is; every packet of one event carries its start time.
func checkEventTimestamps(t *testing.T, hdrs []rtp.Header) {
	t.Helper()
	var base uint32
	events := 0
	for i, h := range hdrs {
		want := uint32(h.SequenceNumber) * 160
		if i == 0 {
			base = h.Timestamp - want
		}
		if h.PayloadType != 101 {
			if h.Timestamp-base != want {
				t.Fatalf("audio packet %d (seq %d): timestamp %d, want %d", i, h.SequenceNumber, h.Timestamp-base, want)
			}
			continue
		}
		events++
		if h.Marker { // an event starts: its timestamp is now
			if h.Timestamp-base != want {
				t.Fatalf("event start (seq %d): timestamp %d, want %d", h.SequenceNumber, h.Timestamp-base, want)
			}
		} else if prev := hdrs[i-1]; prev.PayloadType == 101 && h.Timestamp != prev.Timestamp {
			t.Fatalf("event packet (seq %d): timestamp %d, want the event's %d", h.SequenceNumber, h.Timestamp, prev.Timestamp)
		}
	}
	if events != 3*7 {
		t.Fatalf("%d event packets, want 21 (7 for each of 3 keys)", events)
	}
}

// TestRTPGarbage: datagrams on a call's media port that are not RTP of
// the call (garbage, an unknown payload type, an oversized packet) are
// dropped; the call's media goes on: a key pressed afterwards arrives.
func TestRTPGarbage(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{greeting: "Hi."})
		ctx := t.Context()
		dialog, med := r.call(t)
		call := r.waitStatus(r.only().ID, agentphone.CallInProgress)
		raddr := med.MediaSession().Raddr
		u, err := net.Dial("udp", raddr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		bad := [][]byte{
			{1, 2, 3},
			make([]byte, 1400), // version 0
			append([]byte{0x80, 77, 0, 9, 0, 0, 1, 0, 0, 0, 0, 9}, make([]byte, 160)...),  // unknown payload type 77
			append([]byte{0x80, 0, 0, 10, 0, 0, 2, 0, 0, 0, 0, 9}, make([]byte, 8000)...), // oversized
		}
		for range 5 {
			for _, p := range bad {
				_, _ = u.Write(p)
			}
		}
		dw := &diago.DTMFWriter{}
		if _, err := med.AudioWriter(diago.WithAudioWriterDTMF(dw)); err != nil {
			t.Fatal(err)
		}
		if err := dw.WriteDTMF('8'); err != nil {
			t.Fatal(err)
		}
		r.waitEvent(call.ID, "dtmf", `"8"`)
		if got := r.srv.Stats.Panics.Load(); got != 0 {
			t.Fatalf("%d panics", got)
		}
		if got := r.srv.Stats.RTPDropped.Load(); got == 0 {
			t.Fatal("no datagram counted as dropped")
		}
		_ = dialog.Hangup(ctx)
		r.waitEnd(call.ID)
	})
}

// TestRTCP: the server sends RTCP sender reports on a call (every 5 s, by
// diago's RTP session), counting the packets it sent.
func TestRTCP(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, rigOptions{greeting: "Hi."})
		ctx := t.Context()
		dialog, med := r.call(t)
		reports := make(chan uint32, 4)
		med.RTPSession().OnReadRTCP(func(pkt rtcp.Packet, _ media.RTPReadStats) {
			if sr, ok := pkt.(*rtcp.SenderReport); ok {
				select {
				case reports <- sr.PacketCount:
				default:
				}
			}
		})
		go func() { // the phone reads its media, so that its session runs
			rd, err := med.AudioReader()
			if err != nil {
				return
			}
			buf := make([]byte, media.RTPBufSize)
			for {
				if _, err := rd.Read(buf); err != nil {
					return
				}
			}
		}()
		select {
		case n := <-reports:
			if n < 50 {
				t.Fatalf("sender report counts %d packets after about 5 s of 50 a second", n)
			}
		case <-time.After(12 * time.Second):
			t.Fatal("no RTCP sender report from the server")
		}
		_ = dialog.Hangup(ctx)
		r.waitEnd(r.only().ID)
	})
}
