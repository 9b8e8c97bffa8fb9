package voice_test

import (
	"strings"
	"testing"

	"github.com/agentphone/agentphone/voice"
)

func TestIsCallScreener(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		text string
		want bool
	}{
		// Google Call Screen.
		{"Hi, the person you're calling is using a screening service from Google and will get a copy of this conversation. Go ahead and say your name and why you're calling.", true},
		{"Hi, this is the Google Assistant. The person you're calling is using a screening service.", true},
		{"hi this is the google assistant", true},
		{"Can I ask what you're calling about?", true},
		{"can i ask what youre calling about", true}, // no apostrophe
		{"Go ahead and say your name and why you’re calling.", true},
		// Apple Call Screening.
		{"Hi, if you record your name and reason for calling, I'll see if this person is available.", true},
		{"Who's calling and why?", true},
		{"Please state your name and the reason for your call.", true},
		// Carriers.
		{"The party you are trying to reach does not accept unidentified calls. Please say your name after the tone.", true},
		{"Please say your name after the tone.", true},
		{"STATE YOUR NAME.", true},
		{"At the tone, record your name.", true},
		{"This call is being screened. Who is calling?", true},
		{"You have reached an automated attendant. What is this regarding?", true},
		{"The person you are calling would like to know who is calling", true},
		// People.
		{"Hello?", false},
		{"Hello, who is this?", false},
		{"Yes, who is this?", false},
		{"Who's this?", false},
		{"Who's calling?", false},
		{"Who is calling, please?", false},
		{"What is this regarding?", false},
		{"Hi, this is Sam.", false},
		{"Yeah, speaking.", false},
		{"Hello, Acme Dental, how can I help you?", false},
		{"I'm calling about my order", false},
		{"My name is Sam", false},
		{"", false},
	} {
		if got := voice.IsCallScreener(c.text); got != c.want {
			t.Errorf("IsCallScreener(%q) = %v, want %v", c.text, got, c.want)
		}
	}
	// Only the first 4 KiB are read.
	long := strings.Repeat("hello ", 1000)
	if voice.IsCallScreener(long+"state your name") || !voice.IsCallScreener("state your name "+long) {
		t.Error("a long text is not read from its start, or not only there")
	}
}

func TestScreeningReply(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		identity, purpose, want string
	}{
		{"Sam from Acme Dental", "your appointment tomorrow", "This is Sam from Acme Dental, calling about your appointment tomorrow."},
		{"Sam from Acme Dental", "your appointment tomorrow.", "This is Sam from Acme Dental, calling about your appointment tomorrow."},
		{"Sam from Acme Dental", "to confirm your appointment", "This is Sam from Acme Dental, calling to confirm your appointment."},
		{"Sam from Acme Dental", "To confirm your appointment.", "This is Sam from Acme Dental, calling to confirm your appointment."},
		{"Sam", "about the invoice", "This is Sam, calling about the invoice."},
		{"Sam", "regarding order 1234", "This is Sam, calling regarding order 1234."},
		{"Sam", "from the clinic about your results", "This is Sam, calling from the clinic about your results."},
		{"Sam", "on behalf of Acme", "This is Sam, calling on behalf of Acme."},
		{"Sam", "calling to confirm a delivery", "This is Sam, calling to confirm a delivery."},
		{"Sam", "Tomorrow's delivery", "This is Sam, calling about Tomorrow's delivery."},
		{"Sam", "today", "This is Sam, calling about today."},
		{"Sam", "to", "This is Sam, calling about to."},
		{"  Sam.  ", "  the survey!  ", "This is Sam, calling about the survey."},
		{"Sam", "", "This is Sam."},
		{"Sam", " . ", "This is Sam."},
		{"", "to confirm your appointment", "I'm calling to confirm your appointment."},
		{"", "your order", "I'm calling about your order."},
		{"", "", ""},
	} {
		if got := voice.ScreeningReply(c.identity, c.purpose); got != c.want {
			t.Errorf("ScreeningReply(%q, %q) = %q, want %q", c.identity, c.purpose, got, c.want)
		}
	}
}

// FuzzScreening: any recognised text is classified without a panic, and
// the reply to a screener never grows beyond its parts.
func FuzzScreening(f *testing.F) {
	for _, s := range []string{"Please state your name and the reason for your call.", "leave a message after the tone", "",
		"\xff\xfe who is calling", strings.Repeat("say your name ", 1000)} {
		f.Add(s, "Ava", "to confirm")
	}
	f.Fuzz(func(t *testing.T, text, identity, purpose string) {
		_ = voice.IsCallScreener(text)
		_ = voice.IsVoicemailGreeting(text)
		if r := voice.ScreeningReply(identity, purpose); len(r) > len(identity)+len(purpose)+64 {
			t.Fatalf("ScreeningReply(%q, %q) = %q", identity, purpose, r)
		}
	})
}
