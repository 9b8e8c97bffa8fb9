package sandbox

import (
	"context"
	"fmt"

	"github.com/agentphone/agentphone"
)

// Carrier is the sandbox's agentphone.MessageSender. A message to an active
// number of this server (a sandbox number of any account) arrives on it as
// an inbound message, webhook included, so that two agents can text each
// other; a message to any other destination goes nowhere and is recorded
// as delivered.
type Carrier struct {
	// Deliver stores a message to phone number to as inbound on the
	// number that holds it: MessageService.ReceiveAt. Not-found when no
	// active number is to.
	Deliver func(ctx context.Context, to string, in agentphone.InboundInput) (*agentphone.Message, error)
}

var _ agentphone.MessageSender = (*Carrier)(nil)

// SendMessage implements agentphone.MessageSender.
func (c *Carrier) SendMessage(ctx context.Context, n *agentphone.Number, m *agentphone.Message) (agentphone.SentMessage, error) {
	ref := "sandbox-" + m.ID
	_, err := c.Deliver(ctx, m.To, agentphone.InboundInput{From: m.From, Body: m.Body, MediaURLs: m.MediaURLs, ProviderRef: &ref})
	if err != nil && agentphone.ErrorKind(err) != agentphone.KindNotFound {
		return agentphone.SentMessage{}, fmt.Errorf("sandbox delivery to %s: %w", m.To, err)
	}
	return agentphone.SentMessage{ProviderRef: ref, Status: agentphone.MessageDelivered}, nil
}
