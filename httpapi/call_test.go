package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
	"github.com/agentphone/agentphone/webhook"
)

// fakeController stands in for the SIP edge: it records what it is asked
// and does what the test tells it.
type fakeController struct {
	mu       sync.Mutex
	dials    []dialed // guarded by mu
	hangups  []string // guarded by mu
	dialErr  error
	onDial   func(c *agentphone.Call)
	onHangup func(id string) error // nil: the hang-up is accepted
}

// dialed is one Dial: a copy of the call, the agent and the number.
type dialed struct {
	call  agentphone.Call
	agent *agentphone.Agent
	from  *agentphone.Number
}

func (f *fakeController) Dial(ctx context.Context, c *agentphone.Call, a *agentphone.Agent, from *agentphone.Number) error {
	f.mu.Lock()
	f.dials = append(f.dials, dialed{*c, a, from})
	f.mu.Unlock()
	if f.dialErr != nil {
		return f.dialErr
	}
	if f.onDial != nil {
		f.onDial(c)
	}
	return nil
}

func (f *fakeController) Hangup(ctx context.Context, id string) error {
	f.mu.Lock()
	f.hangups = append(f.hangups, id)
	f.mu.Unlock()
	if f.onHangup != nil {
		return f.onHangup(id)
	}
	return nil
}

func (f *fakeController) dialed() []dialed {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.dials)
}

func (f *fakeController) hungUp() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hangups)
}

func withController(c agentphone.CallController) func(*envOptions) {
	return func(o *envOptions) { o.controller = c }
}

// callObject is the JSON of a call as the API shows it, with the given
// keys changed.
func callObject(kv ...any) map[string]any {
	return with(map[string]any{
		"id": idRE("call_"), "agentId": nil, "phoneNumberId": nil, "phoneNumber": nil, "fromNumber": "", "toNumber": "",
		"direction": "outbound", "status": "queued", "startedAt": timeRE, "endedAt": nil, "durationSeconds": nil,
		"lastTranscriptSnippet": nil, "recordingUrl": nil, "recordingAvailable": false, "endReason": nil, "type": "pstn",
		"answeredAt": nil, "summary": nil, "userSentiment": nil, "callSuccessful": nil,
	}, kv...)
}

// inbound stores an inbound call to phone from caller, through the
// service as the SIP edge does.
func (e *env) inbound(to, from string) *agentphone.Call {
	e.t.Helper()
	c, _, _, err := e.calls.RouteInbound(context.Background(), to, from, "sip-"+from)
	if err != nil {
		e.t.Fatalf("route inbound: %v", err)
	}
	return c
}

func (e *env) finish(id, status, reason string, recording *string) {
	e.t.Helper()
	if _, err := e.calls.Finish(context.Background(), id, status, reason, recording); err != nil {
		e.t.Fatalf("finish: %v", err)
	}
}

func (e *env) turn(callID, role, text string) {
	e.t.Helper()
	if err := e.calls.AddTurn(context.Background(), &agentphone.Turn{CallID: callID, Role: role, Text: text}); err != nil {
		e.t.Fatalf("add turn: %v", err)
	}
}

// TestCalls_Create: an outbound call is stored queued with its options and
// handed to the controller with its agent and number: the agent's first
// number, or fromNumberId.
func TestCalls_Create(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		ctrl := &fakeController{}
		e := newEnv(t, b, withController(ctrl))
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		n1 := e.createNumber(map[string]any{"agentId": agent})
		n2 := e.createNumber(map[string]any{"agentId": agent})
		voice := e.do("GET", "/v1/agents/voices", nil).want(200).obj()["data"].([]any)[1].(map[string]any)["voice_id"].(string)

		c := e.do("POST", "/v1/calls", map[string]any{
			"agentId": agent, "toNumber": "(212) 555-7788", "initialGreeting": "Hi there", "voice": voice,
			"systemPrompt": "Be brief.", "modelTier": "turbo", "variables": map[string]any{"name": "Jane", "none": nil},
			"callScreeningIdentity": "Acme", "callScreeningPurpose": "Your order", "unknownKey": true,
		}).want(200).obj()
		wantObject(t, c, callObject("agentId", agent, "phoneNumberId", n1["id"], "phoneNumber", n1["phoneNumber"],
			"fromNumber", n1["phoneNumber"], "toNumber", "+12125557788"))
		ds := ctrl.dialed()
		if len(ds) != 1 {
			t.Fatalf("%d dials", len(ds))
		}
		d := ds[0]
		jane := "Jane"
		wantOpts := agentphone.CallOptions{
			InitialGreeting: ptr("Hi there"), Voice: &voice, SystemPrompt: ptr("Be brief."), ModelTier: ptr("turbo"),
			Variables: map[string]*string{"name": &jane, "none": nil}, CallScreeningIdentity: ptr("Acme"),
			CallScreeningPurpose: ptr("Your order"),
		}
		if d.call.ID != c["id"] || d.call.Status != agentphone.CallQueued || d.agent.ID != agent || d.from.ID != n1["id"] ||
			d.call.To != "+12125557788" || !reflect.DeepEqual(d.call.Options, wantOpts) {
			t.Fatalf("dialed %+v with agent %s from %s", d.call, d.agent.ID, d.from.ID)
		}
		stored, err := e.store.GetCall(t.Context(), e.accountID, c["id"].(string))
		if err != nil || !reflect.DeepEqual(stored.Options, wantOpts) {
			t.Fatalf("stored options %+v, %v", stored, err)
		}

		// fromNumberId picks the number; no options stored without any.
		c = e.do("POST", "/v1/calls", map[string]any{"agentId": agent, "toNumber": "+12125557788", "fromNumberId": n2["id"]}).want(200).obj()
		if c["phoneNumberId"] != n2["id"] || c["fromNumber"] != n2["phoneNumber"] {
			t.Fatalf("from n2: %v", c)
		}
		if d := ctrl.dialed()[1]; d.from.ID != n2["id"] || !reflect.DeepEqual(d.call.Options, agentphone.CallOptions{}) {
			t.Fatalf("second dial %+v", d)
		}
		// The controller may move the call on before the answer.
		ctrl.onDial = func(c *agentphone.Call) {
			if err := e.calls.Ringing(context.Background(), c.ID); err != nil {
				t.Error(err)
			}
		}
		c = e.do("POST", "/v1/calls", map[string]any{"agentId": agent, "toNumber": "+12125557788"}).want(200).obj()
		if c["status"] != "ringing" {
			t.Fatalf("status %v", c["status"])
		}
	})
}

