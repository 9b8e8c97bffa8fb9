package twilio_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"testing"

	"github.com/agentphone/agentphone/twilio"
)

// refSign is the documented algorithm written out plainly for the tests,
// independently of the package: URL, then name+value of each parameter
// sorted by name, HMAC-SHA1 with the auth token, base64.
func refSign(token, u string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	data := u
	for _, k := range keys {
		data += k + params[k]
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func values(m map[string]string) url.Values {
	v := url.Values{}
	for k, s := range m {
		v.Set(k, s)
	}
	return v
}

// The parameters of Twilio's walkthrough in "Validating requests"
// (https://www.twilio.com/docs/usage/security), auth token "12345".
func docParams(caller string) map[string]string {
	return map[string]string{
		"CallSid": "CA1234567890ABCDE",
		"Caller":  caller,
		"Digits":  "1234",
		"From":    caller,
		"To":      "+18005551212",
	}
}

// The seven parameters of twilio-go's client/request_validator_test.go;
// "Reason" must sort before "ReasonConferenceEnded".
var sdkParams = map[string]string{
	"Digits":                "1234",
	"CallSid":               "CA1234567890ABCDE",
	"To":                    "+18005551212",
	"Caller":                "+14158675309",
	"From":                  "+14158675309",
	"ReasonConferenceEnded": "test",
	"Reason":                "Participant",
}

func TestSignatureDocumentedVectors(t *testing.T) {
	cases := []struct {
		name, url string
		params    map[string]string
		want      string
	}{
		// Twilio's security docs walkthrough.
		{"docs example.com", "https://example.com/myapp.php?foo=1&bar=2", docParams("+14158675310"), "L/OH5YylLD5NRKLltdqwSvS0BnU="},
		// Twilio's documentation snippets, TwilioDevEd/api-snippets
		// security/signature_validation/signature_validation.{3,2}.x.js.
		{"snippet 3.x", "https://mycompany.com/myapp.php?foo=1&bar=2", docParams("+14158675310"), "GvWf1cFY/Q7PnoempGyD5oXAezc="},
		{"snippet 2.x", "https://mycompany.com/myapp.php?foo=1&bar=2", docParams("+14158675309"), "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		// twilio-go v1.31.0 client/request_validator_test.go.
		{"twilio-go https", "https://mycompany.com/myapp.php?foo=1&bar=2", sdkParams, "vOEb5UThFn24KEfnOFLQY2AE5FY="},
		{"twilio-go http", "http://mycompany.com/myapp.php?foo=1&bar=2", sdkParams, "n2xBNyzSW7rfYStDtOFiFMv7qNo="},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := refSign("12345", c.url, c.params); got != c.want {
				t.Fatalf("reference algorithm = %s, documented %s", got, c.want)
			}
			if got := twilio.Signature("12345", c.url, values(c.params)); got != c.want {
				t.Fatalf("Signature = %s, want %s", got, c.want)
			}
			if !twilio.ValidateSignature("12345", c.url, values(c.params), c.want) {
				t.Fatal("ValidateSignature rejected the documented signature")
			}
		})
	}
	// twilio-go's signature with ReasonConferenceEnded sorted before Reason.
	if twilio.ValidateSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", values(sdkParams), "95+Bu0JVPi0r/SsESZCVf0dWAjw=") {
		t.Fatal("accepted a signature over wrongly sorted parameters")
	}
}

