package voice

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
)

// Conversation is the conversation engine: the Runner of every call. It
// speaks the greeting, listens to the caller (noise suppression, voice
// activity, speech recognition), decides when a caller turn has ended
// (endpoint.go), hands the turn to the Responder (the developer's webhook)
// and speaks the answer as it streams back, while the caller may
// interrupt at any time (bargein.go). See docs/conversation.md.
type Conversation struct {
	// Speech speaks for the agent (required).
	Speech Synthesizer
	// Listen recognises the caller's speech over a stream per call; nil:
	// ListenFile, or no recognition.
	Listen Transcriber
	// ListenFile recognises one utterance at a time, cut by the engine's
	// own detector (OpenAI-compatible servers); used when Listen is nil.
	ListenFile FileTranscriber
	// Respond answers the caller's turns; nil: turns are recorded and
	// nothing answers them.
	Respond Responder
	// MaxDuration bounds a call (the plan's maximum call duration); 0 = no
	// bound.
	MaxDuration time.Duration
	// Observe receives each stage of an agent turn's latency (metrics);
	// nil: none.
	Observe func(stage string, d time.Duration)
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// Location is the time zone of a hosted greeting's {{current_time}};
	// nil: UTC.
	Location *time.Location

	live sync.Map // call id → *conv, for Say
}

var _ Runner = (*Conversation)(nil)

// ErrNotLive is returned by Say for a call that is not running here.
var ErrNotLive = agentphone.Errorf(agentphone.KindConflict, "The call is not in progress on this server")

