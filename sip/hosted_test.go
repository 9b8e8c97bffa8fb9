package sip_test

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/espeak"
	"github.com/agentphone/agentphone/hosted"
	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/openai/openaitest"
	"github.com/agentphone/agentphone/sandbox"
	"github.com/agentphone/agentphone/sip"
	"github.com/agentphone/agentphone/storetest"
	"github.com/agentphone/agentphone/voice"
)

// The hosted tests run calls of hosted agents over loopback: the built-in
// LLM's answers come from a double speaking OpenAI's chat-completions
// protocol (openaitest, through the real adapter), are spoken by espeak-ng
// and heard by the phone; the caller's turns are injected as text (the
// sandbox's say) or spoken as real audio.

// hostedRig is a rig whose agent is in hosted mode.
type hostedRig struct {
	*rig
	llm  *openaitest.Server
	conv *voice.Conversation
	msgs *agentphone.MessageService
}

func newHostedRig(t *testing.T, b storetest.Backend, o rigOptions) *hostedRig {
	t.Helper()
	llm := openaitest.NewServer()
	t.Cleanup(llm.Close)
	chat, err := openai.NewChat(openai.Config{BaseURL: llm.BaseURL()})
	if err != nil {
		t.Fatal(err)
	}
	conv := &voice.Conversation{Speech: &voice.SpeechCache{Synth: &espeak.Synthesizer{}}, MaxDuration: time.Minute}
	o.runner = conv
	mod := o.agent
	o.agent = func(a *agentphone.Agent) {
		prompt := "You are the support agent of Acme. The caller's number is {{caller_number}}."
		a.VoiceMode, a.SystemPrompt, a.EnableMessaging = agentphone.VoiceModeHosted, &prompt, true
		if mod != nil {
			mod(a)
		}
	}
	r := newRig(t, b, o)
	msgs := &agentphone.MessageService{Store: r.store, Webhooks: r.calls.Webhooks}
	msgs.Senders = map[string]agentphone.MessageSender{"sandbox": &sandbox.Carrier{Deliver: msgs.ReceiveAt}}
	conv.Respond = voice.ByMode{Hosted: &hosted.Responder{LLM: chat, Models: map[string]string{"balanced": "acme-model"},
		Messages: hosted.Messages{Service: msgs}, Events: r.calls}}
	return &hostedRig{rig: r, llm: llm, conv: conv, msgs: msgs}
}

// say injects a caller turn as text.
func (h *hostedRig) say(t *testing.T, callID, text string) time.Time {
	t.Helper()
	at := time.Now()
	if err := h.conv.Say(t.Context(), callID, text); err != nil {
		t.Fatal(err)
	}
	return at
}

// callAs dials the rig's number from a new phone whose caller id
// (P-Asserted-Identity) is caller, and fails t unless it is answered.
func (r *rig) callAs(t *testing.T, caller string) (*diago.DialogClientSession, *diago.DialogMedia) {
	t.Helper()
	dg := newPhone(t)
	var d *diago.DialogClientSession
	var med *diago.DialogMedia
	var err error
	retryBind(func() error {
		d, med, err = dg.Invite(t.Context(), sipmsg.Uri{Scheme: "sip", User: r.number.PhoneNumber, Host: "127.0.0.1", Port: r.port},
			diago.InviteOptions{Headers: []sipmsg.Header{sipmsg.NewHeader("P-Asserted-Identity", "<sip:"+caller+"@127.0.0.1>")}})
		return err
	})
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d, med
}

// waitTurn waits until the call's transcript has a turn of role whose text
// is text.
func (r *rig) waitTurn(t *testing.T, id, role, text string) {
	t.Helper()
	sub, err := r.calls.Subscribe(t.Context(), r.sc, id)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var seen []string
	check := func(turns ...*agentphone.Turn) bool {
		for _, tn := range turns {
			seen = append(seen, tn.Role+": "+tn.Text)
			if tn.Role == role && tn.Text == text {
				return true
			}
		}
		return false
	}
	if check(sub.Turns...) {
		return
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case <-sub.Ready():
			for _, u := range sub.Updates() {
				if u.Turn != nil && check(u.Turn) {
					return
				}
			}
		case <-deadline:
			t.Fatalf("no %s turn %q in %q", role, text, seen)
		}
	}
}