// TestCalls_CreateErrors: each bad input is the status and message that
// names the problem, and places no call.
func TestCalls_CreateErrors(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		ctrl := &fakeController{}
		e := newEnv(t, b, withController(ctrl), func(o *envOptions) { o.maxCalls = 2 })
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		lonely := e.createAgent(map[string]any{"name": "Lonely"})["id"].(string)
		other := e.createAgent(map[string]any{"name": "Other"})["id"].(string)
		n1 := e.createNumber(map[string]any{"agentId": agent})
		nOther := e.createNumber(map[string]any{"agentId": other})
		nReleased := e.createNumber(map[string]any{"agentId": agent})
		e.do("DELETE", "/v1/numbers/"+nReleased["id"].(string), nil).want(200)
		call := func(kv ...any) map[string]any {
			return with(map[string]any{"agentId": agent, "toNumber": "+12125557788"}, kv...)
		}

		e.do("POST", "/v1/calls", map[string]any{}).wantErrs(fe("missing", "agentId"), fe("missing", "toNumber"))
		e.do("POST", "/v1/calls", nil).wantErrs(fieldErr{loc: `["body"]`, typ: "missing"})
		r := e.do("POST", "/v1/calls", map[string]any{
			"agentId": 5, "toNumber": "call me", "modelTier": "fast", "voice": "nope", "maxWaitSeconds": 5,
			"variables": []int{1}, "callScreeningPurpose": strings.Repeat("x", 301), "waitForCompletion": "yes",
		})
		r.wantErrs(fe("string_type", "agentId"), fe("value_error", "toNumber"), fe("literal_error", "modelTier"),
			fe("value_error", "voice"), fe("greater_than_equal", "maxWaitSeconds"), fe("dict_type", "variables"),
			fe("string_too_long", "callScreeningPurpose"), fe("bool_type", "waitForCompletion"))
		if !strings.Contains(string(r.Body), `toNumber \"call me\" is not a phone number`) ||
			!strings.Contains(string(r.Body), "unknown voice 'nope'") {
			t.Errorf("messages: %s", r.Body)
		}
		e.do("POST", "/v1/calls", call("maxWaitSeconds", 601)).wantErrs(fe("less_than_equal", "maxWaitSeconds"))

		e.do("POST", "/v1/calls", call("agentId", "agt_nope")).wantDetail(404, "Agent not found")
		e.do("POST", "/v1/calls", call("agentId", lonely)).
			wantDetail(400, "Agent "+lonely+" has no number to call from; attach one first")
		e.do("POST", "/v1/calls", call("fromNumberId", "num_nope")).
			wantDetail(400, "fromNumberId num_nope is not a number of this account")
		e.do("POST", "/v1/calls", call("fromNumberId", nOther["id"])).
			wantDetail(400, fmt.Sprintf("Number %s (%s) is not attached to agent %s: a call goes out from one of its agent's numbers",
				nOther["phoneNumber"], nOther["id"], agent))
		e.do("POST", "/v1/calls", call("fromNumberId", nReleased["id"])).
			wantDetail(400, fmt.Sprintf("Number %s (%s) is released and cannot place calls", nReleased["phoneNumber"], nReleased["id"]))
		e.do("POST", "/v1/calls", call("toNumber", n1["phoneNumber"])).
			wantDetail(400, fmt.Sprintf("A number cannot call itself (%s)", n1["phoneNumber"]))
		// Another account's agent is unknown.
		_, key := e.newAccount("globex")
		e.do("POST", "/v1/calls", call(), withKey(key)).wantDetail(404, "Agent not found")
		if n := len(ctrl.dialed()); n != 0 {
			t.Fatalf("%d dials for bad requests", n)
		}

		// The controller cannot dial: 503, the call stored failed.
		ctrl.dialErr = errors.New("trunk answered 503 Service Unavailable")
		e.do("POST", "/v1/calls", call()).
			wantDetail(503, "Could not place the call to +12125557788: trunk answered 503 Service Unavailable")
		ctrl.dialErr = nil
		l := e.do("GET", "/v1/calls", nil).want(200).obj()
		if l["total"] != 1.0 {
			t.Fatalf("calls %v", l)
		}
		failed := l["data"].([]any)[0].(map[string]any)
		if failed["status"] != "failed" || failed["endReason"] != "error" || failed["durationSeconds"] != 0.0 || failed["endedAt"] == nil {
			t.Fatalf("failed call %v", failed)
		}

		// At the cap of calls under way: 409.
		e.do("POST", "/v1/calls", call()).want(200)
		e.do("POST", "/v1/calls", call()).want(200)
		r = e.do("POST", "/v1/calls", call()).want(409)
		if !strings.Contains(string(r.Body), "Concurrent call limit reached: this account may have at most 2 calls under way") {
			t.Errorf("limit: %s", r.Body)
		}

		// Without a SIP trunk: 503 naming it, after the other checks.
		e0 := newEnv(t, b)
		a0 := e0.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		e0.do("POST", "/v1/calls", map[string]any{"agentId": a0, "toNumber": "+12125557788"}).
			wantDetail(400, "Agent "+a0+" has no number to call from; attach one first")
		e0.createNumber(map[string]any{"agentId": a0})
		e0.do("POST", "/v1/calls", map[string]any{"agentId": a0, "toNumber": "+12125557788"}).
			wantDetail(503, agentphone.MsgNoTrunk)
		if l := e0.do("GET", "/v1/calls", nil).want(200).obj(); l["total"] != 0.0 {
			t.Fatalf("calls stored without a trunk: %v", l)
		}
	})
}

