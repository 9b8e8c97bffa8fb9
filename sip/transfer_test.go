package sip_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/sip"
	"github.com/agentphone/agentphone/storetest"
	"github.com/agentphone/agentphone/voice"
)

// transferTarget is the number the tests' agent transfers its callers to.
const transferTarget = "+14155559876"

// transferRunner is a runner that transfers the caller at once, as the
// conversation engine does on a webhook's "action": "transfer". When the
// transfer fails it keeps the caller, and says so with a second of tone.
type transferRunner struct {
	result chan error // Transfer's outcome
}

func (r *transferRunner) Run(ctx context.Context, s *voice.Session) string {
	if s.Transfer == nil {
		r.result <- errors.New("the session offers no Transfer")
		return agentphone.EndError
	}
	err := s.Transfer(ctx, transferTarget)
	r.result <- err
	if err == nil {
		return agentphone.EndTransfer
	}
	var phase float64
	n := s.Rate / 50
	for range 50 {
		if s.Out.WriteFrame(ctx, audio.Frame{Samples: tone(s.Rate, n, &phase), Rate: s.Rate}) != nil {
			break
		}
	}
	<-ctx.Done()
	return ""
}

// tone returns the next n samples of a 440 Hz tone at -10 dBFS at rate,
// going on from phase.
func tone(rate, n int, phase *float64) []int16 {
	out := make([]int16, n)
	step := 2 * math.Pi * 440 / float64(rate)
	for i := range out {
		out[i] = int16(0.316 * 32767 * math.Sin(*phase))
		*phase += step
	}
	*phase = math.Mod(*phase, 2*math.Pi)
	return out
}

// sendTone makes the phone's side of med send a tone until the test ends
// or the media closes.
func sendTone(t *testing.T, med *diago.DialogMedia) {
	t.Helper()
	var props diago.MediaProps
	w, err := med.AudioWriter(diago.WithAudioWriterMediaProps(&props))
	if err != nil {
		t.Fatal(err)
	}
	codec, err := audio.CodecForPayloadType(props.Codec.PayloadType)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		var phase float64
		rate := codec.SampleRate()
		var payload []byte
		for ctx.Err() == nil {
			payload = codec.Encode(tone(rate, rate/50, &phase), payload[:0])
			if _, err := w.Write(payload); err != nil { // paced by diago's writer: 20 ms each
				return
			}
		}
	})
}

// hears reads the phone's received audio until it has heard want of it
// loud (above -40 dBFS), and reports whether it did within timeout.
func hears(t *testing.T, med *diago.DialogMedia, want, timeout time.Duration) bool {
	t.Helper()
	r, codec, props := ear(t, med)
	buf := make([]byte, media.RTPBufSize)
	var loud time.Duration
	for deadline := time.Now().Add(timeout); loud < want && time.Now().Before(deadline); {
		n, err := r.Read(buf)
		if err != nil {
			return false
		}
		if n == 0 || med.RTPPacketReader.PacketHeader.PayloadType != props.Codec.PayloadType {
			continue
		}
		pcm := codec.Decode(buf[:n], nil)
		if audio.LevelDBFS(pcm) > -40 {
			loud += time.Duration(len(pcm)) * time.Second / time.Duration(codec.SampleRate())
		}
	}
	return loud >= want
}

// answered is a call the transfer target's phone took.
type answered struct {
	from string // the caller id in From
	d    *diago.DialogServerSession
	med  *diago.DialogMedia
}

// targetPhone is the phone of the transfer target, on a port trunks can
// point at. Busy, it answers every INVITE 486; else it answers, reports
// the call on calls and keeps it until it ends. invites gets the caller
// id of every INVITE.
func targetPhone(t *testing.T, busy bool, codecs ...media.Codec) (port int, calls chan answered, invites chan string) {
	t.Helper()
	dg, port := phone(t, true, codecs...)
	calls, invites = make(chan answered, 4), make(chan string, 8)
	serve(t, dg, func(d *diago.DialogServerSession) {
		from := d.InviteRequest.From().Address.User
		invites <- from
		if busy {
			_ = d.Respond(sipmsg.StatusBusyHere, "Busy Here", nil)
			return
		}
		_ = d.Ringing()
		med, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			t.Errorf("the transfer target's answer: %v", err)
			return
		}
		calls <- answered{from: from, d: d, med: med}
		<-d.Context().Done()
	})
	return port, calls, invites
}

