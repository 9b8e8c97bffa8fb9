package hosted

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/voice"
)

// The built-in tools (their names are reserved: agentphone.ReservedToolNames).
const (
	toolEndCall      = "end_call"
	toolTransferCall = "transfer_call"
	toolSendMessage  = "send_message"
	toolReadMessages = "read_messages"
	toolPressDigits  = "press_digits"
)

var (
	endCallSpec = voice.ToolSpec{
		Name:        toolEndCall,
		Description: "Hang up the call. Say a short goodbye in the same reply before calling it.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string","description":"Why the call ends, for the call's log."}}}`),
	}
	transferCallSpec = voice.ToolSpec{
		Name:        toolTransferCall,
		Description: "Transfer the caller to a person (a cold transfer: you leave the call). Tell the caller first, in the same reply.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string","description":"Why, for the call's log."}}}`),
	}
	pressDigitsSpec = voice.ToolSpec{
		Name:        toolPressDigits,
		Description: "Press keys on the phone's keypad (DTMF), e.g. to choose an option of an automated phone menu or enter an extension.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"digits":{"type":"string","description":"The keys, in order: 0-9, * and #.","pattern":"^[0-9*#A-Da-d]{1,32}$"}},"required":["digits"]}`),
	}
	sendMessageSpec = voice.ToolSpec{
		Name:        toolSendMessage,
		Description: "Send a text message (SMS) from your phone number, during the call: to the person on the call unless another number is given.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"body":{"type":"string","description":"The message's text."},"to":{"type":"string","description":"The recipient's number in E.164 format (+14155551234); omit for the person on the call."}},"required":["body"]}`),
	}
	readMessagesSpec = voice.ToolSpec{
		Name:        toolReadMessages,
		Description: "Read the recent text messages between your phone number and the person on the call, oldest first.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"limit":{"type":"integer","minimum":1,"maximum":50,"description":"How many of the latest messages (default 10)."}}}`),
	}
)

// toolSpecs are the tools call c's model may use: end_call and
// press_digits always; transfer_call when the agent has a transferNumber;
// the messaging tools when it has enableMessaging and the server can
// send; then the agent's custom tools.
func (r *Responder) toolSpecs(c *agentphone.Call, a *agentphone.Agent) []voice.ToolSpec {
	specs := []voice.ToolSpec{endCallSpec, pressDigitsSpec}
	if a.TransferNumber != nil && *a.TransferNumber != "" {
		specs = append(specs, transferCallSpec)
	}
	if a.EnableMessaging && r.Messages != nil && c.NumberID != nil {
		specs = append(specs, sendMessageSpec, readMessagesSpec)
	}
	for _, t := range a.CustomTools {
		specs = append(specs, voice.ToolSpec{Name: t.Name, Description: t.Description, Parameters: t.Parameters})
	}
	return specs
}

// digitsRE is what press_digits may press.
var digitsRE = regexp.MustCompile(`^[0-9*#A-Da-d]{1,32}$`)

// call runs tool call tc: it returns the result the model reads and, for
// a tool that ends the turn (end_call, transfer_call, press_digits), the
// turn's last reply. said is the text the model wrote with the call.
func (tn *turn) call(ctx context.Context, tc voice.ToolCall, said string) (string, *voice.Reply) {
	a := tn.t.Agent
	var args map[string]any
	if len(tc.Arguments) > 0 && string(tc.Arguments) != "null" {
		if err := json.Unmarshal(tc.Arguments, &args); err != nil {
			tn.record(tc, false, "arguments are not a JSON object", nil)
			return errorResult("the arguments are not a JSON object: " + err.Error()), nil
		}
	}
	str := func(k string) string { s, _ := args[k].(string); return strings.TrimSpace(s) }
	switch tc.Name {
	case toolEndCall:
		tn.record(tc, true, "", map[string]any{"reason": str("reason")})
		rp := &voice.Reply{Hangup: true}
		if strings.TrimSpace(said) == "" && !tn.sent {
			rp.Text = "Goodbye."
		}
		return `{"ok":true}`, rp
	case toolTransferCall:
		if a.TransferNumber == nil || *a.TransferNumber == "" {
			tn.record(tc, false, "no transferNumber", nil)
			return errorResult("this agent has no transfer number: the call cannot be transferred"), nil
		}
		tn.record(tc, true, "", map[string]any{"reason": str("reason"), "to": *a.TransferNumber})
		return `{"ok":true}`, &voice.Reply{Transfer: true}
	case toolPressDigits:
		d := str("digits")
		if !digitsRE.MatchString(d) {
			tn.record(tc, false, "invalid digits", nil)
			return errorResult(fmt.Sprintf("digits %q: use 1 to 32 of 0-9, * and #", d)), nil
		}
		tn.record(tc, true, "", map[string]any{"digits": d})
		return `{"ok":true,"pressed":` + quote(d) + `}`, &voice.Reply{Digits: strings.ToUpper(d)}
	case toolSendMessage:
		return tn.sendMessage(ctx, tc, str("to"), str("body")), nil
	case toolReadMessages:
		limit := 10
		if f, ok := args["limit"].(float64); ok && f >= 1 {
			limit = min(int(f), 50)
		}
		return tn.readMessages(ctx, tc, limit), nil
	}
	for _, t := range a.CustomTools {
		if t.Name == tc.Name {
			return tn.custom(ctx, t, tc), nil
		}
	}
	tn.record(tc, false, "unknown tool", nil)
	return errorResult(fmt.Sprintf("there is no tool named %q", tc.Name)), nil
}

