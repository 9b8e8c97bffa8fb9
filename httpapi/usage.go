package httpapi

import (
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // the by-agent tz parameter works without the system's zoneinfo

	"github.com/agentphone/agentphone"
)

// Usage (spec §11). This server has no plans: the plan is "self-hosted",
// its number limit the server's cap on active numbers per account and
// every other limit 0, meaning no limit. Days and months are UTC;
// periodStart and periodEnd are RFC 3339 instants in UTC; daily and
// monthly points carry our extra voiceMinutes (spec §20.23). See
// agentphone.UsageService.

// Usage queries (spec §11.2, §11.3).
const (
	defaultUsageDays   = 30
	maxUsageDays       = 365
	defaultUsageMonths = 6
	maxUsageMonths     = 24
)

// periodTime renders a period bound: RFC 3339, UTC, whole seconds.
func periodTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// usageJSON is UsageResponse (spec §11.1).
type usageJSON struct {
	Plan        usagePlanJSON    `json:"plan"`
	Numbers     usageNumbersJSON `json:"numbers"`
	Stats       usageStatsJSON   `json:"stats"`
	PeriodStart string           `json:"periodStart"`
	PeriodEnd   string           `json:"periodEnd"`
}

type usagePlanJSON struct {
	Name   string          `json:"name"`
	Limits usageLimitsJSON `json:"limits"`
}

type usageLimitsJSON struct {
	Numbers                int `json:"numbers"`
	MessagesPerMonth       int `json:"messagesPerMonth"`
	VoiceMinutesPerMonth   int `json:"voiceMinutesPerMonth"`
	MaxCallDurationMinutes int `json:"maxCallDurationMinutes"`
	ConcurrentCalls        int `json:"concurrentCalls"`
}

type usageNumbersJSON struct {
	Used      int `json:"used"`
	Limit     int `json:"limit"`
	Remaining int `json:"remaining"`
}

type usageStatsJSON struct {
	TotalMessages               int `json:"totalMessages"`
	MessagesLast24h             int `json:"messagesLast24h"`
	MessagesLast7d              int `json:"messagesLast7d"`
	MessagesLast30d             int `json:"messagesLast30d"`
	TotalCalls                  int `json:"totalCalls"`
	CallsLast24h                int `json:"callsLast24h"`
	CallsLast7d                 int `json:"callsLast7d"`
	CallsLast30d                int `json:"callsLast30d"`
	TotalWebhookDeliveries      int `json:"totalWebhookDeliveries"`
	SuccessfulWebhookDeliveries int `json:"successfulWebhookDeliveries"`
	FailedWebhookDeliveries     int `json:"failedWebhookDeliveries"`
}

// dailyUsageJSON is DailyUsageResponse (spec §11.2).
type dailyUsageJSON struct {
	Data []dayUsageJSON `json:"data"`
	Days int            `json:"days"`
}

type dayUsageJSON struct {
	Date         string `json:"date"` // YYYY-MM-DD, UTC
	Messages     int    `json:"messages"`
	Calls        int    `json:"calls"`
	Webhooks     int    `json:"webhooks"`
	VoiceMinutes int    `json:"voiceMinutes"`
}

// monthlyUsageJSON is MonthlyUsageResponse (spec §11.3).
type monthlyUsageJSON struct {
	Data   []monthUsageJSON `json:"data"`
	Months int              `json:"months"`
}

type monthUsageJSON struct {
	Month        string `json:"month"` // YYYY-MM, UTC
	Messages     int    `json:"messages"`
	Calls        int    `json:"calls"`
	Webhooks     int    `json:"webhooks"`
	VoiceMinutes int    `json:"voiceMinutes"`
}

// numberUsageListJSON is UsageByNumberResponse (spec §11.4).
type numberUsageListJSON struct {
	Data []numberUsageJSON `json:"data"`
}

type numberUsageJSON struct {
	NumberID    string  `json:"numberId"`
	PhoneNumber string  `json:"phoneNumber"`
	Country     string  `json:"country"`
	Status      string  `json:"status"`
	AgentID     *string `json:"agentId"`
	AgentName   *string `json:"agentName"`
	Messages    int     `json:"messages"`
	Calls       int     `json:"calls"`
}

// agentUsageListJSON is UsageByAgentResponse (spec §11.5).
type agentUsageListJSON struct {
	Data        []agentUsageJSON `json:"data"`
	Period      string           `json:"period"`
	PeriodStart string           `json:"periodStart"`
	PeriodEnd   string           `json:"periodEnd"`
}

type agentUsageJSON struct {
	AgentID      *string `json:"agentId"`
	AgentName    string  `json:"agentName"`
	Messages     int     `json:"messages"`
	Calls        int     `json:"calls"`        // completed calls
	TotalSeconds int     `json:"totalSeconds"` // their answered seconds
	IsOrphan     bool    `json:"isOrphan"`     // always false: no source defines it
}

