package httpapi

import (
	"net/http"

	"github.com/agentphone/agentphone"
)

// Carrier routes are our additions, not part of the AgentPhone API: the
// requests carriers make to this server (inbound messages, delivery
// status). They carry no API key; the carrier's handler authenticates each
// request by the carrier's own signature. openapi.json tags them
// "carriers".

// TwilioWebhooks serves the requests Twilio makes (twilio.Webhooks).
type TwilioWebhooks interface {
	// Inbound takes a message Twilio received for one of its numbers.
	Inbound(w http.ResponseWriter, r *http.Request)
	// Status takes a status callback of the outbound message named by the
	// path value message_id.
	Status(w http.ResponseWriter, r *http.Request)
}

// registerCarriers adds the carrier routes: Twilio's when it is configured,
// else a 404 that says how to configure it.
func (s *Server) registerCarriers(tw TwilioWebhooks) {
	inbound, status := http.HandlerFunc(s.twilioNotConfigured), http.HandlerFunc(s.twilioNotConfigured)
	if tw != nil {
		inbound, status = tw.Inbound, tw.Status
	}
	s.handle("POST /twilio/messages", inbound)
	s.handle("POST /twilio/messages/{message_id}/status", status)
}

func (s *Server) twilioNotConfigured(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, agentphone.Errorf(agentphone.KindNotFound,
		"Twilio is not configured on this server: start it with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"))
}
