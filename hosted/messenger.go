package hosted

import (
	"context"

	"github.com/agentphone/agentphone"
)

// Messages is the Messenger of the messaging service: texts sent during a
// call go out from the call's number through the same path as POST
// /v1/messages, so they appear in the conversation with the other party.
type Messages struct {
	Service *agentphone.MessageService
}

var _ Messenger = Messages{}

// Send implements Messenger.
func (m Messages) Send(ctx context.Context, c *agentphone.Call, to, body string) (*agentphone.Message, error) {
	in := agentphone.SendInput{Body: agentphone.Some(body), ToNumber: agentphone.Some(to)}
	if c.NumberID != nil {
		in.NumberID = agentphone.Some(*c.NumberID)
	}
	sent, err := m.Service.Send(ctx, agentphone.Scope{KeyAccountID: c.AccountID, AccountID: c.AccountID}, in)
	if err != nil {
		return nil, err
	}
	return sent.Message, nil
}

// Thread implements Messenger.
func (m Messages) Thread(ctx context.Context, c *agentphone.Call, participant string, limit int) ([]*agentphone.Message, error) {
	if c.NumberID == nil {
		return nil, nil
	}
	return m.Service.Thread(ctx, c.AccountID, *c.NumberID, participant, limit)
}
