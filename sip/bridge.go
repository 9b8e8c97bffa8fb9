package sip

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/emiago/diago"

	"github.com/agentphone/agentphone/audio"
)

// bridgeQueue is how many frames of the other leg a bridged pipe holds
// for its sender (80 ms): enough for the two legs' packets, each on its
// own clock and network, to arrive unevenly; past it the oldest is
// dropped, so the delay stays bounded when one side sends faster.
const bridgeQueue = 4

// A bridge joins a call's caller to a second call the edge placed (a
// transfer the peer would not take by REFER). Beyond the new call's own
// media reader (every call has one) it adds no goroutine, and nothing per
// packet (the call's own goroutine waits for its end, passing keys
// between the legs and bounding it by the maximum call duration): each leg's reader, as it decodes a frame, hands
// a copy to the other leg's pipe (resampled when the legs' codecs run at
// different rates), whose sender takes it on the media clock's next tick
// as it would the agent's audio. So the caller's recording goes on
// unchanged: what the caller says on the left, what the clock sends the
// caller (now the transfer target) on the right.
type bridge struct {
	dialog *diago.DialogClientSession // the call to the transfer target
	med    *diago.DialogMedia
	leg    *mediaPipe // its media
	caller *mediaPipe
	trunk  string // the trunk it went through
	log    *slog.Logger
	// stopWatch stops the hook that ends the run when the transfer
	// target hangs up (set once the transfer is kept).
	stopWatch func() bool
}

// newBridge starts the media of the answered call dialog (med) and
// relays it both ways with the caller's pipe.
func (s *Server) newBridge(caller *mediaPipe, dialog *diago.DialogClientSession, med *diago.DialogMedia, trunk string,
	log *slog.Logger) (*bridge, error) {
	leg, err := s.startMedia(med, nil, log)
	if err != nil {
		return nil, fmt.Errorf("the transfer target's media: %w", err)
	}
	toLeg, err := newRelay(leg, caller.rate)
	if err == nil {
		var toCaller *relay
		if toCaller, err = newRelay(caller, leg.rate); err == nil {
			caller.relay.Store(toLeg)
			leg.relay.Store(toCaller)
			return &bridge{dialog: dialog, med: med, leg: leg, caller: caller, trunk: trunk, log: log}, nil
		}
	}
	_ = med.Close()
	leg.close()
	return nil, err
}

// wait passes the keys pressed on each leg to the other, and returns when
// the bridged call is over: the transfer target or the caller (callerCtx)
// hung up, the call was ended (callCtx), or limit fired (the call's
// maximum duration; nil: none), which it reports.
func (b *bridge) wait(callCtx, callerCtx context.Context, limit <-chan time.Time) (timedOut bool) {
	for {
		select {
		case <-b.dialog.Context().Done():
			return false
		case <-callerCtx.Done():
			return false
		case <-callCtx.Done():
			return false
		case <-limit:
			return true
		case k := <-b.caller.dtmf:
			if !b.leg.forwardKey(k) {
				b.log.Debug("a key the caller pressed was not passed to the transfer target", "key", string(k))
			}
		case k := <-b.leg.dtmf:
			if !b.caller.forwardKey(k) {
				b.log.Debug("a key the transfer target pressed was not passed to the caller", "key", string(k))
			}
		}
	}
}

// close ends the bridge: the relays stop, the transfer target gets a BYE
// if it has not hung up, and its media and dialog close.
func (b *bridge) close(ctx context.Context) {
	if b.stopWatch != nil {
		b.stopWatch()
	}
	b.caller.relay.Store(nil)
	b.leg.relay.Store(nil)
	if b.dialog.Context().Err() == nil {
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := b.dialog.Hangup(hctx); err != nil {
			b.log.Warn("sending BYE to the transfer target failed", "err", err)
		}
		cancel()
	}
	_ = b.med.Close()
	b.leg.close()
	_ = b.dialog.Close()
}

// relay hands the frames one pipe's reader decodes to another pipe's
// sender. It is used by that reader's goroutine only.
type relay struct {
	to *mediaPipe
	rs audio.Resampler // nil: both legs at the same rate
	// ring holds the copies handed over, reused in turn: more buffers
	// than the queue holds, plus the one the sender is encoding, plus
	// room for a burst of packets read within one tick.
	ring [bridgeQueue + 16][]int16
	next int
}

// newRelay returns a relay of frames at rate from to the pipe to.
func newRelay(to *mediaPipe, from int) (*relay, error) {
	r := &relay{to: to}
	if from != to.rate {
		rs, err := audio.NewResampler(from, to.rate)
		if err != nil {
			return nil, fmt.Errorf("bridging %d Hz audio to a %d Hz call: %w", from, to.rate, err)
		}
		r.rs = rs
	}
	return r, nil
}

// forward queues a copy of f (the reader reuses its buffer) for the other
// pipe's sender, dropping the oldest queued frame when the queue is full.
func (r *relay) forward(f audio.Frame) {
	var samples []int16
	if r.rs != nil {
		samples = r.rs.Resample(f.Samples) // a new slice
	} else {
		slot := &r.ring[r.next%len(r.ring)]
		r.next++
		*slot = append((*slot)[:0], f.Samples...)
		samples = *slot
	}
	g := audio.Frame{Samples: samples, Rate: r.to.rate}
	select {
	case r.to.bridged <- g:
		return
	default:
	}
	select {
	case <-r.to.bridged:
	default:
	}
	select {
	case r.to.bridged <- g:
	default:
	}
}
