package sip

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// inviteLimiter bounds the new INVITEs each source address may send: a
// token bucket per IP address, so that one flooding peer (a scanner, a
// trunk in a loop) is answered 503 with Retry-After, cheaply, before any
// database work, while the others keep calling. Buckets idle for a minute
// are dropped.
type inviteLimiter struct {
	perSecond rate.Limit
	burst     int

	mu      sync.Mutex
	sources map[string]*source
	swept   time.Time
}

type source struct {
	lim  *rate.Limiter
	seen time.Time
}

// newInviteLimiter allows each source perSecond INVITEs a second, burst at
// once; perSecond <= 0 allows everything (nil limiter).
func newInviteLimiter(perSecond float64, burst int) *inviteLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &inviteLimiter{perSecond: rate.Limit(perSecond), burst: max(burst, 1), sources: map[string]*source{}}
}

// allow reports whether an INVITE from src ("ip:port") may be handled now.
func (l *inviteLimiter) allow(src string, now time.Time) bool {
	if l == nil {
		return true
	}
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		host = src
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for h, s := range l.sources {
			if now.Sub(s.seen) > time.Minute {
				delete(l.sources, h)
			}
		}
		l.swept = now
	}
	s := l.sources[host]
	if s == nil {
		s = &source{lim: rate.NewLimiter(l.perSecond, l.burst)}
		l.sources[host] = s
	}
	s.seen = now
	return s.lim.AllowN(now, 1)
}
