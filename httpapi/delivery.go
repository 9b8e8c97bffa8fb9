package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/agentphone/agentphone"
)

// The webhook delivery log (spec §9.5–9.7, §10.4) and test deliveries
// (§9.8, §10.5, §15.11). Shapes follow the SDK (decision 13); the test
// response adds statusCode and responseMs for the MCP server (decision 15).

// Delivery log queries (spec §9.5, §9.6).
const (
	defaultDeliveryLimit = 50
	maxDeliveryLimit     = 100
	maxDeliveryHours     = 168 // one week
	defaultStatsHours    = 24
)

// deliveryJSON is WebhookDeliveryResponse (spec §9.5), keys in the spec's
// order, plus our agentId, webhookId and test.
type deliveryJSON struct {
	ID            string     `json:"id"`
	MessageID     *string    `json:"messageId"`
	EventType     string     `json:"eventType"`
	Channel       *string    `json:"channel"`
	Status        string     `json:"status"`
	HTTPStatus    *int       `json:"httpStatus"`
	ErrorMessage  *string    `json:"errorMessage"`
	ResponseBody  *string    `json:"responseBody"`
	AttemptCount  int        `json:"attemptCount"`
	LastAttemptAt *timestamp `json:"lastAttemptAt"`
	NextRetryAt   *timestamp `json:"nextRetryAt"`
	CreatedAt     timestamp  `json:"createdAt"`
	AgentID       *string    `json:"agentId"`
	WebhookID     *string    `json:"webhookId"`
	Test          bool       `json:"test"`
}

func newDeliveryJSON(d *agentphone.Delivery) deliveryJSON {
	return deliveryJSON{
		ID: d.ID, MessageID: d.MessageID, EventType: d.EventType, Channel: d.Channel, Status: d.Status,
		HTTPStatus: d.HTTPStatus, ErrorMessage: d.ErrorMessage, ResponseBody: d.ResponseBody,
		AttemptCount: d.AttemptCount, LastAttemptAt: optTime(d.LastAttemptAt), NextRetryAt: optTime(d.NextRetryAt),
		CreatedAt: timestamp(d.CreatedAt), AgentID: d.AgentID, WebhookID: d.WebhookID, Test: d.Test,
	}
}

func newDeliveriesJSON(ds []*agentphone.Delivery) []deliveryJSON {
	out := make([]deliveryJSON, len(ds)) // never null
	for i, d := range ds {
		out[i] = newDeliveryJSON(d)
	}
	return out
}

// deliveryPageJSON is PaginatedDeliveriesResponse (spec §1.7 style 3).
type deliveryPageJSON struct {
	Items  []deliveryJSON `json:"items"`
	Total  int            `json:"total"`
	Offset int            `json:"offset"`
	Limit  int            `json:"limit"`
}

// deliveryStatsJSON is WebhookDeliveryStatsResponse (spec §9.6).
// successRate is a percentage, 0–100 (decision 13).
type deliveryStatsJSON struct {
	Total       int                       `json:"total"`
	Success     int                       `json:"success"`
	Failed      int                       `json:"failed"`
	Pending     int                       `json:"pending"`
	SuccessRate float64                   `json:"successRate"`
	ByEventType map[string]map[string]int `json:"byEventType"`
	ByHour      []hourStatsJSON           `json:"byHour"`
}

// hourStatsJSON is one item of byHour: the deliveries created in the hour
// (UTC) starting at hour.
type hourStatsJSON struct {
	Hour    timestamp `json:"hour"`
	Total   int       `json:"total"`
	Success int       `json:"success"`
	Failed  int       `json:"failed"`
	Pending int       `json:"pending"`
}

// allTimeStatsJSON is the body of GET /v1/webhooks/deliveries/all-time
// (spec §9.7).
type allTimeStatsJSON struct {
	Total       int     `json:"total"`
	Success     int     `json:"success"`
	Failed      int     `json:"failed"`
	SuccessRate float64 `json:"successRate"`
}

// webhookTestJSON is the outcome of a test delivery (decision 15).
type webhookTestJSON struct {
	Success      bool    `json:"success"`
	HTTPStatus   *int    `json:"httpStatus"`   // null when no response arrived
	ErrorMessage *string `json:"errorMessage"` // null on success
	DeliveryID   string  `json:"deliveryId"`   // the X-Webhook-ID sent, and the delivery log id
	StatusCode   *int    `json:"statusCode"`   // = httpStatus, for the MCP server
	ResponseMs   int64   `json:"responseMs"`   // the attempt's duration
}