// TestCalls_End: ending a live call asks the controller to hang up and
// answers the call as it is then; an ended call is a 409; a call no edge
// carries is ended here.
func TestCalls_End(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		ctrl := &fakeController{}
		e := newEnv(t, b, withController(ctrl))
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		e.createNumber(map[string]any{"agentId": agent})
		place := func() string {
			return e.do("POST", "/v1/calls", map[string]any{"agentId": agent, "toNumber": "+12125557788"}).want(200).obj()["id"].(string)
		}

		// The edge accepts the hang-up and reports the end later.
		id := place()
		got := e.do("POST", "/v1/calls/"+id+"/end", nil).want(200).obj()
		if got["id"] != id || got["status"] != "queued" || !slices.Equal(ctrl.hungUp(), []string{id}) {
			t.Fatalf("end: %v, hang-ups %v", got, ctrl.hungUp())
		}
		e.finish(id, agentphone.CallCanceled, agentphone.EndAPI, nil)
		e.do("POST", "/v1/calls/"+id+"/end", nil).wantDetail(409, "Call "+id+" has already ended (canceled)")
		if len(ctrl.hungUp()) != 1 {
			t.Fatal("an ended call was hung up")
		}

		// The edge ends it at once.
		ctrl.onHangup = func(id string) error {
			_, err := e.calls.Finish(context.Background(), id, agentphone.CallCompleted, agentphone.EndAPI, nil)
			return err
		}
		id = place()
		got = e.do("POST", "/v1/calls/"+id+"/end", nil).want(200).obj()
		if got["status"] != "completed" || got["endReason"] != "api" || got["endedAt"] == nil {
			t.Fatalf("end: %v", got)
		}

		// No edge carries it (its process died): ended here.
		ctrl.onHangup = func(id string) error { return agentphone.Errorf(agentphone.KindNotFound, "Call %s is not live", id) }
		id = place()
		got = e.do("POST", "/v1/calls/"+id+"/end", nil).want(200).obj()
		if got["status"] != "completed" || got["endReason"] != "api" {
			t.Fatalf("end of a lost call: %v", got)
		}
		// The edge fails: 503.
		ctrl.onHangup = func(string) error { return errors.New("BYE timed out") }
		id = place()
		e.do("POST", "/v1/calls/"+id+"/end", nil).wantDetail(503, "Could not hang up call "+id+": BYE timed out")

		e.do("POST", "/v1/calls/call_nope/end", nil).wantDetail(404, "Call not found")
		_, key := e.newAccount("globex")
		e.do("POST", "/v1/calls/"+id+"/end", nil, withKey(key)).wantDetail(404, "Call not found")

		// Without a controller, a live call is ended here.
		e0 := newEnv(t, b)
		n := e0.createNumber(map[string]any{"agentId": e0.createAgent(map[string]any{"name": "Bot"})["id"]})
		c := e0.inbound(n["phoneNumber"].(string), "+12125550000")
		got = e0.do("POST", "/v1/calls/"+c.ID+"/end", nil).want(200).obj()
		if got["status"] != "completed" || got["endReason"] != "api" || got["direction"] != "inbound" {
			t.Fatalf("end without a controller: %v", got)
		}
	})
}

// TestCalls_List: the lists are newest first, filtered and paged; the
// agent's and number's lists; calls outlive their agent.
func TestCalls_List(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		ctrl := &fakeController{}
		e := newEnv(t, b, withController(ctrl))
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		n1 := e.createNumber(map[string]any{"agentId": agent})
		n2 := e.createNumber(map[string]any{})
		e.do("POST", "/v1/agents/"+agent+"/numbers", map[string]any{"numberId": n2["id"]}).want(200)
		p1, p2 := n1["phoneNumber"].(string), n2["phoneNumber"].(string)

		in1 := e.inbound(p1, "+12125550001")
		e.finish(in1.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
		out1 := e.do("POST", "/v1/calls", map[string]any{"agentId": agent, "toNumber": "+13105550002"}).want(200).obj()["id"].(string)
		e.finish(out1, agentphone.CallFailed, agentphone.EndError, nil)
		in2 := e.inbound(p2, "+12125550003")
		if err := e.calls.Answered(t.Context(), in2.ID); err != nil {
			t.Fatal(err)
		}
		all := []string{in2.ID, out1, in1.ID}

		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"", all},
			{"?status=completed", []string{in1.ID}},
			{"?status=failed", []string{out1}},
			{"?status=in-progress", []string{in2.ID}},
			{"?status=", all},
			{"?direction=inbound", []string{in2.ID, in1.ID}},
			{"?direction=outbound", []string{out1}},
			{"?direction=web", nil},
			{"?type=pstn", all},
			{"?type=web", nil},
			{"?search=%2B1%20(212)%20555", []string{in2.ID, in1.ID}},
			{"?search=310-555", []string{out1}},
			{"?search=+1310", []string{out1}}, // a raw + is a space in a query
			{"?search=" + strings.TrimPrefix(p2, "+"), []string{in2.ID}},
			{"?status=completed&direction=outbound", nil},
			{"?limit=2", all[:2]},
			{"?limit=2&offset=2", all[2:]},
		} {
			l := e.do("GET", "/v1/calls"+tt.query, nil).want(200).obj()
			if got := listIDs(l); !slices.Equal(got, tt.want) {
				t.Errorf("GET /v1/calls%s: %v, want %v", tt.query, got, tt.want)
			}
		}
		l := e.do("GET", "/v1/calls?limit=2", nil).want(200).obj()
		if l["total"] != 3.0 || l["hasMore"] != true {
			t.Errorf("page: %v", l)
		}
		wantObject(t, l["data"].([]any)[0].(map[string]any), callObject("id", in2.ID, "agentId", agent,
			"phoneNumberId", n2["id"], "phoneNumber", p2, "fromNumber", "+12125550003", "toNumber", p2,
			"direction", "inbound", "status", "in-progress", "answeredAt", timeRE))
		e.do("GET", "/v1/calls?status=ended&direction=sideways&type=sip&limit=0", nil).wantErrs(
			qe("literal_error", "status"), qe("literal_error", "direction"), qe("literal_error", "type"),
			qe("greater_than_equal", "limit"))

		// The agent's and the numbers' lists.
		if got := listIDs(e.do("GET", "/v1/agents/"+agent+"/calls", nil).want(200).obj()); !slices.Equal(got, all) {
			t.Errorf("agent's calls %v", got)
		}
		if got := listIDs(e.do("GET", "/v1/numbers/"+n1["id"].(string)+"/calls?limit=1", nil).want(200).obj()); !slices.Equal(got, []string{out1}) {
			t.Errorf("n1's calls %v", got)
		}
		if got := listIDs(e.do("GET", "/v1/numbers/"+n2["id"].(string)+"/calls", nil).want(200).obj()); !slices.Equal(got, []string{in2.ID}) {
			t.Errorf("n2's calls %v", got)
		}
		// Other accounts see none.
		_, key := e.newAccount("globex")
		if l := e.do("GET", "/v1/calls", nil, withKey(key)).want(200).obj(); l["total"] != 0.0 {
			t.Errorf("another account's list: %v", l)
		}
		e.do("GET", "/v1/calls/"+in1.ID, nil, withKey(key)).wantDetail(404, "Call not found")
		if l := e.do("GET", "/v1/calls", nil, withSub(e.createSub("s"))).want(200).obj(); l["total"] != 0.0 {
			t.Errorf("a sub-account's list: %v", l)
		}

		// Deleting the agent and releasing the number keep the calls.
		e.do("DELETE", "/v1/agents/"+agent, nil).want(200)
		e.do("DELETE", "/v1/numbers/"+n1["id"].(string), nil).want(200)
		e.do("GET", "/v1/agents/"+agent+"/calls", nil).wantDetail(404, "Agent not found")
		l = e.do("GET", "/v1/numbers/"+n1["id"].(string)+"/calls", nil).want(200).obj()
		if got := listIDs(l); !slices.Equal(got, []string{out1, in1.ID}) {
			t.Fatalf("released number's calls %v", got)
		}
		for _, it := range l["data"].([]any) {
			if c := it.(map[string]any); c["agentId"] != nil || c["phoneNumberId"] != n1["id"] {
				t.Errorf("call after the agent's deletion: %v", c)
			}
		}
	})
}

