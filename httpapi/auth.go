package httpapi

import (
	"net/http"
	"strings"

	"github.com/agentphone/agentphone"
)

// hdrSubAccount selects a sub-account of the key's account (spec §1.3).
const hdrSubAccount = "X-Sub-Account-Id"

var errBadAuthHeader = agentphone.Errorf(agentphone.KindUnauthorized,
	"Invalid Authorization header: send Authorization: Bearer <key>")

// authed wraps h with bearer authentication (spec §1.2). With subAccount the
// X-Sub-Account-Id header selects the tenant (an unknown or foreign id is a
// 404 "Sub-account not found", decision 21); without, the key's own account
// is the tenant. Failures are 401 with WWW-Authenticate: Bearer.
func (s *Server) authed(h handlerFunc, subAccount bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := bearerKey(r.Header.Get("Authorization"))
		if !ok {
			s.writeError(w, r, errBadAuthHeader)
			return
		}
		sub := ""
		if subAccount {
			sub = r.Header.Get(hdrSubAccount)
		}
		sc, err := s.accounts.Authenticate(r.Context(), key, sub)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if st := stateFrom(r.Context()); st != nil {
			st.accountID = sc.AccountID
		}
		if err := h(w, r, sc); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// bearerKey extracts the key of "Bearer <key>" (scheme case-insensitive).
// An absent header gives ("", true), which the domain answers as a missing
// key; another scheme gives ok false.
func bearerKey(h string) (key string, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", true
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(rest), true
}