// webhookTestInput is the optional body of POST /v1/webhooks/test, as the
// MCP server sends it (spec §18.1); the SDK sends none.
type webhookTestInput struct {
	AgentID agentphone.Opt[string] `json:"agentId"`
}

// since returns the start of a window of hours ending now; nil for none.
func since(hours *int) *time.Time {
	if hours == nil {
		return nil
	}
	t := agentphone.Now().Add(-time.Duration(*hours) * time.Hour)
	return &t
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	q := r.URL.Query()
	var qe queryErrors
	p := qe.page(q, defaultDeliveryLimit, maxDeliveryLimit)
	hours := qe.nullableIntParam(q, "hours", 1, maxDeliveryHours)
	if err := qe.err(); err != nil {
		return err
	}
	l, err := s.webhooks.Deliveries(r.Context(), sc, agentphone.DeliveryFilter{Since: since(hours)}, p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, deliveryPageJSON{
		Items: newDeliveriesJSON(l.Items), Total: l.Total, Offset: p.Offset, Limit: p.Limit,
	})
	return nil
}

// listAgentDeliveries answers a bare array of the agent's deliveries
// (spec §10.4): the events of the agent, whichever webhook they went to.
func (s *Server) listAgentDeliveries(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	q := r.URL.Query()
	var qe queryErrors
	limit := qe.intParam(q, "limit", defaultDeliveryLimit, 1, maxDeliveryLimit)
	hours := qe.nullableIntParam(q, "hours", 1, maxDeliveryHours)
	if err := qe.err(); err != nil {
		return err
	}
	f := agentphone.DeliveryFilter{AgentID: agentParam(r), Since: since(hours)}
	l, err := s.webhooks.Deliveries(r.Context(), sc, f, agentphone.Page{Limit: limit})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newDeliveriesJSON(l.Items))
	return nil
}

func (s *Server) deliveryStats(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var qe queryErrors
	hours := qe.intParam(r.URL.Query(), "hours", defaultStatsHours, 1, maxDeliveryHours)
	if err := qe.err(); err != nil {
		return err
	}
	st, err := s.webhooks.Stats(r.Context(), sc, since(&hours))
	if err != nil {
		return err
	}
	out := deliveryStatsJSON{
		Total: st.Total, Success: st.Success, Failed: st.Failed, Pending: st.Pending, SuccessRate: st.SuccessRate,
		ByEventType: st.ByEventType, ByHour: make([]hourStatsJSON, len(st.ByHour)),
	}
	if out.ByEventType == nil {
		out.ByEventType = map[string]map[string]int{}
	}
	for i, h := range st.ByHour {
		out.ByHour[i] = hourStatsJSON{
			Hour: timestamp(h.Hour), Total: h.Total, Success: h.Success, Failed: h.Failed, Pending: h.Pending,
		}
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) deliveryAllTime(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	st, err := s.webhooks.Stats(r.Context(), sc, nil)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, allTimeStatsJSON{
		Total: st.Total, Success: st.Success, Failed: st.Failed, SuccessRate: st.SuccessRate,
	})
	return nil
}

// testWebhook sends a test delivery to the project webhook. The payload's
// agent is the agentId query parameter (the SDK), else the body's agentId
// (the MCP server), else the account's first agent. A blank agentId counts
// as absent (the SDK sends "agentId=" for agentId: null).
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in webhookTestInput
	if err := decode(r, &in, bodyOptional, nil); err != nil {
		return err
	}
	var agentID *string
	if id, ok := last(r.URL.Query(), "agentId"); ok && strings.TrimSpace(id) != "" {
		agentID = &id
	} else if in.AgentID.HasValue() && strings.TrimSpace(in.AgentID.Value) != "" {
		agentID = &in.AgentID.Value
	}
	return s.serveTestWebhook(w, r, sc, nil, agentID)
}

// testAgentWebhook sends a test delivery naming the agent to its webhook.
func (s *Server) testAgentWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	return s.serveTestWebhook(w, r, sc, agentParam(r), nil)
}

// serveTestWebhook answers 200 whatever the receiver did: its outcome is
// the body. Only a missing webhook or agent is an error of ours.
func (s *Server) serveTestWebhook(w http.ResponseWriter, r *http.Request, sc agentphone.Scope, agentID, payloadAgentID *string) error {
	d, a, err := s.webhooks.Test(r.Context(), sc, agentID, payloadAgentID)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, webhookTestJSON{
		Success: a.OK(), HTTPStatus: d.HTTPStatus, ErrorMessage: d.ErrorMessage, DeliveryID: d.ID,
		StatusCode: d.HTTPStatus, ResponseMs: a.Duration.Milliseconds(),
	})
	return nil
}
