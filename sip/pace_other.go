//go:build !linux

package sip

import "time"

// pacer wakes the media clock every period on a Go timer.
type pacer struct {
	next   time.Time
	period time.Duration
}

// startPacer returns a pacer whose first tick is offset after now; it
// cannot raise the clock's priority here.
func startPacer(period, offset time.Duration) (*pacer, bool) {
	return &pacer{next: time.Now().Add(offset - period), period: period}, false
}

// wait sleeps until the next tick, a period after the last one; after a
// stall (the machine paused the process) it starts again from now.
func (p *pacer) wait() {
	p.next = p.next.Add(p.period)
	d := time.Until(p.next)
	if d < -5*frameDur {
		p.next, d = time.Now(), 0
	}
	time.Sleep(d)
}
