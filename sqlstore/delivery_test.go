package sqlstore_test

import (
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
	"github.com/agentphone/agentphone/storetest"
)

// TestPruneBatches prunes more rows than a batch holds: every batch is
// deleted and counted, and the loop ends on a short batch.
func TestPruneBatches(t *testing.T) {
	defer sqlstore.SetPruneBatch(3)()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			s := b.Open(t)
			acct := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: "acme", CreatedAt: agentphone.Now()}
			if err := s.CreateAccount(ctx, acct); err != nil {
				t.Fatal(err)
			}
			cut := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
			add := func(status string, at time.Time) {
				d := &agentphone.Delivery{ID: agentphone.NewID(agentphone.PrefixDelivery), AccountID: acct.ID,
					EventType: agentphone.EventMessage, Payload: []byte("{}"), Status: status, CreatedAt: at}
				if err := s.CreateDelivery(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 10 {
				add([]string{agentphone.DeliverySuccess, agentphone.DeliveryFailed}[i%2], cut.Add(-time.Duration(i+1)*time.Minute))
			}
			add(agentphone.DeliveryPending, cut.Add(-time.Hour))
			add(agentphone.DeliverySuccess, cut)
			for _, want := range []int{10, 0} {
				n, err := s.PruneDeliveries(ctx, cut)
				if err != nil || n != want {
					t.Fatalf("PruneDeliveries = %d, %v; want %d", n, err, want)
				}
			}
			l, err := s.ListDeliveries(ctx, acct.ID, agentphone.DeliveryFilter{}, agentphone.Page{})
			if err != nil || l.Total != 2 {
				t.Fatalf("after pruning: %d deliveries, %v; want 2", l.Total, err)
			}
		})
	}
}
