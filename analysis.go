package agentphone

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Post-call analysis (spec §15.7: agent.call_ended's summary,
// userSentiment and callSuccessful). With an Analyzer, the CallService
// ends a call whose caller said something as it always does (the hang-up,
// live subscribers and long-polls hear of the end at once) but marks it
// analysis-pending instead of writing its agent.call_ended event; a
// goroutine then runs the Analyzer and, in a second transaction, stores
// the analysis with the event. An analysis that fails or times out is
// logged and the event goes out with nulls: it is never lost. Calls a
// process left pending (it stopped or died first) are settled by
// RecoverUnfinished at the next start.

// CallAnalysis is the post-call analysis of a call. A field the analysis
// did not produce is nil.
type CallAnalysis struct {
	// Summary is what the call was about, in a sentence or two.
	Summary *string `json:"summary"`
	// UserSentiment is the caller's sentiment: one of SentimentPositive,
	// SentimentNeutral and SentimentNegative.
	UserSentiment *string `json:"userSentiment"`
	// CallSuccessful tells whether the call achieved what the caller or
	// the agent wanted.
	CallSuccessful *bool `json:"callSuccessful"`
}

// The user sentiments of a CallAnalysis.
const (
	SentimentPositive = "Positive"
	SentimentNeutral  = "Neutral"
	SentimentNegative = "Negative"
)

// CallAnalyzer makes the post-call analysis of a call.
type CallAnalyzer interface {
	// Analyze analyses ended call c from its turns, in order (at least
	// one of them a user turn with text). It should return when ctx ends.
	Analyze(ctx context.Context, c *Call, turns []*Turn) (CallAnalysis, error)
}

// DefaultAnalysisTimeout bounds an analysis when CallService.
// AnalysisTimeout is 0.
const DefaultAnalysisTimeout = 30 * time.Second

// needsAnalysis reports whether a call with these turns is analysed: the
// caller said something.
func needsAnalysis(turns []*Turn) bool {
	for _, t := range turns {
		if t.Role == RoleUser && strings.TrimSpace(t.Text) != "" {
			return true
		}
	}
	return false
}

// analyses tracks the analyses under way, by call id: WaitAnalyses waits
// for them; a call already being analysed is not analysed twice. Its zero
// value is ready to use.
type analyses struct {
	mu      sync.Mutex
	running map[string]struct{} // guarded by mu
	idle    chan struct{}       // closed when running empties; guarded by mu
}

// start records the analysis of call id and reports whether it was not
// under way already.
func (a *analyses) start(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.running[id]; ok {
		return false
	}
	if len(a.running) == 0 {
		if a.running == nil {
			a.running = map[string]struct{}{}
		}
		a.idle = make(chan struct{})
	}
	a.running[id] = struct{}{}
	return true
}

// done records the end of the analysis of call id.
func (a *analyses) done(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.running, id)
	if len(a.running) == 0 {
		close(a.idle)
	}
}

