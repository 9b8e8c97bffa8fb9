package voice

import (
	"strings"
	"time"

	"github.com/agentphone/agentphone"
)

// Who answered an outbound call. A hosted call, or one whose agent has a
// voicemailMessage, stays silent when answered until a MachineDetector
// has decided (machine.go): a person's short "Hello?" is answered by the
// greeting; a machine's long greeting or its beep makes the agent wait
// for the beep (BeepWaiter), then leave the voicemailMessage and hang up,
// or hang up at once when there is none (end reason voicemail either
// way). Inbound calls never run it. A call screener's prompt ("please say
// your name and why you are calling") is answered with the call's
// screening identity and purpose, and who picks up after it is judged
// afresh. See docs/hosted.md.

// detect passes a frame of the callee's to the detection under way.
func (cv *conv) detect(voiced, beep bool, at time.Time) string {
	switch {
	case cv.amd != nil:
		return cv.verdict(cv.amd.Frame(voiced, beep, at), at)
	case cv.waiter != nil:
		if cv.waiter.Frame(voiced, beep, at) {
			return cv.atTheTone(cv.waiter.Reason())
		}
	}
	return ""
}

// detectText passes the callee's words heard while the engine decides who
// answered, or waits for a machine's beep, or leaves its message.
func (cv *conv) detectText(text string, at time.Time) string {
	if cv.amd == nil {
		return ""
	}
	cv.detectHeard = append(cv.detectHeard, text)
	return cv.verdict(cv.amd.Text(text, at), at)
}

// verdict acts on the detector's verdict.
func (cv *conv) verdict(v MachineVerdict, at time.Time) string {
	if v == Undecided {
		return ""
	}
	reason := cv.amd.Reason()
	cv.amd = nil
	switch v {
	case Human:
		cv.listenBeeps.Store(false)
		cv.addEvent("answered_by", map[string]any{"answeredBy": "human", "reason": string(reason)})
		if text := strings.Join(cv.detectHeard, " "); text != "" { // "Hello?": in the transcript, not a turn to answer
			end := cv.lastVoiced
			cv.addTurn(&agentphone.Turn{CallID: cv.s.Call.ID, Role: agentphone.RoleUser, Text: text, StartedAt: end, EndedAt: &end})
		}
		cv.detectHeard = nil
		cv.resetCaller()
		cv.greet()
	case Machine:
		cv.addEvent("answered_by", map[string]any{"answeredBy": "machine", "reason": string(reason)})
		cv.detectHeard = nil
		if reason == MachineBeep {
			return cv.atTheTone("beep")
		}
		cv.waiter = NewBeepWaiter(at)
	}
	return ""
}

// atTheTone leaves the voicemail message, if the agent has one, else
// hangs up.
func (cv *conv) atTheTone(why string) string {
	cv.waiter = nil
	cv.listenBeeps.Store(false)
	cv.resetCaller()
	msg := ""
	if m := cv.s.Agent.VoicemailMessage; m != nil {
		msg = strings.TrimSpace(*m)
	}
	if msg != "" && agentphone.Hosted(cv.s.Call, cv.s.Agent) {
		msg = strings.TrimSpace(agentphone.FillVariables(msg, agentphone.CallVariables(cv.s.Call, cv.s.Agent, cv.now(), cv.c.Location)))
	}
	if msg == "" {
		cv.addEvent("voicemail", map[string]any{"left": false})
		return agentphone.EndVoicemail
	}
	cv.addEvent("voicemail", map[string]any{"left": true, "after": why})
	cv.voicemail = true
	cv.speakLine(msg)
	return ""
}

// screen answers a call screener's prompt; it reports whether text was
// one.
func (cv *conv) screen(text string) bool {
	if cv.screenReply == "" || cv.screened >= maxScreenings || cv.voicemail || !IsCallScreener(text) {
		return false
	}
	cv.screened++
	cv.addEvent("call_screening", map[string]any{"prompt": text, "reply": cv.screenReply})
	cv.amd, cv.waiter, cv.detectHeard = nil, nil, nil
	cv.listenBeeps.Store(false)
	cv.resetCaller()
	if cv.answer != nil {
		cv.po.flush()
		cv.finishAnswer(true)
	}
	cv.speakLine(cv.screenReply).screening = true
	return true
}

// maxScreenings bounds the screener prompts answered in a call: a
// screener that keeps asking is not helped by the same answer.
const maxScreenings = 2

// screeningReply is what an outbound call answers a call screener: the
// call's identity and purpose, else the agent's; with only a purpose, the
// agent's name stands as identity (spec §8.5). "" when screening is off
// (no purpose).
func screeningReply(c *agentphone.Call, a *agentphone.Agent) string {
	pick := func(call, agent *string) string {
		if call != nil && strings.TrimSpace(*call) != "" {
			return strings.TrimSpace(*call)
		}
		if agent != nil {
			return strings.TrimSpace(*agent)
		}
		return ""
	}
	identity := pick(c.Options.CallScreeningIdentity, a.CallScreeningIdentity)
	purpose := pick(c.Options.CallScreeningPurpose, a.CallScreeningPurpose)
	if purpose == "" {
		return ""
	}
	if identity == "" {
		identity = a.Name
	}
	return ScreeningReply(identity, purpose)
}
