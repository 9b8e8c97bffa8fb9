package storetest

import "testing"

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
