package twilio

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Capabilities tells what a number can do. Twilio spells the keys "sms"
// and "mms" on IncomingPhoneNumbers but "SMS" and "MMS" on
// AvailablePhoneNumbers; both decode here.
type Capabilities struct {
	SMS   bool `json:"sms"`
	MMS   bool `json:"mms"`
	Voice bool `json:"voice"`
}

// Available is a number offered by AvailablePhoneNumbers.
type Available struct {
	PhoneNumber  string       `json:"phone_number"` // E.164
	FriendlyName string       `json:"friendly_name"`
	Locality     string       `json:"locality"`
	Region       string       `json:"region"`
	ISOCountry   string       `json:"iso_country"`
	Capabilities Capabilities `json:"capabilities"`
}

// Incoming is a number the account owns (an IncomingPhoneNumber).
type Incoming struct {
	SID            string       `json:"sid"` // "PN…"
	PhoneNumber    string       `json:"phone_number"`
	FriendlyName   string       `json:"friendly_name"`
	SMSURL         string       `json:"sms_url"`
	SMSMethod      string       `json:"sms_method"`
	StatusCallback string       `json:"status_callback"`
	Capabilities   Capabilities `json:"capabilities"`
}

// maxSearch is the largest PageSize SearchNumbers asks for.
const maxSearch = 1000

// SearchNumbers lists local numbers of country (ISO 3166-1 alpha-2, e.g.
// "US") that can send and receive SMS, in areaCode when it is not empty, at
// most limit of them (Twilio's default page size when limit is 0). An area
// code without free numbers yields an empty list, not an error.
func (c *Client) SearchNumbers(ctx context.Context, country, areaCode string, limit int) ([]Available, error) {
	country = strings.ToUpper(country)
	if len(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z' {
		return nil, fmt.Errorf("twilio: country %q is not an ISO 3166-1 alpha-2 code", country)
	}
	if limit < 0 {
		return nil, fmt.Errorf("twilio: negative limit %d", limit)
	}
	q := url.Values{"SmsEnabled": {"true"}}
	if areaCode != "" {
		q.Set("AreaCode", areaCode)
	}
	if limit > 0 {
		q.Set("PageSize", strconv.Itoa(min(limit, maxSearch)))
	}
	var page struct {
		Numbers []Available `json:"available_phone_numbers"`
	}
	u := c.accountPath("AvailablePhoneNumbers/" + country + "/Local.json")
	if err := c.do(ctx, http.MethodGet, u, q, &page); err != nil {
		return nil, err
	}
	if limit > 0 && len(page.Numbers) > limit {
		page.Numbers = page.Numbers[:limit]
	}
	if page.Numbers == nil {
		page.Numbers = []Available{}
	}
	return page.Numbers, nil
}

// BuyNumber buys phoneNumber (E.164, as SearchNumbers returned it) and
// points its incoming messages at smsURL (POST) when not empty.
// statusCallbackURL, when not empty, becomes the number's StatusCallback,
// which Twilio calls with the status of voice calls to the number; delivery
// status of messages is per message (SendParams.StatusCallback).
// A number that is no longer available fails with CodeNumberUnavailable.
func (c *Client) BuyNumber(ctx context.Context, phoneNumber, smsURL, statusCallbackURL string) (Incoming, error) {
	f := url.Values{"PhoneNumber": {phoneNumber}}
	if smsURL != "" {
		f.Set("SmsUrl", smsURL)
		f.Set("SmsMethod", http.MethodPost)
	}
	if statusCallbackURL != "" {
		f.Set("StatusCallback", statusCallbackURL)
		f.Set("StatusCallbackMethod", http.MethodPost)
	}
	var in Incoming
	err := c.do(ctx, http.MethodPost, c.accountPath("IncomingPhoneNumbers.json"), f, &in)
	return in, err
}

// ReleaseNumber releases the owned number sid ("PN…"). Releasing a number
// that is not (or no longer) owned fails with CodeNotFound.
func (c *Client) ReleaseNumber(ctx context.Context, sid string) error {
	if !validSID(sid, "PN") {
		return fmt.Errorf(`twilio: number SID %q is not "PN" followed by 32 hex digits`, sid)
	}
	return c.do(ctx, http.MethodDelete, c.accountPath("IncomingPhoneNumbers/"+sid+".json"), nil, nil)
}
