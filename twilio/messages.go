package twilio

import (
	"context"
	"net/http"
	"net/url"
)

// SendParams is one outbound message. From is a number of the account, To
// the recipient, both E.164. Body may be empty when MediaURLs (publicly
// reachable http(s) URLs, at most 10) make it an MMS. StatusCallback, when
// not empty, receives the message's status changes (see ParseStatus).
//
// The client checks none of this itself: Twilio does, and answers with an
// *Error whose Code says what was wrong (CodeToRequired, CodeInvalidTo,
// CodeBodyRequired, …).
type SendParams struct {
	From, To       string
	Body           string
	MediaURLs      []string
	StatusCallback string
}

// Message is the Message resource Twilio returns. Status is Twilio's
// ("queued", "sent", …; MapStatus converts it); ErrorCode and ErrorMessage
// are nil unless the message failed.
type Message struct {
	SID          string  `json:"sid"` // "SM…" (or "MM…" on older MMS)
	AccountSID   string  `json:"account_sid"`
	From         string  `json:"from"`
	To           string  `json:"to"`
	Body         string  `json:"body"`
	Status       string  `json:"status"`
	ErrorCode    *int    `json:"error_code"`
	ErrorMessage *string `json:"error_message"`
}

// SendMessage creates a message. A 201 means Twilio accepted it (Status is
// usually "queued"), not that it was delivered.
func (c *Client) SendMessage(ctx context.Context, p SendParams) (Message, error) {
	f := url.Values{}
	f.Set("From", p.From)
	f.Set("To", p.To)
	if p.Body != "" {
		f.Set("Body", p.Body)
	}
	for _, m := range p.MediaURLs {
		f.Add("MediaUrl", m)
	}
	if p.StatusCallback != "" {
		f.Set("StatusCallback", p.StatusCallback)
	}
	var m Message
	err := c.do(ctx, http.MethodPost, c.accountPath("Messages.json"), f, &m)
	return m, err
}