// TestHostedCall: a hosted agent greets with its beginMessage (variables
// filled), answers a caller turn with the model's words — the first clause
// heard while the model still holds its last words back — and a caller
// who barges in cancels the model's answer.
func TestHostedCall(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		c := newHostedRig(t, b, rigOptions{greeting: "Hello, this is {{agent_name}} at Acme.",
			agent: func(a *agentphone.Agent) { a.InterruptionSensitivity = 0.8 }})
		hold := make(chan struct{})
		c.llm.ScriptChat(openaitest.ChatReply{Text: "Your order shipped yesterday. It arrives on Friday.", Hold: hold})
		dialog, med := c.call(t)
		h := newHandset(t, med)
		call := c.waitStatus(c.only().ID, agentphone.CallInProgress)
		c.waitTurn(t, call.ID, agentphone.RoleAgent, "Hello, this is Support at Acme.")
		h.quietAfterSpeech(time.Now().Add(-5*time.Second), 300*time.Millisecond, 10*time.Second)

		said := c.say(t, call.ID, "Where is my order?")
		// Heard while the model has not finished its answer.
		heardAt := h.hearsSpeech(said, 600*time.Millisecond, 10*time.Second)
		if n := len(c.llm.ChatRequests()); n != 1 {
			t.Fatalf("%d chat requests", n)
		}
		close(hold)
		c.waitTurn(t, call.ID, agentphone.RoleAgent, "Your order shipped yesterday. It arrives on Friday.")
		t.Logf("the first clause was heard %s after the caller's turn, with the model's answer still open", heardAt.Sub(said))

		req := c.llm.ChatRequests()[0]
		if req.Model != "acme-model" || !strings.Contains(req.Messages[0].Content, "The caller's number is "+call.From+".") {
			t.Fatalf("request model %q, system %q", req.Model, req.Messages[0].Content)
		}
		var msgs []string
		for _, m := range req.Messages[1:] {
			msgs = append(msgs, m.Role+": "+m.Content)
		}
		if want := "user: [The call was answered.]|assistant: Hello, this is Support at Acme.|user: Where is my order?"; strings.Join(msgs, "|") != want {
			t.Fatalf("messages %q, want %q", strings.Join(msgs, "|"), want)
		}

		// A long answer the caller interrupts: the model's request is
		// cancelled.
		never := make(chan struct{})
		c.llm.ScriptChat(openaitest.ChatReply{Text: "We have many stores. " + strings.Repeat("Each one is open every day of the week. ", 6), Hold: never})
		said = c.say(t, call.ID, "Tell me about your stores.")
		h.hearsSpeech(said, 800*time.Millisecond, 10*time.Second)
		h.speakAsync(utterance(t, "Wait, stop please"))
		deadline := time.Now().Add(10 * time.Second)
		for c.llm.ChatAbandoned() != 1 {
			if time.Now().After(deadline) {
				t.Fatal("the caller's barge-in did not cancel the model's answer")
			}
			time.Sleep(20 * time.Millisecond) // the fake has no event for it
		}
		_ = dialog.Hangup(t.Context())
		c.waitEnd(call.ID)
	})
}