func TestValidateSignaturePorts(t *testing.T) {
	p := docParams("+14158675310")
	const docSig = "L/OH5YylLD5NRKLltdqwSvS0BnU=" // over https://example.com/… (no port)
	cases := []struct {
		name, url, sig string
		want           bool
	}{
		{"https, :443 in request URL, signed without", "https://example.com:443/myapp.php?foo=1&bar=2", docSig, true},
		{"https, signed with :443, URL without", "https://example.com/myapp.php?foo=1&bar=2",
			refSign("12345", "https://example.com:443/myapp.php?foo=1&bar=2", p), true},
		{"https, custom port, signed without (Twilio drops it)", "https://example.com:8443/myapp.php?foo=1&bar=2", docSig, true},
		{"https, custom port, signed with it", "https://example.com:8443/myapp.php?foo=1&bar=2",
			refSign("12345", "https://example.com:8443/myapp.php?foo=1&bar=2", p), true},
		{"http, custom port, signed with it", "http://example.com:8080/myapp.php?foo=1&bar=2",
			refSign("12345", "http://example.com:8080/myapp.php?foo=1&bar=2", p), true},
		{"http, signed with :80, URL without", "http://example.com/myapp.php?foo=1&bar=2",
			refSign("12345", "http://example.com:80/myapp.php?foo=1&bar=2", p), true},
		{"credentials in URL, signed without", "https://user:pw@example.com/myapp.php?foo=1&bar=2", docSig, true},
		{"IPv6 host with port", "https://[::1]:8443/myapp.php?foo=1&bar=2",
			refSign("12345", "https://[::1]/myapp.php?foo=1&bar=2", p), true},

		{"signed for another port", "https://example.com:443/myapp.php?foo=1&bar=2",
			refSign("12345", "https://example.com:8443/myapp.php?foo=1&bar=2", p), false},
		{"http URL, https signature", "http://example.com/myapp.php?foo=1&bar=2", docSig, false},
		{"other host", "https://example.org/myapp.php?foo=1&bar=2", docSig, false},
		{"tampered query", "https://example.com/myapp.php?foo=1&bar=3", docSig, false},
		{"reordered query", "https://example.com/myapp.php?bar=2&foo=1", docSig, false},
		{"other path", "https://example.com/other.php?foo=1&bar=2", docSig, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := twilio.ValidateSignature("12345", c.url, values(p), c.sig); got != c.want {
				t.Fatalf("ValidateSignature(%s) = %v, want %v", c.url, got, c.want)
			}
		})
	}
}

func TestValidateSignatureRejects(t *testing.T) {
	const u = "https://example.com/myapp.php?foo=1&bar=2"
	const sig = "L/OH5YylLD5NRKLltdqwSvS0BnU="
	p := docParams("+14158675310")

	tampered := values(p)
	tampered.Set("Digits", "9999")
	added := values(p)
	added.Set("Extra", "x")
	missing := values(p)
	missing.Del("Digits")
	emptyValue := values(p)
	emptyValue.Set("Extra", "") // a parameter with an empty value still counts
	renamed := values(p)
	renamed.Del("Digits")
	renamed.Set("digits", "1234")

	cases := []struct {
		name, token string
		form        url.Values
		sig         string
	}{
		{"wrong token", "54321", values(p), sig},
		{"empty token", "", values(p), sig},
		{"empty signature", "12345", values(p), ""},
		{"tampered parameter", "12345", tampered, sig},
		{"added parameter", "12345", added, sig},
		{"added empty parameter", "12345", emptyValue, sig},
		{"missing parameter", "12345", missing, sig},
		{"renamed parameter", "12345", renamed, sig},
		{"no parameters", "12345", nil, sig},
		{"truncated signature", "12345", values(p), sig[:len(sig)-1]},
		{"flipped character", "12345", values(p), "M" + sig[1:]},
		{"hex instead of base64", "12345", values(p), "2ff387e58ca52c3e4d44a2e5b5dab04af4b40675"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if twilio.ValidateSignature(c.token, u, c.form, c.sig) {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSignatureEmptyParamsAndGET(t *testing.T) {
	// A GET webhook: the parameters are in the URL, the form is empty.
	u := "https://example.com/sms?From=%2B14155550100&Body=hi+there"
	want := refSign("tok", u, nil)
	if got := twilio.Signature("tok", u, nil); got != want {
		t.Fatalf("Signature = %s, want %s", got, want)
	}
	if !twilio.ValidateSignature("tok", u, url.Values{}, want) {
		t.Fatal("rejected a GET signature")
	}
}