// wait returns once no analysis is under way, or with ctx's error.
func (a *analyses) wait(ctx context.Context) error {
	a.mu.Lock()
	if len(a.running) == 0 {
		a.mu.Unlock()
		return nil
	}
	idle := a.idle
	a.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitAnalyses returns once the analyses under way (of calls ended by this
// CallService, or recovered) are stored with their events, or with ctx's
// error when ctx ends first: the analyses left running then write their
// calls' events if they still can, else those calls stay pending and the
// next start's RecoverUnfinished settles them. Call it at shutdown after
// the calls have ended, before the store closes.
func (s *CallService) WaitAnalyses(ctx context.Context) error {
	return s.analyses.wait(ctx)
}

// analysisTimeout is s.AnalysisTimeout, or its default.
func (s *CallService) analysisTimeout() time.Duration {
	if s.AnalysisTimeout > 0 {
		return s.AnalysisTimeout
	}
	return DefaultAnalysisTimeout
}

// startAnalysis analyses analysis-pending call id in a goroutine that
// WaitAnalyses waits for, unless it is under way already. The goroutine
// outlives ctx's cancellation (not its values).
func (s *CallService) startAnalysis(ctx context.Context, id string) {
	if !s.analyses.start(id) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer s.analyses.done(id)
		s.analyze(ctx, id)
	}()
}

// analyze runs the Analyzer on analysis-pending call id and stores the
// analysis with its agent.call_ended event; when the Analyzer fails, the
// event goes out with no analysis. When the store fails, the call stays
// pending for the next start's RecoverUnfinished.
func (s *CallService) analyze(ctx context.Context, id string) {
	log := s.log().With("call_id", id)
	c, err := s.Store.FindCall(ctx, id)
	if err != nil {
		log.ErrorContext(ctx, "call analysis: reading the call failed; it is analysed at the next start", "err", err)
		return
	}
	if !c.AnalysisPending {
		return
	}
	turns, err := s.Store.ListTurns(ctx, c.AccountID, id)
	if err != nil {
		log.ErrorContext(ctx, "call analysis: reading the transcript failed; it is analysed at the next start", "err", err)
		return
	}
	started := time.Now()
	a, err := s.runAnalyzer(ctx, c, turns)
	if err != nil {
		log.WarnContext(ctx, "call analysis failed: agent.call_ended goes out without it", "err", err,
			"elapsed", time.Since(started).Round(time.Millisecond))
	}
	if _, _, err := s.settleAnalysis(ctx, c, a); err != nil {
		log.ErrorContext(ctx, "storing the call analysis failed; the call is settled at the next start", "err", err)
		return
	}
	log.InfoContext(ctx, "call analysed", "analysed", a != nil, "elapsed", time.Since(started).Round(time.Millisecond))
}

// runAnalyzer runs the Analyzer within AnalysisTimeout, which holds even
// when the Analyzer ignores its context; a panic is an error. An analysis
// with nothing in it is nil.
func (s *CallService) runAnalyzer(ctx context.Context, c *Call, turns []*Turn) (*CallAnalysis, error) {
	ctx, cancel := context.WithTimeout(ctx, s.analysisTimeout())
	defer cancel()
	type result struct {
		a   CallAnalysis
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("the analyzer panicked: %v", p)}
			}
		}()
		a, err := s.Analyzer.Analyze(ctx, c, turns)
		done <- result{a, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		r.err = ctx.Err()
	}
	if errors.Is(r.err, context.DeadlineExceeded) {
		r.err = fmt.Errorf("timed out after %s: %w", s.analysisTimeout(), r.err)
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.a.Summary == nil && r.a.UserSentiment == nil && r.a.CallSuccessful == nil {
		return nil, nil
	}
	return &r.a, nil
}

// settleAnalysis stores analysis a (nil: none) of analysis-pending call c
// with its agent.call_ended event. It returns the call as stored and
// whether this settled it (false: it was settled already).
func (s *CallService) settleAnalysis(ctx context.Context, c *Call, a *CallAnalysis) (*Call, bool, error) {
	// What settle may not read from the store, read before.
	var w *Webhook
	var err error
	if s.Webhooks != nil {
		if w, err = s.Webhooks.route(ctx, c.AccountID, c.AgentID); err != nil {
			return nil, false, err
		}
	}
	contact, err := contactRef(ctx, s.Store, c.AccountID, c.OtherParty())
	if err != nil {
		return nil, false, err
	}
	return s.Store.SettleCallAnalysis(ctx, c.ID, func(c *Call, turns []*Turn, conv *Conversation) (*Delivery, error) {
		c.Analysis = a
		if s.Webhooks == nil {
			return nil, nil
		}
		return s.Webhooks.newDelivery(c.AccountID, c.AgentID, w, callEndedEnvelope(c, turns, conv, contact), nil)
	})
}

// recoverAnalyses settles the calls a previous run left analysis-pending:
// with an Analyzer, it analyses them again in the background (as after a
// call: WaitAnalyses waits for them); without one, it writes their
// agent.call_ended events with no analysis at once. It returns how many
// it settled or started.
func (s *CallService) recoverAnalyses(ctx context.Context) (int, error) {
	calls, err := s.Store.ListAnalysisPendingCalls(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, c := range calls {
		if s.Analyzer != nil {
			s.startAnalysis(ctx, c.ID)
			n++
			continue
		}
		if _, _, err := s.settleAnalysis(ctx, c, nil); err != nil {
			errs = append(errs, fmt.Errorf("call %s: %w", c.ID, err))
			continue
		}
		n++
	}
	if n > 0 {
		s.log().WarnContext(ctx, "calls a previous run left awaiting their analysis are settled", "calls", n,
			"analysed", s.Analyzer != nil)
	}
	return n, errors.Join(errs...)
}
