package agentphone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// CallService keeps the record of calls: the API's outbound calls and
// reads (spec §8), and what the telephony edge (SIP) reports of the calls
// it carries: routing of inbound calls, progress, transcript turns, events
// and the end, whose agent.call_ended event (spec §15.7) is written in the
// transaction that ends the call. Live transcript subscribers (SSE, the
// long-polls of spec §18.1) hear of turns and ends through an in-process
// hub: they see only the calls of this process, which assumes, as the send
// queue does, one server process per database.
type CallService struct {
	Store    Store
	Webhooks *WebhookService
	// Controller places and hangs up calls on the telephony edge. Nil:
	// outbound calls are refused with 503 (no SIP trunk), and ending a call
	// ends its record only.
	Controller CallController
	// Voices checks the voice of POST /v1/calls; nil: any voice passes.
	Voices VoiceCatalog
	Logger *slog.Logger // nil: discard
	// MaxConcurrentCalls caps the calls not ended of one (sub-)account,
	// inbound and outbound together; 0 = no limit.
	MaxConcurrentCalls int
	// RecordCalls is the server's default for accounts that have no
	// recording setting of their own.
	RecordCalls bool
	// HostedUnavailable, when set, is why the built-in LLM cannot run on
	// this server: outbound calls it would run (a systemPrompt, or a hosted
	// agent) are refused with it (400).
	HostedUnavailable string
	// Now tells the time; nil: Now.
	Now func() time.Time
	// Analyzer makes the post-call analysis of the calls whose caller
	// said something, after they end (see analysis.go); nil: none, and
	// agent.call_ended goes out with the end.
	Analyzer CallAnalyzer
	// AnalysisTimeout bounds an analysis; 0: DefaultAnalysisTimeout.
	AnalysisTimeout time.Duration

	hub      callHub
	analyses analyses
}

// now is the time in UTC, to the microsecond (see Now).
func (s *CallService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return Now()
}

// log is s.Logger, or a logger that discards.
func (s *CallService) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// MsgNoTrunk is the 503 of outbound calls on a server without a SIP trunk.
const MsgNoTrunk = "Outbound calls need a SIP trunk: none is configured on this server (--sip-trunks, AGENTPHONE_SIP_TRUNKS)"