// Say injects a caller utterance as text into live call callID, as if
// recognised from speech (the sandbox's say): it ends the caller's turn at
// once and runs through the same turn logic.
func (c *Conversation) Say(ctx context.Context, callID, text string) error {
	v, ok := c.live.Load(callID)
	if !ok {
		return ErrNotLive
	}
	cv := v.(*conv)
	select {
	case cv.events <- sayEvent{text: text}:
		return nil
	case <-cv.done:
		return ErrNotLive
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Conversation) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Run implements Runner.
func (c *Conversation) Run(ctx context.Context, s *Session) string {
	cv := newConv(c, s)
	c.live.Store(s.Call.ID, cv)
	defer c.live.Delete(s.Call.ID)
	defer close(cv.done)
	return cv.run(ctx)
}

// Events of a call's loop.
type (
	frameEvent struct {
		voiced bool
		beep   bool // a beep ended in this frame (only while listenBeeps)
		at     time.Time
		// lastVoiced is the caller's last voiced frame so far: frames are
		// reported one by one only while the loop asks for them (perFrame),
		// else only when the voice starts or stops.
		lastVoiced time.Time
	}
	transcriptEvent struct {
		t  Transcript
		at time.Time
		// began is when the utterance's voice began (per-utterance
		// recognition; zero for a stream's results).
		began time.Time
	}
	sttFailed  struct{ err error }
	inputEnded struct{ err error }
	sayEvent   struct{ text string }
	replyEvent struct {
		a *answer
		r Reply
	}
	replyEnded struct {
		a   *answer
		err error
	}
	spokenEvent struct{ sp *speech }
	firstOut    struct {
		sp *speech
		at time.Time
	}
	firstAudio struct {
		sp *speech
		at time.Time
	}
	transferDone struct {
		to  string
		err error
	}
	ttsFailed struct {
		sp  *speech
		err error
	}
)

// conv is one call's conversation: its state belongs to the loop
// goroutine (run); the goroutines around it report through events.
type conv struct {
	c    *Conversation
	s    *Session
	log  *slog.Logger
	now  func() time.Time
	ctx  context.Context
	done chan struct{}

	events chan any
	// perFrame asks the input for every frame (the agent is answering:
	// barge-in; a caller turn with backchannels); otherwise it reports
	// only where the caller's voice starts and stops.
	perFrame atomic.Bool
	// listenBeeps asks the input to look for a voicemail beep.
	listenBeeps atomic.Bool
	records     chan func(context.Context) // stores, in order (record)
	po          *playout
	wg          sync.WaitGroup

	// The caller.
	callerVoiced bool
	lastVoiced   time.Time // the caller's last voiced frame
	turnStart    time.Time // first voiced frame of the caller's turn
	heard        []string  // final transcripts of the caller's turn
	confSum      float64
	confN        int
	partial      string    // an interim transcript not yet final
	partialAt    time.Time // when the audio it covers ended (the last voiced frame then)
	finalAt      time.Time // when the last final transcript arrived
	keys         *KeyCollector
	endpoint     *Endpointer
	wait         time.Duration // the end-of-turn wait for the words heard so far
	barge        *BargeIn
	backchannel  *Backchanneler
	hasSTT       bool
	pendingFiles int // utterances sent to recognition, words not back yet
	// finalize asks the recognition stream for its final words at once
	// (Finalizer; nil when it cannot); finalized: asked since the caller
	// last spoke.
	finalize  func() error
	finalized bool

	turns []*agentphone.Turn // stored so far, oldest first

	// Who answered an outbound call (machine.go), and call screeners.
	detecting   bool             // this call runs answering-machine detection
	amd         *MachineDetector // deciding who answered; nil once decided
	detectHeard []string         // the callee's words while it decides
	waiter      *BeepWaiter      // a machine answered: waiting for its beep
	voicemail   bool             // the voicemail message is being left
	screenReply string           // the answer to a call screener; "" when screening is off
	screened    int              // screeners answered so far

	// The agent.
	seq          int
	answer       *answer // the turn being answered or spoken; nil when none
	quietAt      time.Time
	transferring bool      // a transfer is being placed: the caller waits
	bargedAt     time.Time // the caller's last barge-in
}

// answer is the agent's answer to one caller turn (or the greeting): the
// responder's replies in flight, and the speech made of them.
type answer struct {
	id     int
	ctx    context.Context // ends when the answer is over or cut short
	cancel context.CancelFunc
	texts  *textQueue // to the synthesis goroutine; closed after the final reply
	sp     *speech
	said   []string
	final  bool // the final reply arrived (or the answer failed)
	closed bool // texts closed

	hangup, transfer bool
	digits           string
	screening        bool // the answer to a call screener

	// Latency stages (zero when not reached).
	endOfSpeech, transcript, decision, firstByte, firstAudio, firstPacket time.Time
}

func newConv(c *Conversation, s *Session) *conv {
	now := c.now
	cv := &conv{
		c: c, s: s, log: s.Log, now: now, done: make(chan struct{}),
		events:   make(chan any, 256),
		records:  make(chan func(context.Context), 256),
		keys:     NewKeyCollector(),
		endpoint: &Endpointer{Mode: s.Agent.STTMode, Language: s.Agent.Language},
		hasSTT:   c.Listen != nil || c.ListenFile != nil,
	}
	if cv.log == nil {
		cv.log = slog.New(slog.DiscardHandler)
	}
	cv.wait = cv.endpoint.Wait("")
	cv.barge = NewBargeIn(s.Agent.InterruptionSensitivity)
	if s.Call.Direction == agentphone.DirectionOutbound {
		cv.detecting = agentphone.Hosted(s.Call, s.Agent) || s.Agent.VoicemailMessage != nil
		cv.screenReply = screeningReply(s.Call, s.Agent)
	}
	if s.Agent.EnableBackchannel && cv.hasSTT { // without words a turn never ends: nothing to acknowledge
		cv.backchannel = NewBackchanneler(s.Agent.Language)
	}
	return cv
}

// emit hands an event to the loop; it gives up when the call is over.
func (cv *conv) emit(ev any) {
	select {
	case cv.events <- ev:
	case <-cv.ctx.Done():
	}
}

// addEvent stores an event of the call, in order, without holding up the
// call's loop (a database write takes milliseconds).
func (cv *conv) addEvent(typ string, data any) {
	cv.records <- func(ctx context.Context) {
		if err := cv.s.Calls.AddEvent(ctx, cv.s.Call.ID, typ, data); err != nil {
			cv.log.Error("recording a call event failed", "type", typ, "err", err)
		}
	}
}

// addTurn stores a turn, in order, as addEvent does.
func (cv *conv) addTurn(t *agentphone.Turn) {
	cv.turns = append(cv.turns, t)
	cp := *t // the store fills in its id and times; the loop keeps reading t
	cv.records <- func(ctx context.Context) {
		if err := cv.s.Calls.AddTurn(ctx, &cp); err != nil {
			cv.log.Error("recording a turn failed", "role", t.Role, "err", err)
		}
	}
}

// record runs the stores queued by addEvent and addTurn, until the queue
// is closed (at the call's end, once the last turn is queued).
func (cv *conv) record(ctx context.Context) {
	for fn := range cv.records {
		fn(ctx)
	}
}

func (cv *conv) run(parent context.Context) string {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	cv.ctx = ctx
	s := cv.s
	recorded := make(chan struct{})
	go func() { // not in wg: it outlives the call's other goroutines
		defer close(recorded)
		cv.record(context.WithoutCancel(ctx))
	}()
	start := cv.now()
	cv.lastVoiced, cv.quietAt = start, start

	var deadline <-chan time.Time
	if cv.c.MaxDuration > 0 {
		t := time.NewTimer(cv.c.MaxDuration)
		defer t.Stop()
		deadline = t.C
	}

	// Outgoing audio: the agent's speech over the ambience.
	amb, err := newAmbience(s.Agent.AmbientSound, s.Rate, s.Call.ID)
	if err != nil {
		cv.log.Warn("ambient sound unavailable", "err", err)
	}
	cv.po = newPlayout(s.Out, s.Rate, amb, cv.now)
	cv.po.onFirst = func(sp *speech, at time.Time) { cv.emit(firstOut{sp, at}) }
	cv.po.onSent = func(sp *speech) { cv.emit(spokenEvent{sp}) }
	cv.goRun(func() {
		if err := cv.po.run(ctx); err != nil && ctx.Err() == nil {
			cv.emit(inputEnded{err})
		}
	})

	// Incoming audio: denoised, detected, recognised.
	in, err := cv.startInput(ctx)
	if err != nil {
		cv.log.Warn("speech recognition unavailable", "err", err)
		cv.addEvent("stt_error", map[string]any{"error": err.Error()})
	}
	if !cv.hasSTT {
		cv.addEvent("stt_unavailable", map[string]any{
			"message": "No speech-to-text provider is configured: the agent speaks, records and hears keys, but does not understand speech. Set DEEPGRAM_API_KEY, OPENAI_API_KEY or AGENTPHONE_STT_BASE_URL.",
		})
	}
	cv.goRun(func() { in.run(ctx) })

	if cv.detecting {
		cv.amd = NewMachineDetector(start)
		cv.listenBeeps.Store(true)
	} else {
		cv.greet()
	}

	defer func() {
		cancel()
		cv.finishAnswer(true)
		cv.wg.Wait()
		close(cv.records)
		<-recorded // the call's end reads its turns
	}()
	// The rules that depend on time run at each event, and at the next
	// moment one of them is due (a single timer, re-armed after each).
	due := time.NewTimer(time.Hour)
	defer due.Stop()
	cv.perFrame.Store(cv.answer != nil || cv.amd != nil)
	for {
		var reason string
		select {
		case <-ctx.Done():
			return ""
		case <-deadline:
			return agentphone.EndMaxDuration
		case k, ok := <-s.DTMF:
			if !ok {
				s.DTMF = nil
				continue
			}
			cv.key(k)
		case ev := <-cv.events:
			reason = cv.handle(ev)
		case <-due.C:
			reason = cv.check(cv.now())
		}
		if reason != "" {
			return reason
		}
		now := cv.now()
		if next, ok := cv.nextDue(now); ok {
			due.Reset(max(next.Sub(now), time.Millisecond))
		} else {
			due.Stop()
		}
		cv.perFrame.Store(cv.answer != nil || cv.amd != nil || cv.waiter != nil ||
			cv.backchannel != nil && !cv.turnStart.IsZero())
	}
}

// nextDue is when check next has something to decide: the keys' time-out,
// the end of the caller's turn, the silence time-out.
func (cv *conv) nextDue(now time.Time) (time.Time, bool) {
	var next time.Time
	earliest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if t, ok := cv.keys.Next(); ok {
		earliest(t)
	}
	if cv.transferring || cv.answer != nil || cv.callerVoiced {
		return next, !next.IsZero()
	}
	if len(cv.heard) > 0 || cv.partial != "" {
		earliest(cv.lastVoiced.Add(cv.wait))
		if cv.partial != "" {
			earliest(cv.partialAt.Add(maxPartialWait))
		}
	} else if cv.finalize != nil && !cv.finalized && !cv.turnStart.IsZero() {
		earliest(cv.lastVoiced.Add(cv.wait)) // voice, no words yet: ask for them
	}
	if max := time.Duration(cv.s.Agent.MaxSilenceMs) * time.Millisecond; max > 0 {
		since := cv.lastVoiced
		if cv.quietAt.After(since) {
			since = cv.quietAt
		}
		earliest(since.Add(max))
	}
	return next, !next.IsZero()
}

// goRun runs fn on a goroutine the call waits for at its end.
func (cv *conv) goRun(fn func()) {
	cv.wg.Add(1)
	go func() {
		defer cv.wg.Done()
		fn()
	}()
}

// handle applies one event; it returns an end reason to end the call.
func (cv *conv) handle(ev any) string {
	switch ev := ev.(type) {
	case frameEvent:
		if ev.lastVoiced.After(cv.lastVoiced) {
			cv.lastVoiced = ev.lastVoiced
		}
		if cv.amd != nil || cv.waiter != nil {
			return cv.detect(ev.voiced, ev.beep, ev.at)
		}
		return cv.frame(ev.voiced, ev.at)
	case transcriptEvent:
		if !ev.began.IsZero() && ev.began.Before(cv.quietAt) && !cv.bargedAt.After(ev.began) {
			// Words that began over the agent and did not interrupt it,
			// recognised after it finished ("okay" at its last words).
			if ev.t.Final && cv.pendingFiles > 0 {
				cv.pendingFiles--
			}
			return ""
		}
		if text := strings.TrimSpace(ev.t.Text); ev.t.Final && text != "" {
			if cv.screen(text) {
				return ""
			}
			if cv.amd != nil || cv.waiter != nil || cv.voicemail {
				return cv.detectText(text, ev.at)
			}
		}
		cv.transcript(ev.t, ev.at)
		return cv.check(cv.now())
	case utteranceCut:
		cv.pendingFiles++
	case sttFailed:
		cv.log.Warn("speech recognition failed", "err", ev.err)
		cv.addEvent("stt_error", map[string]any{"error": ev.err.Error()})
	case inputEnded:
		if errors.Is(ev.err, io.EOF) || errors.Is(ev.err, io.ErrClosedPipe) {
			return agentphone.EndCallerHangup
		}
		if cv.ctx.Err() == nil {
			cv.log.Warn("the call's media failed", "err", ev.err)
			return agentphone.EndError
		}
	case sayEvent:
		cv.interrupt(cv.now())
		cv.heard = append(cv.heard, strings.TrimSpace(ev.text))
		cv.confSum, cv.confN = cv.confSum+1, cv.confN+1
		now := cv.now()
		if cv.turnStart.IsZero() {
			cv.turnStart = now
		}
		cv.lastVoiced, cv.finalAt = now, now
		cv.addEvent("say", map[string]any{"text": ev.text})
		cv.endTurn(now)
	case replyEvent:
		cv.reply(ev.a, ev.r)
	case replyEnded:
		cv.replyEnded(ev.a, ev.err)
	case firstAudio:
		if a := cv.answer; a != nil && a.sp == ev.sp && a.firstAudio.IsZero() {
			a.firstAudio = ev.at
		}
	case firstOut:
		if a := cv.answer; a != nil && a.sp == ev.sp && a.firstPacket.IsZero() {
			a.firstPacket = ev.at
		}
	case ttsFailed:
		cv.log.Warn("speaking failed", "err", ev.err)
		cv.addEvent("tts_error", map[string]any{"error": ev.err.Error()})
	case transferDone:
		cv.transferring = false
		if ev.err != nil {
			cv.log.Warn("transfer failed", "to", ev.to, "err", ev.err)
			cv.addEvent("transfer_failed", map[string]any{"to": ev.to, "error": ev.err.Error()})
			cv.speakLine(transferFailedLine)
			return ""
		}
		return agentphone.EndTransfer
	case spokenEvent:
		if a := cv.answer; a != nil && a.sp == ev.sp {
			return cv.spoken(a)
		}
	}
	return ""
}

// frame follows the caller's voice, one 20 ms frame at a time.
func (cv *conv) frame(voiced bool, at time.Time) string {
	if voiced && cv.answer == nil && cv.turnStart.IsZero() {
		cv.turnStart = at
	}
	if voiced {
		cv.finalized = false
	}
	cv.callerVoiced = voiced
	if a := cv.answer; a != nil && !cv.voicemail && cv.barge.Push(voiced, audio.FrameDuration) {
		cv.bargeIn(a, at)
	}
	if cv.backchannel != nil && cv.answer == nil {
		if cv.backchannel.Push(voiced, at, cv.wait) {
			cv.backchannelNow(cv.backchannel.Phrase())
		}
	}
	return cv.check(at)
}

// check applies the rules that depend on time: the end of the caller's
// turn, keys timed out, the caller's silence.
func (cv *conv) check(now time.Time) string {
	if cv.transferring {
		return ""
	}
	if digits, ok := cv.keys.Due(now); ok && digits != "" && cv.answer == nil {
		_ = digits
		cv.endTurn(now)
		return ""
	}
	if cv.finalize != nil && !cv.finalized && cv.answer == nil && !cv.callerVoiced && !cv.turnStart.IsZero() &&
		(cv.partial != "" || len(cv.heard) == 0) && now.Sub(cv.lastVoiced) >= cv.wait {
		// The caller stopped, their words are not final: ask for them
		// rather than wait for the recogniser's own endpointing.
		cv.finalized = true
		if err := cv.finalize(); err != nil {
			cv.log.Debug("asking speech recognition for its final words failed", "err", err)
		}
	}
	if cv.answer == nil && len(cv.heard) > 0 && !cv.callerVoiced {
		silent := now.Sub(cv.lastVoiced)
		wait := cv.wait
		pending := cv.partial != "" && now.Sub(cv.partialAt) < maxPartialWait || cv.pendingFiles > 0
		if silent >= wait && !pending {
			cv.endTurn(now)
		}
	}
	if max := time.Duration(cv.s.Agent.MaxSilenceMs) * time.Millisecond; max > 0 && cv.answer == nil {
		since := cv.lastVoiced
		if cv.quietAt.After(since) {
			since = cv.quietAt
		}
		if !cv.callerVoiced && now.Sub(since) >= max {
			return agentphone.EndSilence
		}
	}
	return ""
}

// maxPartialWait bounds how long a turn waits for the recogniser to make
// its interim words final once the caller is silent; then they count.
const maxPartialWait = 1500 * time.Millisecond

// transcript takes a recogniser's result.
func (cv *conv) transcript(t Transcript, at time.Time) {
	text := strings.TrimSpace(t.Text)
	if t.Final && cv.pendingFiles > 0 {
		cv.pendingFiles--
	}
	defer cv.rewait()
	if !t.Final {
		cv.partial, cv.partialAt = text, at
		return
	}
	cv.partial = ""
	if text == "" {
		return
	}
	if cv.answer != nil {
		// Words over the agent that did not interrupt it: a backchannel
		// ("mm-hmm"), an echo, a noise. They do not make a turn.
		cv.log.Debug("words heard over the agent dropped", "text", text)
		return
	}
	cv.heard = append(cv.heard, text)
	conf := t.Confidence
	if conf <= 0 {
		conf = 1
	}
	cv.confSum += conf
	cv.confN++
	cv.finalAt = at
	if cv.turnStart.IsZero() {
		cv.turnStart = cv.lastVoiced
	}
}

// key takes a key the caller pressed.
func (cv *conv) key(k rune) {
	now := cv.now()
	cv.addEvent("dtmf", map[string]any{"digit": string(k)})
	cv.keys.Press(k, now)
	if cv.turnStart.IsZero() {
		cv.turnStart = now
	}
}

// endTurn closes the caller's turn: it is stored, and answered.
func (cv *conv) endTurn(now time.Time) {
	text := strings.Join(cv.heard, " ")
	if cv.partial != "" { // the recogniser never made them final
		text = strings.TrimSpace(text + " " + cv.partial)
	}
	digits := cv.keys.Take()
	if text == "" && digits == "" {
		cv.resetCaller()
		return
	}
	conf := 0.0
	if cv.confN > 0 {
		conf = cv.confSum / float64(cv.confN)
	}
	end := cv.lastVoiced
	started := cv.turnStart
	if started.IsZero() || started.After(end) {
		started = end
	}
	turn := &agentphone.Turn{CallID: cv.s.Call.ID, Role: agentphone.RoleUser, Text: text, StartedAt: started, EndedAt: &end}
	if cv.confN > 0 {
		turn.Confidence = &conf
	}
	if digits != "" {
		turn.DTMF = &digits
	}
	finalAt := cv.finalAt
	if finalAt.IsZero() || finalAt.Before(end) {
		finalAt = end
	}
	cv.resetCaller()
	history := cv.history()

	a := cv.newAnswer()
	a.endOfSpeech, a.transcript, a.decision = end, finalAt, now
	if cv.c.Respond == nil {
		cv.closeTexts(a)
		a.final = true
	} else {
		req := TurnRequest{Call: cv.s.Call, Agent: cv.s.Agent, Number: cv.s.Number, Transcript: text, Confidence: conf,
			DTMF: digits, History: history, At: now}
		cv.goRun(func() { cv.respond(a.ctx, a, req) })
	}
	cv.addTurn(turn)
}

// history is the call's turns so far, as the responder sees them.
func (cv *conv) history() []*agentphone.Turn {
	return append([]*agentphone.Turn(nil), cv.turns...)
}

// rewait recomputes the end-of-turn wait for the words heard so far
// (final and interim); it changes only when they do.
func (cv *conv) rewait() {
	cv.wait = cv.endpoint.Wait(strings.TrimSpace(strings.Join(cv.heard, " ") + " " + cv.partial))
}

func (cv *conv) resetCaller() {
	defer cv.rewait()
	cv.heard, cv.partial, cv.confSum, cv.confN = nil, "", 0, 0
	cv.finalized = false
	cv.turnStart, cv.finalAt = time.Time{}, time.Time{}
	if cv.backchannel != nil {
		cv.backchannel.Reset()
	}
}

// respond runs the responder for answer a and passes its replies on.
func (cv *conv) respond(ctx context.Context, a *answer, req TurnRequest) {
	rs, err := cv.c.Respond.Respond(ctx, req)
	if err != nil {
		cv.emit(replyEnded{a, err})
		return
	}
	defer rs.Close()
	for {
		r, err := rs.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			cv.emit(replyEnded{a, err})
			return
		}
		cv.emit(replyEvent{a, r})
		if !r.Interim {
			cv.emit(replyEnded{a, nil})
			return
		}
	}
}

