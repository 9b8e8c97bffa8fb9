package storetest

import (
	"context"
	"os"
	"testing"

	"github.com/agentphone/agentphone/postgres"
)

func TestBackends(t *testing.T) {
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := b.Open(t)
			must(t, s.Ping(t.Context()))
			if n, err := s.CountAccounts(t.Context()); err != nil || n != 0 {
				t.Fatalf("fresh store counts %d accounts, %v", n, err)
			}
		})
	}
}

func TestWithParam(t *testing.T) {
	for _, tt := range []struct{ base, want string }{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=t_1&sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db?search_path=t_1"},
		{"postgres://u@h/db?search_path=old", "postgres://u@h/db?search_path=t_1"},
		{"host=h dbname=db ", "host=h dbname=db search_path=t_1"},
	} {
		if got := withParam(tt.base, "search_path", "t_1"); got != tt.want {
			t.Errorf("withParam(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}

// TestPostgresTimeZone counts deliveries by hour on a connection whose time
// zone is not UTC, and half an hour off at that: the hours stay UTC's.
func TestPostgresTimeZone(t *testing.T) {
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(PostgresEnv + " not set")
	}
	s, err := postgres.Open(context.Background(), withParam(PostgresSchemaURL(t, base), "timezone", "Asia/Kolkata"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore(t, s) })
	var tz string
	must(t, s.DB().QueryRowContext(t.Context(), `SHOW TimeZone`).Scan(&tz))
	if tz != "Asia/Kolkata" {
		t.Fatalf("session time zone %q", tz)
	}
	testDeliveryCounts(t, s)
	testDeliveryRoundTrip(t, s)
}
