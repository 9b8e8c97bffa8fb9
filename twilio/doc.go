// Package twilio is agentphone's adapter to Twilio's REST API (2010-04-01)
// and to the webhooks Twilio sends back: it searches, buys and releases
// phone numbers, sends SMS and MMS, types Twilio's error JSON, validates
// X-Twilio-Signature and parses inbound-message and status-callback forms.
//
// On top of the Client, two types wire Twilio into agentphone:
//
//   - Provider is the Twilio carrier, an agentphone.NumberProvider and
//     agentphone.MessageSender named "twilio". It buys numbers whose SmsUrl
//     is PublicURL+"/twilio/messages" and sends each message with the
//     StatusCallback PublicURL+"/twilio/messages/{message_id}/status".
//     Twilio's 429 and 5xx, and failures to reach it, come back as
//     agentphone.TemporaryError; a refusal (4xx) as an error whose text is
//     the reason shown to API users.
//   - Webhooks serves those two URLs (InboundPattern, StatusPattern): it
//     checks X-Twilio-Signature against the same PublicURL, then stores
//     inbound messages with MessageService.ReceiveAt and records sent,
//     delivered and failed statuses with MessageService.CarrierStatus.
//
// Its Client is a small net/http client rather than the official SDK
// github.com/twilio/twilio-go (v1.31.0 on the module proxy): the SDK hard-codes
// https://api.twilio.com in unexported fields (only edge and region can
// change), so it cannot be pointed at the local fake in twiliotest without
// rewriting hosts in a transport, and its calls take no context.Context, so
// they cannot be cancelled. The four endpoints used here are plain
// form-encoded requests with JSON responses, which costs less code than the
// SDK's dependency tree.
//
// Wire format, as documented by Twilio and mirrored by twiliotest:
//
//	POST   /2010-04-01/Accounts/{AccountSid}/Messages.json
//	       From, To, Body, MediaUrl (repeated), StatusCallback → 201 Message
//	GET    /2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{Country}/Local.json
//	       ?AreaCode=&SmsEnabled=true&PageSize= → 200 {"available_phone_numbers": […]}
//	POST   /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json
//	       PhoneNumber, SmsUrl, SmsMethod, StatusCallback, StatusCallbackMethod → 201
//	DELETE /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{PNSid}.json → 204
//
// Requests use HTTP basic auth with AccountSID:AuthToken, or with an API key
// (APIKeySID:APIKeySecret; the path still names the account). Failures come
// back as {"code", "message", "more_info", "status"}, returned as *Error.
package twilio