// callReferring dials the rig's number from a new phone that takes REFERs
// with onRefer (diago answers 202 and sends the NOTIFYs: 100, then the
// final status of the referred call, or 400 when onRefer fails without
// one), and fails t unless the call is answered.
func (r *rig) callReferring(t *testing.T, onRefer diago.OnReferDialogFunc) (*diago.DialogClientSession, *diago.DialogMedia) {
	t.Helper()
	dg := newPhone(t)
	d, err := dg.NewDialog(sipmsg.Uri{Scheme: "sip", User: r.number.PhoneNumber, Host: "127.0.0.1", Port: r.port}, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var med *diago.DialogMedia
	retryBind(func() error {
		med, err = d.Invite(t.Context(), diago.InviteClientOptions{OnRefer: onRefer})
		return err
	})
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	if err := d.Ack(t.Context()); err != nil {
		t.Fatal(err)
	}
	return d, med
}

// carrier is a trunk carrying the agent's calls to the transfer target's
// phone on port.
func carrier(port int) sip.Trunk {
	return sip.Trunk{Name: "carrier", Outbound: &sip.OutboundTrunk{Host: "127.0.0.1", Port: port}}
}

// ended waits for a dialog to end (a BYE either way), failing t after 10 s.
func ended(t *testing.T, ctx context.Context, who string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s's call did not end", who)
	}
}

// result waits for the runner's Transfer to return.
func result(t *testing.T, ch chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Transfer did not return")
		return nil
	}
}

// TestTransferRefer: the caller's phone takes the REFER: the server sends
// it with Refer-To the target's number at the trunk that carries the
// agent's number, the phone (202, then NOTIFY 100) calls the target, and
// on the NOTIFY 200 the server hangs up its side: the call ends
// "transfer", and the server placed no call of its own.
func TestTransferRefer(t *testing.T) {
	checkGoroutines(t)
	each(t, func(t *testing.T, b storetest.Backend) {
		port, calls, invites := targetPhone(t, false)
		run := &transferRunner{result: make(chan error, 1)}
		r := newRig(t, b, rigOptions{runner: run, trunks: []sip.Trunk{carrier(port)}})
		ctx := t.Context()
		referTo := make(chan sipmsg.Uri, 1)
		dialog, _ := r.callReferring(t, func(rd *diago.DialogClientSession) error {
			referTo <- rd.InviteRequest.Recipient
			if _, err := rd.Invite(ctx, diago.InviteClientOptions{}); err != nil {
				return err
			}
			if err := rd.Ack(ctx); err != nil { // the NOTIFY 200 goes out
				return err
			}
			// The phone's call to the target is not under test: the
			// target hangs up once it has the ACK.
			a := <-calls
			if err := a.d.Hangup(ctx); err != nil {
				return err
			}
			<-rd.Context().Done()
			return nil
		})
		if err := result(t, run.result); err != nil {
			t.Fatalf("Transfer: %v", err)
		}
		got := <-referTo
		if got.User != transferTarget || got.Host != "127.0.0.1" || got.Port != port {
			t.Fatalf("Refer-To %s, want sip:%s@127.0.0.1:%d", got.String(), transferTarget, port)
		}
		ended(t, dialog.Context(), "the caller") // the server's BYE
		call := r.waitEnd(r.only().ID)
		if call.Status != agentphone.CallCompleted || call.EndReason == nil || *call.EndReason != agentphone.EndTransfer {
			t.Fatalf("transferred call: %+v", call)
		}
		r.waitEvent(call.ID, "transfer", `"method":"refer"`)
		r.waitEvent(call.ID, "transfer", `"referTo":"sip:`+transferTarget+`@127.0.0.1:`+strconv.Itoa(port))
		if from := <-invites; from == r.number.PhoneNumber {
			t.Fatalf("the target's INVITE came from the agent's number: the server bridged instead")
		}
		select {
		case from := <-invites:
			t.Fatalf("a second INVITE reached the target (from %s)", from)
		default:
		}
	})
}