// newAnswer starts the agent's next turn and its synthesis goroutine.
func (cv *conv) newAnswer() *answer {
	cv.seq++
	sp := &speech{}
	a := &answer{id: cv.seq, texts: newTextQueue(), sp: sp}
	a.ctx, a.cancel = context.WithCancel(cv.ctx)
	cv.answer = a
	cv.barge.Reset()
	cv.goRun(func() { cv.synthesize(a.ctx, a) })
	return a
}

// reply takes one reply of the responder.
func (cv *conv) reply(a *answer, r Reply) {
	if a != cv.answer {
		return // an answer the caller interrupted
	}
	if len(r.Problems) > 0 {
		cv.addEvent("webhook_reply_invalid", map[string]any{"problems": r.Problems})
	}
	if a.firstByte.IsZero() && !r.FirstByte.IsZero() {
		a.firstByte = r.FirstByte
	}
	if t := strings.TrimSpace(r.Text); t != "" && !a.closed {
		a.said = append(a.said, t)
		a.texts.push(t)
	}
	a.hangup = a.hangup || r.Hangup
	a.transfer = a.transfer || r.Transfer
	a.digits += r.Digits
}

// replyEnded takes the end of the responder's answer.
func (cv *conv) replyEnded(a *answer, err error) {
	if a != cv.answer || a.final {
		return
	}
	a.final = true
	if err != nil && cv.ctx.Err() == nil {
		typ := "webhook_error"
		if agentphone.Hosted(cv.s.Call, cv.s.Agent) {
			typ = "llm_error"
		}
		cv.log.Warn("answering the turn failed", "event", typ, "err", err)
		cv.addEvent(typ, map[string]any{"error": err.Error()})
		if len(a.said) == 0 && !a.closed {
			// The caller is not left in dead air: they hear that the
			// agent could not answer, and may speak again.
			a.said = append(a.said, fallbackLine)
			a.texts.push(fallbackLine)
		}
	}
	cv.closeTexts(a)
}