func (s *Server) usageSummary(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	u, err := s.usage.Summary(r.Context(), sc)
	if err != nil {
		return err
	}
	l := u.Limits
	s.writeJSON(w, r, http.StatusOK, usageJSON{
		Plan: usagePlanJSON{Name: u.PlanName, Limits: usageLimitsJSON{
			Numbers: l.Numbers, MessagesPerMonth: l.MessagesPerMonth, VoiceMinutesPerMonth: l.VoiceMinutesPerMonth,
			MaxCallDurationMinutes: l.MaxCallDurationMinutes, ConcurrentCalls: l.ConcurrentCalls,
		}},
		Numbers: usageNumbersJSON{Used: u.NumbersUsed, Limit: u.NumbersLimit, Remaining: u.NumbersRemaining},
		Stats: usageStatsJSON{
			TotalMessages: u.TotalMessages, MessagesLast24h: u.MessagesLast24h, MessagesLast7d: u.MessagesLast7d,
			MessagesLast30d: u.MessagesLast30d, TotalCalls: u.TotalCalls, CallsLast24h: u.CallsLast24h,
			CallsLast7d: u.CallsLast7d, CallsLast30d: u.CallsLast30d, TotalWebhookDeliveries: u.TotalWebhookDeliveries,
			SuccessfulWebhookDeliveries: u.SuccessfulWebhookDeliveries, FailedWebhookDeliveries: u.FailedWebhookDeliveries,
		},
		PeriodStart: periodTime(u.PeriodStart), PeriodEnd: periodTime(u.PeriodEnd),
	})
	return nil
}

func (s *Server) usageDaily(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var qe queryErrors
	days := qe.intParam(r.URL.Query(), "days", defaultUsageDays, 1, maxUsageDays)
	if err := qe.err(); err != nil {
		return err
	}
	ps, err := s.usage.Daily(r.Context(), sc, days)
	if err != nil {
		return err
	}
	out := dailyUsageJSON{Data: make([]dayUsageJSON, len(ps)), Days: days}
	for i, p := range ps {
		out.Data[i] = dayUsageJSON{Date: p.Start.Format(time.DateOnly), Messages: p.Messages, Calls: p.Calls, Webhooks: p.Webhooks,
			VoiceMinutes: p.VoiceMinutes}
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) usageMonthly(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var qe queryErrors
	months := qe.intParam(r.URL.Query(), "months", defaultUsageMonths, 1, maxUsageMonths)
	if err := qe.err(); err != nil {
		return err
	}
	ps, err := s.usage.Monthly(r.Context(), sc, months)
	if err != nil {
		return err
	}
	out := monthlyUsageJSON{Data: make([]monthUsageJSON, len(ps)), Months: months}
	for i, p := range ps {
		out.Data[i] = monthUsageJSON{Month: p.Start.Format("2006-01"), Messages: p.Messages, Calls: p.Calls, Webhooks: p.Webhooks,
			VoiceMinutes: p.VoiceMinutes}
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) usageByNumber(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	us, err := s.usage.ByNumber(r.Context(), sc)
	if err != nil {
		return err
	}
	out := numberUsageListJSON{Data: make([]numberUsageJSON, len(us))}
	for i, u := range us {
		out.Data[i] = numberUsageJSON{
			NumberID: u.NumberID, PhoneNumber: u.PhoneNumber, Country: u.Country, Status: u.Status,
			AgentID: u.AgentID, AgentName: u.AgentName, Messages: u.Messages, Calls: u.Calls,
		}
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// usageByAgent: period is required, one of week, month or year; tz is an
// IANA zone name, UTC when absent or empty ("Local" is refused: the
// server's own zone is not the client's business).
func (s *Server) usageByAgent(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	q := r.URL.Query()
	var qe queryErrors
	period, ok := last(q, "period")
	switch {
	case !ok:
		qe.add("period", "Field required", "missing")
	case !validPeriod(period):
		qe.add("period", "Input should be 'week', 'month' or 'year'", "literal_error")
	}
	loc := time.UTC
	if tz, _ := last(q, "tz"); strings.TrimSpace(tz) != "" {
		l, err := time.LoadLocation(strings.TrimSpace(tz))
		if err != nil || tz == "Local" {
			qe.add("tz", "Value error, Unknown time zone: "+tz, "value_error")
		} else {
			loc = l
		}
	}
	if err := qe.err(); err != nil {
		return err
	}
	rep, err := s.usage.ByAgent(r.Context(), sc, period, loc)
	if err != nil {
		return err
	}
	out := agentUsageListJSON{
		Data: make([]agentUsageJSON, len(rep.Items)), Period: rep.Period,
		PeriodStart: periodTime(rep.Start), PeriodEnd: periodTime(rep.End),
	}
	for i, u := range rep.Items {
		out.Data[i] = agentUsageJSON{AgentID: u.AgentID, AgentName: u.AgentName, Messages: u.Messages, Calls: u.Calls,
			TotalSeconds: u.TotalSeconds}
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func validPeriod(p string) bool {
	for _, v := range agentphone.UsagePeriods {
		if p == v {
			return true
		}
	}
	return false
}
