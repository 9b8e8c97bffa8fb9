package agentphone

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone parses a phone number written in international form (with
// or without the leading +, with spaces, dashes or dots) and returns it in
// E.164. A '+' turned into a space by form decoding of a query string is
// tolerated. Returns an error for anything that is not a possible number.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty phone number")
	}
	if !strings.HasPrefix(s, "+") {
		s = "+" + s
	}
	num, err := phonenumbers.Parse(s, "")
	if err != nil {
		return "", err
	}
	if !phonenumbers.IsPossibleNumber(num) {
		return "", errors.New("not a possible phone number")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// PhoneRegion returns the ISO-3166 country of an E.164 number, or "".
func PhoneRegion(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(num)
}
