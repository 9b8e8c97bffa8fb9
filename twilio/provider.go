package twilio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/agentphone/agentphone"
)

// ProviderName is the name of Twilio numbers in agentphone.Number.Provider,
// by which agentphone.MessageService picks the sender of their messages.
const ProviderName = "twilio"

// defaultCountries are the countries numbers are sold in when
// Provider.CountryList is nil.
var defaultCountries = []string{"US", "CA"}

// Provider is the Twilio carrier: an agentphone.NumberProvider that buys
// numbers on the account and points their inbound messages at this server,
// and an agentphone.MessageSender that sends SMS and MMS from them with a
// status callback per message. Both callbacks reach Webhooks.
//
// It is safe for concurrent use; its fields must not change after first use.
type Provider struct {
	Client *Client
	// PublicURL is the base URL at which Twilio reaches this server, e.g.
	// "https://phones.example.com" (a trailing slash is ignored). Numbers
	// bought get PublicURL+"/twilio/messages" as their SmsUrl and messages
	// sent PublicURL+"/twilio/messages/{id}/status" as their
	// StatusCallback. It must equal Webhooks.PublicURL.
	PublicURL string
	// CountryList lists the ISO 3166-1 alpha-2 codes numbers are sold in;
	// nil means US and CA.
	CountryList []string
}

var (
	_ agentphone.NumberProvider = (*Provider)(nil)
	_ agentphone.MessageSender  = (*Provider)(nil)
)

// Name implements agentphone.NumberProvider: ProviderName.
func (p *Provider) Name() string { return ProviderName }

// Countries implements agentphone.NumberProvider: CountryList, or US and CA.
func (p *Provider) Countries() []string {
	if p.CountryList == nil {
		return slices.Clone(defaultCountries)
	}
	return slices.Clone(p.CountryList)
}

// Search implements agentphone.NumberProvider with Twilio's local numbers
// that can send and receive SMS. A country or area code Twilio has no
// numbers in yields an empty list. When Twilio cannot answer now (429, 5xx)
// or cannot be reached, the error is also an agentphone error of
// KindUnavailable, so API users see a 503 with a reason.
func (p *Provider) Search(ctx context.Context, q agentphone.NumberQuery) ([]agentphone.AvailableNumber, error) {
	country := strings.ToUpper(q.Country)
	found, err := p.Client.SearchNumbers(ctx, country, q.AreaCode, q.Limit)
	if err != nil {
		if c := ErrorCode(err); c == CodeNotFound || c == CodeNoNumbersInArea {
			return []agentphone.AvailableNumber{}, nil
		}
		return nil, unavailable(ctx, fmt.Errorf("twilio: search %s numbers: %w", country, err))
	}
	out := make([]agentphone.AvailableNumber, 0, len(found))
	for _, a := range found {
		out = append(out, agentphone.AvailableNumber{
			PhoneNumber:  a.PhoneNumber,
			Country:      cmp.Or(strings.ToUpper(a.ISOCountry), country),
			Capabilities: capabilities(a.Capabilities),
		})
	}
	return out, nil
}

// Purchase implements agentphone.NumberProvider: it buys n and sets its
// SmsUrl to PublicURL+"/twilio/messages" (POST). ProviderRef is the number's
// SID ("PN…"). A number taken in the meantime fails with
// CodeNumberUnavailable; an empty PublicURL fails before any request.
func (p *Provider) Purchase(ctx context.Context, n agentphone.AvailableNumber) (agentphone.ProvisionedNumber, error) {
	smsURL, err := p.callbackURL(inboundPath)
	if err != nil {
		return agentphone.ProvisionedNumber{}, err
	}
	in, err := p.Client.BuyNumber(ctx, n.PhoneNumber, smsURL, "")
	if ErrorCode(err) == CodeNumberUnavailable {
		return agentphone.ProvisionedNumber{}, fmt.Errorf("twilio: buy %s: %w: %w", n.PhoneNumber, agentphone.ErrNumberTaken, err)
	}
	if err != nil {
		return agentphone.ProvisionedNumber{}, unavailable(ctx, fmt.Errorf("twilio: buy %s: %w", n.PhoneNumber, err))
	}
	return agentphone.ProvisionedNumber{
		PhoneNumber:  cmp.Or(in.PhoneNumber, n.PhoneNumber),
		Country:      cmp.Or(n.Country, agentphone.PhoneRegion(in.PhoneNumber)),
		ProviderRef:  in.SID,
		Capabilities: capabilities(in.Capabilities),
	}, nil
}

// Release implements agentphone.NumberProvider: it releases the number
// whose SID is n.ProviderRef. A number Twilio no longer has on the account
// (CodeNotFound) counts as released, so Release may be repeated.
func (p *Provider) Release(ctx context.Context, n *agentphone.Number) error {
	err := p.Client.ReleaseNumber(ctx, n.ProviderRef)
	if err == nil || ErrorCode(err) == CodeNotFound {
		return nil
	}
	return unavailable(ctx, fmt.Errorf("twilio: release %s (%s): %w", n.PhoneNumber, n.ProviderRef, err))
}

