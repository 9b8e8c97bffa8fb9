package httpapi

import (
	"net/http"
	"time"

	"github.com/agentphone/agentphone"
)

// numberJSON is the PhoneNumber object (spec §3.1) plus our capabilities
// and releasedAt.
type numberJSON struct {
	ID           string           `json:"id"`
	PhoneNumber  string           `json:"phoneNumber"`
	Country      string           `json:"country"`
	Status       string           `json:"status"`
	Type         string           `json:"type"`
	AgentID      *string          `json:"agentId"`
	CreatedAt    timestamp        `json:"createdAt"`
	Capabilities capabilitiesJSON `json:"capabilities"`
	ReleasedAt   *timestamp       `json:"releasedAt"`
}

type capabilitiesJSON struct {
	SMS      bool `json:"sms"`
	MMS      bool `json:"mms"`
	Voice    bool `json:"voice"`
	IMessage bool `json:"imessage"`
}

func newNumberJSON(n *agentphone.Number) numberJSON {
	return numberJSON{
		ID: n.ID, PhoneNumber: n.PhoneNumber, Country: n.Country, Status: n.Status, Type: n.Type,
		AgentID: n.AgentID, CreatedAt: timestamp(n.CreatedAt),
		Capabilities: capabilitiesJSON(n.Capabilities), ReleasedAt: optTime(n.ReleasedAt),
	}
}

// releaseNumberJSON is the body of DELETE /v1/numbers/{id} (spec §3.5).
type releaseNumberJSON struct {
	Success     bool   `json:"success"`
	ID          string `json:"id"`
	PhoneNumber string `json:"phoneNumber"`
	Status      string `json:"status"`
}

// messageJSON is MessageResponse (spec §4.1 a), with the literal key from_.
type messageJSON struct {
	ID         string    `json:"id"`
	From       string    `json:"from_"`
	To         string    `json:"to"`
	Body       string    `json:"body"`
	Direction  string    `json:"direction"`
	Channel    *string   `json:"channel"`
	ReceivedAt timestamp `json:"receivedAt"`
	// Our additions: delivery status (queued, sent, delivered, failed;
	// received for inbound) and why a message failed.
	Status       string  `json:"status"`
	ErrorMessage *string `json:"errorMessage"`
}

// Number message lists page by timestamps (spec §4.2).
const (
	defaultMessageLimit = 50
	maxMessageLimit     = 200
)

// messageQuery is the validated query of a message list.
type messageQuery struct {
	Limit  int
	Before time.Time // zero: no bound
	After  time.Time // zero: no bound
}

func parseMessageQuery(r *http.Request) (messageQuery, error) {
	q := r.URL.Query()
	var qe queryErrors
	mq := messageQuery{
		Limit:  qe.intParam(q, "limit", defaultMessageLimit, 1, maxMessageLimit),
		Before: qe.timeParam(q, "before"),
		After:  qe.timeParam(q, "after"),
	}
	return mq, qe.err()
}

func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	p, err := pageQuery(r)
	if err != nil {
		return err
	}
	l, err := s.numbers.List(r.Context(), sc, p)
	if err != nil {
		return err
	}
	out := offsetList[numberJSON]{Data: make([]numberJSON, len(l.Items)), HasMore: l.HasMore(p), Total: l.Total}
	for i, n := range l.Items {
		out.Data[i] = newNumberJSON(n)
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) createNumber(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in agentphone.NumberInput
	err := decode(r, &in, bodyOptional, func() error { return s.numbers.Validate(in) })
	if err != nil {
		return err
	}
	n, err := s.numbers.Create(r.Context(), sc, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newNumberJSON(n))
	return nil
}

func (s *Server) getNumber(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	n, err := s.numbers.Get(r.Context(), sc, r.PathValue("number_id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newNumberJSON(n))
	return nil
}

func (s *Server) releaseNumber(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	n, err := s.numbers.Release(r.Context(), sc, r.PathValue("number_id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, releaseNumberJSON{Success: true, ID: n.ID, PhoneNumber: n.PhoneNumber, Status: n.Status})
	return nil
}

// listNumberMessages lists a number's messages by timestamp cursor: newest
// first, or, with only after, oldest first from the cursor (spec §4.2).
func (s *Server) listNumberMessages(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	q, err := parseMessageQuery(r)
	if err != nil {
		return err
	}
	msgs, more, err := s.messages.NumberMessages(r.Context(), sc, r.PathValue("number_id"), q.cursor())
	if err != nil {
		return err
	}
	out := make([]messageJSON, len(msgs))
	for i, m := range msgs {
		out[i] = newMessageJSON(m)
	}
	s.writeJSON(w, r, http.StatusOK, cursorList[messageJSON]{Data: out, HasMore: more})
	return nil
}
