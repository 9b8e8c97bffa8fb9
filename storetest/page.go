package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

// item is what ordering looks at.
type item struct {
	id      string
	created time.Time
}

// newestFirst sorts like the stores must: created_at descending, then id
// descending byte by byte.
func newestFirst(items []item) []string {
	slices.SortFunc(items, func(a, b item) int {
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	return ids
}

// base is a fixed time, so that ties in created_at are certain.
var base = time.Date(2025, 1, 15, 10, 30, 0, 123456000, time.UTC)

// createdAt spreads 25 items over a few instants: several share one, so the
// id decides their order; one is a whole second apart, one a microsecond.
func createdAt(i int) time.Time {
	switch {
	case i%5 == 0:
		return base
	case i%7 == 0:
		return base.Add(time.Second)
	default:
		return base.Add(time.Duration(i) * time.Microsecond)
	}
}

// checkPages reads all items through pages of 10 and checks sizes, totals
// and order against want.
func checkPages(t *testing.T, what string, want []string, page func(p agentphone.Page) ([]string, int)) {
	t.Helper()
	var got []string
	for i, size := range []int{10, 10, 5} {
		ids, total := page(agentphone.Page{Limit: 10, Offset: i * 10})
		if len(ids) != size || total != len(want) {
			t.Fatalf("%s page %d: %d items, total %d; want %d, total %d", what, i, len(ids), total, size, len(want))
		}
		got = append(got, ids...)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s order:\ngot  %v\nwant %v", what, got, want)
	}
	if ids, total := page(agentphone.Page{Limit: 10, Offset: 30}); len(ids) != 0 || total != len(want) {
		t.Errorf("%s past the end: %d items, total %d", what, len(ids), total)
	}
	if ids, _ := page(agentphone.Page{}); !reflect.DeepEqual(ids, want) {
		t.Errorf("%s with no limit: %v, want all", what, ids)
	}
	if ids, _ := page(agentphone.Page{Limit: 3, Offset: 23}); !reflect.DeepEqual(ids, want[23:]) {
		t.Errorf("%s limit 3 offset 23: %v, want %v", what, ids, want[23:])
	}
}

func testPaginateAgents(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	newAgent(t, s, other.ID, "not mine")
	var items []item
	numbers := map[string]string{} // agent id → number id
	for i := range 25 {
		a := agentValue(acct.ID, fmt.Sprintf("agent %d", i))
		a.CreatedAt = createdAt(i)
		must(t, s.CreateAgent(ctx, a))
		items = append(items, item{a.ID, a.CreatedAt})
		if i%3 == 0 {
			n := numberValue(acct.ID, fmt.Sprintf("+1415555%04d", i))
			n.AgentID = &a.ID
			must(t, s.CreateNumber(ctx, n, 0))
			numbers[a.ID] = n.ID
		}
	}
	want := newestFirst(items)
	checkPages(t, "ListAgents", want, func(p agentphone.Page) ([]string, int) {
		l, err := s.ListAgents(ctx, acct.ID, p)
		must(t, err)
		var ids []string
		for _, a := range l.Items {
			ids = append(ids, a.ID)
			switch nid, ok := numbers[a.ID]; {
			case ok && (len(a.Numbers) != 1 || a.Numbers[0].ID != nid):
				t.Errorf("agent %s numbers = %+v, want [%s]", a.ID, a.Numbers, nid)
			case !ok && (a.Numbers == nil || len(a.Numbers) != 0):
				t.Errorf("agent %s numbers = %#v, want empty", a.ID, a.Numbers)
			}
		}
		return ids, l.Total
	})
}

func testPaginateNumbers(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	newNumber(t, s, other.ID, "+14155559999")
	var items []item
	for i := range 28 {
		n := numberValue(acct.ID, fmt.Sprintf("+1415555%04d", i))
		n.CreatedAt = createdAt(i)
		must(t, s.CreateNumber(ctx, n, 0))
		if i >= 25 { // released ones are not listed
			_, err := s.ReleaseNumber(ctx, acct.ID, n.ID, agentphone.Now())
			must(t, err)
			continue
		}
		items = append(items, item{n.ID, n.CreatedAt})
	}
	want := newestFirst(items)
	checkPages(t, "ListNumbers", want, func(p agentphone.Page) ([]string, int) {
		l, err := s.ListNumbers(ctx, acct.ID, p)
		must(t, err)
		var ids []string
		for _, n := range l.Items {
			ids = append(ids, n.ID)
		}
		return ids, l.Total
	})
}

func testPaginateSubAccounts(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	top := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	newAccount(t, s, other, "not mine")
	var items []item
	for i := range 25 {
		a := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), ParentID: &top.ID,
			Name: fmt.Sprintf("sub %d", i), CreatedAt: createdAt(i)}
		must(t, s.CreateAccount(ctx, a))
		items = append(items, item{a.ID, a.CreatedAt})
	}
	want := newestFirst(items)
	checkPages(t, "ListSubAccounts", want, func(p agentphone.Page) ([]string, int) {
		l, err := s.ListSubAccounts(ctx, top.ID, p)
		must(t, err)
		var ids []string
		for _, a := range l.Items {
			ids = append(ids, a.ID)
		}
		return ids, l.Total
	})
}