// TestCalls_Transcript: the turns, in order, in the transcript and the
// call's detail; query errors.
func TestCalls_Transcript(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		n := e.createNumber(map[string]any{"agentId": agent})
		c := e.inbound(n["phoneNumber"].(string), "+12125550001")
		start := agentphone.Now()
		end := start.Add(2 * time.Second)
		turns := []*agentphone.Turn{
			{CallID: c.ID, Role: agentphone.RoleAgent, Text: "Hello, how can I help?", StartedAt: start, Interrupted: true},
			{CallID: c.ID, Role: agentphone.RoleUser, Text: "Where is my order?", StartedAt: start.Add(time.Second), EndedAt: &end,
				Confidence: ptr(0.93), Response: ptr("Let me check."), DTMF: ptr("1#")},
			{CallID: c.ID, Role: agentphone.RoleAgent, Text: "Let me check.", StartedAt: start.Add(3 * time.Second),
				Latency: &agentphone.TurnLatency{EndOfSpeechToTranscriptMs: ptr(210.5), TranscriptToDecisionMs: ptr(0.25),
					DecisionToFirstByteMs: ptr(300.0), FirstAudioToFirstPacketMs: ptr(12.0), TotalMs: ptr(701.75)}},
		}
		for _, tr := range slices.Backward(turns) { // stored out of order
			if err := e.calls.AddTurn(t.Context(), tr); err != nil {
				t.Fatal(err)
			}
		}
		want := []any{
			map[string]any{"id": turns[0].ID, "transcript": "Hello, how can I help?", "confidence": nil, "response": nil,
				"createdAt": timeRE, "role": "agent", "startedAt": timeRE, "endedAt": nil, "interrupted": true, "dtmf": nil},
			map[string]any{"id": turns[1].ID, "transcript": "Where is my order?", "confidence": 0.93, "response": "Let me check.",
				"createdAt": timeRE, "role": "user", "startedAt": timeRE, "endedAt": timeRE, "interrupted": false, "dtmf": "1#"},
			// The engine's latency, a stage that did not happen null.
			map[string]any{"id": turns[2].ID, "transcript": "Let me check.", "confidence": nil, "response": nil,
				"createdAt": timeRE, "role": "agent", "startedAt": timeRE, "endedAt": nil, "interrupted": false, "dtmf": nil,
				"latency": map[string]any{"endOfSpeechToTranscriptMs": 210.5, "transcriptToDecisionMs": 0.25,
					"decisionToFirstByteMs": 300, "firstByteToFirstAudioMs": nil, "firstAudioToFirstPacketMs": 12, "totalMs": 701.75}},
		}
		tr := e.do("GET", "/v1/calls/"+c.ID+"/transcript", nil).want(200).obj()
		if got := tr["data"].([]any); len(got) != 3 || len(tr) != 1 {
			t.Fatalf("transcript %v", tr)
		}
		for i, w := range want {
			wantObject(t, tr["data"].([]any)[i].(map[string]any), w.(map[string]any))
		}
		detail := e.do("GET", "/v1/calls/"+c.ID, nil).want(200).obj()
		if !reflect.DeepEqual(detail["transcripts"], tr["data"]) {
			t.Fatalf("detail's transcripts %v", detail["transcripts"])
		}
		wantObject(t, without(detail, "transcripts"), callObject("id", c.ID, "agentId", agent, "phoneNumberId", n["id"],
			"phoneNumber", n["phoneNumber"], "fromNumber", "+12125550001", "toNumber", n["phoneNumber"], "direction", "inbound",
			"status", "ringing", "lastTranscriptSnippet", "Hello, how can I help?"))
		// A call without turns has [] of them.
		c2 := e.inbound(n["phoneNumber"].(string), "+12125550002")
		wantObject(t, e.do("GET", "/v1/calls/"+c2.ID+"/transcript", nil).want(200).obj(), map[string]any{"data": []any{}})
		if got := e.do("GET", "/v1/calls/"+c2.ID, nil).want(200).obj()["transcripts"]; !reflect.DeepEqual(got, []any{}) {
			t.Errorf("transcripts %v", got)
		}

		e.do("GET", "/v1/calls/call_nope", nil).wantDetail(404, "Call not found")
		e.do("GET", "/v1/calls/call_nope/transcript", nil).wantDetail(404, "Call not found")
		e.do("GET", "/v1/calls/"+c.ID+"?wait=maybe&timeout=5", nil).
			wantErrs(qe("bool_parsing", "wait"), qe("greater_than_equal", "timeout"))
		e.do("GET", "/v1/calls/"+c.ID+"?wait=false&timeout=301", nil).wantErrs(qe("less_than_equal", "timeout"))
		e.do("GET", "/v1/calls/"+c.ID+"?wait=0", nil).want(200)
		e.do("GET", "/v1/calls/"+c.ID+"/transcript", nil, noKey()).want(401)
	})
}