// TestHostedTools: the model calls a custom tool (its validated arguments
// arrive at the tool's URL, its result is spoken), texts the caller
// (send_message: the text is in their conversation), presses a key
// (press_digits: the phone gets it) and hangs up (end_call).
func TestHostedTools(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		var mu sync.Mutex
		var toolArgs []string
		tool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			toolArgs = append(toolArgs, string(body)+" "+r.Header.Get("X-Agentphone-Call-Id"))
			mu.Unlock()
			_, _ = io.WriteString(w, `{"forecast": "sunny", "celsius": 21}`)
		}))
		t.Cleanup(tool.Close)
		c := newHostedRig(t, b, rigOptions{greeting: "Hi.", agent: func(a *agentphone.Agent) {
			a.CustomTools = []agentphone.CustomTool{{Name: "weather", Description: "The weather in a city.", URL: tool.URL, Method: "POST",
				Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}
		}})
		c.llm.ScriptChat(
			openaitest.ChatReply{ToolCalls: []openaitest.ChatToolCall{{Name: "weather", Arguments: `{"city": "Paris"}`}}},
			openaitest.ChatReply{Text: "It is sunny in Paris."},
			openaitest.ChatReply{ToolCalls: []openaitest.ChatToolCall{{Name: "send_message", Arguments: `{"body": "Sunny in Paris, 21 degrees."}`}}},
			openaitest.ChatReply{Text: "Done, I sent it."},
			openaitest.ChatReply{Text: "Pressing one.", ToolCalls: []openaitest.ChatToolCall{{Name: "press_digits", Arguments: `{"digits": "1"}`}}},
			openaitest.ChatReply{Text: "Goodbye!", ToolCalls: []openaitest.ChatToolCall{{Name: "end_call", Arguments: `{"reason": "done"}`}}},
		)
		dialog, med := c.callAs(t, "+14155550999")
		h := newHandset(t, med)
		call := c.waitStatus(c.only().ID, agentphone.CallInProgress)
		if call.From != "+14155550999" {
			t.Fatalf("the call is from %q", call.From)
		}
		c.waitTurn(t, call.ID, agentphone.RoleAgent, "Hi.")

		said := c.say(t, call.ID, "What's the weather in Paris?")
		c.waitTurn(t, call.ID, agentphone.RoleAgent, "It is sunny in Paris.")
		h.hearsSpeech(said, 500*time.Millisecond, 10*time.Second)
		mu.Lock()
		got := strings.Join(toolArgs, "|")
		mu.Unlock()
		if got != `{"city": "Paris"} `+call.ID {
			t.Fatalf("the tool got %q", got)
		}
		if last := c.llm.ChatRequests()[1].Messages; !strings.Contains(last[len(last)-1].Content, `"forecast":"sunny"`) {
			t.Fatalf("the model did not read the tool's result: %+v", last[len(last)-1])
		}
		c.waitEvent(call.ID, "tool_call", `"weather"`)

		c.say(t, call.ID, "Text me that.")
		c.waitTurn(t, call.ID, agentphone.RoleAgent, "Done, I sent it.")
		thread, err := c.msgs.Thread(t.Context(), c.sc.AccountID, c.number.ID, call.From, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(thread) != 1 || thread[0].Body != "Sunny in Paris, 21 degrees." || thread[0].Direction != agentphone.DirectionOutbound ||
			thread[0].To != call.From {
			var evs []string
			for _, e := range c.events(call.ID) {
				evs = append(evs, e.Type+" "+string(e.Data))
			}
			t.Fatalf("the caller's conversation: %+v; events %q", thread, evs)
		}

		c.say(t, call.ID, "Press one for me.")
		select {
		case k := <-h.keys:
			if k != '1' {
				t.Fatalf("the phone got key %q", k)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the phone got no key")
		}

		c.say(t, call.ID, "Bye.")
		ended(t, dialog.Context(), "the caller") // the agent's BYE after its goodbye
		if got := c.waitEnd(call.ID); got.EndReason == nil || *got.EndReason != agentphone.EndAgentHangup {
			t.Fatalf("ended call %+v", got)
		}
	})
}

// TestHostedTransfer: transfer_call moves the caller to the agent's
// transferNumber (bridged: the test phone takes no REFER).
func TestHostedTransfer(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		port, calls, _ := targetPhone(t, false)
		target := transferTarget
		c := newHostedRig(t, b, rigOptions{greeting: "Hi.", trunks: []sip.Trunk{carrier(port)},
			agent: func(a *agentphone.Agent) { a.TransferNumber = &target }})
		c.llm.ScriptChat(openaitest.ChatReply{Text: "Let me connect you.", ToolCalls: []openaitest.ChatToolCall{{Name: "transfer_call"}}})
		dialog, med := c.call(t)
		newHandset(t, med)
		call := c.waitStatus(c.only().ID, agentphone.CallInProgress)
		c.waitTurn(t, call.ID, agentphone.RoleAgent, "Hi.")
		c.say(t, call.ID, "I want a human.")
		select {
		case a := <-calls:
			if a.from != c.number.PhoneNumber {
				t.Fatalf("the target saw caller id %q", a.from)
			}
			_ = a.d.Hangup(context.Background())
		case <-time.After(20 * time.Second):
			t.Fatal("the transfer target's phone did not ring")
		}
		ended(t, dialog.Context(), "the caller")
		if got := c.waitEnd(call.ID); got.EndReason == nil || *got.EndReason != agentphone.EndTransfer {
			t.Fatalf("ended call %+v", got)
		}
	})
}

