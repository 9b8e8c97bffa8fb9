package voice

import (
	"container/list"
	"context"
	"strconv"
	"sync"

	"github.com/agentphone/agentphone/audio"
)

// CachedSpeaker remembers the speech of the texts it said last: an agent
// says the same greeting on every call, and synthesising it again costs a
// text-to-speech run (espeak-ng: tens of milliseconds of a core) per call.
// Callers must not modify the samples it returns.
type CachedSpeaker struct {
	Speaker Speaker
	// Size is how many utterances it keeps; 0 = 256.
	Size int

	mu    sync.Mutex
	order *list.List // of *cached, most recent first
	byKey map[string]*list.Element
}

type cached struct {
	key    string
	speech audio.Frame
}

// Synthesize implements Speaker.
func (c *CachedSpeaker) Synthesize(ctx context.Context, text, voice string, speed float64, language string) (audio.Frame, error) {
	key := voice + "\x00" + strconv.FormatFloat(speed, 'g', -1, 64) + "\x00" + language + "\x00" + text
	c.mu.Lock()
	if c.byKey == nil {
		c.order, c.byKey = list.New(), map[string]*list.Element{}
	}
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		speech := e.Value.(*cached).speech
		c.mu.Unlock()
		return speech, nil
	}
	c.mu.Unlock()
	speech, err := c.Speaker.Synthesize(ctx, text, voice, speed, language)
	if err != nil {
		return audio.Frame{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; !ok {
		c.byKey[key] = c.order.PushFront(&cached{key: key, speech: speech})
		size := c.Size
		if size <= 0 {
			size = 256
		}
		for c.order.Len() > size {
			old := c.order.Remove(c.order.Back()).(*cached)
			delete(c.byKey, old.key)
		}
	}
	return speech, nil
}
