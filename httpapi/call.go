package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/agentphone/agentphone"
)

// Calls (spec §8, §17, §18.1) and the per-account settings (our addition).

// callJSON is a call: CallSummary (spec §8.1) with our additions endReason,
// type, answeredAt and the post-call analysis of agent.call_ended (spec
// §15.7); the detail (spec §8.3) adds transcripts.
type callJSON struct {
	ID                    string     `json:"id"`
	AgentID               *string    `json:"agentId"`
	PhoneNumberID         *string    `json:"phoneNumberId"`
	PhoneNumber           *string    `json:"phoneNumber"`
	FromNumber            string     `json:"fromNumber"`
	ToNumber              string     `json:"toNumber"`
	Direction             string     `json:"direction"`
	Status                string     `json:"status"`
	StartedAt             timestamp  `json:"startedAt"`
	EndedAt               *timestamp `json:"endedAt"`
	DurationSeconds       *int       `json:"durationSeconds"`
	LastTranscriptSnippet *string    `json:"lastTranscriptSnippet"`
	RecordingURL          *string    `json:"recordingUrl"`
	RecordingAvailable    bool       `json:"recordingAvailable"`
	// Our additions (spec §20.10).
	EndReason  *string    `json:"endReason"`
	Type       string     `json:"type"`
	AnsweredAt *timestamp `json:"answeredAt"`
	// The post-call analysis, as agent.call_ended carries it: null until
	// produced (a little after the end), and for calls that get none.
	Summary        *string `json:"summary"`
	UserSentiment  *string `json:"userSentiment"`
	CallSuccessful *bool   `json:"callSuccessful"`
	// The detail's turns, in order; absent from lists.
	Transcripts *[]turnJSON `json:"transcripts,omitempty"`
}

// turnJSON is a transcript turn (spec §8.1, §20.11): the spec's keys, then
// ours.
type turnJSON struct {
	ID          string     `json:"id"`
	Transcript  string     `json:"transcript"`
	Confidence  *float64   `json:"confidence"`
	Response    *string    `json:"response"`
	CreatedAt   timestamp  `json:"createdAt"`
	Role        string     `json:"role"`
	StartedAt   timestamp  `json:"startedAt"`
	EndedAt     *timestamp `json:"endedAt"`
	Interrupted bool       `json:"interrupted"`
	DTMF        *string    `json:"dtmf"`
	// Latency is an agent turn's response time, stage by stage; absent
	// when the turn has none (user turns, the greeting).
	Latency *agentphone.TurnLatency `json:"latency,omitempty"`
}

func newTurnJSON(t *agentphone.Turn) turnJSON {
	return turnJSON{
		ID: t.ID, Transcript: t.Text, Confidence: t.Confidence, Response: t.Response, CreatedAt: timestamp(t.CreatedAt),
		Role: t.Role, StartedAt: timestamp(t.StartedAt), EndedAt: optTime(t.EndedAt), Interrupted: t.Interrupted, DTMF: t.DTMF,
		Latency: t.Latency,
	}
}

func turnsJSON(ts []*agentphone.Turn) []turnJSON {
	out := make([]turnJSON, len(ts))
	for i, t := range ts {
		out[i] = newTurnJSON(t)
	}
	return out
}

// callJSON returns c as the API shows it to request r: its recordingUrl is
// the public recording URL under Options.PublicURL (else the request's own
// host) when a recording exists.
func (s *Server) callJSON(r *http.Request, c *agentphone.Call) callJSON {
	j := callJSON{
		ID: c.ID, AgentID: c.AgentID, PhoneNumberID: c.NumberID, PhoneNumber: c.PhoneNumber, FromNumber: c.From,
		ToNumber: c.To, Direction: c.Direction, Status: c.Status, StartedAt: timestamp(c.StartedAt),
		EndedAt: optTime(c.EndedAt), DurationSeconds: c.DurationSeconds, LastTranscriptSnippet: c.LastTranscriptSnippet,
		RecordingAvailable: c.RecordingPath != nil, EndReason: c.EndReason, Type: c.Type, AnsweredAt: optTime(c.AnsweredAt),
	}
	if a := c.Analysis; a != nil {
		j.Summary, j.UserSentiment, j.CallSuccessful = a.Summary, a.UserSentiment, a.CallSuccessful
	}
	if c.RecordingPath != nil {
		u := s.baseURL(r) + "/v1/calls/" + url.PathEscape(c.ID) + "/recording"
		j.RecordingURL = &u
	}
	return j
}

