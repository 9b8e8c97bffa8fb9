package agentphone

import (
	"context"
	"strings"
)

// iMessage-only operations (spec §4.4, §5.6–5.8, §6.4, §7). A number
// carries iMessage when its provider says so (Capabilities.IMessage); no
// provider of this server does yet, so on every number these answer a 400
// that names the feature, the number and its provider: never a silent
// success. An iMessage-capable provider will implement them behind the same
// checks.

// iMessageOnly is the 400 of an iMessage feature, which needs what need
// says, on number n, whose provider carries SMS/MMS only.
func iMessageOnly(feature, need string, n *Number) error {
	return Errorf(KindBadRequest, "%s need %s; %s (provider %s) carries SMS/MMS only", feature, need, n.PhoneNumber, n.Provider)
}

// React reacts to a message (spec §4.4).
func (s *MessageService) React(ctx context.Context, sc Scope, messageID, reaction string) error {
	if strings.TrimSpace(reaction) == "" {
		return &ValidationError{Fields: []FieldError{{Loc: []any{"reaction"}, Msg: "String should have at least 1 character", Type: "string_too_short"}}}
	}
	m, err := s.Store.GetMessage(ctx, sc.AccountID, messageID)
	if err != nil {
		return err
	}
	n, err := s.Store.GetNumber(ctx, sc.AccountID, m.NumberID)
	if err != nil {
		return err
	}
	if !n.Capabilities.IMessage || m.Channel != ChannelIMessage {
		return Errorf(KindBadRequest, "Reactions need iMessage; message %s went over %s on %s (provider %s)",
			m.ID, m.Channel, n.PhoneNumber, n.Provider)
	}
	return Errorf(KindBadRequest, "Reactions are not supported by provider %s", n.Provider)
}

// ConversationFeature checks an iMessage feature of a conversation
// (typing indicators, chat backgrounds) against its number.
func (s *MessageService) ConversationFeature(ctx context.Context, sc Scope, conversationID, feature string) error {
	c, err := s.Store.GetConversation(ctx, sc.AccountID, conversationID)
	if err != nil {
		return err
	}
	n, err := s.Store.GetNumber(ctx, sc.AccountID, c.NumberID)
	if err != nil {
		return err
	}
	return iMessageOnly(feature, "iMessage", n)
}

// NumberFeature checks an iMessage feature of a number (contact cards).
func (s *MessageService) NumberFeature(ctx context.Context, sc Scope, numberID, feature string) error {
	n, err := s.Store.GetNumber(ctx, sc.AccountID, numberID)
	if err != nil {
		return err
	}
	return iMessageOnly(feature, "iMessage", n)
}

// CheckCapabilities is GET /v1/contacts/capabilities (spec §6.4) for an
// E.164 phone: a live lookup that needs an active iMessage-capable number
// on the account.
func (s *MessageService) CheckCapabilities(ctx context.Context, sc Scope, phone string) error {
	return Errorf(KindBadRequest, "Channel capability checks need an active iMessage-capable number on the account; "+
		"the number providers of this server carry SMS/MMS only")
}