// beep is a voicemail beep: 1 kHz for 400 ms at 8 kHz.
func beep() []int16 {
	out := make([]int16, 3200)
	for i := range out {
		out[i] = int16(12000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	return out
}

// TestHostedOutbound: a conversation call (POST /v1/calls with a
// systemPrompt and variables) on a webhook agent runs hosted: a person's
// hello gets the greeting with its variables filled, and the model's
// prompt has them too; a voicemail greeting with a beep gets the agent's
// voicemailMessage after the beep, and the call ends as voicemail.
func TestHostedOutbound(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		type pickup struct {
			h *handset
			d *diago.DialogServerSession
		}
		modes := make(chan string, 2)
		picked := make(chan pickup, 2)
		dg, pport := phone(t, true)
		serve(t, dg, func(d *diago.DialogServerSession) {
			mode := <-modes
			_ = d.Ringing()
			med, err := d.Answer(diago.AnswerOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			h := newHandset(t, med)
			switch mode {
			case "person":
				h.speakAsync(utterance(t, "Hello?"))
			case "machine":
				h.speak(utterance(t, "Hi, you have reached Jane. I cannot take your call right now. Please leave a message after the tone."))
				h.speak(make([]int16, 4000)) // half a second of silence
				h.speakAsync(beep())
			}
			picked <- pickup{h, d}
			<-d.Context().Done()
		})
		vm := "Hi {{name}}, this is Acme about order {{order}}. Please call us back."
		c := newHostedRig(t, b, rigOptions{trunks: []sip.Trunk{carrier(pport)}, agent: func(a *agentphone.Agent) {
			a.VoiceMode, a.SystemPrompt, a.VoicemailMessage = agentphone.VoiceModeWebhook, nil, &vm
		}})
		place := func(mode string) *agentphone.Call {
			modes <- mode
			name, order := "Jane", "A-7"
			call, err := c.calls.Create(t.Context(), c.sc, agentphone.CallInput{
				AgentID: agentphone.Some(c.agent.ID), ToNumber: agentphone.Some("+14155559876"),
				InitialGreeting: agentphone.Some("Hi {{name}}, this is Acme calling about your order."),
				SystemPrompt:    agentphone.Some("Remind {{name}} that order {{order}} is ready."),
				Variables:       agentphone.Some(map[string]*string{"name": &name, "order": &order}),
			})
			if err != nil {
				t.Fatal(err)
			}
			return call
		}

		call := place("person")
		p := <-picked
		c.waitTurn(t, call.ID, agentphone.RoleAgent, "Hi Jane, this is Acme calling about your order.")
		c.waitEvent(call.ID, "answered_by", `"human"`)
		c.llm.ScriptChat(openaitest.ChatReply{Text: "Your order A-7 is ready for pickup."})
		c.say(t, call.ID, "Who is this?")
		c.waitTurn(t, call.ID, agentphone.RoleAgent, "Your order A-7 is ready for pickup.")
		if sys := c.llm.ChatRequests()[0].Messages[0].Content; !strings.Contains(sys, "Remind Jane that order A-7 is ready.") {
			t.Fatalf("system prompt %q", sys)
		}
		_ = p.d.Hangup(context.Background())
		c.waitEnd(call.ID)

		call = place("machine")
		p = <-picked
		beepAt := time.Now() // the phone starts its beep now
		c.waitEvent(call.ID, "answered_by", `"machine"`)
		ended(t, p.d.Context(), "the voicemail") // the agent hangs up after its message
		if before := p.h.loudFor(time.Time{}) - p.h.loudFor(beepAt); before > 0 {
			t.Fatalf("the agent spoke for %s over the machine's greeting, before its beep", before)
		}
		heard := p.h.loudFor(beepAt.Add(500 * time.Millisecond))
		if heard < 2*time.Second {
			t.Fatalf("the voicemail heard %s of the agent after the beep", heard)
		}
		got := c.waitEnd(call.ID)
		if got.EndReason == nil || *got.EndReason != agentphone.EndVoicemail {
			t.Fatalf("ended call %+v", got)
		}
		c.waitTurn(t, call.ID, agentphone.RoleAgent, "Hi Jane, this is Acme about order A-7. Please call us back.")
		for _, tn := range c.transcript(t, call.ID) {
			if tn.Role == agentphone.RoleAgent && strings.Contains(tn.Text, "calling about your order") {
				t.Fatalf("the greeting was spoken to the machine: %q", tn.Text)
			}
		}
	})
}
