package twilio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/agentphone/agentphone"
)

// MessageReceiver is what Webhooks needs of agentphone.MessageService.
type MessageReceiver interface {
	// ReceiveAt stores a message that arrived for phone number to;
	// not-found when no active number of this server is to.
	ReceiveAt(ctx context.Context, to string, in agentphone.InboundInput) (*agentphone.Message, error)
	// CarrierStatus records the later status (sent, delivered or failed)
	// of outbound message id, whose carrier id is ref; not-found when
	// there is no such message.
	CarrierStatus(ctx context.Context, id, ref, status string, reason *string) error
}

// Webhooks serves the requests Twilio makes to this server, both checked
// against X-Twilio-Signature before anything is read from them:
//
//	POST /twilio/messages                       Inbound: a message to a number
//	POST /twilio/messages/{message_id}/status   Status: an outbound message's status
//
// They are mounted without API-key authentication, the signature being
// Twilio's. Inbound answers an empty TwiML response, so Twilio sends no
// reply of its own. Twilio does not retry a 4xx; it may retry a 5xx
// (connection overrides), so a 5xx means "try again".
//
// It is safe for concurrent use; its fields must not change after first use.
type Webhooks struct {
	// AuthToken keys X-Twilio-Signature. It is always the account's auth
	// token, even when REST calls use an API key.
	AuthToken string
	// PublicURL is the base URL at which Twilio reaches this server, as in
	// Provider.PublicURL; the signed URL is PublicURL + the request's path
	// and query. It must be exactly what Twilio was given (scheme, host,
	// port, path prefix), not what a TLS-terminating proxy forwards.
	PublicURL string
	Messages  MessageReceiver
	Logger    *slog.Logger // nil: nothing is logged
}

// The routes of the webhooks, as http.ServeMux patterns: the server mounts
// Webhooks.Inbound and Webhooks.Status at them (without API-key
// authentication), and Provider gives Twilio their URLs.
const (
	InboundPattern = "POST " + inboundPath
	StatusPattern  = "POST /twilio/messages/{message_id}/status"
)

// inboundPath is the path of InboundPattern.
const inboundPath = "/twilio/messages"

// statusPath returns the path of StatusPattern for message id.
func statusPath(id string) string {
	return "/twilio/messages/" + url.PathEscape(id) + "/status"
}

// maxWebhookBody bounds a webhook's form. Twilio's are a few KiB.
const maxWebhookBody = 1 << 20