// fallbackLine is what the caller hears when the webhook or the language
// model fails (time-out, error status, unreachable) before saying
// anything.
const fallbackLine = "Sorry, I didn't catch that. Could you say it again?"

func (cv *conv) closeTexts(a *answer) {
	if !a.closed {
		a.closed = true
		a.texts.close()
	}
}

// synthesize speaks answer a's texts as they come: each is cut into
// sentences, each sentence synthesised as a stream and queued for the
// playout as its audio arrives.
func (cv *conv) synthesize(ctx context.Context, a *answer) {
	sp, s := a.sp, cv.s
	defer func() {
		sp.mu.Lock()
		sp.done = true
		finished := !sp.sent
		for _, p := range sp.pieces {
			if !p.complete || p.played < p.frames {
				finished = false
			}
		}
		sp.sent = sp.sent || finished
		sp.mu.Unlock()
		if finished {
			cv.emit(spokenEvent{sp}) // nothing (left) to play
		}
	}()
	first := true
	for {
		text, ok := a.texts.pop(ctx)
		if !ok {
			return
		}
		for _, part := range splitSpeech(text) {
			if ctx.Err() != nil {
				return
			}
			p := &piece{text: part}
			sp.mu.Lock()
			sp.pieces = append(sp.pieces, p)
			sp.mu.Unlock()
			var rs audio.Resampler
			err := cv.c.Speech.Stream(ctx, speechRequest(s.Call, s.Agent, part, s.Rate),
				func(f audio.Frame) error {
					if first {
						first = false
						select { // a latency mark: never worth waiting for
						case cv.events <- firstAudio{sp, cv.now()}:
						default:
						}
					}
					samples, err := convertRate(&rs, f, s.Rate)
					if err != nil {
						return err
					}
					n := len(samples) / (s.Rate / 50)
					if len(samples)%(s.Rate/50) != 0 {
						n++
					}
					sp.mu.Lock()
					p.frames += n
					sp.mu.Unlock()
					cv.po.push(sp, p, samples)
					return ctx.Err()
				})
			sp.mu.Lock()
			p.complete = true
			sp.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				cv.emit(ttsFailed{sp, fmt.Errorf("speaking %q: %w", part, err)})
			}
		}
	}
}