// TestCalls_Wait: GET ?wait=true answers once the call ends; POST with
// waitForCompletion answers the ended call with its transcript.
func TestCalls_Wait(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		ctrl := &fakeController{}
		e := newEnv(t, b, withController(ctrl))
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		n := e.createNumber(map[string]any{"agentId": agent})
		c := e.inbound(n["phoneNumber"].(string), "+12125550001")
		got := make(chan map[string]any, 1)
		go func() { got <- e.do("GET", "/v1/calls/"+c.ID+"?wait=true&timeout=60", nil).want(200).obj() }()
		e.turn(c.ID, agentphone.RoleUser, "bye")
		e.finish(c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
		select {
		case d := <-got:
			if d["status"] != "completed" || len(d["transcripts"].([]any)) != 1 {
				t.Fatalf("waited call %v", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the long-poll did not end with the call")
		}

		// The edge runs the call while the request waits.
		ctrl.onDial = func(c *agentphone.Call) {
			go func() {
				ctx := context.Background()
				_ = e.calls.Answered(ctx, c.ID)
				_ = e.calls.AddTurn(ctx, &agentphone.Turn{CallID: c.ID, Role: agentphone.RoleAgent, Text: "Your order shipped."})
				_, _ = e.calls.Finish(ctx, c.ID, agentphone.CallCompleted, agentphone.EndAgentHangup, nil)
			}()
		}
		d := e.do("POST", "/v1/calls", map[string]any{"agentId": agent, "toNumber": "+12125557788",
			"systemPrompt": "Tell them it shipped.", "waitForCompletion": true, "maxWaitSeconds": 60}).want(200).obj()
		if d["status"] != "completed" || d["endReason"] != "agent-hangup" || d["answeredAt"] == nil {
			t.Fatalf("call %v", d)
		}
		if ts := d["transcripts"].([]any); len(ts) != 1 || ts[0].(map[string]any)["transcript"] != "Your order shipped." {
			t.Fatalf("transcripts %v", ts)
		}
		e.do("GET", "/v1/calls/call_nope?wait=true", nil).wantDetail(404, "Call not found")
	})
}

// sseEvent is one server-sent event, or a comment.
type sseEvent struct {
	name, data, comment string
}

// sseReader reads the events of a stream on a goroutine of its own.
type sseReader struct {
	t      testing.TB
	events chan sseEvent // closed at the end of the stream
	err    error         // why the stream ended (nil: EOF); set before events is closed
}

func readSSE(t testing.TB, body io.Reader) *sseReader {
	r := &sseReader{t: t, events: make(chan sseEvent, 64)}
	go func() {
		defer close(r.events)
		sc := bufio.NewScanner(body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					r.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			default:
				r.err = fmt.Errorf("unexpected line %q", line)
				return
			}
		}
		r.err = sc.Err()
	}()
	return r
}

// recv returns the next event or comment; ok is false at the end of the
// stream.
func (r *sseReader) recv() (ev sseEvent, ok bool) {
	r.t.Helper()
	select {
	case ev, ok := <-r.events:
		return ev, ok
	case <-time.After(10 * time.Second):
		r.t.Fatal("nothing came from the stream")
		return ev, false
	}
}

// next returns the next event that is not a heartbeat.
func (r *sseReader) next() (string, map[string]any) {
	r.t.Helper()
	for {
		ev, ok := r.recv()
		if !ok {
			r.t.Fatalf("the stream ended (%v) while an event was awaited", r.err)
		}
		if ev.comment == "heartbeat" && ev.name == "" {
			continue
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
			r.t.Fatalf("event %q: data %q: %v", ev.name, ev.data, err)
		}
		return ev.name, data
	}
}

// heartbeat waits for a heartbeat comment.
func (r *sseReader) heartbeat() {
	r.t.Helper()
	ev, ok := r.recv()
	if !ok || ev.comment != "heartbeat" || ev.name != "" {
		r.t.Fatalf("%+v (open %v) while a heartbeat was awaited", ev, ok)
	}
}

// end waits for the stream to close, heartbeats aside.
func (r *sseReader) end() {
	r.t.Helper()
	for {
		ev, ok := r.recv()
		if !ok {
			if r.err != nil {
				r.t.Fatal(r.err)
			}
			return
		}
		if ev.comment != "heartbeat" {
			r.t.Fatalf("event %+v while the end was awaited", ev)
		}
	}
}

// TestCalls_TranscriptStream: the stream replays the stored turns, sends
// new ones as they come, heartbeats, and ends with the call; a finished
// call's stream replays and ends at once; unknown calls are a JSON 404.
func TestCalls_TranscriptStream(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, func(o *envOptions) { o.heartbeat = 20 * time.Millisecond })
		srv := httptest.NewServer(e.srv)
		t.Cleanup(srv.Close)
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		n := e.createNumber(map[string]any{"agentId": agent})
		c := e.inbound(n["phoneNumber"].(string), "+12125550001")
		e.turn(c.ID, agentphone.RoleAgent, "Hello!")

		get := func(path, key string) *http.Response {
			req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+key)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { res.Body.Close() })
			return res
		}
		res := get("/v1/calls/call_nope/transcript/stream", e.key)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/json" || string(body) != `{"detail":"Call not found"}` {
			t.Fatalf("unknown call: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		_, otherKey := e.newAccount("globex")
		if res := get("/v1/calls/"+c.ID+"/transcript/stream", otherKey); res.StatusCode != 404 {
			t.Fatalf("another account's call: %d", res.StatusCode)
		}

		res = get("/v1/calls/"+c.ID+"/transcript/stream", e.key)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("stream: %d %v", res.StatusCode, res.Header)
		}
		sse := readSSE(t, res.Body)
		name, data := sse.next()
		if name != "turn" || data["transcript"] != "Hello!" || data["role"] != "agent" {
			t.Fatalf("replayed %s %v", name, data)
		}
		// The replay is done, so the stream now hears of new turns.
		e.turn(c.ID, agentphone.RoleUser, "Where is my order?")
		name, data = sse.next()
		if name != "turn" || data["transcript"] != "Where is my order?" || data["role"] != "user" {
			t.Fatalf("live %s %v", name, data)
		}
		wantObject(t, data, map[string]any{"id": idRE("tr_"), "transcript": "Where is my order?", "confidence": nil,
			"response": nil, "createdAt": timeRE, "role": "user", "startedAt": timeRE, "endedAt": nil, "interrupted": false, "dtmf": nil})
		// An agent turn with its latency.
		if err := e.calls.AddTurn(t.Context(), &agentphone.Turn{CallID: c.ID, Role: agentphone.RoleAgent, Text: "It shipped.",
			Latency: &agentphone.TurnLatency{TotalMs: ptr(640.5)}}); err != nil {
			t.Fatal(err)
		}
		name, data = sse.next()
		if name != "turn" || data["transcript"] != "It shipped." {
			t.Fatalf("live %s %v", name, data)
		}
		wantObject(t, data["latency"].(map[string]any), map[string]any{"endOfSpeechToTranscriptMs": nil,
			"transcriptToDecisionMs": nil, "decisionToFirstByteMs": nil, "firstByteToFirstAudioMs": nil,
			"firstAudioToFirstPacketMs": nil, "totalMs": 640.5})
		sse.heartbeat()
		e.finish(c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
		name, data = sse.next()
		if name != "ended" || data["id"] != c.ID || data["status"] != "completed" || data["endReason"] != "caller-hangup" {
			t.Fatalf("ended %s %v", name, data)
		}
		wantObject(t, data, callObject("id", c.ID, "agentId", agent, "phoneNumberId", n["id"], "phoneNumber", n["phoneNumber"],
			"fromNumber", "+12125550001", "toNumber", n["phoneNumber"], "direction", "inbound", "status", "completed",
			"endedAt", timeRE, "durationSeconds", 0, "endReason", "caller-hangup", "lastTranscriptSnippet", "It shipped."))
		sse.end()
		if s := e.calls.Subscribers(c.ID); s != 0 {
			t.Errorf("%d subscriptions after the stream ended", s)
		}

		// A finished call: the turns, then ended at once.
		sse = readSSE(t, get("/v1/calls/"+c.ID+"/transcript/stream", e.key).Body)
		for _, want := range []string{"Hello!", "Where is my order?", "It shipped."} {
			name, data := sse.next()
			if name != "turn" || data["transcript"] != want {
				t.Fatalf("replay: %s %v", name, data)
			}
			if _, ok := data["latency"]; ok != (want == "It shipped.") {
				t.Fatalf("replay's latency: %v", data)
			}
		}
		if name, data := sse.next(); name != "ended" || data["status"] != "completed" {
			t.Fatalf("replay's end: %s %v", name, data)
		}
		sse.end()

		// A client that goes away ends its stream.
		c2 := e.inbound(n["phoneNumber"].(string), "+12125550002")
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/calls/"+c2.ID+"/transcript/stream", nil)
		req.Header.Set("Authorization", "Bearer "+e.key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		sse = readSSE(t, res.Body)
		sse.heartbeat() // the stream is open
		cancel()
		res.Body.Close()
		for range sse.events {
		}
	})
}

