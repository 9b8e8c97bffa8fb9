//go:build !linux

package sip

import "time"

// pacer wakes the media clock every frameDur on a Go timer.
type pacer struct {
	next time.Time
}

// startPacer returns a pacer; it cannot raise the clock's priority here.
func startPacer() (*pacer, bool) { return &pacer{next: time.Now()}, false }

// wait sleeps until the next tick, frameDur after the last one; after a
// stall (the machine paused the process) it starts again from now.
func (p *pacer) wait() {
	p.next = p.next.Add(frameDur)
	d := time.Until(p.next)
	if d < -5*frameDur {
		p.next, d = time.Now(), 0
	}
	time.Sleep(d)
}