// convertRate brings f to rate, 20 ms at a time (a long chunk resampled
// at once would hold a core for milliseconds).
func convertRate(rs *audio.Resampler, f audio.Frame, rate int) ([]int16, error) {
	if f.Rate == rate {
		return f.Samples, nil
	}
	if *rs == nil {
		r, err := audio.NewResampler(f.Rate, rate)
		if err != nil {
			return nil, err
		}
		*rs = r
	}
	step := max(f.Rate/50, 1)
	out := make([]int16, 0, len(f.Samples)*rate/f.Rate+rate/50)
	for i := 0; i < len(f.Samples); i += step {
		out = append(out, (*rs).Resample(f.Samples[i:min(i+step, len(f.Samples))])...)
	}
	return out, nil
}

// spoken: all of answer a's speech has been sent.
func (cv *conv) spoken(a *answer) string {
	if !a.final {
		return "" // more replies may come
	}
	cv.finishAnswer(false)
	if cv.voicemail {
		return agentphone.EndVoicemail
	}
	if a.screening && cv.detecting {
		// Who picks up after the screener is judged afresh.
		cv.amd = NewMachineDetector(cv.now())
		cv.listenBeeps.Store(true)
	}
	switch {
	case a.transfer && cv.s.Agent.TransferNumber != nil && cv.s.Transfer != nil:
		to := *cv.s.Agent.TransferNumber
		cv.addEvent("transfer", map[string]any{"to": to})
		cv.transferring = true
		cv.goRun(func() { cv.emit(transferDone{to: to, err: cv.s.Transfer(cv.ctx, to)}) })
		return ""
	case a.transfer:
		cv.addEvent("transfer_ignored", map[string]any{"reason": "the agent has no transferNumber, or this call cannot be transferred"})
	}
	if a.hangup {
		return agentphone.EndAgentHangup
	}
	return ""
}