// TestCalls_Recording: the recording downloads without an API key as a
// WAV attachment; recordingUrl points at it; unknown calls, calls without
// a recording and paths out of the folder are 404s.
func TestCalls_Recording(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		dir := t.TempDir()
		wav := []byte("RIFF\x24\x00\x00\x00WAVEfmt data")
		if err := os.MkdirAll(filepath.Join(dir, "2025", "03"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "2025", "03", "call.wav"), wav, 0o644); err != nil {
			t.Fatal(err)
		}
		secret := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-secret.wav")
		if err := os.WriteFile(secret, []byte("secret"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(secret) })
		e := newEnv(t, b, func(o *envOptions) { o.recordingsDir, o.publicURL = dir, "https://calls.example.com/" })
		n := e.createNumber(map[string]any{"agentId": e.createAgent(map[string]any{"name": "Bot"})["id"]})
		phone := n["phoneNumber"].(string)

		c := e.inbound(phone, "+12125550001")
		e.finish(c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, ptr("2025/03/call.wav"))
		got := e.do("GET", "/v1/calls/"+c.ID, nil).want(200).obj()
		if got["recordingUrl"] != "https://calls.example.com/v1/calls/"+c.ID+"/recording" || got["recordingAvailable"] != true {
			t.Fatalf("call %v", got)
		}
		r := e.do("GET", "/v1/calls/"+c.ID+"/recording", nil, noKey())
		if r.Status != 200 || r.Header.Get("Content-Type") != "audio/wav" || string(r.Body) != string(wav) ||
			r.Header.Get("Content-Disposition") != `attachment; filename="recording-`+c.ID+`.wav"` {
			t.Fatalf("recording: %d %v %q", r.Status, r.Header, r.Body)
		}
		// Ranges work (http.ServeContent).
		rr := e.do("GET", "/v1/calls/"+c.ID+"/recording", nil, noKey(), withHeader("Range", "bytes=0-3"))
		if rr.Status != http.StatusPartialContent || string(rr.Body) != "RIFF" {
			t.Fatalf("range: %d %q", rr.Status, rr.Body)
		}

		e.do("GET", "/v1/calls/call_nope/recording", nil, noKey()).wantDetail(404, "Call not found")
		none := e.inbound(phone, "+12125550002")
		e.do("GET", "/v1/calls/"+none.ID+"/recording", nil, noKey()).wantDetail(404, "Recording not found")
		if got := e.do("GET", "/v1/calls/"+none.ID, nil).want(200).obj(); got["recordingUrl"] != nil || got["recordingAvailable"] != false {
			t.Fatalf("call without a recording %v", got)
		}
		for _, path := range []string{"../" + filepath.Base(secret), "2025/03/missing.wav", "2025", "/etc/passwd"} {
			c := e.inbound(phone, "+12125550003")
			e.finish(c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, ptr(path))
			e.do("GET", "/v1/calls/"+c.ID+"/recording", nil, noKey()).wantDetail(404, "Recording not found")
		}

		// Without a public URL, the request's host; without a folder, no
		// download.
		e0 := newEnv(t, b)
		n0 := e0.createNumber(map[string]any{"agentId": e0.createAgent(map[string]any{"name": "Bot"})["id"]})
		c0 := e0.inbound(n0["phoneNumber"].(string), "+12125550001")
		e0.finish(c0.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, ptr("2025/03/call.wav"))
		if got := e0.do("GET", "/v1/calls/"+c0.ID, nil).want(200).obj(); got["recordingUrl"] != "http://example.com/v1/calls/"+c0.ID+"/recording" {
			t.Fatalf("recordingUrl %v", got["recordingUrl"])
		}
		e0.do("GET", "/v1/calls/"+c0.ID+"/recording", nil, noKey()).wantDetail(404, "Recording not found")
	})
}

