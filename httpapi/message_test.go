package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/storetest"
)

// TestInboundMessageToWebhook: a text simulated on a sandbox number is
// stored, threaded and posted, signed, to the agent's webhook with the
// conversation's earlier messages as recentHistory and its metadata as
// conversationState; the conversation and number lists show it.
func TestInboundMessageToWebhook(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.startOutbox(t)
		agent := e.createAgent(map[string]any{"name": "Bot"})["id"].(string)
		num := e.createNumber(map[string]any{"agentId": agent})
		numID, phone := num["id"].(string), num["phoneNumber"].(string)
		rc := newReceiver(t, http.StatusOK, "ok")
		hook := e.do("POST", "/v1/agents/"+agent+"/webhook", map[string]any{"url": rc.URL, "contextLimit": 1}).want(200).obj()
		secret := hook["secret"].(string)
		inbound := "/sandbox/v1/numbers/" + numID + "/inbound"

		m1 := e.do("POST", inbound, map[string]any{"from": "(555) 123-4567", "body": "Hi, is my order ready?"}).want(200).obj()
		wantObject(t, m1, map[string]any{
			"id": idRE("msg_"), "conversationId": idRE("conv_"), "numberId": numID, "status": "received", "errorMessage": nil,
			"body": "Hi, is my order ready?", "fromNumber": "+15551234567", "toNumber": phone, "direction": "inbound",
			"senderIdentifier": nil, "channel": "sms", "mediaUrl": nil, "mediaUrls": []any{}, "receivedAt": timeRE, "reactions": []any{}, "replyTo": nil,
		})
		conv := m1["conversationId"].(string)
		r := rc.next()
		env := r.envelope(t, secret, r.Header.Get("X-Webhook-ID"))
		wantObject(t, env, map[string]any{
			"event": "agent.message", "channel": "sms", "timestamp": timeRE, "agentId": agent,
			"conversationState": nil, "recentHistory": []any{},
			"data": map[string]any{
				"messageId": m1["id"], "conversationId": conv, "numberId": numID, "from": "+15551234567", "to": phone,
				"contact": nil, "message": "Hi, is my order ready?", "mediaUrl": nil, "mediaUrls": []any{},
				"direction": "inbound", "receivedAt": m1["receivedAt"],
			},
		})

		// A contact with the sender's number is named in data.contact.
		ct := e.do("POST", "/v1/contacts", map[string]any{"phoneNumber": "+1 555 123 4567", "name": "Jane"}).want(201).obj()

		// Metadata becomes conversationState; the earlier message is history
		// (contextLimit 1: only the latest one).
		e.do("PATCH", "/v1/conversations/"+conv, map[string]any{"metadata": map[string]any{"orderId": "ORD-7"}}).want(200)
		m2 := e.do("POST", inbound, map[string]any{"from": "+15551234567", "body": "",
			"media_urls": []string{"https://cdn.example.com/a.png"}}).want(200).obj()
		if m2["conversationId"] != conv || m2["channel"] != "mms" || m2["mediaUrl"] != "https://cdn.example.com/a.png" {
			t.Fatalf("second message %v", m2)
		}
		r = rc.next()
		env = r.envelope(t, secret, r.Header.Get("X-Webhook-ID"))
		wantObject(t, env, map[string]any{
			"event": "agent.message", "channel": "mms", "timestamp": timeRE, "agentId": agent,
			"conversationState": map[string]any{"orderId": "ORD-7"},
			"recentHistory": []any{map[string]any{
				"messageId": m1["id"], "content": "Hi, is my order ready?", "direction": "inbound", "channel": "sms",
				"at": m1["receivedAt"],
			}},
			"data": map[string]any{
				"messageId": m2["id"], "conversationId": conv, "numberId": numID, "from": "+15551234567", "to": phone,
				"contact": map[string]any{"id": ct["id"], "name": "Jane", "email": nil, "phoneNumber": "+15551234567"},
				"message": "", "mediaUrl": "https://cdn.example.com/a.png",
				"mediaUrls": []any{"https://cdn.example.com/a.png"}, "direction": "inbound", "receivedAt": m2["receivedAt"],
			},
		})
		rc.none()

		// Lists.
		l := e.do("GET", "/v1/conversations", nil).want(200).obj()
		if l["total"] != 1.0 || l["hasMore"] != false {
			t.Fatalf("conversations %v", l)
		}
		wantObject(t, l["data"].([]any)[0].(map[string]any), map[string]any{
			"id": conv, "agentId": agent, "phoneNumberId": numID, "phoneNumber": phone, "participant": "+15551234567",
			"isGroup": false, "groupId": nil, "groupName": nil, "groupIconUrl": nil, "participants": nil,
			"lastMessageAt": m2["receivedAt"], "lastMessagePreview": "[media]", "messageCount": 2.0,
			"metadata": map[string]any{"orderId": "ORD-7"}, "createdAt": timeRE,
		})
		detail := e.do("GET", "/v1/conversations/"+conv+"?message_limit=1", nil).want(200).obj()
		if _, ok := detail["lastMessagePreview"]; ok {
			t.Error("conversation detail has lastMessagePreview")
		}
		if msgs := detail["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["id"] != m2["id"] {
			t.Fatalf("detail messages %v", msgs)
		}
		// The detail's messages are the latest, oldest first (spec §20.3).
		detail = e.do("GET", "/v1/conversations/"+conv, nil).want(200).obj()
		if ids := listIDs(map[string]any{"data": detail["messages"]}); !slices.Equal(ids, []string{m1["id"].(string), m2["id"].(string)}) {
			t.Fatalf("detail messages %v, want oldest first", ids)
		}
		cm := e.do("GET", "/v1/conversations/"+conv+"/messages", nil).want(200).obj()
		if ids := listIDs(cm); !slices.Equal(ids, []string{m2["id"].(string), m1["id"].(string)}) || cm["hasMore"] != false {
			t.Fatalf("conversation messages %v", cm)
		}
		nm := e.do("GET", "/v1/numbers/"+numID+"/messages?limit=1", nil).want(200).obj()
		if ids := listIDs(nm); !slices.Equal(ids, []string{m2["id"].(string)}) || nm["hasMore"] != true {
			t.Fatalf("number messages %v", nm)
		}
		wantObject(t, nm["data"].([]any)[0].(map[string]any), map[string]any{
			"id": m2["id"], "from_": "+15551234567", "to": phone, "body": "", "direction": "inbound", "channel": "mms",
			"receivedAt": m2["receivedAt"], "status": "received", "errorMessage": nil,
		})
		nm = e.do("GET", "/v1/numbers/"+numID+"/messages?before="+m2["receivedAt"].(string), nil).want(200).obj()
		if ids := listIDs(nm); !slices.Equal(ids, []string{m1["id"].(string)}) || nm["hasMore"] != false {
			t.Fatalf("number messages before the second %v", nm)
		}
		ac := e.do("GET", "/v1/agents/"+agent+"/conversations", nil).want(200).obj()
		if ac["total"] != 1.0 || ac["data"].([]any)[0].(map[string]any)["lastMessagePreview"] != "[media]" {
			t.Fatalf("agent conversations %v", ac)
		}

		// metadata null clears; a rename-only PATCH leaves it alone.
		e.do("PATCH", "/v1/conversations/"+conv, map[string]any{"metadata": map[string]any{"a": 1}}).want(200)
		if got := e.do("PATCH", "/v1/conversations/"+conv, map[string]any{"group_name": "x"}).want(200).obj(); got["metadata"] == nil {
			t.Fatal("a group_name-only PATCH cleared the metadata")
		}
		if got := e.do("PATCH", "/v1/conversations/"+conv, map[string]any{"metadata": nil}).want(200).obj(); got["metadata"] != nil {
			t.Fatalf("metadata after null: %v", got["metadata"])
		}
		e.do("PATCH", "/v1/conversations/"+conv, map[string]any{"metadata": []int{1}}).wantErrs(fe("dict_type", "metadata"))
		e.do("GET", "/v1/conversations/conv_nope", nil).wantDetail(404, "Conversation not found")
	})
}

