package agentphone_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
)

// specCall is the call of spec §15.6's example.
func specCall() *agentphone.Call {
	agent, number := "agt_7Hc2kQ", "num_9xQ"
	return &agentphone.Call{
		ID: "call_ghi012", AccountID: "acct_1", AgentID: &agent, NumberID: &number, PhoneNumber: ptr("+14155551234"),
		From: "+15559876543", To: "+14155551234", Direction: agentphone.DirectionInbound, Type: agentphone.CallTypePSTN,
		Status: agentphone.CallInProgress, StartedAt: time.Date(2025, 1, 15, 13, 59, 58, 0, time.UTC),
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// TestVoiceTurnEnvelope_Spec: the envelope is spec §15.6's example, key
// for key and in its order (times with this server's six fractional
// digits); dtmf, our addition, comes last in data and only when keys
// were pressed; a web call has a null numberId; the conversation state is
// passed through.
func TestVoiceTurnEnvelope_Spec(t *testing.T) {
	t.Parallel()
	c := specCall()
	greeting := &agentphone.Turn{ID: "tr_1", CallID: c.ID, Role: agentphone.RoleAgent, Text: "Hello, how can I help?",
		StartedAt: time.Date(2025, 1, 15, 14, 0, 0, 0, time.UTC)}
	now := time.Date(2025, 1, 15, 14, 0, 5, 0, time.UTC)
	env := agentphone.VoiceTurnEnvelope(c, "I need help with my order", 0.95, "", []*agentphone.Turn{greeting}, nil, 10, nil, now)
	got, err := json.Marshal(env)
	must(t, err)
	want := `{"event":"agent.message","channel":"voice","timestamp":"2025-01-15T14:00:05.000000Z","agentId":"agt_7Hc2kQ",` +
		`"data":{"callId":"call_ghi012","numberId":"num_9xQ","from":"+15559876543","to":"+14155551234",` +
		`"status":"in-progress","transcript":"I need help with my order","confidence":0.95,"direction":"inbound"},` +
		`"conversationState":null,` +
		`"recentHistory":[{"content":"Hello, how can I help?","direction":"outbound","channel":"voice","at":"2025-01-15T14:00:00.000000Z"}]}`
	if string(got) != want {
		t.Fatalf("envelope\n got %s\nwant %s", got, want)
	}

	// Keys pressed, a web call, a conversation state, no history.
	web := specCall()
	web.NumberID, web.PhoneNumber, web.Direction, web.Type = nil, nil, agentphone.DirectionWeb, agentphone.CallTypeWeb
	env = agentphone.VoiceTurnEnvelope(web, "", 0, "12#", nil, nil, 10, json.RawMessage(`{"orderId":"ORD-1"}`), now)
	got, err = json.Marshal(env)
	must(t, err)
	want = `{"event":"agent.message","channel":"voice","timestamp":"2025-01-15T14:00:05.000000Z","agentId":"agt_7Hc2kQ",` +
		`"data":{"callId":"call_ghi012","numberId":null,"from":"+15559876543","to":"+14155551234",` +
		`"status":"in-progress","transcript":"","confidence":0,"direction":"web","dtmf":"12#"},` +
		`"conversationState":{"orderId":"ORD-1"},"recentHistory":[]}`
	if string(got) != want {
		t.Fatalf("envelope\n got %s\nwant %s", got, want)
	}
	// The event type, channel and agent are those the outbox and the
	// delivery log read.
	if env.Event != agentphone.EventMessage || env.Channel != agentphone.ChannelVoice || env.AgentID != web.AgentID {
		t.Fatalf("envelope %+v", env)
	}
}

// TestVoiceTurnEnvelope_History: recentHistory is the last contextLimit
// turns with text, oldest first, the caller's inbound and the agent's
// outbound; a user turn's response is not repeated; a limit of 0 gives [].
func TestVoiceTurnEnvelope_History(t *testing.T) {
	t.Parallel()
	c := specCall()
	base := time.Date(2025, 1, 15, 14, 0, 0, 0, time.UTC)
	var history []*agentphone.Turn
	for i, tt := range []struct{ role, text string }{
		{agentphone.RoleAgent, "Hello, how can I help?"},
		{agentphone.RoleUser, "Hi"},
		{agentphone.RoleUser, ""}, // keys only
		{agentphone.RoleAgent, "What is your order number?"},
		{agentphone.RoleUser, "4521"},
		{agentphone.RoleAgent, "Let me check."},
	} {
		history = append(history, &agentphone.Turn{Role: tt.role, Text: tt.text, StartedAt: base.Add(time.Duration(i) * time.Second)})
	}
	history[1].Response = ptr("What is your order number?")
	item := func(i int, dir string) agentphone.HistoryItem {
		return agentphone.HistoryItem{Content: history[i].Text, Direction: dir, Channel: agentphone.ChannelVoice,
			At: agentphone.JSONTime(history[i].StartedAt)}
	}
	all := []agentphone.HistoryItem{item(0, "outbound"), item(1, "inbound"), item(3, "outbound"), item(4, "inbound"), item(5, "outbound")}
	for _, tt := range []struct {
		limit int
		want  []agentphone.HistoryItem
	}{
		{0, []agentphone.HistoryItem{}},
		{-1, []agentphone.HistoryItem{}},
		{1, all[4:]},
		{3, all[2:]},
		{4, all[1:]}, // the empty turn between is not counted
		{5, all},
		{50, all},
	} {
		env := agentphone.VoiceTurnEnvelope(c, "It shipped?", 0.9, "", history, nil, tt.limit, nil, base.Add(time.Minute))
		if !reflect.DeepEqual(env.RecentHistory, tt.want) {
			t.Errorf("limit %d: %+v, want %+v", tt.limit, env.RecentHistory, tt.want)
		}
	}
	if env := agentphone.VoiceTurnEnvelope(c, "x", 1, "", nil, nil, 10, nil, base); env.RecentHistory == nil {
		t.Error("no history is nil, want [] on the wire")
	}
	// The conversation's texts are mixed in by time (spec §20.17).
	texts := []*agentphone.Message{
		{ID: "msg_1", Body: "Order 4521 please", Direction: "inbound", Channel: "sms", CreatedAt: base.Add(-time.Hour)},
		{ID: "msg_2", Body: "Sent you the link", Direction: "outbound", Channel: "sms", CreatedAt: base.Add(3500 * time.Millisecond)},
	}
	id1, id2 := "msg_1", "msg_2"
	text1 := agentphone.HistoryItem{MessageID: &id1, Content: "Order 4521 please", Direction: "inbound", Channel: "sms", At: agentphone.JSONTime(texts[0].CreatedAt)}
	text2 := agentphone.HistoryItem{MessageID: &id2, Content: "Sent you the link", Direction: "outbound", Channel: "sms", At: agentphone.JSONTime(texts[1].CreatedAt)}
	mixed := []agentphone.HistoryItem{text1, all[0], all[1], all[2], text2, all[3], all[4]}
	for _, tt := range []struct {
		limit int
		want  []agentphone.HistoryItem
	}{{50, mixed}, {3, mixed[4:]}, {0, []agentphone.HistoryItem{}}} {
		env := agentphone.VoiceTurnEnvelope(c, "It shipped?", 0.9, "", history, texts, tt.limit, nil, base.Add(time.Minute))
		if !reflect.DeepEqual(env.RecentHistory, tt.want) {
			t.Errorf("with texts, limit %d: %+v, want %+v", tt.limit, env.RecentHistory, tt.want)
		}
	}
}

// TestWebhookService_Target: a voice turn goes to the agent's own webhook,
// else the project webhook, else nowhere.
func TestWebhookService_Target(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	webhooks := &agentphone.WebhookService{Store: f.store}
	agents := &agentphone.AgentService{Store: f.store, Voices: testCatalog{}}
	other, err := agents.Create(ctx, f.sc, agentphone.AgentInput{Name: agentphone.Some("Other")})
	must(t, err)

	for _, agentID := range []*string{nil, &f.agent.ID} {
		if w, err := webhooks.Target(ctx, f.acct.ID, agentID); err != nil || w != nil {
			t.Fatalf("no webhook: %+v, %v", w, err)
		}
	}
	project, err := webhooks.Upsert(ctx, f.sc, nil, agentphone.WebhookInput{URL: agentphone.Some("https://example.com/project")})
	must(t, err)
	own, err := webhooks.Upsert(ctx, f.sc, &f.agent.ID, agentphone.WebhookInput{
		URL: agentphone.Some("https://example.com/agent"), ContextLimit: agentphone.Some(3), Timeout: agentphone.Some(7),
	})
	must(t, err)
	for _, tt := range []struct {
		name    string
		agentID *string
		want    *agentphone.Webhook
	}{
		{"no agent", nil, project},
		{"an agent with its own", &f.agent.ID, own},
		{"an agent without", &other.ID, project},
	} {
		w, err := webhooks.Target(ctx, f.acct.ID, tt.agentID)
		if err != nil || w == nil || w.ID != tt.want.ID || w.URL != tt.want.URL || w.Secret != tt.want.Secret ||
			w.ContextLimit != tt.want.ContextLimit || w.Timeout != tt.want.Timeout {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, w, err, tt.want)
		}
	}
	// Another account sees neither.
	if w, err := webhooks.Target(ctx, "acct_other", &f.agent.ID); err != nil || w != nil {
		t.Errorf("another account: %+v, %v", w, err)
	}
}

// TestCallService_ConversationContext: a call's voice turns carry the
// metadata of the conversation of its number with the other party, or
// null, and its last texts, oldest first.
func TestCallService_ConversationContext(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	c, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-1")
	must(t, err)
	state := func(c *agentphone.Call) string {
		t.Helper()
		s, _, err := f.svc.ConversationContext(ctx, c, 10)
		must(t, err)
		return string(s)
	}
	if s := state(c); s != "null" {
		t.Fatalf("no conversation: %s", s)
	}
	messages := &agentphone.MessageService{Store: f.store, Webhooks: &agentphone.WebhookService{Store: f.store}}
	m, err := messages.ReceiveAt(ctx, "+15555550100", agentphone.InboundInput{From: "+15551234567", Body: "hi"})
	must(t, err)
	if s := state(c); s != "null" {
		t.Fatalf("a conversation without metadata: %s", s)
	}
	_, err = f.store.SetConversationMetadata(ctx, f.acct.ID, m.ConversationID, json.RawMessage(`{"orderId":"ORD-1"}`))
	must(t, err)
	if s := state(c); s != `{"orderId":"ORD-1"}` {
		t.Fatalf("metadata: %s", s)
	}
	_, err = messages.ReceiveAt(ctx, "+15555550100", agentphone.InboundInput{From: "+15551234567", Body: "order ORD-1"})
	must(t, err)
	for _, tt := range []struct {
		limit int
		want  string
	}{{10, "hi|order ORD-1"}, {1, "order ORD-1"}, {0, ""}} {
		_, texts, err := f.svc.ConversationContext(ctx, c, tt.limit)
		must(t, err)
		var bodies []string
		for _, m := range texts {
			bodies = append(bodies, m.Body)
		}
		if got := strings.Join(bodies, "|"); got != tt.want {
			t.Errorf("limit %d: texts %q, want %q", tt.limit, got, tt.want)
		}
	}
	// Another caller's conversation is not this call's; a web call has none.
	c2, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15559999999", "sip-2")
	must(t, err)
	if s := state(c2); s != "null" {
		t.Fatalf("another caller: %s", s)
	}
	web := *c
	web.NumberID = nil
	if s := state(&web); s != "null" {
		t.Fatalf("web call: %s", s)
	}
}

// TestCallService_TurnLatency: a turn's latency is stored and read back
// with it, and a replayed turn reported again with another latency is a
// change a subscription reports.
func TestCallService_TurnLatency(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	c, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-1")
	must(t, err)
	l := &agentphone.TurnLatency{EndOfSpeechToTranscriptMs: ptr(180.25), TranscriptToDecisionMs: ptr(5.0), TotalMs: ptr(700.5)}
	tr := &agentphone.Turn{CallID: c.ID, Role: agentphone.RoleAgent, Text: "It shipped.", Latency: l}
	must(t, f.svc.AddTurn(ctx, tr))
	same := &agentphone.Turn{CallID: c.ID, Role: agentphone.RoleAgent, Text: "Anything else?", Latency: l}
	must(t, f.svc.AddTurn(ctx, same))
	turns, err := f.svc.Transcript(ctx, f.sc, c.ID)
	must(t, err)
	if len(turns) != 2 || !reflect.DeepEqual(turns[0].Latency, l) {
		t.Fatalf("turns %+v", turns)
	}

	sub, err := f.svc.Subscribe(ctx, f.sc, c.ID)
	must(t, err)
	defer sub.Close()
	again := *same // unchanged: the replay already holds it
	must(t, f.svc.AddTurn(ctx, &again))
	changed := *tr
	changed.Latency = &agentphone.TurnLatency{TotalMs: ptr(650.0)}
	must(t, f.svc.AddTurn(ctx, &changed))
	var got []agentphone.CallUpdate
	for len(got) < 1 {
		select {
		case <-sub.Ready():
			got = append(got, sub.Updates()...)
		case <-time.After(5 * time.Second):
			t.Fatal("no update")
		}
	}
	if len(got) != 1 || got[0].Turn == nil || got[0].Turn.ID != tr.ID || *got[0].Turn.Latency.TotalMs != 650 {
		t.Fatalf("updates %+v", got)
	}
}

// TestTextHistoryHasCallTurns: an inbound text's recentHistory mixes in
// the turns of the calls with the same party (spec §20.17).
func TestTextHistoryHasCallTurns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newCallFixture(t)
	webhooks := &agentphone.WebhookService{Store: f.store}
	_, err := webhooks.Upsert(ctx, f.sc, nil, agentphone.WebhookInput{URL: agentphone.Some("https://example.com/hook")})
	must(t, err)
	c, _, _, err := f.svc.RouteInbound(ctx, "+15555550100", "+15551234567", "sip-1")
	must(t, err)
	at := agentphone.Now().Add(-time.Minute)
	must(t, f.svc.AddTurn(ctx, &agentphone.Turn{CallID: c.ID, Role: agentphone.RoleAgent, Text: "Hello, Acme here.", StartedAt: at}))
	must(t, f.svc.AddTurn(ctx, &agentphone.Turn{CallID: c.ID, Role: agentphone.RoleUser, Text: "Text me the address.", StartedAt: at.Add(time.Second)}))
	messages := &agentphone.MessageService{Store: f.store, Webhooks: webhooks}
	_, err = messages.ReceiveAt(ctx, "+15555550100", agentphone.InboundInput{From: "+15551234567", Body: "Thanks!"})
	must(t, err)
	l, err := f.store.ListDeliveries(ctx, f.acct.ID, agentphone.DeliveryFilter{}, agentphone.Page{Limit: 10})
	must(t, err)
	if len(l.Items) != 1 {
		t.Fatalf("%d deliveries", len(l.Items))
	}
	d, err := f.store.GetDelivery(ctx, f.acct.ID, l.Items[0].ID)
	must(t, err)
	var env struct {
		RecentHistory []struct{ Content, Direction, Channel string } `json:"recentHistory"`
	}
	must(t, json.Unmarshal(d.Payload, &env))
	var got []string
	for _, h := range env.RecentHistory {
		got = append(got, h.Channel+" "+h.Direction+": "+h.Content)
	}
	want := "voice outbound: Hello, Acme here.|voice inbound: Text me the address."
	if strings.Join(got, "|") != want {
		t.Fatalf("recentHistory %q, want %q", strings.Join(got, "|"), want)
	}
}
