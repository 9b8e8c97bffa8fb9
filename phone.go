package agentphone

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone parses a phone number written in international form (with
// or without the leading +, with spaces, dashes, dots or parentheses) and
// returns it in E.164. Without a +, ten digits are a North American (+1)
// number written nationally, as US users write them: "(415) 555-1234". A
// '+' turned into a space by form decoding of a query string is tolerated.
// Returns an error for anything that is not a possible number.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty phone number")
	}
	if !strings.HasPrefix(s, "+") {
		if digits := strings.Map(keepDigit, s); len(digits) == 10 && digits[0] >= '2' {
			s = "+1" + s
		} else {
			s = "+" + s
		}
	}
	if strings.Trim(s[1:], "0123456789 -.()") != "" {
		return "", errors.New("a phone number has only digits, spaces and - . ( )")
	}
	e164, err := parseE164(s)
	if err != nil {
		return "", err
	}
	// Reject what does not survive a second parse unchanged (a national
	// prefix written after the country code, for example): the stored form
	// must be the canonical one.
	if again, err := parseE164(e164); err != nil || again != e164 {
		return "", errors.New("not a canonical phone number")
	}
	return e164, nil
}

func parseE164(s string) (string, error) {
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

// keepDigit is a strings.Map function keeping ASCII digits only.
func keepDigit(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}
