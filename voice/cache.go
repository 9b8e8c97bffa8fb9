package voice

import (
	"container/list"
	"context"
	"strconv"
	"sync"

	"github.com/agentphone/agentphone/audio"
)

// SpeechCache remembers the speech of short texts: an agent says the same
// greeting on every call, the same backchannels and the same apologies,
// and synthesising them again costs a provider round trip (hundreds of
// milliseconds for a cloud voice) or a run of espeak-ng. The first request
// for a text synthesises it, streaming as usual; requests for the same
// text meanwhile wait for it, and later ones replay it at once. Prepare
// warms it while a call is still ringing, so that the greeting starts as
// soon as the call is answered.
type SpeechCache struct {
	Synth Synthesizer
	// Size is how many utterances it keeps; 0 = 256.
	Size int
	// MaxText is the longest text it caches, in bytes; 0 = 200. Longer
	// texts (answers) pass straight through.
	MaxText int

	mu    sync.Mutex
	order *list.List // of *cacheEntry, most recent first
	byKey map[string]*list.Element
}

var _ Synthesizer = (*SpeechCache)(nil)

type cacheEntry struct {
	key    string
	done   chan struct{} // closed when frames (or err) are final
	frames []audio.Frame
	err    error
}

func cacheKey(req SpeechRequest) string {
	return req.Voice + "\x00" + strconv.FormatFloat(req.Speed, 'g', -1, 64) + "\x00" + req.Language + "\x00" +
		strconv.Itoa(req.Rate) + "\x00" + req.Text
}

// Stream implements Synthesizer.
func (c *SpeechCache) Stream(ctx context.Context, req SpeechRequest, emit func(audio.Frame) error) error {
	if len(req.Text) > c.maxText() {
		return c.Synth.Stream(ctx, req, emit)
	}
	key := cacheKey(req)
	c.mu.Lock()
	if c.byKey == nil {
		c.order, c.byKey = list.New(), map[string]*list.Element{}
	}
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		e := el.Value.(*cacheEntry)
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if e.err != nil { // the first attempt failed: try on our own
			return c.Synth.Stream(ctx, req, emit)
		}
		for _, f := range e.frames {
			if err := emit(f); err != nil {
				return err
			}
		}
		return nil
	}
	e := &cacheEntry{key: key, done: make(chan struct{})}
	c.byKey[key] = c.order.PushFront(e)
	c.trim()
	c.mu.Unlock()

	var frames []audio.Frame
	err := c.Synth.Stream(ctx, req, func(f audio.Frame) error {
		frames = append(frames, audio.Frame{Samples: append([]int16(nil), f.Samples...), Rate: f.Rate})
		return emit(f)
	})
	e.frames, e.err = frames, err
	if err != nil {
		c.mu.Lock()
		if el, ok := c.byKey[key]; ok && el.Value == e {
			c.order.Remove(el)
			delete(c.byKey, key)
		}
		c.mu.Unlock()
	}
	close(e.done)
	return err
}

// Prepare synthesises req into the cache, unless it is there already; it
// returns when done.
func (c *SpeechCache) Prepare(ctx context.Context, req SpeechRequest) error {
	return c.Stream(ctx, req, func(audio.Frame) error { return nil })
}

func (c *SpeechCache) maxText() int {
	if c.MaxText > 0 {
		return c.MaxText
	}
	return 200
}

// trim drops the least recent entries past Size; c.mu is held.
func (c *SpeechCache) trim() {
	size := c.Size
	if size <= 0 {
		size = 256
	}
	for c.order.Len() > size {
		old := c.order.Remove(c.order.Back()).(*cacheEntry)
		delete(c.byKey, old.key)
	}
}
