package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/agentphone/agentphone/storetest"
)

// TestIMessageOnlyRoutes: on SMS-only numbers every iMessage feature is a
// 400 naming the feature, the number and its provider; unknown ids are 404
// and bad bodies 422 first; nothing succeeds silently.
func TestIMessageOnlyRoutes(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		num := e.createNumber(map[string]any{})
		numID, phone := num["id"].(string), num["phoneNumber"].(string)
		m := e.do("POST", "/sandbox/v1/numbers/"+numID+"/inbound", map[string]any{"from": "+14155550199", "body": "hi"}).want(200).obj()
		msgID, conv := m["id"].(string), m["conversationId"].(string)
		smsOnly := func(feature string) string {
			return fmt.Sprintf("%s need iMessage; %s (provider sandbox) carries SMS/MMS only", feature, phone)
		}

		e.do("POST", "/v1/messages/"+msgID+"/reactions", map[string]any{"reaction": "love"}).
			wantDetail(400, fmt.Sprintf("Reactions need iMessage; message %s went over sms on %s (provider sandbox)", msgID, phone))
		e.do("POST", "/v1/messages/"+msgID+"/reactions", map[string]any{}).wantErrs(fe("missing", "reaction"))
		e.do("POST", "/v1/messages/msg_nope/reactions", map[string]any{"reaction": "love"}).wantDetail(404, "Message not found")

		e.do("POST", "/v1/conversations/"+conv+"/typing", nil).wantDetail(400, smsOnly("Typing indicators"))
		e.do("POST", "/v1/conversations/"+conv+"/background", map[string]any{"image_url": "https://a.example/b.png"}).
			wantDetail(400, smsOnly("Chat backgrounds"))
		e.do("POST", "/v1/conversations/"+conv+"/background", map[string]any{}).wantErrs(fe("missing", "image_url"))
		e.do("DELETE", "/v1/conversations/"+conv+"/background", nil).wantDetail(400, smsOnly("Chat backgrounds"))
		e.do("POST", "/v1/conversations/conv_nope/typing", nil).wantDetail(404, "Conversation not found")

		e.do("GET", "/v1/numbers/"+numID+"/contact-card", nil).wantDetail(400, smsOnly("Contact cards"))
		e.do("PUT", "/v1/numbers/"+numID+"/contact-card", map[string]any{"firstName": "Ada"}).wantDetail(400, smsOnly("Contact cards"))
		e.do("DELETE", "/v1/numbers/"+numID+"/contact-card", nil).wantDetail(400, smsOnly("Contact cards"))
		e.do("GET", "/v1/numbers/num_nope/contact-card", nil).wantDetail(404, "Phone number not found")

		e.do("GET", "/v1/contacts/capabilities?phone_number=%2B14155550199", nil).want(http.StatusBadRequest)
		e.do("GET", "/v1/contacts/capabilities", nil).wantErrs(qe("missing", "phone_number"))
		e.do("GET", "/v1/contacts/capabilities?phone_number=nope", nil).wantErrs(qe("value_error", "phone_number"))
	})
}
