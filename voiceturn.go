package agentphone

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// VoiceMessageData is the data of an agent.message on the voice channel
// (spec §15.6): one finished utterance of the caller, which a webhook-mode
// agent answers (spec §16). The spec's keys, in its order, then ours.
type VoiceMessageData struct {
	CallID     string  `json:"callId"`
	NumberID   *string `json:"numberId"` // null for web calls
	From       string  `json:"from"`
	To         string  `json:"to"`
	Status     string  `json:"status"` // always in-progress
	Transcript string  `json:"transcript"`
	Confidence float64 `json:"confidence"` // speech recognition's, 0–1
	Direction  string  `json:"direction"`
	// DTMF is our addition: the keys the caller pressed during the turn;
	// omitted when none.
	DTMF string `json:"dtmf,omitempty"`
}

// VoiceTurnEnvelope is the agent.message event (channel voice, spec §15.6)
// of live call c at now: the caller's finished utterance transcript, with
// speech recognition's confidence and the keys pressed during the turn
// (dtmf, "" for none). state is the conversationState, the metadata of the
// conversation of c's number with its other party (see
// CallService.ConversationState); nil or empty is JSON null. history holds
// the call's turns before this one, in order: recentHistory is the last
// limit of them that have text (limit is the webhook's contextLimit; 0 or
// less gives []), oldest first, the caller's inbound and the agent's
// outbound, on channel voice, each at its StartedAt. A user turn's
// Response is not repeated: what the agent said is an agent turn of its
// own.
func VoiceTurnEnvelope(c *Call, transcript string, confidence float64, dtmf string, history []*Turn, limit int,
	state json.RawMessage, now time.Time) Envelope {
	data := &VoiceMessageData{
		CallID: c.ID, NumberID: c.NumberID, From: c.From, To: c.To, Status: CallInProgress, Transcript: transcript,
		Confidence: confidence, Direction: c.Direction, DTMF: dtmf,
	}
	if len(state) == 0 {
		state = json.RawMessage("null")
	}
	return Envelope{
		Event: EventMessage, Channel: ChannelVoice, Timestamp: JSONTime(now), AgentID: c.AgentID, Data: data,
		ConversationState: state, RecentHistory: voiceHistory(history, limit),
	}
}

// voiceHistory is recentHistory of a voice turn: the last limit turns of
// history that have text, oldest first.
func voiceHistory(history []*Turn, limit int) []HistoryItem {
	items := []HistoryItem{}
	if limit <= 0 {
		return items
	}
	first := len(history)
	for n := 0; first > 0 && n < limit; {
		first--
		if strings.TrimSpace(history[first].Text) != "" {
			n++
		}
	}
	for _, t := range history[first:] {
		if strings.TrimSpace(t.Text) == "" {
			continue
		}
		dir := DirectionInbound
		if t.Role == RoleAgent {
			dir = DirectionOutbound
		}
		items = append(items, HistoryItem{Content: t.Text, Direction: dir, Channel: ChannelVoice, At: JSONTime(t.StartedAt)})
	}
	return items
}

// ConversationState returns the conversationState of call c's voice
// turns: the metadata of the conversation of c's number with its other
// party (spec §20.17, as agent.call_ended carries it), or JSON null when
// there is no such conversation, it has no metadata, or c is a web call.
func (s *CallService) ConversationState(ctx context.Context, c *Call) (json.RawMessage, error) {
	null := json.RawMessage("null")
	if c.NumberID == nil {
		return null, nil
	}
	conv, err := s.Store.FindConversation(ctx, c.AccountID, *c.NumberID, c.OtherParty())
	if ErrorKind(err) == KindNotFound {
		return null, nil
	}
	if err != nil {
		return nil, err
	}
	if len(conv.Metadata) == 0 {
		return null, nil
	}
	return conv.Metadata, nil
}
