//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone/openai/openaitest"
)

// TestHostedCall runs the real binary with SIP on and its LLM at a server
// of OpenAI's chat-completions API (openaitest): a hosted agent created
// through the API answers a call with its greeting (variables filled),
// answers the caller's turn with the model's words, and after the hang-up
// agent.call_ended arrives with the model's post-call analysis, which
// GET /v1/calls/{id} shows too.
func TestHostedCall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, databaseURL string) {
		sipPort := freeSIPPort(t)
		llm := openaitest.NewServer()
		t.Cleanup(llm.Close)
		llm.SetChat(func(req openaitest.ChatRequest) openaitest.ChatReply {
			if strings.Contains(req.Messages[0].Content, "analyse a phone call") {
				return openaitest.ChatReply{Text: `{"summary": "The caller asked where their order is.", "userSentiment": "Neutral", "callSuccessful": true}`}
			}
			return openaitest.ChatReply{Text: "Your order shipped yesterday."}
		})
		srv := startServer(t, databaseURL, "--sip-addr", "127.0.0.1:"+strconv.Itoa(sipPort),
			"--recordings-dir", t.TempDir(), "--llm-base-url", llm.BaseURL(), "--llm-model-balanced", "e2e-model")
		rc := newHookReceiver(t)
		hook := srv.api(t, "POST", "/v1/webhooks", fmt.Sprintf(`{"url": %q}`, rc.URL), 200)
		rc.mu.Lock()
		rc.secret = hook["secret"].(string)
		rc.mu.Unlock()
		agent := srv.api(t, "POST", "/v1/agents", `{"name": "Ava", "voiceMode": "hosted", "beginMessage": "Hi, this is {{agent_name}}.",
			"systemPrompt": "You track orders for Acme."}`, 200)["id"].(string)
		phone := srv.api(t, "POST", "/v1/numbers", fmt.Sprintf(`{"agentId": %q}`, agent), 200)["phoneNumber"].(string)

		dialog, _ := dialSIP(t, sipPort, phone)
		items, _ := srv.api(t, "GET", "/v1/calls", "", 200)["data"].([]any)
		if len(items) != 1 {
			t.Fatalf("calls: %v", items)
		}
		id := items[0].(map[string]any)["id"].(string)
		next, _ := transcriptStream(t, srv, id)
		if e := next(); e[0] != "turn" || !strings.Contains(e[1], "Hi, this is Ava.") {
			t.Fatalf("event %v, want the greeting with the agent's name", e)
		}
		if code, out := srv.post(t, "/sandbox/v1/calls/"+id+"/say", srv.Key, `{"text": "Where is my order?"}`); code != 202 {
			t.Fatalf("say: %d %s", code, out)
		}
		for _, want := range []string{"Where is my order?", "Your order shipped yesterday."} {
			if e := next(); e[0] != "turn" || !strings.Contains(e[1], want) {
				t.Fatalf("event %v, want the turn %q", e, want)
			}
		}
		req := llm.ChatRequests()[0]
		if req.Model != "e2e-model" || !strings.Contains(req.Messages[0].Content, "You track orders for Acme.") {
			t.Fatalf("the model was asked %q with the system prompt %q", req.Model, req.Messages[0].Content)
		}
		if err := dialog.Hangup(t.Context()); err != nil {
			t.Fatal(err)
		}

		env := rc.next(t, 15*time.Second)
		data, _ := env["data"].(map[string]any)
		if env["event"] != "agent.call_ended" || data["callId"] != id || data["summary"] != "The caller asked where their order is." ||
			data["userSentiment"] != "Neutral" || data["callSuccessful"] != true {
			t.Fatalf("agent.call_ended %v", env)
		}
		c := srv.api(t, "GET", "/v1/calls/"+id, "", 200)
		if c["summary"] != "The caller asked where their order is." || c["userSentiment"] != "Neutral" {
			t.Fatalf("the call after its analysis: %v", c)
		}
	})
}
