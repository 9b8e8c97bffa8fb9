package sandbox_test

import (
	"context"
	"testing"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sandbox"
)

func TestSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	held := map[string]bool{"+14155550100": true}
	p := sandbox.New(sandbox.Options{Held: func(_ context.Context, phones []string) (map[string]bool, error) {
		out := map[string]bool{}
		for _, ph := range phones {
			out[ph] = held[ph]
		}
		return out, nil
	}})
	tests := []struct {
		name      string
		q         agentphone.NumberQuery
		wantFirst string
		wantLen   int
	}{
		{"AreaCode", agentphone.NumberQuery{Country: "US", AreaCode: "212", Limit: 5}, "+12125550100", 5},
		{"SkipsHeld", agentphone.NumberQuery{Country: "US", AreaCode: "415", Limit: 200}, "+14155550101", 99},
		{"Default", agentphone.NumberQuery{Country: "US", Limit: 3}, "+14155550101", 3},
		{"Canada", agentphone.NumberQuery{Country: "CA", AreaCode: "604", Limit: 1}, "+16045550100", 1},
		{"AreaCodeOfOtherCountry", agentphone.NumberQuery{Country: "CA", AreaCode: "415", Limit: 1}, "", 0},
		{"UnknownCountry", agentphone.NumberQuery{Country: "GB", Limit: 1}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Search(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantLen {
				t.Fatalf("got %d numbers, want %d", len(got), tt.wantLen)
			}
			if tt.wantLen > 0 && got[0].PhoneNumber != tt.wantFirst {
				t.Fatalf("first = %s, want %s", got[0].PhoneNumber, tt.wantFirst)
			}
			for _, n := range got {
				if agentphone.PhoneRegion(n.PhoneNumber) != tt.q.Country {
					t.Errorf("%s is not in %s", n.PhoneNumber, tt.q.Country)
				}
			}
		})
	}
}

func TestPurchase(t *testing.T) {
	t.Parallel()
	p := sandbox.New(sandbox.Options{})
	got, err := p.Purchase(context.Background(), agentphone.AvailableNumber{PhoneNumber: "+14155550142", Country: "US"})
	if err != nil || got.PhoneNumber != "+14155550142" || !got.Capabilities.SMS || !got.Capabilities.Voice {
		t.Fatalf("Purchase = %+v, %v", got, err)
	}
	if _, err := p.Purchase(context.Background(), agentphone.AvailableNumber{PhoneNumber: "+14155551234", Country: "US"}); err == nil {
		t.Fatal("purchase of a number outside the sandbox range succeeded")
	}
}