// TestCalls_CallEndedWebhook: the end of a call reaches the agent's
// webhook, signed, with its whole transcript, its contact and the
// metadata of the conversation with the caller.
func TestCalls_CallEndedWebhook(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.startOutbox(t)
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		n := e.createNumber(map[string]any{"agentId": agent})
		numID, phone := n["id"].(string), n["phoneNumber"].(string)
		rc := newReceiver(t, http.StatusOK, "ok")
		secret := e.do("POST", "/v1/agents/"+agent+"/webhook", map[string]any{"url": rc.URL}).want(200).obj()["secret"].(string)
		// A text from the caller makes the conversation; it has metadata.
		m := e.do("POST", "/sandbox/v1/numbers/"+numID+"/inbound", map[string]any{"from": "+12125550001", "body": "hi"}).want(200).obj()
		rc.next() // its agent.message
		e.do("PATCH", "/v1/conversations/"+m["conversationId"].(string), map[string]any{"metadata": map[string]any{"orderId": "ORD-7"}}).want(200)
		ct := e.do("POST", "/v1/contacts", map[string]any{"phoneNumber": "+12125550001", "name": "Jane"}).want(201).obj()

		c := e.inbound(phone, "+12125550001")
		if err := e.calls.Answered(t.Context(), c.ID); err != nil {
			t.Fatal(err)
		}
		e.turn(c.ID, agentphone.RoleAgent, "Hello, how can I help?")
		e.turn(c.ID, agentphone.RoleUser, "Where is my order?")
		e.turn(c.ID, agentphone.RoleAgent, "It shipped yesterday.")
		e.finish(c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)

		r := rc.next()
		if err := webhook.Verify(secret, r.Header, r.Body, time.Now()); err != nil {
			t.Fatalf("signature: %v", err)
		}
		l := e.do("GET", "/v1/webhooks/deliveries", nil).want(200).obj()
		last := l["items"].([]any)[0].(map[string]any)
		if r.Header.Get("X-Webhook-Event") != "agent.call_ended" || r.Header.Get("X-Webhook-ID") != last["id"] ||
			last["eventType"] != "agent.call_ended" || last["channel"] != "voice" {
			t.Fatalf("headers %v, delivery %v", r.Header, last)
		}
		var env map[string]any
		if err := json.Unmarshal(r.Body, &env); err != nil {
			t.Fatal(err)
		}
		call := e.do("GET", "/v1/calls/"+c.ID, nil).want(200).obj()
		wantObject(t, env, map[string]any{
			"event": "agent.call_ended", "channel": "voice", "timestamp": call["endedAt"], "agentId": agent,
			"conversationState": map[string]any{"orderId": "ORD-7"}, "recentHistory": []any{},
			"data": map[string]any{
				"callId": c.ID, "numberId": numID, "from": "+12125550001", "to": phone,
				"contact":   map[string]any{"id": ct["id"], "name": "Jane", "email": nil, "phoneNumber": "+12125550001"},
				"direction": "inbound", "status": "completed", "startedAt": call["startedAt"], "endedAt": call["endedAt"],
				"durationSeconds": call["durationSeconds"], "disconnectionReason": "caller-hangup",
				"transcript": []any{
					map[string]any{"role": "agent", "content": "Hello, how can I help?"},
					map[string]any{"role": "user", "content": "Where is my order?"},
					map[string]any{"role": "agent", "content": "It shipped yesterday."},
				},
				"summary": nil, "userSentiment": nil, "callSuccessful": nil,
			},
		})
		// Finishing again sends nothing more.
		e.finish(c.ID, agentphone.CallFailed, agentphone.EndError, nil)
		if l := e.do("GET", "/v1/webhooks/deliveries", nil).want(200).obj(); l["total"] != 2.0 {
			t.Fatalf("deliveries after a second finish: %v", l["total"])
		}
		rc.none()
	})
}

// heldAnalyzer answers analysis once released.
type heldAnalyzer struct {
	release chan struct{}
	a       agentphone.CallAnalysis
}

func (h *heldAnalyzer) Analyze(ctx context.Context, _ *agentphone.Call, _ []*agentphone.Turn) (agentphone.CallAnalysis, error) {
	select {
	case <-h.release:
		return h.a, nil
	case <-ctx.Done():
		return agentphone.CallAnalysis{}, ctx.Err()
	}
}

// TestCalls_Analysis: a call shows its post-call analysis (summary,
// userSentiment, callSuccessful), null while it is made, in the detail
// and the list; the agent.call_ended webhook, sent once it is made,
// carries it.
func TestCalls_Analysis(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.startOutbox(t)
		an := &heldAnalyzer{release: make(chan struct{}), a: agentphone.CallAnalysis{
			Summary: ptr("The caller asked about an order."), UserSentiment: ptr(agentphone.SentimentPositive), CallSuccessful: ptr(true)}}
		e.calls.Analyzer = an
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		phone := e.createNumber(map[string]any{"agentId": agent})["phoneNumber"].(string)
		rc := newReceiver(t, http.StatusOK, "ok")
		e.do("POST", "/v1/agents/"+agent+"/webhook", map[string]any{"url": rc.URL}).want(200)

		c := e.inbound(phone, "+12125550001")
		e.turn(c.ID, agentphone.RoleUser, "Where is my order?")
		e.finish(c.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
		pending := e.do("GET", "/v1/calls/"+c.ID, nil).want(200).obj()
		if pending["status"] != "completed" || pending["endedAt"] == nil {
			t.Fatalf("the end waits for the analysis: %v", pending)
		}
		for _, k := range []string{"summary", "userSentiment", "callSuccessful"} {
			if v, ok := pending[k]; !ok || v != nil {
				t.Errorf("%s = %v (present %v) while the analysis is made, want null", k, v, ok)
			}
		}
		// agent.call_ended waits for the analysis.
		if l := e.do("GET", "/v1/webhooks/deliveries", nil).want(200).obj(); l["total"] != 0.0 {
			t.Fatalf("deliveries before the analysis: %v", l)
		}

		close(an.release)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		must(t, e.calls.WaitAnalyses(ctx))
		want := map[string]any{"summary": "The caller asked about an order.", "userSentiment": "Positive", "callSuccessful": true}
		detail := e.do("GET", "/v1/calls/"+c.ID, nil).want(200).obj()
		item := e.do("GET", "/v1/calls", nil).want(200).obj()["data"].([]any)[0].(map[string]any)
		for what, got := range map[string]map[string]any{"detail": detail, "list": item} {
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %s = %v, want %v", what, k, got[k], v)
				}
			}
		}
		r := rc.next()
		var env struct {
			Event string
			Data  map[string]any
		}
		must(t, json.Unmarshal(r.Body, &env))
		for k, v := range want {
			if env.Event != "agent.call_ended" || env.Data[k] != v {
				t.Errorf("webhook %s: %s = %v, want %v", env.Event, k, env.Data[k], v)
			}
		}
	})
}

