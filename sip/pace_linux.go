//go:build linux

package sip

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// clockNice is the nice value of the media clock's threads when the
// process may raise them (CAP_SYS_NICE, or an RLIMIT_NICE allowing it): on
// a busy machine a thread at the default priority that wakes for its tick
// waits for the running ones' turn to end, and the packets go out late.
const clockNice = -15

// pacer wakes the media clock every period on the kernel's monotonic
// clock, sleeping in the kernel on a thread of its own rather than on a Go
// timer: a timer's goroutine waits in the scheduler's queue behind the
// calls' readers, which a burst of arriving packets has just woken.
type pacer struct {
	next   int64 // CLOCK_MONOTONIC, ns
	period int64
}

// startPacer locks the calling goroutine to its thread for good (the
// thread ends with the goroutine, so that its priority goes with it) and
// raises the thread's priority if it may; it reports whether it did. The
// first tick is offset after now.
func startPacer(period, offset time.Duration) (*pacer, bool) {
	runtime.LockOSThread()
	raised := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), clockNice) == nil
	return &pacer{next: monotonic() + int64(offset) - int64(period), period: int64(period)}, raised
}

func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// wait sleeps until the next tick, a period after the last one; after a
// stall (the machine paused the process) it starts again from now.
func (p *pacer) wait() {
	p.next += p.period
	if now := monotonic(); p.next < now-int64(5*frameDur) {
		p.next = now
	}
	ts := unix.NsecToTimespec(p.next)
	for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil) == unix.EINTR {
	}
}