// transferFailedLine is said when a transfer could not connect.
const transferFailedLine = "Sorry, I couldn't connect you. Is there anything else I can help with?"

// finishAnswer ends the current answer: its turn is stored with what was
// played; interrupted marks it cut short by the caller (or the call's end).
func (cv *conv) finishAnswer(interrupted bool) {
	a := cv.answer
	if a == nil {
		return
	}
	cv.answer = nil
	if a.cancel != nil {
		a.cancel()
	}
	cv.closeTexts(a)
	cv.quietAt = cv.now()
	text, whole := a.sp.playedText()
	if !interrupted && !whole {
		text = strings.Join(a.said, " ")
	}
	if text == "" && len(a.said) == 0 {
		return
	}
	end := cv.now()
	started := a.firstPacket
	if started.IsZero() {
		started = end
	}
	turn := &agentphone.Turn{CallID: cv.s.Call.ID, Role: agentphone.RoleAgent, Text: text, StartedAt: started, EndedAt: &end,
		Interrupted: interrupted && !whole}
	turn.Latency = cv.latency(a)
	cv.addTurn(turn)
	cv.endpoint.Prompt = text // the question the caller answers next
	cv.rewait()
	if a.digits != "" && !interrupted {
		cv.sendDigits(a.digits)
	}
}