// TestTransferBridge: a caller's phone that refuses REFER (diago answers
// 406) is bridged to a new call to the target, with the agent's number
// as caller id, in another codec (G.722 against the caller's G.711: the
// audio is resampled each way); a tone from each side reaches the other;
// the target's BYE ends the caller's call too; the call ends "transfer",
// its recording holding the caller (left) and the target (right).
func TestTransferBridge(t *testing.T) {
	checkGoroutines(t)
	g722 := media.Codec{Name: "G722", PayloadType: 9, SampleRate: 8000, SampleDur: 20 * time.Millisecond, NumChannels: 1}
	each(t, func(t *testing.T, b storetest.Backend) {
		port, calls, _ := targetPhone(t, false, g722, media.CodecTelephoneEvent8000)
		run := &transferRunner{result: make(chan error, 1)}
		r := newRig(t, b, rigOptions{runner: run, trunks: []sip.Trunk{carrier(port)}})
		dialog, med := r.call(t)
		sendTone(t, med)
		if err := result(t, run.result); err != nil {
			t.Fatalf("Transfer: %v", err)
		}
		target := <-calls
		if target.from != r.number.PhoneNumber {
			t.Fatalf("the target's caller id is %q, want the agent's number %s", target.from, r.number.PhoneNumber)
		}
		sendTone(t, target.med)
		if !hears(t, target.med, 500*time.Millisecond, 10*time.Second) {
			t.Fatal("the target does not hear the caller")
		}
		if !hears(t, med, 500*time.Millisecond, 10*time.Second) {
			t.Fatal("the caller does not hear the target")
		}
		call := r.only()
		r.waitEvent(call.ID, "transfer_failed", `"status":406`)
		r.waitEvent(call.ID, "transfer", `"method":"bridge"`)
		if err := target.d.Hangup(t.Context()); err != nil {
			t.Fatal(err)
		}
		ended(t, dialog.Context(), "the caller")
		c := r.waitEnd(call.ID)
		if c.Status != agentphone.CallCompleted || c.EndReason == nil || *c.EndReason != agentphone.EndTransfer {
			t.Fatalf("bridged call: %+v", c)
		}
		checkBridgedRecording(t, r.dir, c)
	})
}