// callDetailJSON is c with its turns.
func (s *Server) callDetailJSON(r *http.Request, c *agentphone.Call, ts []*agentphone.Turn) callJSON {
	j := s.callJSON(r, c)
	turns := turnsJSON(ts)
	j.Transcripts = &turns
	return j
}

// baseURL is Options.PublicURL, or the scheme and host r came to.
func (s *Server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// writeCallList answers a list of calls (spec §8.2).
func (s *Server) writeCallList(w http.ResponseWriter, r *http.Request, l agentphone.List[*agentphone.Call], p agentphone.Page) {
	out := offsetList[callJSON]{Data: make([]callJSON, len(l.Items)), HasMore: l.HasMore(p), Total: l.Total}
	for i, c := range l.Items {
		out.Data[i] = s.callJSON(r, c)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// literalParam parses the optional parameter name, one of allowed; ""
// when absent or empty (the SDK sends "name=" for null).
func (qe *queryErrors) literalParam(q url.Values, name string, allowed []string) string {
	v, _ := last(q, name)
	if v = strings.TrimSpace(v); v == "" {
		return ""
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = "'" + a + "'"
	}
	qe.add(name, "Input should be "+strings.Join(quoted[:len(quoted)-1], ", ")+" or "+quoted[len(quoted)-1], "literal_error")
	return ""
}

// boolParam parses the boolean parameter name as Pydantic does (true, 1,
// yes, on, t, y and their opposites, any case); def when absent or empty.
func (qe *queryErrors) boolParam(q url.Values, name string, def bool) bool {
	v, ok := last(q, name)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	b, ok := parseBool(v)
	if !ok {
		qe.add(name, "Input should be a valid boolean, unable to interpret input", "bool_parsing")
		return def
	}
	return b
}

// parseBool reads the strings Pydantic takes for booleans.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "on", "t", "true", "y", "yes":
		return true, true
	case "0", "off", "f", "false", "n", "no":
		return false, true
	}
	return false, false
}

// The long-poll of GET /v1/calls/{id}?wait=true (spec §18.1), seconds.
const (
	defaultCallWaitTimeout = 120
	minCallWaitTimeout     = 10
	maxCallWaitTimeout     = 300
)

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	q := r.URL.Query()
	var qe queryErrors
	p := qe.page(q, agentphone.DefaultPageLimit, agentphone.MaxPageLimit)
	f := agentphone.CallFilter{
		Status:    qe.literalParam(q, "status", agentphone.CallStatuses),
		Direction: qe.literalParam(q, "direction", agentphone.CallDirections),
		Type:      qe.literalParam(q, "type", agentphone.CallTypes),
	}
	f.Search, _ = last(q, "search")
	f.Search = strings.TrimSpace(f.Search)
	if err := qe.err(); err != nil {
		return err
	}
	l, err := s.calls.List(r.Context(), sc, f, p)
	if err != nil {
		return err
	}
	s.writeCallList(w, r, l, p)
	return nil
}

// listAgentCalls lists the calls of an agent, newest first (spec §2.14).
func (s *Server) listAgentCalls(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	p, err := pageQuery(r)
	if err != nil {
		return err
	}
	l, err := s.calls.ListByAgent(r.Context(), sc, r.PathValue("agent_id"), p)
	if err != nil {
		return err
	}
	s.writeCallList(w, r, l, p)
	return nil
}