// latency is answer a's breakdown, and feeds the metrics.
func (cv *conv) latency(a *answer) *agentphone.TurnLatency {
	if a.endOfSpeech.IsZero() || a.firstPacket.IsZero() {
		return nil
	}
	ms := func(from, to time.Time) *float64 {
		if from.IsZero() || to.IsZero() {
			return nil
		}
		v := float64(to.Sub(from).Microseconds()) / 1000
		return &v
	}
	l := &agentphone.TurnLatency{
		EndOfSpeechToTranscriptMs: ms(a.endOfSpeech, a.transcript),
		TranscriptToDecisionMs:    ms(a.transcript, a.decision),
		DecisionToFirstByteMs:     ms(a.decision, a.firstByte),
		FirstByteToFirstAudioMs:   ms(a.firstByte, a.firstAudio),
		FirstAudioToFirstPacketMs: ms(a.firstAudio, a.firstPacket),
		TotalMs:                   ms(a.endOfSpeech, a.firstPacket),
	}
	if o := cv.c.Observe; o != nil {
		for stage, p := range map[string][2]time.Time{
			"transcript": {a.endOfSpeech, a.transcript}, "decision": {a.transcript, a.decision},
			"first_byte": {a.decision, a.firstByte}, "first_audio": {a.firstByte, a.firstAudio},
			"first_packet": {a.firstAudio, a.firstPacket}, "total": {a.endOfSpeech, a.firstPacket},
			"engine": {a.decision, a.firstPacket},
		} {
			if !p[0].IsZero() && !p[1].IsZero() {
				o(stage, p[1].Sub(p[0]))
			}
		}
	}
	return l
}

// sendDigits presses keys for the agent (a reply's digits).
func (cv *conv) sendDigits(digits string) {
	if cv.s.SendDTMF == nil {
		return
	}
	cv.addEvent("dtmf_sent", map[string]any{"digits": digits})
	cv.goRun(func() {
		for _, k := range digits {
			if err := cv.s.SendDTMF(k); err != nil {
				cv.log.Warn("sending a key failed", "key", string(k), "err", err)
				return
			}
		}
	})
}

