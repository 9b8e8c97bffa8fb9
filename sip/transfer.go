package sip

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/agentphone/agentphone"
)

// A cold transfer (voice.Session.Transfer, for a webhook's
// "action": "transfer") hands the caller to another number, in one of two
// ways:
//
//   - refer: a SIP REFER asks the peer (the trunk, PBX or phone at the
//     other end of the call) to call the number itself (RFC 3515). It has
//     worked when the peer accepts the REFER (202) and then reports, in a
//     NOTIFY, a 2xx final response of its call to the number (or hangs up
//     on us, which a transferee does once transferred). The edge then
//     hangs up its side of the call.
//   - bridge: when the peer refuses the REFER (405, 501, 403, 603…),
//     reports the call to the number failed, does not answer, or its
//     trunk says "refer": false, the edge calls the number itself, through
//     the trunk that carries the agent's number and with the agent's
//     number as caller id, and once that leg answers it relays the audio
//     of each leg to the other (bridge.go) until either side hangs up,
//     which hangs up the other. The call's recording goes on: the caller
//     left, the transfer target right.
//
// If the bridged leg is not answered (busy, no answer, an error), Transfer
// returns an error and the caller stays with the agent.

// referTimeout bounds the wait for the peer's answer to a REFER.
const referTimeout = 4 * time.Second

// referNotifyGrace is how much longer than the ring time-out the edge
// waits, after the peer accepted a REFER, for the NOTIFY of its outcome.
const referNotifyGrace = 5 * time.Second

// The transfer methods, as the call's event log names them.
const (
	methodRefer  = "refer"
	methodBridge = "bridge"
)

var (
	// errNoContact: the peer's dialog has no Contact to send a REFER to.
	errNoContact = errors.New("the peer's dialog has no Contact to send a REFER to")
	// errTransferring: Transfer was called while a transfer was under way.
	errTransferring = errors.New("sip: a transfer of this call is already under way")
	// errTransferred: Transfer was called on a call already transferred.
	errTransferred = errors.New("sip: the call is already transferred")
	// errRunOver: a transfer finished after the call's runner returned.
	errRunOver = errors.New("sip: the call's run ended during the transfer")
	// errTransfereeHangup ends the run of a bridged call whose transfer
	// target hung up.
	errTransfereeHangup = errors.New("the transfer target hung up")
)

// referError is a REFER the peer refused (Notify false: its final
// response), or whose outcome a NOTIFY reported a failure (Notify true:
// the status of the peer's call to the transfer target).
type referError struct {
	Status int
	Reason string
	Notify bool
}

func (e *referError) Error() string {
	if e.Notify {
		return "the peer's call to the transfer target failed: NOTIFY " + strconv.Itoa(e.Status)
	}
	return "the peer refused the REFER: " + strconv.Itoa(e.Status) + " " + e.Reason
}

// peer is the answered dialog of a call, inbound or outbound, as converse
// and a transfer use it.
type peer struct {
	// ctx ends when the dialog does (a BYE either way).
	ctx    context.Context
	hangup func(context.Context) error
	// refer sends a REFER in the dialog, returning once the peer accepted
	// it; onNotify is told the status code of each NOTIFY reporting its
	// progress (RFC 3515), from diago's handler of the NOTIFY.
	refer func(ctx context.Context, to sip.Uri, onNotify func(code int)) error
	// contact is the peer's Contact URI (nil: it sent none).
	contact *sip.Uri
	// trunk is the trunk the peer is on: that admitted the inbound call,
	// or that carried the outbound one; nil for a loopback caller.
	trunk *Trunk
}

// contactURI is a Contact header's URI, or nil.
func contactURI(h *sip.ContactHeader) *sip.Uri {
	if h == nil {
		return nil
	}
	u := h.Address
	return &u
}