// TestTransferBridgeNoRefer: with "refer": false on the trunk the call
// came in on, no REFER is sent; the caller is bridged to the target, and
// the caller's BYE ends the target's call too.
// TestTransferBridgeKeysAndLimit: on a bridged call the keys each side
// presses reach the other, and the call's maximum duration still ends it
// (both sides hung up, end reason max-duration).
func TestTransferBridgeKeysAndLimit(t *testing.T) {
	each(t, func(t *testing.T, b storetest.Backend) {
		port, calls, _ := targetPhone(t, false)
		run := &transferRunner{result: make(chan error, 1)}
		r := newRig(t, b, rigOptions{runner: run, trunks: []sip.Trunk{carrier(port)}, maxDuration: 4 * time.Second})
		dialog, med := r.call(t)
		if err := result(t, run.result); err != nil {
			t.Fatalf("Transfer: %v", err)
		}
		target := <-calls
		keysOf := func(m *diago.DialogMedia) chan rune {
			var dr diago.DTMFReader
			rd, err := m.AudioReader(diago.WithAudioReaderDTMF(&dr))
			if err != nil {
				t.Fatal(err)
			}
			keys := make(chan rune, 8)
			dr.OnDTMF(func(k rune) error { keys <- k; return nil })
			go func() {
				buf := make([]byte, media.RTPBufSize)
				for {
					if _, err := rd.Read(buf); err != nil {
						return
					}
				}
			}()
			return keys
		}
		press := func(m *diago.DialogMedia, k rune) {
			var dw diago.DTMFWriter
			if _, err := m.AudioWriter(diago.WithAudioWriterDTMF(&dw)); err != nil {
				t.Fatal(err)
			}
			if err := dw.WriteDTMF(k); err != nil {
				t.Fatal(err)
			}
		}
		targetKeys, callerKeys := keysOf(target.med), keysOf(med)
		press(med, '5')
		press(target.med, '#')
		for _, w := range []struct {
			keys chan rune
			want rune
			who  string
		}{{targetKeys, '5', "the transfer target"}, {callerKeys, '#', "the caller"}} {
			select {
			case k := <-w.keys:
				if k != w.want {
					t.Fatalf("%s got key %q, want %q", w.who, k, w.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s got no key", w.who)
			}
		}
		ended(t, dialog.Context(), "the caller")
		ended(t, target.d.Context(), "the transfer target")
		c := r.waitEnd(r.only().ID)
		if c.EndReason == nil || *c.EndReason != agentphone.EndMaxDuration {
			t.Fatalf("bridged call after its maximum duration: %+v", c)
		}
	})
}

func TestTransferBridgeNoRefer(t *testing.T) {
	checkGoroutines(t)
	each(t, func(t *testing.T, b storetest.Backend) {
		port, calls, _ := targetPhone(t, false)
		run := &transferRunner{result: make(chan error, 1)}
		trunk := carrier(port)
		trunk.Inbound = &sip.InboundTrunk{Allow: []string{"127.0.0.1"}}
		no := false
		trunk.Refer = &no
		r := newRig(t, b, rigOptions{runner: run, distrust: true, trunks: []sip.Trunk{trunk}})
		referred := make(chan struct{}, 1)
		dialog, med := r.callReferring(t, func(*diago.DialogClientSession) error {
			referred <- struct{}{}
			return nil
		})
		if err := result(t, run.result); err != nil {
			t.Fatalf("Transfer: %v", err)
		}
		target := <-calls
		sendTone(t, med)
		if !hears(t, target.med, 500*time.Millisecond, 10*time.Second) {
			t.Fatal("the target does not hear the caller")
		}
		if err := dialog.Hangup(t.Context()); err != nil {
			t.Fatal(err)
		}
		ended(t, target.d.Context(), "the target")
		c := r.waitEnd(r.only().ID)
		if c.Status != agentphone.CallCompleted || c.EndReason == nil || *c.EndReason != agentphone.EndTransfer {
			t.Fatalf("bridged call: %+v", c)
		}
		select {
		case <-referred:
			t.Fatal("a REFER reached the caller's phone though the trunk says refer: false")
		default:
		}
		for _, e := range r.events(c.ID) {
			if e.Type == "transfer_failed" {
				t.Fatalf("a failed transfer attempt on the log: %s", e.Data)
			}
		}
	})
}

// TestTransferTargetBusy: the caller's phone takes the REFER but the
// target is busy (NOTIFY 486), and is busy again for the server's own
// call: Transfer fails, and the caller stays with the agent, who is heard
// afterwards; the call ends as the caller hangs up.
func TestTransferTargetBusy(t *testing.T) {
	checkGoroutines(t)
	each(t, func(t *testing.T, b storetest.Backend) {
		port, _, invites := targetPhone(t, true)
		run := &transferRunner{result: make(chan error, 1)}
		r := newRig(t, b, rigOptions{runner: run, trunks: []sip.Trunk{carrier(port)}})
		ctx := t.Context()
		dialog, med := r.callReferring(t, func(rd *diago.DialogClientSession) error {
			_, err := rd.Invite(ctx, diago.InviteClientOptions{})
			return err // 486: diago NOTIFYs it
		})
		if err := result(t, run.result); err == nil {
			t.Fatal("Transfer to a busy target returned nil")
		}
		if from := <-invites; from == r.number.PhoneNumber {
			t.Fatal("the first INVITE to the target was the server's, not the referred phone's")
		}
		if from := <-invites; from != r.number.PhoneNumber {
			t.Fatalf("the server's INVITE to the target has caller id %q, want %s", from, r.number.PhoneNumber)
		}
		if !hears(t, med, 500*time.Millisecond, 10*time.Second) {
			t.Fatal("the caller does not hear the agent after the failed transfer")
		}
		call := r.waitStatus(r.only().ID, agentphone.CallInProgress) // still up
		r.waitEvent(call.ID, "transfer_failed", `"method":"refer"`)
		r.waitEvent(call.ID, "transfer_failed", `"status":486`)
		if err := dialog.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		c := r.waitEnd(call.ID)
		if c.Status != agentphone.CallCompleted || c.EndReason == nil || *c.EndReason != agentphone.EndCallerHangup {
			t.Fatalf("call after the failed transfer: %+v", c)
		}
	})
}

// checkGoroutines fails t if goroutines running the sip package's code
// are left 5 s after t and its subtests are done (their servers closed):
// a call, its media or a bridge that did not end. The transfer tests are
// not parallel, so that no other test's calls are running meanwhile (the
// parallel ones start after them).
func checkGoroutines(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			left := sipGoroutines()
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines left in the sip package:\n%s", len(left), strings.Join(left, "\n\n"))
				return
			}
			time.Sleep(20 * time.Millisecond) // polling: a goroutine's end sends no event
		}
	})
}

