package agentphone

import (
	"regexp"
	"time"
)

// Hosted reports whether call c of agent a is run by the built-in LLM:
// the agent is in hosted mode, or the call was placed with a systemPrompt
// (spec §8.5: a conversation call, even on a webhook agent).
func Hosted(c *Call, a *Agent) bool {
	return c.Options.SystemPrompt != nil || a.VoiceMode == VoiceModeHosted
}

// placeholderRE is a {{name}} placeholder of a prompt or greeting: letters,
// digits, '_', '-' and '.', with optional spaces inside the braces.
var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}`)

// FillVariables replaces each {{name}} of text with vars[name]; a name vars
// lacks becomes "" (a placeholder read out loud helps no caller).
func FillVariables(text string, vars map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		return vars[placeholderRE.FindStringSubmatch(m)[1]]
	})
}

// CallVariables are the values a hosted call's prompt and greeting may
// use: the built-in ones (documented in docs/hosted.md), then the call's
// own variables (spec §8.5), which win over a built-in of the same name
// (a null value is ""). now is given in loc (nil: UTC).
func CallVariables(c *Call, a *Agent, now time.Time, loc *time.Location) map[string]string {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	agentNumber, other := c.To, c.From
	if c.Direction == DirectionOutbound {
		agentNumber, other = c.From, c.To
	}
	vars := map[string]string{
		"agent_name":       a.Name,
		"agent_number":     agentNumber,
		"caller_number":    other, // the person on the line, whoever dialled
		"user_number":      other,
		"from_number":      c.From,
		"to_number":        c.To,
		"direction":        c.Direction,
		"call_id":          c.ID,
		"current_date":     now.Format("2006-01-02"),
		"current_time":     now.Format("15:04 MST"),
		"current_weekday":  now.Weekday().String(),
		"current_datetime": now.Format(time.RFC3339),
	}
	for k, v := range c.Options.Variables {
		vars[k] = ""
		if v != nil {
			vars[k] = *v
		}
	}
	return vars
}
