package httpapi

import (
	"time"
)

// Response bodies are hand-written structs whose field order is the order of
// the spec's tables; every documented key is always emitted, null when a
// nullable value is absent (spec §1.4).

// timeLayout writes every timestamp in UTC with exactly six fractional
// digits. The domain keeps microseconds (agentphone.Now), and a client that
// sends a timestamp back as a cursor (before/after) must be able to name an
// item exactly; fixed width also keeps the strings sortable.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// timestamp is a time written in timeLayout.
type timestamp time.Time

func (t timestamp) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(timeLayout)+2)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, timeLayout)
	return append(b, '"'), nil
}

// optTime returns nil for a nil time, else the timestamp.
func optTime(t *time.Time) *timestamp {
	if t == nil {
		return nil
	}
	ts := timestamp(*t)
	return &ts
}

// successJSON is {"success": true}.
type successJSON struct {
	Success bool `json:"success"`
}

var success = successJSON{Success: true}

// offsetList is an offset-paginated list (spec §1.7 style 1).
type offsetList[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"hasMore"`
	Total   int  `json:"total"`
}

// cursorList is a timestamp-cursor list (spec §1.7 style 2): no total.
type cursorList[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"hasMore"`
}
