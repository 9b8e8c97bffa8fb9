package sip

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/agentphone/agentphone"
)

// defaultRingTimeout is how long an outbound call rings before it is given
// up as no-answer, when Config.RingTimeout is 0.
const defaultRingTimeout = 60 * time.Second

// errRingTimeout marks an outbound INVITE given up after the ring time-out.
var errRingTimeout = errors.New("no answer within the ring time-out")

// Dial implements agentphone.CallController: it places call c from number
// from through the trunk that carries that number and returns at once;
// the call's progress reaches the call service as it happens.
func (s *Server) Dial(ctx context.Context, c *agentphone.Call, a *agentphone.Agent, from *agentphone.Number) error {
	trunk := outboundTrunk(s.cfg.Trunks, from.PhoneNumber)
	if trunk == nil {
		return agentphone.Errorf(agentphone.KindUnavailable,
			"No SIP trunk carries outbound calls from %s: add a trunk with \"outbound\" to --sip-trunks", from.PhoneNumber)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.place(c, a, from, trunk)
	}()
	return nil
}

// place runs an outbound call from INVITE to end.
func (s *Server) place(c *agentphone.Call, a *agentphone.Agent, from *agentphone.Number, trunk *Trunk) {
	log := s.logger.With("call_id", c.ID, "trunk", trunk.Name)
	callCtx, untrack := s.track(s.lifetime(), c.ID)
	defer untrack()
	to := trunkURI(trunk, c.To)
	s.prepare(callCtx, c, a)
	s.event(c.ID, "dialing", map[string]any{"trunk": trunk.Name, "to": to.String()})
	dialog, med, err := s.dialOut(callCtx, trunk, to, from.PhoneNumber, func() {
		if err := s.calls.Ringing(context.WithoutCancel(callCtx), c.ID); err != nil {
			log.Error("recording the ringing failed", "err", err)
		}
	})
	if err != nil {
		status, reason := inviteOutcome(err, callCtx)
		log.Info("outbound call not answered", "status", status, "err", err)
		s.finish(c.ID, status, reason, nil)
		return
	}
	defer dialog.Close()
	defer med.Close()
	s.Stats.CallsPlaced.Add(1)
	if err := s.calls.Answered(callCtx, c.ID); err != nil {
		log.Error("recording the answer failed", "err", err)
	}
	s.converse(callCtx, med, &peer{
		ctx: dialog.Context(), hangup: dialog.Hangup, trunk: trunk, contact: contactURI(dialog.RemoteContact()),
		refer: func(ctx context.Context, to sip.Uri, onNotify func(int)) error {
			// diago sends the REFER to the peer's Contact and writes the
			// answer's Contact (the peer's) as Referred-By: ours replaces it.
			self, them := dialog.InviteRequest.Contact(), dialog.RemoteContact()
			if self == nil || them == nil || dialog.InviteResponse.Contact() == nil {
				return errNoContact
			}
			by := sip.NewHeader("Referred-By", "<"+self.Address.String()+">")
			return dialog.ReferOptions(ctx, to, diago.ReferClientOptions{Headers: []sip.Header{by}, OnNotify: onNotify})
		},
	}, c, a, from, log)
}

// trunkURI is the request URI of a call to number through trunk.
func trunkURI(trunk *Trunk, number string) sip.Uri {
	out := trunk.Outbound
	return sip.Uri{Scheme: "sip", User: number, Host: out.Host, Port: out.Port}
}

// dialOut places a call to the request URI to through trunk, with from
// (E.164) as caller id in the trunk's format and the trunk's digest
// credentials, waits for the answer (up to the ring time-out; an error
// wrapping errRingTimeout past it) and acknowledges it. onRinging, when
// set, is told of each 180 and 183. The caller closes the dialog and its
// media.
func (s *Server) dialOut(ctx context.Context, trunk *Trunk, to sip.Uri, from string, onRinging func()) (*diago.DialogClientSession, *diago.DialogMedia, error) {
	out := trunk.Outbound
	dialog, err := s.dg.NewDialog(to, diago.NewDialogOptions{Transport: out.Transport})
	if err != nil {
		return nil, nil, fmt.Errorf("creating the outbound dialog: %w", err)
	}
	opts := diago.InviteClientOptions{Username: out.Username, Password: out.Password, RTPNAT: media.RTPNATSymetric,
		OnResponse: func(res *sip.Response) error {
			if onRinging != nil && (res.StatusCode == sip.StatusRinging || res.StatusCode == sip.StatusSessionInProgress) {
				onRinging()
			}
			return nil
		}}
	opts.WithCaller("", callerID(out.CallerIDFormat, from), out.Host)
	inviteCtx, cancel := context.WithTimeout(ctx, cmp.Or(s.cfg.RingTimeout, defaultRingTimeout))
	defer cancel()
	med, err := dialog.Invite(inviteCtx, opts)
	if err != nil {
		_ = dialog.Close()
		if ctx.Err() == nil && errors.Is(inviteCtx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", errRingTimeout, err)
		}
		return nil, nil, err
	}
	if err := dialog.Ack(ctx); err != nil {
		_ = med.Close()
		_ = dialog.Close()
		return nil, nil, fmt.Errorf("acknowledging the answer: %w", err)
	}
	return dialog, med, nil
}

// inviteOutcome maps a failed outbound call (dialOut's error) to the
// call's final status and end reason. callCtx is the call's context.
func inviteOutcome(err error, callCtx context.Context) (status, reason string) {
	if code := responseCode(err); code != 0 {
		switch {
		case code == sip.StatusBusyHere || code == 600: // 600 Busy Everywhere
			return agentphone.CallBusy, agentphone.EndBusy
		case code == sip.StatusRequestTimeout || code == sip.StatusTemporarilyUnavailable || code == 487 || code == 603:
			return agentphone.CallNoAnswer, agentphone.EndNoAnswer
		}
		return agentphone.CallFailed, agentphone.EndError
	}
	switch {
	case callCtx.Err() != nil: // hung up through the API (or stopping) while ringing
		return agentphone.CallCanceled, endReasonOf(callCtx)
	case errors.Is(err, errRingTimeout):
		return agentphone.CallNoAnswer, agentphone.EndNoAnswer
	}
	return agentphone.CallFailed, agentphone.EndError
}

// responseCode is the status code of the final response an error of a
// dialog request carries, or 0.
func responseCode(err error) int {
	if res := finalResponse(err); res != nil {
		return res.StatusCode
	}
	return 0
}

// finalResponse is the final response an error of a dialog request
// carries (sipgo and diago return ErrDialogResponse both as a pointer and
// as a value), or nil.
func finalResponse(err error) *sip.Response {
	var resErr *sipgo.ErrDialogResponse
	if errors.As(err, &resErr) && resErr.Res != nil {
		return resErr.Res
	}
	var resVal sipgo.ErrDialogResponse
	if errors.As(err, &resVal) && resVal.Res != nil {
		return resVal.Res
	}
	return nil
}
