package httpapi

import (
	"net/url"
	"strings"
	"testing"

	"github.com/agentphone/agentphone"
)

// FuzzCallQuery feeds arbitrary query strings to the parsing of the call
// list and the long-poll: it never panics, reports errors only as 422
// items on the query, and what it accepts is one of the allowed values.
func FuzzCallQuery(f *testing.F) {
	for _, q := range []string{"status=completed&wait=true", "wait=YES&timeout=300", "direction=&type=web&wait=0",
		"status=ended&wait=maybe", "wait=%00&status=%ff"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		var qe queryErrors
		status := qe.literalParam(q, "status", agentphone.CallStatuses)
		wait := qe.boolParam(q, "wait", false)
		for _, e := range qe {
			if len(e.Loc) != 2 || e.Loc[0] != "query" || e.Msg == "" || e.Type == "" {
				t.Fatalf("error %+v", e)
			}
		}
		if status != "" && !contains(agentphone.CallStatuses, status) {
			t.Fatalf("status %q accepted", status)
		}
		if v, ok := last(q, "wait"); ok && strings.TrimSpace(v) != "" {
			b, ok := parseBool(v)
			if ok != (len(qe) == 0 || qe[len(qe)-1].Loc[1] != "wait") || (ok && b != wait) {
				t.Fatalf("wait %q: parsed %v %v, param %v, errors %+v", v, b, ok, wait, qe)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