// emptyTwiML is the answer to an inbound message that asks Twilio for no
// reply (https://www.twilio.com/docs/messaging/twiml).
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// Inbound stores the message of an inbound-message webhook with
// Messages.ReceiveAt and answers 200 with empty TwiML. It answers 403 for
// a missing or wrong signature, 400 for a malformed form or a message the
// service rejects, 404 when the number is not on this server, and 500 when
// storing failed.
func (h *Webhooks) Inbound(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verify(w, r)
	if !ok {
		return
	}
	in, err := ParseInbound(form)
	if err != nil {
		h.logger().WarnContext(r.Context(), "twilio: malformed inbound message webhook", "path", r.URL.Path, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ref := in.MessageSID
	_, err = h.Messages.ReceiveAt(r.Context(), in.To, agentphone.InboundInput{
		From: in.From, Body: in.Body, MediaURLs: in.MediaURLs, ProviderRef: &ref,
	})
	if err != nil {
		h.fail(w, r, err, "twilio: inbound message not stored", "message_sid", in.MessageSID, "to", in.To)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, emptyTwiML)
}

// Status records the status of a message status callback with
// Messages.CarrierStatus, the message id being the path's {message_id}:
// sent, delivered (or read), and failed (failed, undelivered, canceled)
// with a reason from Twilio's ErrorCode. It answers 204 then. Twilio's
// intermediate statuses (queued, accepted, sending, …) and those MapStatus
// does not know change nothing and are answered 200. Errors are answered
// as by Inbound; an unknown message is 404.
func (h *Webhooks) Status(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verify(w, r)
	if !ok {
		return
	}
	id := r.PathValue("message_id")
	st, err := ParseStatus(form)
	if err != nil || id == "" {
		if err == nil {
			err = errors.New("twilio: status callback without a message id in the path")
		}
		h.logger().WarnContext(r.Context(), "twilio: malformed status callback", "path", r.URL.Path, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status, _ := MapStatus(st.Status)
	var reason *string
	switch status {
	case agentphone.MessageSent, agentphone.MessageDelivered:
	case agentphone.MessageFailed:
		s := failureReason(st.Status, st.ErrorCode)
		reason = &s
	default:
		h.logger().DebugContext(r.Context(), "twilio: intermediate message status ignored",
			"message_id", id, "message_sid", st.MessageSID, "twilio_status", st.Status)
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := h.Messages.CarrierStatus(r.Context(), id, st.MessageSID, status, reason); err != nil {
		h.fail(w, r, err, "twilio: message status not recorded",
			"message_id", id, "message_sid", st.MessageSID, "twilio_status", st.Status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// verify reads r's form, at most maxWebhookBody bytes, and checks its
// X-Twilio-Signature. It answers r itself (400, 413 or 403) and returns
// false when the request is not Twilio's.
func (h *Webhooks) verify(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		h.logger().WarnContext(r.Context(), "twilio: unreadable webhook form", "path", r.URL.Path,
			"remote_addr", r.RemoteAddr, "err", err)
		http.Error(w, "unreadable form", status)
		return nil, false
	}
	signedURL := strings.TrimRight(h.PublicURL, "/") + r.URL.RequestURI()
	sig := r.Header.Get(SignatureHeader)
	if !ValidateSignature(h.AuthToken, signedURL, r.PostForm, sig) {
		why := "X-Twilio-Signature does not match"
		if sig == "" {
			why = "X-Twilio-Signature is missing"
		}
		h.logger().WarnContext(r.Context(), "twilio: webhook rejected", "reason", why,
			"path", r.URL.Path, "remote_addr", r.RemoteAddr, "signed_url", signedURL,
			"hint", "PublicURL must be exactly the base URL Twilio calls, and AuthToken the account's auth token")
		http.Error(w, why, http.StatusForbidden)
		return nil, false
	}
	return r.PostForm, true
}

// fail answers a receiver's error: 404 for not-found, 400 for a bad
// request or invalid input (both logged as warnings: Twilio will not
// retry, and what the request carried is lost), else 500 (logged as an
// error).
func (h *Webhooks) fail(w http.ResponseWriter, r *http.Request, err error, msg string, attrs ...any) {
	attrs = append(attrs, "path", r.URL.Path, "err", err)
	switch agentphone.ErrorKind(err) {
	case agentphone.KindNotFound:
		h.logger().WarnContext(r.Context(), msg, attrs...)
		http.Error(w, cmp.Or(agentphone.ErrorMessage(err), "not found"), http.StatusNotFound)
	case agentphone.KindBadRequest:
		h.logger().WarnContext(r.Context(), msg, attrs...)
		http.Error(w, cmp.Or(agentphone.ErrorMessage(err), "rejected: "+err.Error()), http.StatusBadRequest)
	default:
		h.logger().ErrorContext(r.Context(), msg, attrs...)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func (h *Webhooks) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// failureReason is the reason of a message Twilio reported failed with
// status and errorCode: "Twilio error 30006: Landline or unreachable
// carrier", or "Twilio reported the message undelivered" without a code.
func failureReason(status string, errorCode *int) string {
	if errorCode == nil || *errorCode == 0 {
		return "Twilio reported the message " + strings.ToLower(status)
	}
	if t := errorTitle(*errorCode); t != "" {
		return fmt.Sprintf("Twilio error %d: %s", *errorCode, t)
	}
	return fmt.Sprintf("Twilio error %d", *errorCode)
}

// errorTitle returns Twilio's title of a common message delivery error
// code, or "" for another code. Titles are those of
// https://www.twilio.com/docs/api/errors/{code}.
func errorTitle(code int) string {
	return deliveryErrors[code]
}

// deliveryErrors are the error codes Twilio reports most on failed and
// undelivered messages (ErrorCode of status callbacks and of the Message
// resource).
var deliveryErrors = map[int]string{
	21610: "Attempt to send to unsubscribed recipient",
	30001: "Queue overflow",
	30002: "Account suspended",
	30003: "Unreachable destination handset",
	30004: "Message blocked",
	30005: "Unknown destination handset",
	30006: "Landline or unreachable carrier",
	30007: "Message filtered",
	30008: "Unknown error",
	30009: "Missing segment",
	30010: "Message price exceeds max price",
	30011: "MMS not supported by the receiving phone number in this region",
	30017: "Carrier network congestion",
	30018: "Destination carrier requires sender ID pre-registration",
	30019: "Content size exceeds carrier limit",
	30022: "US A2P 10DLC - Rate limits exceeded",
	30023: "US A2P 10DLC - Daily message cap reached",
	30024: "Numeric sender ID not provisioned on carrier",
	30032: "Toll-free number has not been verified",
	30034: "US A2P 10DLC - Message from an unregistered number",
}