// listNumberCalls lists the calls of a number, released ones included,
// newest first (spec §8.4).
func (s *Server) listNumberCalls(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	p, err := pageQuery(r)
	if err != nil {
		return err
	}
	l, err := s.calls.ListByNumber(r.Context(), sc, r.PathValue("number_id"), p)
	if err != nil {
		return err
	}
	s.writeCallList(w, r, l, p)
	return nil
}

// getCall answers the call with its turns; with wait=true it first waits,
// up to timeout seconds, for the call to end (spec §18.1).
func (s *Server) getCall(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	q := r.URL.Query()
	var qe queryErrors
	wait := qe.boolParam(q, "wait", false)
	timeout := qe.intParam(q, "timeout", defaultCallWaitTimeout, minCallWaitTimeout, maxCallWaitTimeout)
	if err := qe.err(); err != nil {
		return err
	}
	id := r.PathValue("call_id")
	var c *agentphone.Call
	var err error
	if wait {
		c, err = s.calls.Wait(r.Context(), sc, id, time.Duration(timeout)*time.Second)
	} else {
		c, err = s.calls.Get(r.Context(), sc, id)
	}
	if err != nil {
		return err
	}
	return s.writeCallDetail(w, r, sc, c)
}

func (s *Server) writeCallDetail(w http.ResponseWriter, r *http.Request, sc agentphone.Scope, c *agentphone.Call) error {
	turns, err := s.calls.Transcript(r.Context(), sc, c.ID)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, s.callDetailJSON(r, c, turns))
	return nil
}

// createCall places an outbound call (spec §8.5) and answers it; with
// waitForCompletion it answers once the call has ended, or when
// maxWaitSeconds have passed, with its turns (spec §18.1).
func (s *Server) createCall(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in agentphone.CallInput
	err := decode(r, &in, bodyRequired, func() error { return s.calls.Validate(r.Context(), in) })
	if err != nil {
		return err
	}
	c, err := s.calls.Create(r.Context(), sc, in)
	if err != nil {
		return err
	}
	if !in.WaitForCompletion.HasValue() || !in.WaitForCompletion.Value {
		s.writeJSON(w, r, http.StatusOK, s.callJSON(r, c))
		return nil
	}
	wait := agentphone.DefaultCallWaitSeconds
	if in.MaxWaitSeconds.HasValue() {
		wait = in.MaxWaitSeconds.Value
	}
	if c, err = s.calls.Wait(r.Context(), sc, c.ID, time.Duration(wait)*time.Second); err != nil {
		return err
	}
	return s.writeCallDetail(w, r, sc, c)
}

