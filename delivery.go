package agentphone

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Event types and channels of webhook deliveries (spec §15.3).
const (
	EventMessage   = "agent.message"
	EventCallEnded = "agent.call_ended"
	EventReaction  = "agent.reaction"

	ChannelSMS      = "sms"
	ChannelMMS      = "mms"
	ChannelIMessage = "imessage"
	ChannelVoice    = "voice"
)

// JSONTime is a time that marshals to JSON as every time of the API does:
// RFC 3339 in UTC with exactly six fractional digits.
type JSONTime time.Time

// MarshalJSON implements json.Marshaler.
func (t JSONTime) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 29)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler: any RFC 3339 time.
func (t *JSONTime) UnmarshalJSON(b []byte) error {
	var v time.Time
	if err := v.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = JSONTime(v)
	return nil
}

// Envelope is the JSON body of every delivery (spec §15.4). Data is the
// event's own payload (spec §15.5–15.8).
type Envelope struct {
	Event             string          `json:"event"`
	Channel           string          `json:"channel"`
	Timestamp         JSONTime        `json:"timestamp"`
	AgentID           *string         `json:"agentId"`
	Data              any             `json:"data"`
	ConversationState json.RawMessage `json:"conversationState"` // the conversation's metadata; null when none
	RecentHistory     []HistoryItem   `json:"recentHistory"`     // oldest first; [] when none
}

// HistoryItem is one message of recentHistory.
type HistoryItem struct {
	MessageID *string  `json:"messageId,omitempty"`
	Content   string   `json:"content"`
	Direction string   `json:"direction"` // inbound or outbound
	Channel   string   `json:"channel"`
	At        JSONTime `json:"at"`
}

// MessageData is the data of an agent.message on sms, mms or imessage
// (spec §15.5).
type MessageData struct {
	MessageID      string          `json:"messageId"`
	ConversationID *string         `json:"conversationId"`
	NumberID       *string         `json:"numberId"`
	From           string          `json:"from"`
	To             string          `json:"to"`
	Contact        json.RawMessage `json:"contact"` // {id, name, email, phoneNumber} or null
	Message        string          `json:"message"`
	MediaURL       *string         `json:"mediaUrl"`
	MediaURLs      []string        `json:"mediaUrls"`
	Direction      string          `json:"direction"`
	ReceivedAt     JSONTime        `json:"receivedAt"`
}

// Delivery statuses. A delivery is pending while attempts remain (its
// NextRetryAt says when), then success or failed.
const (
	DeliveryPending = "pending"
	DeliverySuccess = "success"
	DeliveryFailed  = "failed"
)

// Delivery is one event on its way to one webhook, with the outcome of its
// last attempt. Its ID is the X-Webhook-ID header, the same on every attempt.
type Delivery struct {
	ID            string
	AccountID     string
	AgentID       *string // the agent the event belongs to
	WebhookID     *string // where it was routed; nil when no webhook was configured
	EventType     string
	Channel       *string
	MessageID     *string
	Payload       []byte // the envelope as signed and sent
	Status        string
	HTTPStatus    *int
	ErrorMessage  *string
	ResponseBody  *string
	AttemptCount  int
	LastAttemptAt *time.Time
	NextRetryAt   *time.Time
	Test          bool // sent by a test endpoint: once, never retried
	CreatedAt     time.Time
}

// DeliveryUpdate is the outcome of a claimed delivery (see the webhook
// package's Outbox) to be written back.
type DeliveryUpdate struct {
	// Delivery carries the outcome fields, as Record wrote them; unchanged
	// when no attempt was made.
	Delivery *Delivery
	// ClaimedAttempts is the AttemptCount the delivery had when claimed:
	// the update applies only while the stored count is still that.
	ClaimedAttempts int
	// DueAt is when the delivery is next to be claimed: its next retry, at
	// once when it was claimed but not attempted, nil when finished.
	DueAt *time.Time
}

// PrefixDelivery starts delivery ids.
const PrefixDelivery = "dlv_"

// DeliveryFilter narrows a delivery list.
type DeliveryFilter struct {
	AgentID *string    // only the deliveries of this agent's events
	Since   *time.Time // only deliveries created at or after this time
}

