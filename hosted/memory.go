package hosted

import (
	"slices"
	"sync"
	"time"

	"github.com/agentphone/agentphone/voice"
)

// memory keeps, per call, the tool calls the model made and their results,
// by the index in the transcript of the caller turn they answered: the
// transcript holds only what was said, and a model that does not see what
// its tools answered in earlier turns calls them again, or guesses. A
// call's memory is dropped an hour after its last turn (the responder
// does not hear of the call's end; calls are bounded by
// --max-call-duration).
type memory struct {
	mu        sync.Mutex
	calls     map[string]*callMemory
	lastSweep time.Time
}

type callMemory struct {
	used  time.Time
	tools map[int][]voice.LLMMessage
}

// memoryTTL is how long a call's memory outlives its last turn.
const memoryTTL = time.Hour

// remember adds exchange (an assistant message with tool calls and their
// results) to what the model did answering call id's turn at index turn.
func (m *memory) remember(id string, turn int, exchange []voice.LLMMessage, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls == nil {
		m.calls = map[string]*callMemory{}
	}
	cm := m.calls[id]
	if cm == nil {
		cm = &callMemory{tools: map[int][]voice.LLMMessage{}}
		m.calls[id] = cm
	}
	cm.used = now
	cm.tools[turn] = append(cm.tools[turn], slices.Clone(exchange)...)
}

// recall returns call id's tool exchanges by turn index (a copy), and
// forgets the calls unused for memoryTTL.
func (m *memory) recall(id string, now time.Time) map[int][]voice.LLMMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.lastSweep) > time.Minute {
		m.lastSweep = now
		for k, cm := range m.calls {
			if now.Sub(cm.used) > memoryTTL {
				delete(m.calls, k)
			}
		}
	}
	cm := m.calls[id]
	if cm == nil {
		return nil
	}
	cm.used = now
	out := make(map[int][]voice.LLMMessage, len(cm.tools))
	for k, v := range cm.tools {
		out[k] = slices.Clone(v)
	}
	return out
}