// TestInboundMessageBadInput: each bad input is a 4xx naming the problem,
// and nothing is stored.
func TestInboundMessageBadInput(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		num := e.createNumber(map[string]any{})
		numID := num["id"].(string)
		inbound := "/sandbox/v1/numbers/" + numID + "/inbound"
		e.do("POST", inbound, map[string]any{"body": "hi"}).wantErrs(fe("missing", "from"))
		e.do("POST", inbound, map[string]any{"from": "not a phone", "body": "hi"}).wantErrs(fe("value_error", "from"))
		e.do("POST", inbound, map[string]any{"from": "+15551234567", "body": "  "}).wantErrs(fe("value_error", "body"))
		media := make([]string, 21)
		for i := range media {
			media[i] = fmt.Sprintf("https://cdn.example.com/%d.png", i)
		}
		e.do("POST", inbound, map[string]any{"from": "+15551234567", "body": "x", "media_urls": media}).
			wantErrs(fe("too_long", "media_urls"))
		e.do("POST", inbound, map[string]any{"from": "+15551234567", "body": "x", "media_urls": []string{"http://cdn.example.com/a.png"}}).
			wantErrs(fe("value_error", "media_urls", 0))
		e.do("POST", "/sandbox/v1/numbers/num_nope/inbound", map[string]any{"from": "+15551234567", "body": "x"}).
			wantDetail(404, "Phone number not found")
		e.do("DELETE", "/v1/numbers/"+numID, nil).want(200)
		r := e.do("POST", inbound, map[string]any{"from": "+15551234567", "body": "x"}).want(400)
		if !strings.Contains(string(r.Body), "released") {
			t.Errorf("released number: %s", r.Body)
		}
		if l := e.do("GET", "/v1/numbers/"+numID+"/messages", nil).want(200).obj(); len(l["data"].([]any)) != 0 {
			t.Fatalf("messages stored by bad requests: %v", l)
		}
	})
}

func listIDs(l map[string]any) []string {
	var ids []string
	for _, it := range l["data"].([]any) {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

// TestSendMessage: a text from one agent's sandbox number to another's is
// stored in both conversations, delivered, and posted to the receiving
// agent's webhook; every bad input is a 4xx naming the problem and stores
// nothing.
func TestSendMessage(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.startOutbox(t)
		alice := e.createAgent(map[string]any{"name": "Alice"})["id"].(string)
		bob := e.createAgent(map[string]any{"name": "Bob"})["id"].(string)
		na := e.createNumber(map[string]any{"agentId": alice})
		nb := e.createNumber(map[string]any{"agentId": bob})
		rc := newReceiver(t, http.StatusOK, "ok")
		hook := e.do("POST", "/v1/agents/"+bob+"/webhook", map[string]any{"url": rc.URL}).want(200).obj()

		sent := e.do("POST", "/v1/messages", map[string]any{"agent_id": alice, "to_number": nb["phoneNumber"], "body": "hello Bob"}).want(200).obj()
		wantObject(t, sent, map[string]any{
			"id": idRE("msg_"), "status": "delivered", "channel": "sms", "from_number": na["phoneNumber"],
			"to_number": nb["phoneNumber"], "conversation_id": idRE("conv_"), "media_urls": []any{},
			"reply_to_message_id": nil, "reply_parent_unresolved": nil, "error_message": nil,
		})
		r := rc.next()
		env := r.envelope(t, hook["secret"].(string), r.Header.Get("X-Webhook-ID"))
		data := env["data"].(map[string]any)
		if env["agentId"] != bob || data["from"] != na["phoneNumber"] || data["to"] != nb["phoneNumber"] || data["message"] != "hello Bob" {
			t.Fatalf("Bob's webhook got %v", env)
		}
		// Alice's side: an outbound message in her conversation with Bob's number.
		cm := e.do("GET", "/v1/conversations/"+sent["conversation_id"].(string)+"/messages", nil).want(200).obj()
		msgs := cm["data"].([]any)
		if len(msgs) != 1 || msgs[0].(map[string]any)["direction"] != "outbound" || msgs[0].(map[string]any)["id"] != sent["id"] {
			t.Fatalf("Alice's conversation: %v", cm)
		}
		conv := e.do("GET", "/v1/conversations/"+sent["conversation_id"].(string), nil).want(200).obj()
		if conv["participant"] != nb["phoneNumber"] || conv["agentId"] != alice {
			t.Fatalf("Alice's conversation %v", conv)
		}

		// MMS to the outside world, by number_id, as a reply.
		mms := e.do("POST", "/v1/messages", map[string]any{"number_id": na["id"], "to_number": "(415) 555-0199", "body": "",
			"media_url": "https://cdn.example.com/label.png", "reply_to_message_id": "msg_x"}).want(200).obj()
		wantObject(t, mms, map[string]any{
			"id": idRE("msg_"), "status": "delivered", "channel": "mms", "from_number": na["phoneNumber"],
			"to_number": "+14155550199", "conversation_id": idRE("conv_"), "media_urls": []any{"https://cdn.example.com/label.png"},
			"reply_to_message_id": "msg_x", "reply_parent_unresolved": true, "error_message": nil,
		})
		// from_number selects too.
		e.do("POST", "/v1/messages", map[string]any{"from_number": na["phoneNumber"], "to_number": "+14155550199", "body": "again"}).want(200)
		count := func() int {
			return len(e.do("GET", "/v1/numbers/"+na["id"].(string)+"/messages?limit=200", nil).want(200).obj()["data"].([]any))
		}
		before := count()
		if before != 3 {
			t.Fatalf("%d messages on Alice's number, want 3", before)
		}

		body := func(kv ...any) map[string]any {
			m := map[string]any{"agent_id": alice, "to_number": "+14155550199", "body": "x"}
			for i := 0; i < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(m, kv[i].(string))
				} else {
					m[kv[i].(string)] = kv[i+1]
				}
			}
			return m
		}
		media := make([]string, 21)
		for i := range media {
			media[i] = fmt.Sprintf("https://cdn.example.com/%d.png", i)
		}
		e.do("POST", "/v1/messages", body("body", nil)).wantErrs(fe("missing", "body"))
		e.do("POST", "/v1/messages", body("body", " ")).wantErrs(fe("value_error", "body"))
		e.do("POST", "/v1/messages", body("to_number", "call me")).wantErrs(fe("value_error", "to_number"))
		e.do("POST", "/v1/messages", body("to_number", nil)).wantErrs(fe("value_error", "to_number"))
		e.do("POST", "/v1/messages", body("media_urls", media)).wantErrs(fe("too_long", "media_urls"))
		e.do("POST", "/v1/messages", body("media_urls", []string{"http://cdn.example.com/a.png"})).wantErrs(fe("value_error", "media_urls", 0))
		e.do("POST", "/v1/messages", body("media_urls", []string{"https://a.example/1.png"}, "media_url", "https://a.example/2.png")).
			wantErrs(fe("value_error", "media_url"))
		e.do("POST", "/v1/messages", body("send_style", "party")).wantErrs(fe("literal_error", "send_style"))
		e.do("POST", "/v1/messages", body("agent_id", nil)).wantErrs(fe("value_error", "from_number"))
		e.do("POST", "/v1/messages", body("number_id", "num_nope")).wantDetail(404, "Number num_nope not found")
		e.do("POST", "/v1/messages", body("number_id", nb["id"])).
			wantDetail(400, fmt.Sprintf("Number %s is not attached to agent %s", nb["phoneNumber"], alice))
		e.do("POST", "/v1/messages", body("agent_id", nil, "from_number", "+15555550000")).
			wantDetail(400, "from_number +15555550000 is not an active number of this account")
		e.do("POST", "/v1/messages", body("to_number", nil, "recipients", []string{"+14155550100", "+14155550101"})).
			wantDetail(400, fmt.Sprintf("group messages (recipients) need an iMessage-capable number; %s (provider sandbox) carries SMS/MMS only", na["phoneNumber"]))
		e.do("POST", "/v1/messages", body("send_style", "confetti")).
			wantDetail(400, fmt.Sprintf("message effects (send_style) need an iMessage-capable number; %s (provider sandbox) carries SMS/MMS only", na["phoneNumber"]))
		e.do("POST", "/v1/messages", body("agent_id", nil, "number_id", nb["id"], "to_number", nb["phoneNumber"])).
			wantDetail(400, fmt.Sprintf("A number cannot text itself (%s)", nb["phoneNumber"]))
		e.do("DELETE", "/v1/numbers/"+na["id"].(string), nil).want(200)
		e.do("POST", "/v1/messages", body("agent_id", nil, "number_id", na["id"])).
			wantDetail(400, fmt.Sprintf("Number %s is released and cannot send messages", na["phoneNumber"]))
		e.do("POST", "/v1/messages", body()).wantDetail(400, fmt.Sprintf("Agent %s has no active number to send from; attach one first", alice))
		if n := count(); n != before {
			t.Fatalf("%d messages after bad sends, want %d", n, before)
		}
		rc.none()
	})
}

// sentTo records the messages a test carrier was given.
type sentTo struct {
	mu   sync.Mutex
	sent []string // message ids
	fail error
}

func (c *sentTo) SendMessage(_ context.Context, _ *agentphone.Number, m *agentphone.Message) (agentphone.SentMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m.ID)
	if c.fail != nil {
		return agentphone.SentMessage{}, c.fail
	}
	return agentphone.SentMessage{ProviderRef: "ref-" + m.ID, Status: agentphone.MessageSent}, nil
}

// TestSendQueue: the send queue hands over messages whose first hand-over
// was lost with their process once their lease ends, once each; retries
// temporary refusals on the schedule and then fails the message with the
// reason; fails it at once on a permanent refusal; and carrier status
// callbacks only move a status forward.
func TestSendQueue(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		ctx := t.Context()
		num := e.createNumber(map[string]any{})
		n, err := e.store.GetNumber(ctx, e.accountID, num["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		const lease = time.Minute
		queued := func(to string, due time.Time) *agentphone.Message {
			now := agentphone.Now()
			m := &agentphone.Message{
				ID: agentphone.NewID(agentphone.PrefixMessage), AccountID: e.accountID, NumberID: n.ID,
				Direction: agentphone.DirectionOutbound, From: n.PhoneNumber, To: to, Body: "left behind", MediaURLs: []string{},
				Channel: agentphone.ChannelSMS, Status: agentphone.MessageQueued, CreatedAt: now, UpdatedAt: now,
				NextAttemptAt: &due,
			}
			if _, err := e.store.CreateOutboundMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		carrier := &sentTo{}
		svc := &agentphone.MessageService{Store: e.store, Senders: map[string]agentphone.MessageSender{"sandbox": carrier},
			SendRetry: []time.Duration{10 * time.Second, 30 * time.Second}, SendLease: lease}
		get := func(id string) *agentphone.Message {
			t.Helper()
			m, err := e.store.GetMessage(ctx, e.accountID, id)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		sendDue := func(now time.Time, want int) {
			t.Helper()
			if got, err := svc.SendDue(ctx, now); err != nil || got != want {
				t.Fatalf("SendDue(now%+v) = %d, %v; want %d", now.Sub(agentphone.Now()).Round(time.Second), got, err, want)
			}
		}

		// Stored by Send in a process that died before the hand-over.
		m1 := queued("+14155550101", agentphone.Now().Add(lease))
		m2 := queued("+14155550102", agentphone.Now().Add(lease))
		sendDue(agentphone.Now(), 0) // their lease is not over: a live process may be handing them over
		sendDue(agentphone.Now().Add(lease+time.Second), 2)
		if !slices.Equal(carrier.sent, []string{m1.ID, m2.ID}) && !slices.Equal(carrier.sent, []string{m2.ID, m1.ID}) {
			t.Fatalf("carrier got %v, want %s and %s", carrier.sent, m1.ID, m2.ID)
		}
		for _, id := range []string{m1.ID, m2.ID} {
			if m := get(id); m.Status != agentphone.MessageSent || m.ProviderRef == nil || *m.ProviderRef != "ref-"+id ||
				m.SendAttempts != 1 || m.NextAttemptAt != nil {
				t.Fatalf("message %s after its hand-over: %+v", id, m)
			}
		}
		sendDue(agentphone.Now().Add(time.Hour), 0) // nothing is sent twice

		// A temporary refusal keeps the message queued until the schedule
		// runs out, then fails it with the reason.
		carrier.fail = agentphone.Temporary(errors.New("rate limited"))
		m3 := queued("+14155550103", agentphone.Now())
		sendDue(agentphone.Now(), 1)
		if m := get(m3.ID); m.Status != agentphone.MessageQueued || m.SendAttempts != 1 || m.NextAttemptAt == nil ||
			m.NextAttemptAt.Sub(agentphone.Now()) < 9*time.Second || m.NextAttemptAt.Sub(agentphone.Now()) > 10*time.Second {
			t.Fatalf("message after a temporary refusal: %+v", m)
		}
		sendDue(agentphone.Now(), 0)
		sendDue(agentphone.Now().Add(11*time.Second), 1)
		if m := get(m3.ID); m.Status != agentphone.MessageQueued || m.SendAttempts != 2 {
			t.Fatalf("message after a second temporary refusal: %+v", m)
		}
		sendDue(agentphone.Now().Add(31*time.Second), 1)
		if m := get(m3.ID); m.Status != agentphone.MessageFailed || m.SendAttempts != 3 || m.NextAttemptAt != nil ||
			m.ErrorMessage == nil || *m.ErrorMessage != "rate limited (gave up after 3 attempts)" {
			t.Fatalf("message after the last retry: %+v", m)
		}
		// One temporary refusal, then the carrier takes it.
		m4 := queued("+14155550104", agentphone.Now())
		sendDue(agentphone.Now(), 1)
		carrier.fail = nil
		sendDue(agentphone.Now().Add(11*time.Second), 1)
		if m := get(m4.ID); m.Status != agentphone.MessageSent || m.SendAttempts != 2 || m.ErrorMessage != nil {
			t.Fatalf("message sent on its retry: %+v", m)
		}
		// A permanent refusal fails the message at once.
		carrier.fail = errors.New("carrier says no")
		m5 := queued("+14155550105", agentphone.Now())
		sendDue(agentphone.Now(), 1)
		if m := get(m5.ID); m.Status != agentphone.MessageFailed || m.ErrorMessage == nil || *m.ErrorMessage != "carrier says no" {
			t.Fatalf("refused message: %+v", m)
		}

		// Status callbacks: forward only, and only for the right carrier id.
		if err := svc.CarrierStatus(ctx, m1.ID, "ref-"+m1.ID, agentphone.MessageDelivered, nil); err != nil {
			t.Fatal(err)
		}
		if err := svc.CarrierStatus(ctx, m1.ID, "ref-"+m1.ID, agentphone.MessageSent, nil); err != nil {
			t.Fatalf("a late sent callback: %v", err)
		}
		if m := get(m1.ID); m.Status != agentphone.MessageDelivered {
			t.Fatalf("delivered message after a late sent callback: %+v", m)
		}
		reason := "Twilio error 30006: Landline or unreachable carrier"
		if err := svc.CarrierStatus(ctx, m2.ID, "ref-"+m2.ID, agentphone.MessageFailed, &reason); err != nil {
			t.Fatal(err)
		}
		if m := get(m2.ID); m.Status != agentphone.MessageFailed || m.ErrorMessage == nil || *m.ErrorMessage != reason {
			t.Fatalf("undelivered message: %+v", m)
		}
		for _, c := range []struct{ id, ref string }{{m1.ID, "ref-other"}, {"msg_nope", "ref-x"}} {
			if err := svc.CarrierStatus(ctx, c.id, c.ref, agentphone.MessageDelivered, nil); agentphone.ErrorKind(err) != agentphone.KindNotFound {
				t.Fatalf("CarrierStatus(%s, %s) = %v, want not found", c.id, c.ref, err)
			}
		}
		if err := svc.CarrierStatus(ctx, m1.ID, "ref-"+m1.ID, "read", nil); agentphone.ErrorKind(err) != agentphone.KindBadRequest {
			t.Fatalf("CarrierStatus with status read = %v", err)
		}
	})
}