// DeliveryCount is one group of a delivery aggregate: how many deliveries of
// one event type, status and hour (UTC, truncated) there are.
type DeliveryCount struct {
	EventType string
	Status    string
	Hour      time.Time
	N         int
}

// DeliveryStats summarises deliveries (spec §9.6, §9.7).
type DeliveryStats struct {
	Total, Success, Failed, Pending int
	SuccessRate                     float64                   // percent, 0–100, of finished deliveries; 0 when none
	ByEventType                     map[string]map[string]int // event type → status → count
	ByHour                          []HourStats               // oldest first, hours with deliveries only
}

// HourStats counts one hour's deliveries.
type HourStats struct {
	Hour                            time.Time
	Total, Success, Failed, Pending int
}

// Stats aggregates counts into DeliveryStats.
func Stats(counts []DeliveryCount) DeliveryStats {
	st := DeliveryStats{ByEventType: map[string]map[string]int{}, ByHour: []HourStats{}}
	hours := map[time.Time]*HourStats{}
	var order []time.Time
	for _, c := range counts {
		st.Total += c.N
		bump := func(total, success, failed, pending *int) {
			*total += c.N
			switch c.Status {
			case DeliverySuccess:
				*success += c.N
			case DeliveryFailed:
				*failed += c.N
			case DeliveryPending:
				*pending += c.N
			}
		}
		var total int
		bump(&total, &st.Success, &st.Failed, &st.Pending)
		if st.ByEventType[c.EventType] == nil {
			st.ByEventType[c.EventType] = map[string]int{}
		}
		st.ByEventType[c.EventType][c.Status] += c.N
		h := hours[c.Hour]
		if h == nil {
			h = &HourStats{Hour: c.Hour}
			hours[c.Hour] = h
			order = append(order, c.Hour)
		}
		bump(&h.Total, &h.Success, &h.Failed, &h.Pending)
	}
	slices.SortFunc(order, time.Time.Compare)
	for _, t := range order {
		st.ByHour = append(st.ByHour, *hours[t])
	}
	if done := st.Success + st.Failed; done > 0 {
		st.SuccessRate = float64(st.Success) * 100 / float64(done)
	}
	return st
}

// Attempt is the outcome of one attempt to post a delivery.
type Attempt struct {
	Status     int           // HTTP status; 0 when no response arrived
	Body       []byte        // the start of the receiver's answer
	RetryAfter time.Duration // the receiver's Retry-After; 0 when none
	Duration   time.Duration
	Err        error // why no usable response arrived
	Retryable  bool  // whether another attempt may succeed
}

// OK reports whether the receiver accepted the delivery.
func (a Attempt) OK() bool { return a.Err == nil && a.Status >= 200 && a.Status <= 299 }

// Poster posts one signed delivery to a webhook; the webhook package
// implements it.
type Poster interface {
	Post(ctx context.Context, w *Webhook, d *Delivery) Attempt
}

// Record writes the outcome of attempt a into d: its status (success, or
// failed when a is final; pending with next retry otherwise), the HTTP
// status, error, response and attempt count. next is when the next attempt
// is due, nil when none will be made.
func (d *Delivery) Record(a Attempt, at time.Time, next *time.Time) {
	d.AttemptCount++
	d.LastAttemptAt = &at
	d.NextRetryAt = next
	d.HTTPStatus, d.ErrorMessage, d.ResponseBody = nil, nil, nil
	if a.Status != 0 {
		s := a.Status
		d.HTTPStatus = &s
	}
	if len(a.Body) > 0 {
		b := string(a.Body)
		d.ResponseBody = &b
	}
	switch {
	case a.OK():
		d.Status = DeliverySuccess
		d.NextRetryAt = nil
	case next != nil:
		d.Status = DeliveryPending
	default:
		d.Status = DeliveryFailed
	}
	if !a.OK() {
		msg := fmt.Sprintf("HTTP %d", a.Status)
		if a.Err != nil {
			msg = a.Err.Error()
		}
		d.ErrorMessage = &msg
	}
}