// TestCalls_Usage: calls count in the usage summary, the series (with
// voice minutes), by number and by agent.
func TestCalls_Usage(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		agent := e.createAgent(map[string]any{"name": "Alpha"})["id"].(string)
		n1 := e.createNumber(map[string]any{"agentId": agent})
		n2 := e.createNumber(map[string]any{})
		var mu sync.Mutex
		clock := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		e.calls.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		tick := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
		started := clock

		c1 := e.inbound(n1["phoneNumber"].(string), "+12125550001") // completed, 90 s: 2 minutes
		must(t, e.calls.Answered(t.Context(), c1.ID))
		tick(90 * time.Second)
		e.finish(c1.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
		c2 := e.inbound(n1["phoneNumber"].(string), "+12125550002") // never answered
		e.finish(c2.ID, agentphone.CallCanceled, agentphone.EndCanceled, nil)
		// n2 answers calls while attached; its call stays the agent's after.
		e.do("POST", "/v1/agents/"+agent+"/numbers", map[string]any{"numberId": n2["id"]}).want(200)
		c3 := e.inbound(n2["phoneNumber"].(string), "+12125550003") // completed, 30 s: 1 minute
		must(t, e.calls.Answered(t.Context(), c3.ID))
		tick(30 * time.Second)
		e.finish(c3.ID, agentphone.CallCompleted, agentphone.EndCallerHangup, nil)
		e.do("DELETE", "/v1/agents/"+agent+"/numbers/"+n2["id"].(string), nil).want(200)

		stats := e.do("GET", "/v1/usage", nil).want(200).obj()["stats"].(map[string]any)
		if stats["totalCalls"] != 3.0 || stats["callsLast24h"] != 3.0 || stats["callsLast7d"] != 3.0 || stats["callsLast30d"] != 3.0 {
			t.Errorf("stats %v", stats)
		}
		day := started.Format(time.DateOnly)
		var found bool
		for _, it := range e.do("GET", "/v1/usage/daily?days=2", nil).want(200).obj()["data"].([]any) {
			if d := it.(map[string]any); d["date"] == day {
				found = true
				if d["calls"] != 3.0 || d["voiceMinutes"] != 3.0 {
					t.Errorf("day %v", d)
				}
			}
		}
		if !found {
			t.Errorf("no daily item for %s", day)
		}
		months := e.do("GET", "/v1/usage/monthly?months=2", nil).want(200).obj()["data"].([]any)
		calls, minutes := 0.0, 0.0
		for _, it := range months {
			calls += it.(map[string]any)["calls"].(float64)
			minutes += it.(map[string]any)["voiceMinutes"].(float64)
		}
		if calls != 3 || minutes != 3 {
			t.Errorf("months %v", months)
		}
		byNumber := map[string]float64{}
		for _, it := range e.do("GET", "/v1/usage/by-number", nil).want(200).obj()["data"].([]any) {
			byNumber[it.(map[string]any)["numberId"].(string)] = it.(map[string]any)["calls"].(float64)
		}
		if byNumber[n1["id"].(string)] != 2 || byNumber[n2["id"].(string)] != 1 {
			t.Errorf("by number %v", byNumber)
		}
		// By agent: completed calls and their seconds.
		if started.Year() != time.Now().UTC().Year() {
			t.Skip("the calls were made last year") // the hour after New Year
		}
		data := e.do("GET", "/v1/usage/by-agent?period=year", nil).want(200).obj()["data"].([]any)
		if len(data) != 1 {
			t.Fatalf("by agent %v", data)
		}
		wantObject(t, data[0].(map[string]any), map[string]any{"agentId": agent, "agentName": "Alpha", "messages": 0,
			"calls": 2, "totalSeconds": 120, "isOrphan": false})
	})
}

// TestSettings: the account's recording setting, null until set, with the
// effective value; per (sub-)account.
func TestSettings(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		const path = "/agentphone/v1/settings"
		wantObject(t, e.do("GET", path, nil).want(200).obj(), map[string]any{"recordCalls": nil, "recordingEnabled": false})
		wantObject(t, e.do("PATCH", path, map[string]any{"recordCalls": true}).want(200).obj(),
			map[string]any{"recordCalls": true, "recordingEnabled": true})
		wantObject(t, e.do("PATCH", path, map[string]any{"other": 1}).want(200).obj(),
			map[string]any{"recordCalls": true, "recordingEnabled": true})
		sub := e.createSub("s")
		wantObject(t, e.do("GET", path, nil, withSub(sub)).want(200).obj(), map[string]any{"recordCalls": nil, "recordingEnabled": false})
		wantObject(t, e.do("PATCH", path, map[string]any{"recordCalls": false}).want(200).obj(),
			map[string]any{"recordCalls": false, "recordingEnabled": false})
		wantObject(t, e.do("PATCH", path, map[string]any{"recordCalls": nil}).want(200).obj(),
			map[string]any{"recordCalls": nil, "recordingEnabled": false})
		if on, err := e.calls.Recording(t.Context(), e.accountID); err != nil || on {
			t.Fatalf("Recording = %v, %v", on, err)
		}
		e.do("PATCH", path, map[string]any{"recordCalls": "yes"}).wantErrs(fe("bool_type", "recordCalls"))
		e.do("PATCH", path, nil).wantErrs(fieldErr{loc: `["body"]`, typ: "missing"})
		e.do("GET", path, nil, noKey()).want(401)
		e.do("GET", path, nil, withSub("acct_nope")).wantDetail(404, "Sub-account not found")

		// The server's default shows through a null setting.
		e1 := newEnv(t, b, func(o *envOptions) { o.recordCalls = true })
		wantObject(t, e1.do("GET", path, nil).want(200).obj(), map[string]any{"recordCalls": nil, "recordingEnabled": true})
	})
}

// TestCalls_OpenAPI: the documented call schemas list exactly the keys the
// server emits, all required.
func TestCalls_OpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Backend{Name: "sqlite", Open: storetest.OpenSQLite})
	schemas := e.schemas()
	check := func(name string, obj map[string]any) {
		t.Helper()
		checkSchema(t, schemas, name, obj)
	}
	n := e.createNumber(map[string]any{"agentId": e.createAgent(map[string]any{"name": "Bot"})["id"]})
	c := e.inbound(n["phoneNumber"].(string), "+12125550001")
	e.turn(c.ID, agentphone.RoleUser, "hi")
	must(t, e.calls.AddTurn(t.Context(), &agentphone.Turn{CallID: c.ID, Role: agentphone.RoleAgent, Text: "Hello",
		Latency: &agentphone.TurnLatency{TotalMs: ptr(500.0)}}))
	detail := e.do("GET", "/v1/calls/"+c.ID, nil).want(200).obj()
	check("CallDetail", detail)
	// latency is the one key a turn may lack.
	turns := detail["transcripts"].([]any)
	checkSchema(t, schemas, "CallTurn", turns[0].(map[string]any), "latency")
	checkSchema(t, schemas, "CallTurn", turns[1].(map[string]any), "latency")
	check("TurnLatency", turns[1].(map[string]any)["latency"].(map[string]any))
	check("CallSummary", e.do("GET", "/v1/calls", nil).want(200).obj()["data"].([]any)[0].(map[string]any))
	check("CallListResponse", e.do("GET", "/v1/calls", nil).want(200).obj())
	check("CallTranscriptResponse", e.do("GET", "/v1/calls/"+c.ID+"/transcript", nil).want(200).obj())
	check("Settings", e.do("GET", "/agentphone/v1/settings", nil).want(200).obj())
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }
