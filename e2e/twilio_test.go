//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone/twilio/twiliotest"
	"github.com/agentphone/agentphone/webhook"
)

// hookReceiver is a webhook endpoint that verifies each request's
// signature and hands the decoded envelopes to the test.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	got    chan map[string]any
	bad    chan string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{got: make(chan map[string]any, 16), bad: make(chan string, 16)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		rc.mu.Lock()
		secret := rc.secret
		rc.mu.Unlock()
		if err == nil {
			err = webhook.Verify(secret, r.Header, body, time.Now())
		}
		var env map[string]any
		if err == nil {
			err = json.Unmarshal(body, &env)
		}
		if err != nil {
			rc.bad <- err.Error()
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		rc.got <- env
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next returns the next envelope, failing the test after timeout.
func (rc *hookReceiver) next(t *testing.T, timeout time.Duration) map[string]any {
	t.Helper()
	select {
	case env := <-rc.got:
		return env
	case why := <-rc.bad:
		t.Fatalf("webhook failed verification: %s", why)
	case <-time.After(timeout):
		t.Fatalf("no webhook within %s", timeout)
	}
	return nil
}

// TestTwilio runs the server against a local Twilio (twiliotest, which
// speaks Twilio's REST API and signs its webhooks as Twilio does): buy a
// number, send SMS and MMS with status callbacks, receive a text that
// reaches the agent's webhook, refuse a forged one, retry a send Twilio
// could not take, fail one Twilio refused, release the number.
func TestTwilio(t *testing.T) {
	forEachBackend(t, func(t *testing.T, databaseURL string) {
		ctx := t.Context()
		fake := twiliotest.NewServer()
		t.Cleanup(fake.Close)
		srv := startServer(t, databaseURL,
			"--twilio-account-sid", fake.AccountSID, "--twilio-auth-token", fake.AuthToken,
			"--twilio-base-url", fake.URL, "--message-retry-schedule", "1s,1s")
		call := func(method, path, body string, want int) map[string]any {
			t.Helper()
			return srv.api(t, method, path, body, want)
		}
		rc := newHookReceiver(t)
		hook := call("POST", "/v1/webhooks", fmt.Sprintf(`{"url": %q}`, rc.URL), 200)
		rc.mu.Lock()
		rc.secret = hook["secret"].(string)
		rc.mu.Unlock()
		agent := call("POST", "/v1/agents", `{"name": "Support"}`, 200)["id"].(string)

		// Twilio down: a 503 that names it, nothing bought.
		fake.FailNext(503, 20503, "Service Unavailable")
		if code, out := srv.post(t, "/v1/numbers", srv.Key, `{}`); code != 503 || !strings.Contains(out, "Number provider twilio") {
			t.Fatalf("buying while Twilio is down: %d %s", code, out)
		}
		// Buy: the number comes from Twilio, its texts pointed at us.
		num := call("POST", "/v1/numbers", fmt.Sprintf(`{"agentId": %q, "areaCode": "212"}`, agent), 200)
		phone := num["phoneNumber"].(string)
		owned := fake.Owned()
		if len(owned) != 1 || owned[0].PhoneNumber != phone || !strings.HasPrefix(phone, "+1212") ||
			owned[0].SMSURL != srv.URL+"/twilio/messages" || owned[0].SMSMethod != "POST" {
			t.Fatalf("Twilio owns %+v after buying %s", owned, phone)
		}

		// Send an SMS; Twilio's status callbacks move it to delivered.
		sent := call("POST", "/v1/messages", fmt.Sprintf(`{"agent_id": %q, "to_number": "(415) 555-0142", "body": "Your order shipped"}`, agent), 200)
		if sent["status"] != "sent" || sent["from_number"] != phone || sent["to_number"] != "+14155550142" {
			t.Fatalf("send answered %v", sent)
		}
		conv, id := sent["conversation_id"].(string), sent["id"].(string)
		tm := lastTwilioMessage(t, fake)
		if tm.From != phone || tm.To != "+14155550142" || tm.Body != "Your order shipped" ||
			tm.StatusCallback != srv.URL+"/twilio/messages/"+id+"/status" {
			t.Fatalf("Twilio got %+v", tm)
		}
		messageIn := func(id string) map[string]any {
			t.Helper()
			for _, m := range call("GET", "/v1/conversations/"+conv+"/messages", "", 200)["data"].([]any) {
				if m := m.(map[string]any); m["id"] == id {
					return m
				}
			}
			t.Fatalf("message %s not in conversation %s", id, conv)
			return nil
		}
		for _, st := range []string{"sent", "delivered", "sent"} { // the late "sent" changes nothing
			if resp, err := fake.SendStatus(ctx, tm.SID, st, 0); err != nil || resp.StatusCode/100 != 2 {
				t.Fatalf("status callback %s: %+v, %v", st, resp, err)
			}
		}
		if m := messageIn(id); m["status"] != "delivered" || m["errorMessage"] != nil {
			t.Fatalf("message after delivery: %v", m)
		}

		// An MMS Twilio could not deliver fails with Twilio's reason.
		mms := call("POST", "/v1/messages", fmt.Sprintf(`{"agent_id": %q, "to_number": "+14155550142", "body": "", "media_urls": ["https://cdn.example.com/receipt.png"]}`, agent), 200)
		tm = lastTwilioMessage(t, fake)
		if mms["channel"] != "mms" || len(tm.MediaURLs) != 1 || tm.MediaURLs[0] != "https://cdn.example.com/receipt.png" {
			t.Fatalf("MMS answered %v; Twilio got %+v", mms, tm)
		}
		if resp, err := fake.SendStatus(ctx, tm.SID, "undelivered", 30006); err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("status callback undelivered: %+v, %v", resp, err)
		}
		if m := messageIn(mms["id"].(string)); m["status"] != "failed" || !strings.Contains(fmt.Sprint(m["errorMessage"]), "30006") {
			t.Fatalf("undelivered MMS: %v", m)
		}

		// A text to the number reaches the agent's webhook, threaded.
		_, resp, err := fake.SendInbound(ctx, twiliotest.InboundMessage{From: "+14155550142", To: phone, Body: "Thanks! When will it arrive?"})
		if err != nil || resp.StatusCode != 200 || !strings.Contains(string(resp.Body), "<Response>") {
			t.Fatalf("inbound webhook: %+v, %v", resp, err)
		}
		env := rc.next(t, 10*time.Second)
		data, _ := env["data"].(map[string]any)
		history, _ := env["recentHistory"].([]any)
		if env["event"] != "agent.message" || env["channel"] != "sms" || env["agentId"] != agent ||
			data["message"] != "Thanks! When will it arrive?" || data["conversationId"] != conv || len(history) != 2 {
			t.Fatalf("agent.message envelope %v", env)
		}
		// Twilio retrying that webhook (same MessageSid) stores nothing new.
		sid := "SM" + randomHex(t, 16)
		retried := fake.InboundForm(sid, twiliotest.InboundMessage{From: "+14155550142", To: phone, Body: "Sent once, posted twice"})
		for range 2 {
			if resp, err := fake.Post(ctx, http.MethodPost, srv.URL+"/twilio/messages", retried); err != nil || resp.StatusCode != 200 {
				t.Fatalf("inbound webhook %s: %+v, %v", sid, resp, err)
			}
		}
		if env := rc.next(t, 10*time.Second); env["data"].(map[string]any)["message"] != "Sent once, posted twice" {
			t.Fatalf("agent.message envelope %v", env)
		}
		// A forged request (signed with another token) stores nothing.
		forger := twiliotest.NewServer()
		t.Cleanup(forger.Close)
		resp, err = forger.Post(ctx, http.MethodPost, srv.URL+"/twilio/messages",
			forger.InboundForm("SM"+randomHex(t, 16), twiliotest.InboundMessage{From: "+14155550142", To: phone, Body: "forged"}))
		if err != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("forged inbound: %+v, %v", resp, err)
		}
		if c := call("GET", "/v1/conversations/"+conv, "", 200); c["messageCount"] != 4.0 {
			t.Fatalf("conversation after a retried and a forged text: %v", c)
		}

		// Twilio cannot take a send now: it stays queued and goes out on
		// the retry.
		before := len(fake.Messages())
		fake.FailNext(503, 20503, "Service Unavailable")
		q := call("POST", "/v1/messages", fmt.Sprintf(`{"agent_id": %q, "to_number": "+14155550142", "body": "Retry me"}`, agent), 200)
		if q["status"] != "queued" {
			t.Fatalf("send during an outage answered %v", q)
		}
		deadline := time.Now().Add(20 * time.Second)
		for messageIn(q["id"].(string))["status"] != "sent" {
			if time.Now().After(deadline) {
				t.Fatalf("queued message not sent after the outage: %v", messageIn(q["id"].(string)))
			}
			time.Sleep(100 * time.Millisecond) // polling the API for the queue's work
		}
		if got := len(fake.Messages()); got != before+1 || lastTwilioMessage(t, fake).Body != "Retry me" {
			t.Fatalf("Twilio has %d messages after the retry, want %d", got, before+1)
		}
		// Twilio refuses a send for good: failed at once, with the reason.
		fake.FailNext(400, 21610, "Attempt to send to unsubscribed recipient")
		f := call("POST", "/v1/messages", fmt.Sprintf(`{"agent_id": %q, "to_number": "+14155550142", "body": "Refused"}`, agent), 200)
		if f["status"] != "failed" {
			t.Fatalf("refused send answered %v", f)
		}
		if m := messageIn(f["id"].(string)); !strings.Contains(fmt.Sprint(m["errorMessage"]), "21610") {
			t.Fatalf("refused message: %v", m)
		}

		// Release gives the number back to Twilio.
		call("DELETE", "/v1/numbers/"+num["id"].(string), "", 200)
		if owned := fake.Owned(); len(owned) != 0 {
			t.Fatalf("Twilio still owns %+v after release", owned)
		}
	})
}

// lastTwilioMessage is the newest message the fake holds.
func lastTwilioMessage(t *testing.T, fake *twiliotest.Server) twiliotest.Message {
	t.Helper()
	ms := fake.Messages()
	if len(ms) == 0 {
		t.Fatal("Twilio has no message")
	}
	return ms[len(ms)-1]
}
