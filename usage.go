package agentphone

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
)

// Usage (spec §11). This self-hosted server has no plans, bills nothing and
// enforces no quota but the number cap, so the figures are counts of what
// the account's tables hold:
//   - messages count both directions (inbound and outbound);
//   - webhook deliveries count every delivery of the account's delivery
//     log, test deliveries included, as the delivery stats do (spec §9.6,
//     §9.7): a test delivery is a real POST to the customer's endpoint;
//   - calls count every call, inbound and outbound, whatever its status,
//     by when it started; voice minutes are each call's answered time
//     rounded up to the minute; the by-agent calls and seconds count
//     completed calls only (spec §11.5).
//
// Days and months are UTC calendar days and months; the by-agent period is
// the current calendar week (from Monday), month or year in a given zone.

// UsageUnit is the length of the periods of a usage series.
type UsageUnit string

// Units of usage series.
const (
	UsageDay   UsageUnit = "day"
	UsageMonth UsageUnit = "month"
)

// UsageCount counts the messages and webhook deliveries created, and the
// calls started (and their voice minutes), in the UTC day or month
// starting at Start.
type UsageCount struct {
	Start                                   time.Time // UTC midnight; the 1st of the month for months
	Messages, Webhooks, Calls, VoiceMinutes int
}

// NumberUsage is one number's usage: the messages it sent and received,
// and its calls, ever.
type NumberUsage struct {
	NumberID, PhoneNumber, Country, Status string
	AgentID                                *string // the agent it is attached to
	AgentName                              *string
	Messages, Calls                        int
}

// AgentUsage counts one agent's messages, completed calls and their
// seconds in a period. AgentID nil is the Unassigned bucket: those of no
// agent, or of an agent since deleted.
type AgentUsage struct {
	AgentID      *string
	AgentName    string
	Messages     int
	Calls        int
	TotalSeconds int
}

// UnassignedAgentName names the bucket of messages with no agent (spec §11.5).
const UnassignedAgentName = "Unassigned"

// UsagePeriods are the values of the by-agent period parameter.
var UsagePeriods = []string{"week", "month", "year"}

// UsageLimits is the plan's limits. This server has no plans: Numbers is the
// server's cap on active numbers per account, and every other limit is 0,
// meaning "no limit".
type UsageLimits struct {
	Numbers, MessagesPerMonth, VoiceMinutesPerMonth, MaxCallDurationMinutes, ConcurrentCalls int
}

// UsageSummary is GET /v1/usage (spec §11.1).
type UsageSummary struct {
	PlanName string // always SelfHostedPlan
	Limits   UsageLimits
	// NumbersUsed counts the active numbers; NumbersLimit is Limits.Numbers
	// (0: no cap) and NumbersRemaining what is left of it (0 with no cap).
	NumbersUsed, NumbersLimit, NumbersRemaining int

	TotalMessages, MessagesLast24h, MessagesLast7d, MessagesLast30d int
	TotalCalls, CallsLast24h, CallsLast7d, CallsLast30d             int
	TotalWebhookDeliveries                                          int // every status, pending included
	SuccessfulWebhookDeliveries, FailedWebhookDeliveries            int

	// PeriodStart and PeriodEnd bound the current calendar month, UTC.
	PeriodStart, PeriodEnd time.Time
}

// SelfHostedPlan is the plan name of this server.
const SelfHostedPlan = "self-hosted"

// UsagePeriod counts one day's or month's usage.
type UsagePeriod struct {
	Start                     time.Time // UTC
	Messages, Calls, Webhooks int
	VoiceMinutes              int // the calls' answered time, each call rounded up to the minute
}

// AgentUsageReport is GET /v1/usage/by-agent (spec §11.5).
type AgentUsageReport struct {
	Period     string
	Start, End time.Time // the period, as UTC instants: [Start, End)
	Items      []AgentUsage
}

// UsageService reports an account's usage.
type UsageService struct {
	Store Store
	// MaxNumbersPerAccount is NumberService.MaxNumbersPerAccount, reported
	// as the plan's number limit; 0: no cap.
	MaxNumbersPerAccount int
	// Now tells the time; nil: Now.
	Now func() time.Time
}

func (s *UsageService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return Now()
}

// monthStart is the first instant of t's UTC month, plus add months.
func monthStart(t time.Time, add int) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month()+time.Month(add), 1, 0, 0, 0, 0, time.UTC)
}

// dayStart is the first instant of t's UTC day, plus add days.
func dayStart(t time.Time, add int) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day()+add, 0, 0, 0, 0, time.UTC)
}

// Summary returns the account's usage summary.
func (s *UsageService) Summary(ctx context.Context, sc Scope) (*UsageSummary, error) {
	now := s.now()
	used, err := s.Store.CountActiveNumbers(ctx, sc.AccountID)
	if err != nil {
		return nil, err
	}
	msgs, err := s.Store.CountMessages(ctx, sc.AccountID,
		now.Add(-24*time.Hour), now.Add(-7*24*time.Hour), now.Add(-30*24*time.Hour))
	if err != nil {
		return nil, err
	}
	calls, err := s.Store.CountCalls(ctx, sc.AccountID,
		now.Add(-24*time.Hour), now.Add(-7*24*time.Hour), now.Add(-30*24*time.Hour))
	if err != nil {
		return nil, err
	}
	byStatus, err := s.Store.CountDeliveriesByStatus(ctx, sc.AccountID)
	if err != nil {
		return nil, err
	}
	u := &UsageSummary{
		PlanName:    SelfHostedPlan,
		Limits:      UsageLimits{Numbers: s.MaxNumbersPerAccount},
		NumbersUsed: used, NumbersLimit: s.MaxNumbersPerAccount,
		TotalMessages: msgs[0], MessagesLast24h: msgs[1], MessagesLast7d: msgs[2], MessagesLast30d: msgs[3],
		TotalCalls: calls[0], CallsLast24h: calls[1], CallsLast7d: calls[2], CallsLast30d: calls[3],
		SuccessfulWebhookDeliveries: byStatus[DeliverySuccess], FailedWebhookDeliveries: byStatus[DeliveryFailed],
		PeriodStart: monthStart(now, 0), PeriodEnd: monthStart(now, 1),
	}
	if s.MaxNumbersPerAccount > 0 {
		u.NumbersRemaining = max(s.MaxNumbersPerAccount-used, 0)
	}
	for _, n := range byStatus {
		u.TotalWebhookDeliveries += n
	}
	return u, nil
}