// transfer is a call's voice.Session.Transfer and what it did, for
// converse to end the call accordingly.
type transfer struct {
	s      *Server
	call   *agentphone.Call
	number *agentphone.Number // the agent's: caller id of a bridged leg
	peer   *peer
	pipe   *mediaPipe // the caller's media
	// runCtx is the call's run; stopRun ends it (a bridged transfer
	// target's BYE).
	runCtx  context.Context
	stopRun context.CancelCauseFunc
	log     *slog.Logger

	mu     sync.Mutex
	busy   bool    // a Transfer is under way
	done   bool    // the caller was handed over
	bridge *bridge // the bridged leg, when done by bridging
	closed bool    // the run is over: a transfer finishing now is undone
}

// Transfer implements voice.Session.Transfer: it tries a REFER (unless
// the peer's trunk says "refer": false), then a bridged call, and returns
// nil once the caller is handed over or bridged. Its error says why the
// caller is still with the agent.
func (t *transfer) Transfer(ctx context.Context, number string) error {
	target, err := agentphone.NormalizePhone(number)
	if err != nil {
		return fmt.Errorf("sip: transfer target %q: %w", number, err)
	}
	if err := t.begin(); err != nil {
		return err
	}
	b, err := t.attempt(ctx, target)
	return t.end(b, err)
}

// begin marks a transfer under way, unless one is or was done.
func (t *transfer) begin() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return errRunOver
	case t.done:
		return errTransferred
	case t.busy:
		return errTransferring
	}
	t.busy = true
	return nil
}

// end records the outcome of a transfer: a bridge is kept for converse,
// and ends the run when the transfer target hangs up. A transfer that
// worked after the run ended is undone (its bridge hung up).
func (t *transfer) end(b *bridge, err error) error {
	t.mu.Lock()
	t.busy = false
	if err == nil && t.closed {
		t.mu.Unlock()
		if b != nil {
			b.close(context.WithoutCancel(t.peer.ctx))
		}
		return errRunOver
	}
	if err == nil {
		t.done, t.bridge = true, b
		if b != nil {
			b.stopWatch = context.AfterFunc(b.dialog.Context(), func() { t.stopRun(errTransfereeHangup) })
		}
	}
	t.mu.Unlock()
	return err
}

// close ends the call's transfers, once its runner has returned: it
// reports whether the caller was handed over, and the bridge to keep up
// when it was bridged.
func (t *transfer) close() (transferred bool, b *bridge) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	return t.done, t.bridge
}

// attempt transfers the caller to target (E.164): a REFER first when the
// peer's trunk allows it, else or when it fails a bridged call. It returns
// the bridge, nil after a REFER.
func (t *transfer) attempt(ctx context.Context, target string) (*bridge, error) {
	// Whatever ctx the runner passed, the transfer ends with the run (the
	// caller's BYE, an end-call request, the server's stop).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(t.runCtx, cancel)()
	if t.peer.trunk.refers() {
		to, err := t.referTarget(target)
		if err == nil {
			err = t.refer(ctx, to)
		}
		if err == nil {
			t.log.Info("call transferred by REFER", "to", target, "refer_to", to.String())
			t.s.event(t.call.ID, "transfer", map[string]any{"method": methodRefer, "to": target, "referTo": to.String()})
			return nil, nil
		}
		t.failed(methodRefer, target, err)
		if ctx.Err() != nil || t.peer.ctx.Err() != nil { // the run or the call ended meanwhile
			return nil, fmt.Errorf("sip: transfer to %s by REFER: %w", target, err)
		}
	}
	b, err := t.bridgeTo(ctx, target)
	if err != nil {
		t.failed(methodBridge, target, err)
		return nil, fmt.Errorf("sip: transfer to %s: %w", target, err)
	}
	t.log.Info("call transferred by bridging a new call", "to", target, "trunk", b.trunk)
	t.s.event(t.call.ID, "transfer", map[string]any{"method": methodBridge, "to": target, "trunk": b.trunk})
	return b, nil
}

// failed logs a failed attempt, and puts it on the call's event log.
func (t *transfer) failed(method, target string, err error) {
	data := map[string]any{"method": method, "to": target, "error": err.Error()}
	var re *referError
	if errors.As(err, &re) {
		data["status"] = re.Status
	} else if code := responseCode(err); code != 0 {
		data["status"] = code
	}
	t.log.Info("transfer attempt failed", "method", method, "to", target, "err", err)
	t.s.event(t.call.ID, "transfer_failed", data)
}