// sipGoroutines returns the stacks of the goroutines running code of the
// sip package (not of its tests).
func sipGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/agentphone/agentphone/sip.") {
			left = append(left, g)
		}
	}
	return left
}

// checkBridgedRecording opens a bridged call's recording: two channels as
// long as the call, the caller's tone on the left, the target's on the
// right.
func checkBridgedRecording(t *testing.T, dir string, c *agentphone.Call) {
	t.Helper()
	w := openRecording(t, dir, c)
	for ch, who := range []string{"caller", "target"} {
		if lvl := audio.LevelDBFS(w.Channel(ch)); lvl < -40 {
			t.Fatalf("%s channel at %.1f dBFS: its tone is not in it", who, lvl)
		}
	}
}

// TestTransferOutbound: a call the agent placed is transferred by REFER
// too: the callee's phone gets Refer-To the target at the trunk, and
// Referred-By the server's own Contact (diago would write the callee's);
// it calls the target, and the call ends "transfer".
func TestTransferOutbound(t *testing.T) {
	checkGoroutines(t)
	each(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		type refer struct {
			to sipmsg.Uri
			by string
		}
		refers := make(chan refer, 1)
		targetUp := make(chan *diago.DialogServerSession, 1)
		dg, port := phone(t, true)
		serve(t, dg, func(d *diago.DialogServerSession) {
			if d.ToUser() == transferTarget { // the callee's call to the target
				if _, err := d.Answer(diago.AnswerOptions{}); err != nil {
					t.Errorf("the target's answer: %v", err)
					return
				}
				targetUp <- d
				<-d.Context().Done()
				return
			}
			_, err := d.Answer(diago.AnswerOptions{OnRefer: func(rd *diago.DialogClientSession) error {
				var by string
				if h := rd.InviteRequest.GetHeader("Referred-By"); h != nil {
					by = h.Value()
				}
				refers <- refer{to: rd.InviteRequest.Recipient, by: by}
				if _, err := rd.Invite(ctx, diago.InviteClientOptions{}); err != nil {
					return err
				}
				if err := rd.Ack(ctx); err != nil {
					return err
				}
				target := <-targetUp
				_ = target.Hangup(ctx)
				<-rd.Context().Done()
				return nil
			}})
			if err != nil {
				t.Errorf("the callee's answer: %v", err)
				return
			}
			<-d.Context().Done()
		})
		run := &transferRunner{result: make(chan error, 1)}
		r := newRig(t, b, rigOptions{runner: run, trunks: []sip.Trunk{carrier(port)}})
		c, err := r.calls.Create(ctx, r.sc, agentphone.CallInput{
			AgentID: agentphone.Some(r.agent.ID), ToNumber: agentphone.Some("+14155550199"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := result(t, run.result); err != nil {
			t.Fatalf("Transfer: %v", err)
		}
		got := <-refers
		if got.to.User != transferTarget || got.to.Host != "127.0.0.1" || got.to.Port != port {
			t.Fatalf("Refer-To %s, want sip:%s@127.0.0.1:%d", got.to.String(), transferTarget, port)
		}
		if !strings.Contains(got.by, ":"+strconv.Itoa(r.port)) {
			t.Fatalf("Referred-By %q, want the server's Contact (port %d)", got.by, r.port)
		}
		c = r.waitEnd(c.ID)
		if c.Status != agentphone.CallCompleted || c.Direction != agentphone.DirectionOutbound ||
			c.EndReason == nil || *c.EndReason != agentphone.EndTransfer {
			t.Fatalf("transferred outbound call: %+v", c)
		}
	})
}
