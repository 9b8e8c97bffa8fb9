package sip

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/agentphone/agentphone/audio"
)

// mediaClock sends every call's RTP packets from one ticking goroutine per
// core instead of a timer per call: at 500 calls, 500 goroutines waking
// every 20 ms (25,000 wake-ups a second) competed for two cores and spread
// their packets 10–30 ms apart (p1–p99, scripts/bench-calls); a few
// goroutines that wake once per 20 ms and send for all their calls in turn
// keep each call at the same place in the turn, so its packets stay 20 ms
// apart. The recordings are written after the tick's packets are out.
// Nothing in a turn may wait: a call's write waiting (as diago's RTP
// writer does on its own per-call ticker, which media.go turns off) holds
// up every call after it. Each goroutine sleeps in the kernel on a thread
// of its own, raised above the others when the process may (pace_linux.go).
//
// A shard's calls are split into clockPhases groups sent a sub-tick apart
// (5 ms), and the shards' sub-ticks are staggered: a call's packet then
// waits only for the few calls before it in its group, not for every call
// on the core, so the time the writes before it take varies less from one
// tick to the next, and the packets leave the machine spread over the 20
// ms rather than in two bursts.
type mediaClock struct {
	shards []*clockShard
	mu     sync.Mutex
	next   int             // shard of the next pipe
	done   <-chan struct{} // closed when the clock stops
	// unraised is told once that the clock runs at the default priority.
	unraised sync.Once
	log      *slog.Logger
}

// clockPhases is how many sub-ticks a frame's 20 ms is cut into.
const clockPhases = 4

type clockShard struct {
	clock   *mediaClock
	index   int // the shard's place, which staggers its sub-ticks
	mu      sync.Mutex
	phases  [clockPhases][]*mediaPipe
	next    int // phase of the next pipe
	started bool
	ctx     context.Context
}

// newMediaClock returns a clock that runs until ctx ends.
func newMediaClock(ctx context.Context, log *slog.Logger) *mediaClock {
	c := &mediaClock{done: ctx.Done(), log: log}
	for i := range runtime.GOMAXPROCS(0) {
		c.shards = append(c.shards, &clockShard{clock: c, index: i, ctx: ctx})
	}
	return c
}

// add puts p on a shard, round robin; it is sent for from the next tick
// until sendTick reports it closed.
func (c *mediaClock) add(p *mediaPipe) {
	c.mu.Lock()
	sh := c.shards[c.next%len(c.shards)]
	c.next++
	c.mu.Unlock()
	sh.mu.Lock()
	ph := sh.next % clockPhases
	sh.next++
	sh.phases[ph] = append(sh.phases[ph], p)
	if !sh.started {
		sh.started = true
		go sh.run()
	}
	sh.mu.Unlock()
}

// run ticks every 20 ms / clockPhases on a drift-free schedule until the
// server stops, sending for one group of its calls at each.
func (sh *clockShard) run() {
	sub := frameDur / clockPhases
	pc, raised := startPacer(sub, sub*time.Duration(sh.index)/time.Duration(len(sh.clock.shards)))
	if !raised {
		sh.clock.unraised.Do(func() {
			sh.clock.log.Info("the media clock runs at the default thread priority: on a busy machine the calls' packets go out less evenly; give the process CAP_SYS_NICE to raise it")
		})
	}
	var pipes []*mediaPipe
	var frames []tickFrame
	for phase := 0; sh.ctx.Err() == nil; phase = (phase + 1) % clockPhases {
		pc.wait()
		sh.mu.Lock()
		pipes = append(pipes[:0], sh.phases[phase]...)
		sh.mu.Unlock()
		frames = frames[:0]
		gone := false
		for _, p := range pipes {
			f, ok := p.sendTick()
			if !ok {
				p.dead, gone = true, true
				continue
			}
			if p.rec != nil {
				frames = append(frames, tickFrame{p, f})
			}
		}
		for _, tf := range frames {
			_ = tf.p.rec.Agent(tf.f)
		}
		if gone {
			sh.removeGone(phase)
		}
	}
}

type tickFrame struct {
	p *mediaPipe
	f audio.Frame
}

// removeGone drops the phase's pipes that are closed or whose media is
// gone, and tells each it is off the clock.
func (sh *clockShard) removeGone(phase int) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	pipes := sh.phases[phase]
	kept := pipes[:0]
	for _, p := range pipes {
		if p.dead {
			close(p.detached)
			continue
		}
		kept = append(kept, p)
	}
	clear(pipes[len(kept):])
	sh.phases[phase] = kept
}