// referTarget is the Refer-To of a transfer to target: the number at the
// trunk that carries the agent's number (where the peer can reach it as
// this server would), else at the peer's own host.
func (t *transfer) referTarget(target string) (sip.Uri, error) {
	if tr := outboundTrunk(t.s.cfg.Trunks, t.number.PhoneNumber); tr != nil {
		u := trunkURI(tr, target)
		if tr.Outbound.Transport == "tcp" {
			u.UriParams = sip.HeaderParams{{K: "transport", V: "tcp"}}
		}
		return u, nil
	}
	c := t.peer.contact
	if c == nil {
		return sip.Uri{}, errNoContact
	}
	u := sip.Uri{Scheme: cmp.Or(c.Scheme, "sip"), User: target, Host: c.Host, Port: c.Port}
	if tp, ok := c.UriParams.Get("transport"); ok {
		u.UriParams = sip.HeaderParams{{K: "transport", V: tp}}
	}
	return u, nil
}

// refer sends the REFER to the peer and waits for its outcome: nil once a
// NOTIFY reports a 2xx (or the peer hangs up after accepting it), an error
// when the peer refuses it or does not answer within referTimeout, when a
// NOTIFY reports a failure, or when none reports an outcome within the
// ring time-out and referNotifyGrace.
func (t *transfer) refer(ctx context.Context, to sip.Uri) error {
	codes := make(chan int, 8)
	// diago keeps the callback on the dialog: it must never block.
	onNotify := func(code int) {
		select {
		case codes <- code:
		default:
		}
	}
	rctx, cancel := context.WithTimeout(ctx, referTimeout)
	err := t.peer.refer(rctx, to, onNotify)
	cancel()
	if err != nil {
		switch res := finalResponse(err); {
		case res == nil: // no answer in time, or it could not be sent
			return fmt.Errorf("REFER: %w", err)
		case res.StatusCode != sip.StatusOK: // diago wants 202; a 200 accepts it too
			return &referError{Status: res.StatusCode, Reason: res.Reason}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, cmp.Or(t.s.cfg.RingTimeout, defaultRingTimeout)+referNotifyGrace)
	defer cancel()
	for {
		select {
		case code := <-codes:
			switch {
			case code < 200:
			case code < 300:
				return nil
			default:
				return &referError{Status: code, Notify: true}
			}
		case <-t.peer.ctx.Done(): // the transferee hung up on us: it has the caller
			return nil
		case <-wctx.Done():
			if t.peer.ctx.Err() != nil {
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for the REFER's outcome: %w", ctx.Err())
			}
			return errors.New("the peer accepted the REFER but sent no NOTIFY of its outcome in time")
		}
	}
}

// bridgeTo calls target through the trunk that carries the agent's
// number, with that number as caller id, and once the call is answered
// bridges it to the caller. The call is given up when ctx ends (the
// caller hangs up, or the call is ended) while it rings.
func (t *transfer) bridgeTo(ctx context.Context, target string) (*bridge, error) {
	trunk := outboundTrunk(t.s.cfg.Trunks, t.number.PhoneNumber)
	if trunk == nil {
		return nil, fmt.Errorf("no SIP trunk carries outbound calls from %s", t.number.PhoneNumber)
	}
	to := trunkURI(trunk, target)
	dialog, med, err := t.s.dialOut(ctx, trunk, to, t.number.PhoneNumber, nil)
	if err != nil {
		status, _ := inviteOutcome(err, ctx)
		return nil, fmt.Errorf("the call to %s through trunk %s ended %s: %w", to.String(), trunk.Name, status, err)
	}
	log := t.log.With("transfer_sip_call_id", dialog.InviteRequest.CallID().Value())
	b, err := t.s.newBridge(t.pipe, dialog, med, trunk.Name, log)
	if err != nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = dialog.Hangup(hctx)
		cancel()
		_ = med.Close()
		_ = dialog.Close()
		return nil, fmt.Errorf("bridging the call to %s: %w", to.String(), err)
	}
	return b, nil
}
