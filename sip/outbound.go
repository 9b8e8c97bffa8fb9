package sip

import (
	"cmp"
	"context"
	"errors"
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
	out := trunk.Outbound
	to := sip.Uri{Scheme: "sip", User: c.To, Host: out.Host, Port: out.Port}
	dialog, err := s.dg.NewDialog(to, diago.NewDialogOptions{Transport: out.Transport})
	if err != nil {
		log.Error("creating the outbound dialog failed", "err", err)
		s.finish(c.ID, agentphone.CallFailed, agentphone.EndError, nil)
		return
	}
	defer dialog.Close()
	s.event(c.ID, "dialing", map[string]any{"trunk": trunk.Name, "to": to.String()})
	opts := diago.InviteClientOptions{Username: out.Username, Password: out.Password, RTPNAT: media.RTPNATSymetric,
		OnResponse: func(res *sip.Response) error {
			if res.StatusCode == sip.StatusRinging || res.StatusCode == sip.StatusSessionInProgress {
				if err := s.calls.Ringing(context.WithoutCancel(callCtx), c.ID); err != nil {
					log.Error("recording the ringing failed", "err", err)
				}
			}
			return nil
		}}
	opts.WithCaller("", callerID(out.CallerIDFormat, from.PhoneNumber), out.Host)
	ringTimeout := cmp.Or(s.cfg.RingTimeout, defaultRingTimeout)
	inviteCtx, cancelInvite := context.WithTimeout(callCtx, ringTimeout)
	med, err := dialog.Invite(inviteCtx, opts)
	cancelInvite()
	if err != nil {
		status, reason := inviteOutcome(err, callCtx, inviteCtx)
		log.Info("outbound call not answered", "status", status, "err", err)
		s.finish(c.ID, status, reason, nil)
		return
	}
	defer med.Close()
	if err := dialog.Ack(callCtx); err != nil {
		log.Warn("acknowledging the answer failed", "err", err)
		s.finish(c.ID, agentphone.CallFailed, agentphone.EndError, nil)
		return
	}
	s.Stats.CallsPlaced.Add(1)
	if err := s.calls.Answered(callCtx, c.ID); err != nil {
		log.Error("recording the answer failed", "err", err)
	}
	s.converse(callCtx, dialog.Context(), med, dialog.Hangup, c, a, from, log)
}

// inviteOutcome maps a failed INVITE to the call's final status and end
// reason.
func inviteOutcome(err error, callCtx, inviteCtx context.Context) (status, reason string) {
	var resErr *sipgo.ErrDialogResponse
	if errors.As(err, &resErr) && resErr.Res != nil {
		switch code := resErr.Res.StatusCode; {
		case code == sip.StatusBusyHere || code == 600: // 600 Busy Everywhere
			return agentphone.CallBusy, agentphone.EndBusy
		case code == sip.StatusRequestTimeout || code == sip.StatusTemporarilyUnavailable || code == 487 || code == 603:
			return agentphone.CallNoAnswer, agentphone.EndNoAnswer
		}
		return agentphone.CallFailed, agentphone.EndError
	}
	var resVal sipgo.ErrDialogResponse
	if errors.As(err, &resVal) && resVal.Res != nil {
		return inviteOutcome(&resVal, callCtx, inviteCtx)
	}
	switch {
	case callCtx.Err() != nil: // hung up through the API (or stopping) while ringing
		return agentphone.CallCanceled, endReasonOf(callCtx)
	case errors.Is(inviteCtx.Err(), context.DeadlineExceeded):
		return agentphone.CallNoAnswer, agentphone.EndNoAnswer
	}
	return agentphone.CallFailed, agentphone.EndError
}
