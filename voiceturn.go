package agentphone

import (
	"context"
	"encoding/json"
	"slices"
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
// CallService.ConversationContext); nil or empty is JSON null.
// recentHistory mixes the channels of that conversation (spec §20.17):
// the call's turns before this one that have text (history, in order: the
// caller's inbound and the agent's outbound, on channel voice, each at its
// StartedAt) and the conversation's texts (texts, oldest first, each with
// its messageId), in time order, the last limit of them (limit is the
// webhook's contextLimit; 0 or less gives []). A user turn's Response is
// not repeated: what the agent said is an agent turn of its own.
func VoiceTurnEnvelope(c *Call, transcript string, confidence float64, dtmf string, history []*Turn, texts []*Message,
	limit int, state json.RawMessage, now time.Time) Envelope {
	data := &VoiceMessageData{
		CallID: c.ID, NumberID: c.NumberID, From: c.From, To: c.To, Status: CallInProgress, Transcript: transcript,
		Confidence: confidence, Direction: c.Direction, DTMF: dtmf,
	}
	if len(state) == 0 {
		state = json.RawMessage("null")
	}
	return Envelope{
		Event: EventMessage, Channel: ChannelVoice, Timestamp: JSONTime(now), AgentID: c.AgentID, Data: data,
		ConversationState: state, RecentHistory: recentHistory(history, texts, limit),
	}
}

// recentHistory is the recentHistory of an event of a conversation (a
// voice turn, a text): the call turns that have text and the texts, in
// time order (a turn and a text at the same instant: the text first), the
// last limit of them.
func recentHistory(history []*Turn, texts []*Message, limit int) []HistoryItem {
	items := []HistoryItem{}
	if limit <= 0 {
		return items
	}
	for _, m := range texts {
		items = append(items, messageItem(m))
	}
	for _, t := range history {
		if strings.TrimSpace(t.Text) == "" {
			continue
		}
		dir := DirectionInbound
		if t.Role == RoleAgent {
			dir = DirectionOutbound
		}
		items = append(items, HistoryItem{Content: t.Text, Direction: dir, Channel: ChannelVoice, At: JSONTime(t.StartedAt)})
	}
	slices.SortStableFunc(items, func(a, b HistoryItem) int { return time.Time(a.At).Compare(time.Time(b.At)) })
	return items[max(len(items)-limit, 0):]
}

// messageItem is a text as an item of recentHistory.
func messageItem(m *Message) HistoryItem {
	id := m.ID
	return HistoryItem{MessageID: &id, Content: m.Body, Direction: m.Direction, Channel: m.Channel, At: JSONTime(m.CreatedAt)}
}

// ConversationContext returns what call c's voice turns carry of the
// conversation of c's number with its other party (spec §20.17): its
// metadata as conversationState (JSON null when there is no such
// conversation, it has no metadata, or c is a web call), and its last
// limit texts, oldest first (none for limit 0 or less).
func (s *CallService) ConversationContext(ctx context.Context, c *Call, limit int) (json.RawMessage, []*Message, error) {
	null := json.RawMessage("null")
	if c.NumberID == nil {
		return null, nil, nil
	}
	conv, err := s.Store.FindConversation(ctx, c.AccountID, *c.NumberID, c.OtherParty())
	if ErrorKind(err) == KindNotFound {
		return null, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var texts []*Message
	if limit > 0 {
		if texts, _, err = s.Store.ListConversationMessages(ctx, c.AccountID, conv.ID, MessageCursor{Limit: limit}); err != nil {
			return nil, nil, err
		}
		slices.Reverse(texts)
	}
	state := conv.Metadata
	if len(state) == 0 {
		state = null
	}
	return state, texts, nil
}