// SendMessage implements agentphone.MessageSender: it sends m from n with
// m's body and media and a status callback to
// PublicURL+"/twilio/messages/{m.ID}/status". Twilio's 201 means the message
// was accepted, so the status is agentphone.MessageSent and delivery is
// reported later, by the callback.
//
// A failure that may pass (Twilio's 429 or 5xx, a 401 for this server's
// credentials, or Twilio not reached: connection refused, reset, timeout)
// is an *agentphone.TemporaryError; so
// the message may be tried again, which after a timeout or a 5xx can, rarely,
// send it twice. Twilio refusing the message (4xx, or an answer already
// failed) is a plain error whose text is the reason for API users, e.g.
// "Twilio refused the message (error 21211): Invalid 'To' Phone Number: +1555".
// When ctx ends first, the error wraps ctx's error and is not temporary:
// whether to try again is the caller's choice. Media limits (Twilio takes
// at most 10 MediaUrl) are Twilio's to check.
func (p *Provider) SendMessage(ctx context.Context, n *agentphone.Number, m *agentphone.Message) (agentphone.SentMessage, error) {
	cb, err := p.callbackURL(statusPath(m.ID))
	if err != nil {
		return agentphone.SentMessage{}, err
	}
	msg, err := p.Client.SendMessage(ctx, SendParams{
		From: n.PhoneNumber, To: m.To, Body: m.Body, MediaURLs: m.MediaURLs, StatusCallback: cb,
	})
	if err != nil {
		return agentphone.SentMessage{}, sendError(ctx, err)
	}
	if st := strings.ToLower(msg.Status); st == "failed" || st == "undelivered" {
		return agentphone.SentMessage{}, &reasonError{reason: refusedReason(msg)}
	}
	return agentphone.SentMessage{ProviderRef: msg.SID, Status: agentphone.MessageSent}, nil
}

// refusedReason is the reason of a message Twilio answered as already
// failed: its error code, with the code's title or Twilio's error message.
func refusedReason(m Message) string {
	reason := "Twilio refused the message"
	detail := ""
	if m.ErrorMessage != nil {
		detail = *m.ErrorMessage
	}
	if m.ErrorCode != nil && *m.ErrorCode != 0 {
		reason += fmt.Sprintf(" (error %d)", *m.ErrorCode)
		detail = cmp.Or(errorTitle(*m.ErrorCode), detail)
	}
	if detail != "" {
		reason += ": " + detail
	}
	return reason
}

// callbackURL returns PublicURL followed by path, or an error when
// PublicURL is not an absolute http(s) URL (Twilio could not call it).
func (p *Provider) callbackURL(path string) (string, error) {
	base := strings.TrimRight(p.PublicURL, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("twilio: PublicURL %q is not an absolute http(s) URL Twilio can call", p.PublicURL)
	}
	return base + path, nil
}

// reasonError is an error whose text is written for API users (the reason
// of a failed message) and which wraps the error it explains.
type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string { return e.reason }
func (e *reasonError) Unwrap() error { return e.err }

// sendError classifies an error of Client.SendMessage (see
// Provider.SendMessage).
func sendError(ctx context.Context, err error) error {
	var te *Error
	switch {
	case errors.As(err, &te) && te.Retryable():
		return agentphone.Temporary(&reasonError{
			reason: fmt.Sprintf("Twilio could not take the message now (%s): %s", statusText(te), te.Message),
			err:    err,
		})
	case te != nil && te.Status == http.StatusUnauthorized:
		// This server's credentials, not the message: it waits for them
		// to be fixed.
		return agentphone.Temporary(&reasonError{
			reason: fmt.Sprintf("Twilio rejected this server's credentials (%s): %s; check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY)", statusText(te), te.Message),
			err:    err,
		})
	case te != nil:
		return &reasonError{
			reason: fmt.Sprintf("Twilio refused the message (%s): %s", statusText(te), te.Message),
			err:    err,
		}
	case ctx.Err() != nil:
		return fmt.Errorf("twilio: send message: %w", err)
	}
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err // without the method and URL, which names the account
	}
	return agentphone.Temporary(&reasonError{reason: "Twilio could not be reached: " + cause.Error(), err: err})
}

// statusText names an *Error for API users: its Twilio code, else its HTTP
// status.
func statusText(e *Error) string {
	if e.Code != 0 {
		return fmt.Sprintf("error %d", e.Code)
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// unavailable adds KindUnavailable to err when Twilio cannot answer now
// (429, 5xx) or was not reached, the caller's context being still alive.
func unavailable(ctx context.Context, err error) error {
	var te *Error
	if errors.As(err, &te) {
		if !te.Retryable() {
			return err
		}
	} else if ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("%w: %w", agentphone.Errorf(agentphone.KindUnavailable,
		"Twilio is not available right now; try again later"), err)
}

// capabilities converts Twilio's capabilities; Twilio numbers carry no
// iMessage.
func capabilities(c Capabilities) agentphone.Capabilities {
	return agentphone.Capabilities{SMS: c.SMS, MMS: c.MMS, Voice: c.Voice}
}
