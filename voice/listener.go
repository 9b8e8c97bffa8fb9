package voice

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/agentphone/agentphone/audio"
)

// errMediaClosed is a listener's end when the call's media ended (the
// caller hung up).
var errMediaClosed = errors.New("voice: the call's media ended")

// listener follows the caller: whether they speak (a voice activity
// detector over their frames) and the keys they press (recorded on the
// call's event log).
type listener struct {
	s   *Session
	now func() time.Time
	det *audio.EnergyDetector

	mu        sync.Mutex
	lastVoice time.Time

	done chan struct{} // closed when run returns
	err  error         // why, set before done is closed
}

func newListener(s *Session, now func() time.Time) *listener {
	return &listener{s: s, now: now, det: audio.NewEnergyDetector(audio.EnergyDetectorOptions{}), lastVoice: now(), done: make(chan struct{})}
}

func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	go l.keys(ctx)
	for {
		f, err := l.s.Caller.ReadFrame(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errMediaClosed
			}
			l.err = err
			return
		}
		if l.det.Push(f) {
			l.mu.Lock()
			l.lastVoice = l.now()
			l.mu.Unlock()
		}
	}
}

// keys records each key the caller presses on the call's event log.
func (l *listener) keys(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case k, ok := <-l.s.DTMF:
			if !ok {
				return
			}
			if err := l.s.Calls.AddEvent(context.WithoutCancel(ctx), l.s.Call.ID, "dtmf", map[string]any{"digit": string(k)}); err != nil {
				l.s.Log.Error("recording a key press failed", "err", err)
			}
		}
	}
}

// quietSince restarts the caller's silence at t unless they spoke later.
func (l *listener) quietSince(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.lastVoice) {
		l.lastVoice = t
	}
}

// silentFor is how long the caller has been silent at now.
func (l *listener) silentFor(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return now.Sub(l.lastVoice)
}