// bargeIn: the caller spoke over the agent long enough to interrupt.
func (cv *conv) bargeIn(a *answer, at time.Time) {
	cv.bargedAt = at
	dropped := cv.po.flush()
	cv.addEvent("barge_in", map[string]any{"droppedMs": dropped * 20, "at": at})
	cv.finishAnswer(true)
	if cv.turnStart.IsZero() {
		cv.turnStart = at
	}
}

// interrupt stops whatever the agent is saying (a sandbox say).
func (cv *conv) interrupt(time.Time) {
	if cv.answer != nil {
		cv.po.flush()
		cv.finishAnswer(true)
	}
}

// speakLine says text as an agent turn of its own.
func (cv *conv) speakLine(text string) *answer {
	a := cv.newAnswer()
	a.said = []string{text}
	a.texts.push(text)
	a.final = true
	cv.closeTexts(a)
	return a
}

// backchannelNow says a short acknowledgement under the caller's pause;
// it is not a turn.
func (cv *conv) backchannelNow(phrase string) {
	if phrase == "" || cv.po.queued() > 0 {
		return
	}
	s := cv.s
	cv.addEvent("backchannel", map[string]any{"text": phrase})
	cv.goRun(func() {
		sp := &speech{done: true, sent: true} // not a turn: the pump reports nothing
		p := &piece{text: phrase}
		var rs audio.Resampler
		err := cv.c.Speech.Stream(cv.ctx, speechRequest(s.Call, s.Agent, phrase, s.Rate),
			func(f audio.Frame) error {
				samples, err := convertRate(&rs, f, s.Rate)
				if err == nil {
					cv.po.push(sp, p, samples)
				}
				return err
			})
		if err != nil && cv.ctx.Err() == nil {
			cv.log.Debug("backchannel failed", "err", err)
		}
	})
}

// greet speaks the greeting.
func (cv *conv) greet() {
	if text := cv.c.greeting(cv.s.Call, cv.s.Agent); strings.TrimSpace(text) != "" {
		cv.speakLine(text)
	}
}

// greeting is what the agent says first on call c: the agent's
// beginMessage, or on outbound calls the call's initialGreeting when it
// has one. A hosted call's greeting has its {{variables}} filled.
func (c *Conversation) greeting(call *agentphone.Call, a *agentphone.Agent) string {
	text := ""
	if call.Direction == agentphone.DirectionOutbound && call.Options.InitialGreeting != nil {
		text = *call.Options.InitialGreeting
	} else if a.BeginMessage != nil {
		text = *a.BeginMessage
	}
	if agentphone.Hosted(call, a) && strings.Contains(text, "{{") {
		text = agentphone.FillVariables(text, agentphone.CallVariables(call, a, c.now(), c.Location))
	}
	return text
}

// speechRequest asks for text in the voice of call c's agent (the call's
// own voice when it has one) at rate.
func speechRequest(c *agentphone.Call, a *agentphone.Agent, text string, rate int) SpeechRequest {
	req := SpeechRequest{Text: text, Voice: a.Voice, Speed: a.VoiceSpeed, Language: a.Language, Rate: rate}
	if c.Options.Voice != nil {
		req.Voice = *c.Options.Voice
	}
	return req
}

// Prepare synthesises the greeting of a call that is being set up (it
// rings, or is being dialled), when Speech is a SpeechCache, so that it
// plays as soon as the call is answered. It returns at once. Phone calls
// are 8 kHz (G.711) unless they negotiate G.722: rate is the edge's best
// guess.
func (c *Conversation) Prepare(ctx context.Context, call *agentphone.Call, agent *agentphone.Agent, rate int) {
	cache, ok := c.Speech.(*SpeechCache)
	text := c.greeting(call, agent)
	if !ok || strings.TrimSpace(text) == "" {
		return
	}
	for _, part := range splitSpeech(text) {
		go func() { _ = cache.Prepare(context.WithoutCancel(ctx), speechRequest(call, agent, part, rate)) }()
	}
}

// newAmbience is the background bed of the agent's ambientSound (nil for
// "none"), seeded by the call so that calls do not sound alike.
func newAmbience(kind string, rate int, callID string) (bed, error) {
	if kind == "" || kind == agentphone.DefaultAmbientSound {
		return nil, nil
	}
	h := fnv.New64a()
	h.Write([]byte(callID))
	a, err := audio.NewAmbience(kind, rate, int64(h.Sum64()))
	if err != nil {
		return nil, fmt.Errorf("ambient sound %q: %w", kind, err)
	}
	return a, nil
}