// RouteInbound stores an inbound call to phone number to (E.164 or any
// form NormalizePhone takes) from from, ringing, and returns it with the
// agent that answers it and the number. Errors: not-found when no active
// number is to (SIP 404); ErrNoAgent when the number has no agent (480);
// ErrCallLimit when the account has MaxConcurrentCalls calls under way
// already (486). A caller id that is not a phone number (anonymous,
// a SIP user name) is stored as given.
func (s *CallService) RouteInbound(ctx context.Context, to, from, sipCallID string) (*Call, *Agent, *Number, error) {
	phone, err := NormalizePhone(to)
	if err != nil {
		return nil, nil, nil, Errorf(KindNotFound, "No number %q on this server: %v", to, err)
	}
	n, err := s.Store.GetActiveNumberByPhone(ctx, phone)
	if ErrorKind(err) == KindNotFound {
		return nil, nil, nil, Errorf(KindNotFound, "No active number %s on this server", phone)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if n.AgentID == nil {
		return nil, nil, nil, noAgentError(phone)
	}
	a, err := s.Store.GetAgent(ctx, n.AccountID, *n.AgentID)
	if ErrorKind(err) == KindNotFound { // deleted meanwhile
		return nil, nil, nil, noAgentError(phone)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	caller := strings.TrimSpace(from)
	if e164, err := NormalizePhone(from); err == nil {
		caller = e164
	}
	if caller == "" {
		caller = "anonymous"
	}
	c := &Call{
		ID: NewID(PrefixCall), AccountID: n.AccountID, AgentID: &a.ID, NumberID: &n.ID, PhoneNumber: &n.PhoneNumber,
		From: caller, To: n.PhoneNumber, Direction: DirectionInbound, Type: CallTypePSTN, Status: CallRinging,
		StartedAt: s.now(), SIPCallID: sipCallID,
	}
	if err := s.Store.CreateCall(ctx, c, s.MaxConcurrentCalls); err != nil {
		return nil, nil, nil, err
	}
	s.log().InfoContext(ctx, "inbound call", "call_id", c.ID, "to", c.To, "from", c.From, "agent_id", a.ID)
	return c, a, n, nil
}

// Ringing records that outbound call id is ringing (queued → ringing); a
// call further on is left as it is. Not-found for an unknown call.
func (s *CallService) Ringing(ctx context.Context, id string) error {
	_, _, err := s.Store.AdvanceCall(ctx, id, CallRinging, []string{CallQueued}, nil)
	return err
}

// Answered records that call id was answered (queued or ringing →
// in-progress) now, its AnsweredAt; a call further on is left as it is.
// Not-found for an unknown call.
func (s *CallService) Answered(ctx context.Context, id string) error {
	now := s.now()
	_, _, err := s.Store.AdvanceCall(ctx, id, CallInProgress, []string{CallQueued, CallRinging}, &now)
	return err
}

// AddTurn stores transcript turn t (ID, CreatedAt and StartedAt filled
// when empty; Role RoleUser when empty), or replaces the turn stored with
// t's id (to add a Response once known), updates the call's
// LastTranscriptSnippet with its text, and publishes it to live transcript
// subscribers. Not-found for an unknown call; bad request for a bad role.
func (s *CallService) AddTurn(ctx context.Context, t *Turn) error {
	if t.CallID == "" {
		return Errorf(KindBadRequest, "A turn needs the id of its call")
	}
	switch t.Role {
	case "":
		t.Role = RoleUser
	case RoleUser, RoleAgent:
	default:
		return Errorf(KindBadRequest, "Turn role %q is not %q or %q", t.Role, RoleUser, RoleAgent)
	}
	if t.ID == "" {
		t.ID = NewID(PrefixTurn)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	if t.StartedAt.IsZero() {
		t.StartedAt = t.CreatedAt
	}
	// As the stores keep them (PostgreSQL to the microsecond): a live
	// transcript tells a turn it replayed from its live update by
	// comparing them.
	t.StartedAt = t.StartedAt.UTC().Truncate(time.Microsecond)
	if t.EndedAt != nil {
		e := t.EndedAt.UTC().Truncate(time.Microsecond)
		t.EndedAt = &e
	}
	if err := s.Store.AddTurn(ctx, t, Preview(t.Text, nil)); err != nil {
		return err
	}
	cp := *t
	s.hub.publish(t.CallID, CallUpdate{Turn: &cp})
	return nil
}

// AddEvent appends an event of type typ to the log of call callID. data
// is marshalled to JSON: nil is {}, a value that is not an object is
// wrapped as {"value": …}. Not-found for an unknown call.
func (s *CallService) AddEvent(ctx context.Context, callID, typ string, data any) error {
	b := []byte("{}")
	if data != nil {
		var err error
		if b, err = json.Marshal(data); err != nil {
			return fmt.Errorf("call event %s: %w", typ, err)
		}
		switch {
		case string(b) == "null":
			b = []byte("{}")
		case len(b) == 0 || b[0] != '{':
			if b, err = json.Marshal(map[string]json.RawMessage{"value": b}); err != nil {
				return fmt.Errorf("call event %s: %w", typ, err)
			}
		}
	}
	return s.Store.AddCallEvent(ctx, &CallEvent{ID: NewID(PrefixCallEvent), CallID: callID, Type: typ, Data: b, At: s.now()})
}

// Finish ends call id with status (one of FinalCallStatuses) and
// endReason ("" for none), now: its DurationSeconds is the answered time
// rounded up (0 when never answered), its RecordingPath recordingPath (nil:
// none). In the same transaction it stores the agent.call_ended delivery
// (spec §15.7) to the agent's or the project webhook. Then live
// subscribers hear of the end. With an Analyzer, a call whose caller said
// something is marked AnalysisPending instead, and its event waits for
// the analysis, made in the background (WaitAnalyses); the end is
// reported at once all the same. Finishing an ended call returns it
// unchanged, with no second event. Not-found for an unknown call; bad
// request for a status that does not end a call.
func (s *CallService) Finish(ctx context.Context, id, status, endReason string, recordingPath *string) (*Call, error) {
	if !slices.Contains(FinalCallStatuses, status) {
		return nil, Errorf(KindBadRequest, "Call status %q does not end a call: use one of %s", status, strings.Join(FinalCallStatuses, ", "))
	}
	c, err := s.Store.FindCall(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Ended() {
		return c, nil
	}
	// What finish may not read from the store, read before.
	var w *Webhook
	if s.Webhooks != nil {
		if w, err = s.Webhooks.route(ctx, c.AccountID, c.AgentID); err != nil {
			return nil, err
		}
	}
	contact, err := contactRef(ctx, s.Store, c.AccountID, c.OtherParty())
	if err != nil {
		return nil, err
	}
	now := s.now()
	out, finished, err := s.Store.FinishCall(ctx, id, func(c *Call, turns []*Turn, conv *Conversation) (*Delivery, error) {
		c.Status, c.EndReason, c.RecordingPath = status, nil, recordingPath
		if endReason != "" {
			r := endReason
			c.EndReason = &r
		}
		if now.Before(c.StartedAt) {
			now = c.StartedAt
		}
		c.EndedAt = &now
		d := CallDuration(c.AnsweredAt, now)
		c.DurationSeconds = &d
		c.AnalysisPending = s.Analyzer != nil && needsAnalysis(turns)
		if s.Webhooks == nil || c.AnalysisPending {
			return nil, nil
		}
		return s.Webhooks.newDelivery(c.AccountID, c.AgentID, w, callEndedEnvelope(c, turns, conv, contact), nil)
	})
	if err != nil {
		return nil, err
	}
	if finished {
		cp := *out
		s.hub.publish(id, CallUpdate{Ended: &cp})
		s.log().InfoContext(ctx, "call ended", "call_id", id, "status", out.Status, "end_reason", endReason,
			"duration_seconds", *out.DurationSeconds)
		if out.AnalysisPending {
			s.startAnalysis(ctx, id)
		}
	}
	return out, nil
}

// Recording reports whether the calls of the account are recorded: its
// own setting, else the server's RecordCalls.
func (s *CallService) Recording(ctx context.Context, accountID string) (bool, error) {
	st, err := s.Store.GetAccountSettings(ctx, accountID)
	if err != nil {
		return false, err
	}
	if st.RecordCalls != nil {
		return *st.RecordCalls, nil
	}
	return s.RecordCalls, nil
}

// RecoverUnfinished finishes, failed with end reason server-stopped, the
// calls that a process that died left not ended (their agent.call_ended
// events go out as for any end), and returns how many. It also settles the
// ended calls a previous run left awaiting their analysis: with an
// Analyzer they are analysed again, in the background (WaitAnalyses);
// without one their agent.call_ended events go out at once with no
// analysis. Run it at start, before the telephony edge takes calls: every
// call not ended then is one no process carries.
func (s *CallService) RecoverUnfinished(ctx context.Context) (int, error) {
	_, aerr := s.recoverAnalyses(ctx)
	calls, err := s.Store.ListUnfinishedCalls(ctx)
	if err != nil {
		return 0, errors.Join(aerr, err)
	}
	n := 0
	var errs []error
	if aerr != nil {
		errs = append(errs, aerr)
	}
	for _, c := range calls {
		if _, err := s.Finish(ctx, c.ID, CallFailed, EndServerStopped, nil); err != nil {
			errs = append(errs, fmt.Errorf("call %s: %w", c.ID, err))
			continue
		}
		n++
	}
	if n > 0 {
		s.log().WarnContext(ctx, "calls left under way by a previous run were ended as failed", "calls", n)
	}
	return n, errors.Join(errs...)
}

// Validate reports what Create would reject in in as field errors,
// without side effects: the edge calls it to list them with its own type
// errors. A voice must be one of the catalog's.
func (s *CallService) Validate(ctx context.Context, in CallInput) error {
	var fe fieldErrors
	in.check(&fe)
	if in.Voice.HasValue() && s.Voices != nil {
		vs, err := s.Voices.Voices(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(vs, func(v Voice) bool { return v.ID == in.Voice.Value }) {
			fe.value("unknown voice '"+in.Voice.Value+"': see GET /v1/agents/voices", "voice")
		}
	}
	return fe.err()
}

// Create places an outbound call (POST /v1/calls, spec §8.5) for agent
// in.AgentID from in.FromNumberID, else from the agent's first active
// number, to in.ToNumber: it stores the call queued with its options, then
// hands it to the Controller, and returns it as stored then. Errors: a
// validation error naming each bad field; not-found for an unknown agent;
// bad request for a from number that is not an active number of the agent,
// or an agent without one; unavailable (503) without a Controller (no SIP
// trunk) or when the Controller cannot dial (the call is then stored
// failed, end reason error); a conflict (ErrCallLimit) when the account
// has MaxConcurrentCalls calls under way.
func (s *CallService) Create(ctx context.Context, sc Scope, in CallInput) (*Call, error) {
	if err := s.Validate(ctx, in); err != nil {
		return nil, err
	}
	a, err := s.Store.GetAgent(ctx, sc.AccountID, in.AgentID.Value)
	if err != nil {
		return nil, err
	}
	opts := in.options()
	hosted := Hosted(&Call{Options: opts}, a)
	if len(opts.Variables) > 0 && !hosted {
		var fe fieldErrors
		fe.value("variables need a systemPrompt, or an agent in hosted mode: they fill the {{placeholders}} of the built-in LLM's prompt and greeting", "variables")
		return nil, fe.err()
	}
	if hosted && s.HostedUnavailable != "" {
		return nil, Errorf(KindBadRequest, "%s", s.HostedUnavailable)
	}
	n, err := s.callerNumber(ctx, sc, a, in)
	if err != nil {
		return nil, err
	}
	to, _ := NormalizePhone(in.ToNumber.Value) // valid: checked by Validate
	if to == n.PhoneNumber {
		return nil, Errorf(KindBadRequest, "A number cannot call itself (%s)", to)
	}
	if s.Controller == nil {
		return nil, Errorf(KindUnavailable, "%s", MsgNoTrunk)
	}
	c := &Call{
		ID: NewID(PrefixCall), AccountID: sc.AccountID, AgentID: &a.ID, NumberID: &n.ID, PhoneNumber: &n.PhoneNumber,
		From: n.PhoneNumber, To: to, Direction: DirectionOutbound, Type: CallTypePSTN, Status: CallQueued,
		StartedAt: s.now(), Options: opts,
	}
	if err := s.Store.CreateCall(ctx, c, s.MaxConcurrentCalls); err != nil {
		return nil, err
	}
	// The call outlives the request: a client that goes away does not end it.
	bg := context.WithoutCancel(ctx)
	if err := s.Controller.Dial(bg, c, a, n); err != nil {
		s.log().WarnContext(ctx, "placing a call failed", "call_id", c.ID, "to", to, "err", err)
		if _, ferr := s.Finish(bg, c.ID, CallFailed, EndError, nil); ferr != nil {
			s.log().ErrorContext(ctx, "recording a failed call failed", "call_id", c.ID, "err", ferr)
		}
		return nil, Errorf(KindUnavailable, "Could not place the call to %s: %v", to, err)
	}
	s.log().InfoContext(ctx, "outbound call", "call_id", c.ID, "to", to, "from", n.PhoneNumber, "agent_id", a.ID)
	return s.Store.GetCall(bg, sc.AccountID, c.ID)
}

// callerNumber is the number an outbound call of agent a goes out from:
// in.FromNumberID, which must be an active number attached to a, else a's
// first active number (attachment order, spec §20.5).
func (s *CallService) callerNumber(ctx context.Context, sc Scope, a *Agent, in CallInput) (*Number, error) {
	var n *Number
	if in.FromNumberID.HasValue() {
		id := in.FromNumberID.Value
		var err error
		n, err = s.Store.GetNumber(ctx, sc.AccountID, id)
		if ErrorKind(err) == KindNotFound {
			return nil, Errorf(KindBadRequest, "fromNumberId %s is not a number of this account", id)
		}
		if err != nil {
			return nil, err
		}
		if n.Status != NumberActive {
			return nil, Errorf(KindBadRequest, "Number %s (%s) is released and cannot place calls", n.PhoneNumber, n.ID)
		}
		if n.AgentID == nil || *n.AgentID != a.ID {
			return nil, Errorf(KindBadRequest, "Number %s (%s) is not attached to agent %s: a call goes out from one of its agent's numbers",
				n.PhoneNumber, n.ID, a.ID)
		}
	} else {
		for _, an := range a.Numbers {
			if an.Status != NumberActive {
				continue
			}
			var err error
			if n, err = s.Store.GetNumber(ctx, sc.AccountID, an.ID); err != nil {
				return nil, err
			}
			break
		}
		if n == nil {
			return nil, Errorf(KindBadRequest, "Agent %s has no number to call from; attach one first", a.ID)
		}
	}
	if !n.Capabilities.Voice {
		return nil, Errorf(KindBadRequest, "Number %s cannot carry voice calls (provider %s)", n.PhoneNumber, n.Provider)
	}
	return n, nil
}

// End hangs up a call of the account (POST /v1/calls/{id}/end, spec
// §20.12) and returns it as it is once the hang-up is under way; its end
// is recorded when the edge reports it. A call that no edge carries (its
// process died, or there is no Controller) is ended here, completed with
// end reason api. Errors: not-found; a conflict when the call has ended;
// unavailable when the edge cannot hang up.
func (s *CallService) End(ctx context.Context, sc Scope, id string) (*Call, error) {
	c, err := s.Store.GetCall(ctx, sc.AccountID, id)
	if err != nil {
		return nil, err
	}
	if c.Ended() {
		return nil, Errorf(KindConflict, "Call %s has already ended (%s)", id, c.Status)
	}
	herr := error(Errorf(KindNotFound, "Call %s is not live on this server", id))
	bg := context.WithoutCancel(ctx)
	if s.Controller != nil {
		herr = s.Controller.Hangup(bg, id)
	}
	switch {
	case herr == nil:
	case ErrorKind(herr) == KindNotFound:
		s.log().InfoContext(ctx, "ending a call no edge carries", "call_id", id, "reason", herr)
		if _, err := s.Finish(bg, id, CallCompleted, EndAPI, nil); err != nil {
			return nil, err
		}
	default:
		return nil, Errorf(KindUnavailable, "Could not hang up call %s: %v", id, herr)
	}
	return s.Store.GetCall(bg, sc.AccountID, id)
}

// Get returns a call of the account.
func (s *CallService) Get(ctx context.Context, sc Scope, id string) (*Call, error) {
	return s.Store.GetCall(ctx, sc.AccountID, id)
}

// Transcript returns the turns of a call of the account, in order.
// Not-found for an unknown call.
func (s *CallService) Transcript(ctx context.Context, sc Scope, id string) ([]*Turn, error) {
	if _, err := s.Store.GetCall(ctx, sc.AccountID, id); err != nil {
		return nil, err
	}
	return s.Store.ListTurns(ctx, sc.AccountID, id)
}

// Events returns the event log of a call of the account, oldest first.
// Not-found for an unknown call.
func (s *CallService) Events(ctx context.Context, sc Scope, id string) ([]*CallEvent, error) {
	if _, err := s.Store.GetCall(ctx, sc.AccountID, id); err != nil {
		return nil, err
	}
	return s.Store.ListCallEvents(ctx, sc.AccountID, id)
}

// List lists the account's calls that f keeps, newest first.
func (s *CallService) List(ctx context.Context, sc Scope, f CallFilter, p Page) (List[*Call], error) {
	return s.Store.ListCalls(ctx, sc.AccountID, f, p)
}

// ListByNumber lists the calls of one of the account's numbers (released
// ones included), newest first. Not-found for an unknown number.
func (s *CallService) ListByNumber(ctx context.Context, sc Scope, numberID string, p Page) (List[*Call], error) {
	if _, err := s.Store.GetNumber(ctx, sc.AccountID, numberID); err != nil {
		return List[*Call]{}, err
	}
	return s.Store.ListCalls(ctx, sc.AccountID, CallFilter{NumberID: numberID}, p)
}

// ListByAgent lists the calls of one of the account's agents, newest
// first. Not-found for an unknown agent.
func (s *CallService) ListByAgent(ctx context.Context, sc Scope, agentID string, p Page) (List[*Call], error) {
	if _, err := s.Store.GetAgent(ctx, sc.AccountID, agentID); err != nil {
		return List[*Call]{}, err
	}
	return s.Store.ListCalls(ctx, sc.AccountID, CallFilter{AgentID: agentID}, p)
}

// Find returns the call with that id, of any account, for its public
// recording URL (the id is the access token, spec §8.8). Not-found for an
// unknown call.
func (s *CallService) Find(ctx context.Context, id string) (*Call, error) {
	return s.Store.FindCall(ctx, id)
}

// Subscribe starts watching a call of the account: the subscription holds
// the call and its stored turns as they were just after it began, and
// reports every turn stored and the end from then on. Close it when done.
// Not-found for an unknown call.
func (s *CallService) Subscribe(ctx context.Context, sc Scope, id string) (*CallSubscription, error) {
	sub := s.hub.subscribe(id)
	c, err := s.Store.GetCall(ctx, sc.AccountID, id)
	if err == nil {
		sub.Turns, err = s.Store.ListTurns(ctx, sc.AccountID, id)
	}
	if err != nil {
		sub.Close()
		return nil, err
	}
	sub.Call = c
	sub.replayed = make(map[string]*Turn, len(sub.Turns))
	for _, t := range sub.Turns {
		sub.replayed[t.ID] = t
	}
	return sub, nil
}

// Wait returns a call of the account once it has ended, or as it is when d
// has passed (spec §18.1's long-polls). It returns ctx's error when ctx
// ends first. Not-found for an unknown call.
func (s *CallService) Wait(ctx context.Context, sc Scope, id string, d time.Duration) (*Call, error) {
	sub, err := s.Subscribe(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	if sub.Call.Ended() {
		return sub.Call, nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			return s.Store.GetCall(ctx, sc.AccountID, id)
		case <-sub.Ready():
			for _, u := range sub.Updates() {
				if u.Ended != nil {
					return s.Store.GetCall(ctx, sc.AccountID, id)
				}
			}
		}
	}
}

// Settings returns the account's settings.
func (s *CallService) Settings(ctx context.Context, sc Scope) (*AccountSettings, error) {
	return s.Store.GetAccountSettings(ctx, sc.AccountID)
}

// UpdateSettings applies in to the account's settings (recordCalls: a
// value sets it, null returns to the server's default, absent leaves it).
func (s *CallService) UpdateSettings(ctx context.Context, sc Scope, in SettingsInput) (*AccountSettings, error) {
	if !in.RecordCalls.Set {
		return s.Store.GetAccountSettings(ctx, sc.AccountID)
	}
	var v *bool
	if in.RecordCalls.HasValue() {
		b := in.RecordCalls.Value
		v = &b
	}
	return s.Store.SetRecordCalls(ctx, sc.AccountID, v)
}

// contactRef returns the account's contact with phone number phone as a
// webhook's data.contact, or JSON null.
func contactRef(ctx context.Context, store Store, accountID, phone string) (json.RawMessage, error) {
	c, err := store.GetContactByPhone(ctx, accountID, phone)
	if err != nil || c == nil {
		return json.RawMessage("null"), err
	}
	b, err := json.Marshal(ContactRef{ID: c.ID, Name: c.Name, Email: c.Email, PhoneNumber: c.PhoneNumber})
	if err != nil {
		return nil, fmt.Errorf("contact: %w", err)
	}
	return b, nil
}

// CallEndedData is the data of an agent.call_ended event (spec §15.7).
// summary, userSentiment and callSuccessful are the call's Analysis: null
// without one (no CallService.Analyzer, a call where the caller said
// nothing, an analysis that failed).
type CallEndedData struct {
	CallID              string           `json:"callId"`
	NumberID            *string          `json:"numberId"`
	From                string           `json:"from"`
	To                  string           `json:"to"`
	Contact             json.RawMessage  `json:"contact"` // {id, name, email, phoneNumber} or null
	Direction           string           `json:"direction"`
	Status              string           `json:"status"`
	StartedAt           JSONTime         `json:"startedAt"`
	EndedAt             JSONTime         `json:"endedAt"`
	DurationSeconds     int              `json:"durationSeconds"`
	DisconnectionReason *string          `json:"disconnectionReason"` // the call's endReason
	Transcript          []TranscriptLine `json:"transcript"`
	Summary             *string          `json:"summary"`
	UserSentiment       *string          `json:"userSentiment"`
	CallSuccessful      *bool            `json:"callSuccessful"`
}

// TranscriptLine is one line of a call_ended transcript: one turn.
type TranscriptLine struct {
	Role    string `json:"role"` // RoleUser or RoleAgent
	Content string `json:"content"`
}

// callEndedEnvelope is the agent.call_ended event of ended call c: its
// whole transcript, one line per turn with text (what the agent said is an
// agent turn of its own; a user turn's Response is not repeated), and,
// per spec §20.17, the metadata of conv, the conversation of its number
// with its other party, as conversationState, with no recentHistory; and
// its Analysis, if any.
func callEndedEnvelope(c *Call, turns []*Turn, conv *Conversation, contact json.RawMessage) Envelope {
	lines := make([]TranscriptLine, 0, len(turns))
	for _, t := range turns {
		if strings.TrimSpace(t.Text) == "" {
			continue
		}
		lines = append(lines, TranscriptLine{Role: t.Role, Content: t.Text})
	}
	data := &CallEndedData{
		CallID: c.ID, NumberID: c.NumberID, From: c.From, To: c.To, Contact: contact, Direction: c.Direction,
		Status: c.Status, StartedAt: JSONTime(c.StartedAt), EndedAt: JSONTime(*c.EndedAt),
		DurationSeconds: *c.DurationSeconds, DisconnectionReason: c.EndReason, Transcript: lines,
	}
	if a := c.Analysis; a != nil {
		data.Summary, data.UserSentiment, data.CallSuccessful = a.Summary, a.UserSentiment, a.CallSuccessful
	}
	state := json.RawMessage("null")
	if conv != nil && conv.Metadata != nil {
		state = conv.Metadata
	}
	return Envelope{
		Event: EventCallEnded, Channel: ChannelVoice, Timestamp: JSONTime(*c.EndedAt), AgentID: c.AgentID, Data: data,
		ConversationState: state, RecentHistory: []HistoryItem{},
	}
}

// CallUpdate is one change a CallSubscription reports.
type CallUpdate struct {
	Turn  *Turn // a turn stored, or replaced (same ID)
	Ended *Call // the call as it ended: the last update
}

// CallSubscription reports what happens to one call: turns stored and its
// end. Its updates queue without bound (a call's turns are few), so a
// slow reader never holds up the call. Ready and Updates are for one
// reader goroutine.
type CallSubscription struct {
	// Call and Turns are the call and its stored turns, in order, as they
	// were just after the subscription began.
	Call  *Call
	Turns []*Turn

	id    string
	hub   *callHub
	ready chan struct{} // holds a token while updates are pending
	once  sync.Once

	mu      sync.Mutex
	pending []CallUpdate // guarded by mu

	// replayed holds Turns by id: a turn stored just before the
	// subscription read them is also reported live, and that copy is
	// dropped. Only the reader touches it.
	replayed map[string]*Turn
}

// Ready is signalled when updates are pending.
func (sub *CallSubscription) Ready() <-chan struct{} { return sub.ready }

// Updates returns the pending updates in order and forgets them; a turn
// among Turns reported again unchanged is left out.
func (sub *CallSubscription) Updates() []CallUpdate {
	sub.mu.Lock()
	p := sub.pending
	sub.pending = nil
	sub.mu.Unlock()
	out := p[:0]
	for _, u := range p {
		if u.Turn != nil {
			if r, ok := sub.replayed[u.Turn.ID]; ok {
				delete(sub.replayed, u.Turn.ID)
				if sameTurn(r, u.Turn) {
					continue
				}
			}
		}
		out = append(out, u)
	}
	return out
}

// Close ends the subscription.
func (sub *CallSubscription) Close() { sub.once.Do(func() { sub.hub.unsubscribe(sub) }) }

func (sub *CallSubscription) push(u CallUpdate) {
	sub.mu.Lock()
	sub.pending = append(sub.pending, u)
	sub.mu.Unlock()
	select {
	case sub.ready <- struct{}{}:
	default: // already signalled
	}
}

// sameTurn reports whether a and b hold the same turn.
func sameTurn(a, b *Turn) bool {
	eqf := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqs := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqt := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	eql := func(x, y *TurnLatency) bool {
		return (x == nil) == (y == nil) && (x == nil ||
			eqf(x.EndOfSpeechToTranscriptMs, y.EndOfSpeechToTranscriptMs) && eqf(x.TranscriptToDecisionMs, y.TranscriptToDecisionMs) &&
				eqf(x.DecisionToFirstByteMs, y.DecisionToFirstByteMs) && eqf(x.FirstByteToFirstAudioMs, y.FirstByteToFirstAudioMs) &&
				eqf(x.FirstAudioToFirstPacketMs, y.FirstAudioToFirstPacketMs) && eqf(x.TotalMs, y.TotalMs))
	}
	return a.ID == b.ID && a.CallID == b.CallID && a.Role == b.Role && a.Text == b.Text && eqf(a.Confidence, b.Confidence) &&
		eqs(a.Response, b.Response) && eqs(a.DTMF, b.DTMF) && a.Interrupted == b.Interrupted &&
		a.StartedAt.Equal(b.StartedAt) && eqt(a.EndedAt, b.EndedAt) && a.CreatedAt.Equal(b.CreatedAt) && eql(a.Latency, b.Latency)
}

// callHub fans out the updates of calls to their subscriptions, in
// process. Its zero value is ready to use.
type callHub struct {
	mu   sync.Mutex
	subs map[string]map[*CallSubscription]struct{} // by call id; guarded by mu
}

func (h *callHub) subscribe(id string) *CallSubscription {
	sub := &CallSubscription{id: id, hub: h, ready: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[string]map[*CallSubscription]struct{}{}
	}
	if h.subs[id] == nil {
		h.subs[id] = map[*CallSubscription]struct{}{}
	}
	h.subs[id][sub] = struct{}{}
	return sub
}

func (h *callHub) unsubscribe(sub *CallSubscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[sub.id], sub)
	if len(h.subs[sub.id]) == 0 {
		delete(h.subs, sub.id)
	}
}

// publish hands u to every subscription of call id.
func (h *callHub) publish(id string, u CallUpdate) {
	h.mu.Lock()
	subs := make([]*CallSubscription, 0, len(h.subs[id]))
	for sub := range h.subs[id] {
		subs = append(subs, sub)
	}
	h.mu.Unlock()
	for _, sub := range subs {
		sub.push(u)
	}
}

// Subscribers reports how many subscriptions call id has (live
// transcript streams and long-polls of this process).
func (s *CallService) Subscribers(id string) int {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return len(s.hub.subs[id])
}