// endCall hangs up a call and answers it as it is (spec §20.12).
func (s *Server) endCall(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	c, err := s.calls.End(r.Context(), sc, r.PathValue("call_id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, s.callJSON(r, c))
	return nil
}

// transcriptJSON is GET /v1/calls/{id}/transcript (spec §20.11).
type transcriptJSON struct {
	Data []turnJSON `json:"data"`
}

func (s *Server) getTranscript(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	turns, err := s.calls.Transcript(r.Context(), sc, r.PathValue("call_id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, transcriptJSON{Data: turnsJSON(turns)})
	return nil
}

// DefaultHeartbeat is how often a transcript stream writes a comment to
// keep proxies from closing it (spec §17).
const DefaultHeartbeat = 15 * time.Second

// streamTranscript is the live transcript (spec §17): the stored turns as
// "turn" events, then new ones as they are stored, a ": heartbeat"
// comment every Options.Heartbeat, and "ended" with the call when it ends,
// after which the stream closes. An unknown call is a JSON 404 before the
// stream opens.
func (s *Server) streamTranscript(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	sub, err := s.calls.Subscribe(r.Context(), sc, r.PathValue("call_id"))
	if err != nil {
		return err
	}
	defer sub.Close()
	h := w.Header()
	h.Set(hdrContentType, "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	var buf bytes.Buffer
	// send writes one event and flushes it; once the client is gone,
	// writes fail and the stream ends.
	send := func(event string, v any) error {
		buf.Reset()
		buf.WriteString("event: " + event + "\ndata: ")
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil { // one line: JSON has no raw newlines
			return err
		}
		buf.WriteString("\n")
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		return rc.Flush()
	}
	end := func(err error) error {
		if err != nil && r.Context().Err() == nil {
			s.logger.LogAttrs(r.Context(), slog.LevelDebug, "transcript stream cut short", slog.String("err", err.Error()))
		}
		return nil // the response has begun: nothing else can be answered
	}
	for _, t := range sub.Turns {
		if err := send("turn", newTurnJSON(t)); err != nil {
			return end(err)
		}
	}
	if sub.Call.Ended() {
		return end(send("ended", s.callJSON(r, sub.Call)))
	}
	if err := rc.Flush(); err != nil {
		return end(err)
	}
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
			if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil {
				return end(err)
			}
			if err := rc.Flush(); err != nil {
				return end(err)
			}
		case <-sub.Ready():
			for _, u := range sub.Updates() {
				if u.Turn != nil {
					if err := send("turn", newTurnJSON(u.Turn)); err != nil {
						return end(err)
					}
				}
				if u.Ended != nil {
					return end(send("ended", s.callJSON(r, u.Ended)))
				}
			}
		}
	}
}

var (
	errCallNotFound      = &statusError{http.StatusNotFound, "Call not found"}
	errRecordingNotFound = &statusError{http.StatusNotFound, "Recording not found"}
)

// getRecording serves a call's recording (spec §8.8). It takes no API key:
// the call id, 128 random bits, is the access token. The file is read from
// Options.RecordingsDir, which the stored path cannot leave.
func (s *Server) getRecording(w http.ResponseWriter, r *http.Request) {
	c, err := s.calls.Find(r.Context(), r.PathValue("call_id"))
	switch {
	case agentphone.ErrorKind(err) == agentphone.KindNotFound:
		s.writeError(w, r, errCallNotFound)
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	case c.RecordingPath == nil || s.recordingsDir == "":
		s.writeError(w, r, errRecordingNotFound)
		return
	}
	f, err := os.OpenInRoot(s.recordingsDir, *c.RecordingPath)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.logger.LogAttrs(r.Context(), slog.LevelWarn, "opening a recording failed",
				slog.String("call_id", c.ID), slog.String("err", err.Error()))
		}
		s.writeError(w, r, errRecordingNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		s.writeError(w, r, errRecordingNotFound)
		return
	}
	h := w.Header()
	h.Set(hdrContentType, "audio/wav")
	h.Set("Content-Disposition", `attachment; filename="recording-`+c.ID+`.wav"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// settingsJSON is GET and PATCH /agentphone/v1/settings (our addition).
type settingsJSON struct {
	// RecordCalls is the account's recording setting; null: the server's
	// default applies.
	RecordCalls *bool `json:"recordCalls"`
	// RecordingEnabled is whether the account's calls are recorded now.
	RecordingEnabled bool `json:"recordingEnabled"`
}

func (s *Server) writeSettings(w http.ResponseWriter, r *http.Request, st *agentphone.AccountSettings) {
	on := s.calls.RecordCalls
	if st.RecordCalls != nil {
		on = *st.RecordCalls
	}
	s.writeJSON(w, r, http.StatusOK, settingsJSON{RecordCalls: st.RecordCalls, RecordingEnabled: on})
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	st, err := s.calls.Settings(r.Context(), sc)
	if err != nil {
		return err
	}
	s.writeSettings(w, r, st)
	return nil
}

func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in agentphone.SettingsInput
	if err := decode(r, &in, bodyRequired, nil); err != nil {
		return err
	}
	st, err := s.calls.UpdateSettings(r.Context(), sc, in)
	if err != nil {
		return err
	}
	s.writeSettings(w, r, st)
	return nil
}