// sendMessage texts body to to (default: the other party of the call).
func (tn *turn) sendMessage(ctx context.Context, tc voice.ToolCall, to, body string) string {
	c, a := tn.t.Call, tn.t.Agent
	if !a.EnableMessaging || tn.r.Messages == nil || c.NumberID == nil {
		tn.record(tc, false, "messaging is off", nil)
		return errorResult("messaging is not enabled for this agent")
	}
	if body == "" {
		tn.record(tc, false, "empty body", nil)
		return errorResult("body is required")
	}
	if to == "" {
		to = c.OtherParty()
	}
	m, err := tn.r.Messages.Send(ctx, c, to, body)
	if err != nil {
		tn.record(tc, false, err.Error(), map[string]any{"to": to})
		return errorResult("the message was not sent: " + err.Error())
	}
	tn.record(tc, true, "", map[string]any{"to": to, "messageId": m.ID})
	return mustJSON(map[string]any{"ok": true, "messageId": m.ID, "to": m.To, "status": m.Status})
}

// readMessages reads the thread with the other party.
func (tn *turn) readMessages(ctx context.Context, tc voice.ToolCall, limit int) string {
	c, a := tn.t.Call, tn.t.Agent
	if !a.EnableMessaging || tn.r.Messages == nil || c.NumberID == nil {
		tn.record(tc, false, "messaging is off", nil)
		return errorResult("messaging is not enabled for this agent")
	}
	msgs, err := tn.r.Messages.Thread(ctx, c, c.OtherParty(), limit)
	if err != nil {
		tn.record(tc, false, err.Error(), nil)
		return errorResult("the messages could not be read: " + err.Error())
	}
	type item struct {
		From string    `json:"from"`
		To   string    `json:"to"`
		Dir  string    `json:"direction"`
		Body string    `json:"body"`
		At   time.Time `json:"at"`
	}
	items := make([]item, 0, len(msgs))
	for _, m := range msgs {
		items = append(items, item{From: m.From, To: m.To, Dir: m.Direction, Body: m.Body, At: m.CreatedAt})
	}
	tn.record(tc, true, "", map[string]any{"count": len(items)})
	return mustJSON(map[string]any{"messages": items})
}

// custom calls one of the agent's custom tools, saying its
// executionMessage meanwhile when it asks to.
func (tn *turn) custom(ctx context.Context, t agentphone.CustomTool, tc voice.ToolCall) string {
	if t.SpeakDuringExecution != nil && *t.SpeakDuringExecution && t.ExecutionMessage != nil && strings.TrimSpace(*t.ExecutionMessage) != "" {
		_ = tn.send(ctx, voice.Reply{Text: *t.ExecutionMessage, Interim: true})
	}
	tools := tn.r.Tools
	if tools == nil {
		tools = &tn.r.tools // one client and schema cache for every call
	}
	o := tools.Call(ctx, t, tn.t.Call.ID, tn.t.Agent.ID, tc.Arguments)
	data := map[string]any{"name": tc.Name, "id": tc.ID, "arguments": rawOrString(tc.Arguments), "ok": o.OK,
		"durationMs": o.Duration.Milliseconds(), "request": o.Request}
	if o.Status != 0 {
		data["status"] = o.Status
	}
	if o.Error != "" {
		data["error"] = o.Error
	}
	tn.event("tool_call", data)
	return o.Result
}

// record logs a built-in tool's call on the call's event log.
func (tn *turn) record(tc voice.ToolCall, ok bool, problem string, extra map[string]any) {
	data := map[string]any{"name": tc.Name, "id": tc.ID, "arguments": rawOrString(tc.Arguments), "ok": ok}
	if problem != "" {
		data["error"] = problem
	}
	for k, v := range extra {
		data[k] = v
	}
	tn.event("tool_call", data)
}

// event writes an event on the call's log (after the turn's end too).
func (tn *turn) event(typ string, data map[string]any) {
	if tn.r.Events == nil {
		return
	}
	if err := tn.r.Events.AddEvent(context.Background(), tn.t.Call.ID, typ, data); err != nil {
		tn.r.log().Error("recording a tool call failed", "call_id", tn.t.Call.ID, "err", err)
	}
}

// errorResult is a tool's failure as the model reads it.
func errorResult(msg string) string { return string(errorJSON(msg)) }

// mustJSON is v as JSON text (maps of strings, numbers and times always
// encode).
func mustJSON(v any) string { return string(marshalNoHTMLEscape(v)) }

func quote(s string) string { return string(jsonString(s)) }

// rawOrString is arguments as JSON when they are, else as text.
func rawOrString(b json.RawMessage) any {
	if len(b) == 0 {
		return map[string]any{}
	}
	if json.Valid(b) {
		return b
	}
	return string(b)
}
