package storetest

import (
	"fmt"
	"testing"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

// BenchGetAgent measures GetAgent, the hot path of the API, from parallel
// goroutines, on an agent with two numbers: "webhook" has no custom tools,
// "hosted" has three (decoding their JSON is most of its cost). Reports
// reads/s.
func BenchGetAgent(b *testing.B, open func(testing.TB) *sqlstore.Store) {
	s := open(b)
	acct := newAccount(b, s, nil, "bench")
	// Other agents, so that the lookup is an index search among many.
	for i := range 200 {
		newAgent(b, s, acct.ID, fmt.Sprintf("other %d", i))
	}
	for i, tc := range []struct {
		name  string
		agent *agentphone.Agent
	}{
		{"webhook", agentValue(acct.ID, "bench")},
		{"hosted", fullAgent(acct.ID)},
	} {
		a := tc.agent
		must(b, s.CreateAgent(b.Context(), a))
		for j := range 2 {
			n := numberValue(acct.ID, fmt.Sprintf("+1415555%02d%02d", i, j))
			n.AgentID = &a.ID
			must(b, s.CreateNumber(b.Context(), n, 0))
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					got, err := s.GetAgent(b.Context(), acct.ID, a.ID)
					if err != nil || len(got.Numbers) != 2 {
						b.Errorf("GetAgent: %v", err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}

// BenchCreateAgent measures CreateAgent from parallel goroutines. Reports
// writes/s.
func BenchCreateAgent(b *testing.B, open func(testing.TB) *sqlstore.Store) {
	s := open(b)
	acct := newAccount(b, s, nil, "bench")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a := agentValue(acct.ID, "bench")
			if err := s.CreateAgent(b.Context(), a); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// Compile-time check that the suite's store is what the domain needs.
var _ agentphone.Store = (*sqlstore.Store)(nil)