// Daily returns the usage of the last days UTC days, today included,
// oldest first, days without usage included.
func (s *UsageService) Daily(ctx context.Context, sc Scope, days int) ([]UsagePeriod, error) {
	now := s.now()
	starts := make([]time.Time, max(days, 0))
	for i := range starts {
		starts[i] = dayStart(now, i-len(starts)+1)
	}
	return s.series(ctx, sc, UsageDay, starts)
}

// Monthly returns the usage of the last months UTC months, this one
// included, oldest first, months without usage included.
func (s *UsageService) Monthly(ctx context.Context, sc Scope, months int) ([]UsagePeriod, error) {
	now := s.now()
	starts := make([]time.Time, max(months, 0))
	for i := range starts {
		starts[i] = monthStart(now, i-len(starts)+1)
	}
	return s.series(ctx, sc, UsageMonth, starts)
}

// series fills one UsagePeriod per start from the store's counts.
func (s *UsageService) series(ctx context.Context, sc Scope, unit UsageUnit, starts []time.Time) ([]UsagePeriod, error) {
	out := make([]UsagePeriod, len(starts))
	if len(starts) == 0 {
		return out, nil
	}
	counts, err := s.Store.CountUsage(ctx, sc.AccountID, unit, starts[0])
	if err != nil {
		return nil, err
	}
	byStart := make(map[time.Time]UsageCount, len(counts))
	for _, c := range counts {
		byStart[c.Start.UTC()] = c
	}
	for i, st := range starts {
		c := byStart[st]
		out[i] = UsagePeriod{Start: st, Messages: c.Messages, Calls: c.Calls, Webhooks: c.Webhooks, VoiceMinutes: c.VoiceMinutes}
	}
	return out, nil
}

// ByNumber returns the usage of the account's numbers: every active number,
// and the released ones that have messages or calls (a released number
// without either has no usage to show), newest first.
func (s *UsageService) ByNumber(ctx context.Context, sc Scope) ([]NumberUsage, error) {
	return s.Store.UsageByNumber(ctx, sc.AccountID)
}

// PeriodBounds returns the current calendar period ("week" from Monday,
// "month" or "year") in loc that contains now, as UTC instants [start, end).
func PeriodBounds(period string, now time.Time, loc *time.Location) (start, end time.Time) {
	t := now.In(loc)
	y, m, d := t.Date()
	switch period {
	case "week":
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		start = time.Date(y, m, d-back, 0, 0, 0, 0, loc)
		end = time.Date(y, m, d-back+7, 0, 0, 0, 0, loc)
	case "year":
		start = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		end = time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
	default: // month
		start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		end = time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	}
	return start.UTC(), end.UTC()
}

// ByAgent counts the account's messages and completed calls (with their
// seconds) of the current calendar period in loc by agent. Only agents
// with messages or completed calls in the period are listed, most messages
// first (ties by most calls, then name, then id), then the Unassigned
// bucket when some have no agent. period must be one of UsagePeriods (the
// caller validates it).
func (s *UsageService) ByAgent(ctx context.Context, sc Scope, period string, loc *time.Location) (*AgentUsageReport, error) {
	if loc == nil {
		loc = time.UTC
	}
	start, end := PeriodBounds(period, s.now(), loc)
	msgs, err := s.Store.CountMessagesByAgent(ctx, sc.AccountID, start, end)
	if err != nil {
		return nil, err
	}
	calls, err := s.Store.CountCallsByAgent(ctx, sc.AccountID, start, end)
	if err != nil {
		return nil, err
	}
	items := mergeAgentUsage(msgs, calls)
	slices.SortFunc(items, func(a, b AgentUsage) int {
		if (a.AgentID == nil) != (b.AgentID == nil) {
			if a.AgentID == nil {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(b.Messages, a.Messages), cmp.Compare(b.Calls, a.Calls), strings.Compare(a.AgentName, b.AgentName),
			strings.Compare(usageDeref(a.AgentID), usageDeref(b.AgentID)))
	})
	for i := range items {
		if items[i].AgentID == nil {
			items[i].AgentName = UnassignedAgentName
		}
	}
	return &AgentUsageReport{Period: period, Start: start, End: end, Items: items}, nil
}

func usageDeref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// mergeAgentUsage adds the calls' counts to the messages' by agent (nil:
// the Unassigned bucket).
func mergeAgentUsage(msgs, calls []AgentUsage) []AgentUsage {
	items := slices.Clone(msgs)
	at := make(map[string]int, len(items)) // agent id ("" for none) → index
	for i, u := range items {
		at[usageDeref(u.AgentID)] = i
	}
	for _, c := range calls {
		i, ok := at[usageDeref(c.AgentID)]
		if !ok {
			i = len(items)
			at[usageDeref(c.AgentID)] = i
			items = append(items, AgentUsage{AgentID: c.AgentID, AgentName: c.AgentName})
		}
		items[i].Calls += c.Calls
		items[i].TotalSeconds += c.TotalSeconds
	}
	if items == nil {
		items = []AgentUsage{}
	}
	return items
}
