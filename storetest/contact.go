package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

// contactValue returns a contact with no email or notes, not stored.
func contactValue(accountID, phone, name string) *agentphone.Contact {
	now := agentphone.Now()
	return &agentphone.Contact{
		ID: agentphone.NewID(agentphone.PrefixContact), AccountID: accountID, PhoneNumber: phone, Name: name,
		CreatedAt: now, UpdatedAt: now,
	}
}

func newContact(t testing.TB, s agentphone.Store, accountID, phone, name string) *agentphone.Contact {
	t.Helper()
	c := contactValue(accountID, phone, name)
	if err := s.CreateContact(t.Context(), c); err != nil {
		t.Fatalf("create contact %s: %v", phone, err)
	}
	return c
}

const contactExists = "A contact with phone number %s already exists"

func testContactRoundTrip(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	full := contactValue(acct.ID, "+14155550100", "Ada Lovelace")
	full.Email, full.Notes = ptr("ada@example.com"), ptr("Prefers SMS.\nLine two: 'quotes', \"double\", emoji 📞, ünïcödé.")
	full.UpdatedAt = full.CreatedAt.Add(time.Second)
	empty := contactValue(acct.ID, "+442079460958", "Bob")
	empty.Email, empty.Notes = ptr(""), ptr("") // empty, not null
	bare := contactValue(acct.ID, "+14155550101", "Carol")
	for _, c := range []*agentphone.Contact{full, empty, bare} {
		must(t, s.CreateContact(ctx, c))
		got, err := s.GetContact(ctx, acct.ID, c.ID)
		must(t, err)
		if !reflect.DeepEqual(got, c) {
			t.Errorf("GetContact =\n%+v\nwant\n%+v", got, c)
		}
		wantUTC(t, "CreatedAt", got.CreatedAt)
		wantUTC(t, "UpdatedAt", got.UpdatedAt)
	}
	if got, _ := s.GetContact(ctx, acct.ID, bare.ID); got.Email != nil || got.Notes != nil {
		t.Errorf("null email/notes read back as %v/%v", got.Email, got.Notes)
	}
	_, err := s.GetContact(ctx, acct.ID, "contact_unknown")
	wantNotFound(t, err, "Contact not found")
	wantNotFound(t, s.CreateContact(ctx, contactValue("acct_unknown", "+14155550102", "X")), "Account not found")

	must(t, s.DeleteContact(ctx, acct.ID, full.ID))
	_, err = s.GetContact(ctx, acct.ID, full.ID)
	wantNotFound(t, err, "Contact not found")
	wantNotFound(t, s.DeleteContact(ctx, acct.ID, full.ID), "Contact not found")
	if l, err := s.ListContacts(ctx, acct.ID, "", agentphone.Page{}); err != nil || l.Total != 2 {
		t.Errorf("after delete: total %d, %v; want 2", l.Total, err)
	}
}

func testUpdateContact(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	c := newContact(t, s, acct.ID, "+14155550100", "Ada")
	other := newContact(t, s, acct.ID, "+14155550101", "Bob")

	later := c.UpdatedAt.Add(time.Minute)
	got, err := s.UpdateContact(ctx, acct.ID, c.ID, func(x *agentphone.Contact) error {
		x.PhoneNumber, x.Name, x.Email, x.Notes, x.UpdatedAt = "+14155550199", "Ada L.", ptr("a@b.c"), ptr("n"), later
		// Attempts to move the contact are ignored.
		x.ID, x.AccountID, x.CreatedAt = "contact_other", "acct_other", later
		return nil
	})
	must(t, err)
	want := &agentphone.Contact{ID: c.ID, AccountID: acct.ID, PhoneNumber: "+14155550199", Name: "Ada L.",
		Email: ptr("a@b.c"), Notes: ptr("n"), CreatedAt: c.CreatedAt, UpdatedAt: later}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("UpdateContact =\n%+v\nwant\n%+v", got, want)
	}
	read, err := s.GetContact(ctx, acct.ID, c.ID)
	must(t, err)
	if !reflect.DeepEqual(read, want) {
		t.Fatalf("GetContact after update =\n%+v\nwant\n%+v", read, want)
	}

	// fn sees the stored contact; clearing email and notes stores NULL.
	got, err = s.UpdateContact(ctx, acct.ID, c.ID, func(x *agentphone.Contact) error {
		if !reflect.DeepEqual(x, want) {
			t.Errorf("fn got %+v, want %+v", x, want)
		}
		x.Email, x.Notes = nil, nil
		return nil
	})
	must(t, err)
	if read, _ := s.GetContact(ctx, acct.ID, c.ID); read.Email != nil || read.Notes != nil || got.Email != nil {
		t.Errorf("cleared email/notes read back as %v/%v", read.Email, read.Notes)
	}

	// An error from fn writes nothing and comes back as it is.
	before, _ := s.GetContact(ctx, acct.ID, c.ID)
	boom := errors.New("boom")
	_, err = s.UpdateContact(ctx, acct.ID, c.ID, func(x *agentphone.Contact) error {
		x.Name = "changed"
		return boom
	})
	if err != boom {
		t.Fatalf("fn error came back as %v", err)
	}
	// Another contact's phone number: a conflict, nothing written.
	_, err = s.UpdateContact(ctx, acct.ID, c.ID, func(x *agentphone.Contact) error {
		x.PhoneNumber, x.Name = other.PhoneNumber, "changed"
		return nil
	})
	wantErr(t, err, agentphone.KindConflict, fmt.Sprintf(contactExists, other.PhoneNumber))
	if after, _ := s.GetContact(ctx, acct.ID, c.ID); !reflect.DeepEqual(after, before) {
		t.Errorf("failed updates changed the contact: %+v, was %+v", after, before)
	}
	// Its own phone number again is no conflict.
	_, err = s.UpdateContact(ctx, acct.ID, c.ID, func(x *agentphone.Contact) error { return nil })
	must(t, err)

	_, err = s.UpdateContact(ctx, acct.ID, "contact_unknown", func(x *agentphone.Contact) error {
		t.Error("fn called for an unknown contact")
		return nil
	})
	wantNotFound(t, err, "Contact not found")
}

// testContactUnique: a phone number once per account, but any number of
// accounts may have it; deleting a contact frees its number.
func testContactUnique(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	a := newAccount(t, s, nil, "acme")
	b := newAccount(t, s, nil, "globex")
	sub := newAccount(t, s, a, "acme-eu")
	const phone = "+14155550100"
	ca := newContact(t, s, a.ID, phone, "A")
	err := s.CreateContact(ctx, contactValue(a.ID, phone, "again"))
	wantErr(t, err, agentphone.KindConflict, fmt.Sprintf(contactExists, phone))
	newContact(t, s, b.ID, phone, "B")
	newContact(t, s, sub.ID, phone, "Sub")
	if l, _ := s.ListContacts(ctx, a.ID, "", agentphone.Page{}); l.Total != 1 {
		t.Errorf("account a has %d contacts, want 1", l.Total)
	}
	must(t, s.DeleteContact(ctx, a.ID, ca.ID))
	newContact(t, s, a.ID, phone, "A again")
}

// testContactUniqueConcurrent: of concurrent creates, or updates, to one
// phone number in one account, exactly one succeeds.
func testContactUniqueConcurrent(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	const workers, phone = 8, "+14155550100"
	check := func(what, phone string, errs []error) {
		t.Helper()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			wantErr(t, err, agentphone.KindConflict, fmt.Sprintf(contactExists, phone))
		}
		if ok != 1 {
			t.Fatalf("%s: %d concurrent changes to phone number %s succeeded, want 1", what, ok, phone)
		}
	}

	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { errs[i] = s.CreateContact(ctx, contactValue(acct.ID, phone, fmt.Sprintf("c%d", i))) })
	}
	wg.Wait()
	check("create", phone, errs)

	// Contacts of other numbers all move to one new number at once.
	const phone2 = "+14155550200"
	var ids []string
	for i := range workers {
		ids = append(ids, newContact(t, s, acct.ID, fmt.Sprintf("+1415555030%d", i), "u").ID)
	}
	for i, id := range ids {
		wg.Go(func() {
			_, errs[i] = s.UpdateContact(ctx, acct.ID, id, func(c *agentphone.Contact) error {
				c.PhoneNumber = phone2
				return nil
			})
		})
	}
	wg.Wait()
	check("update", phone2, errs)

	l, err := s.ListContacts(ctx, acct.ID, "", agentphone.Page{})
	must(t, err)
	count := map[string]int{}
	for _, c := range l.Items {
		count[c.PhoneNumber]++
	}
	if l.Total != 1+workers || count[phone] != 1 || count[phone2] != 1 {
		t.Errorf("stored: total %d, %v", l.Total, count)
	}
}

func testContactSearch(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	newContact(t, s, other.ID, "+14155550999", "Ada elsewhere")
	names := map[string]string{} // id → name
	add := func(phone, name string) string {
		c := newContact(t, s, acct.ID, phone, name)
		names[c.ID] = name
		return name
	}
	add("+14155550100", "Ada Lovelace")
	add("+14155550101", "ADA BYRON")
	add("+14155550102", "100% Legit")
	add("+14155550103", "snake_case")
	add("+14155550104", "snakeXcase")
	add("+14155550105", `back\slash`)
	add("+442079460958", "Émile Zola")
	add("+14155550107", "émile ZOLA")
	add("+14155550108", "Grace Hopper")

	search := func(q string) []string {
		t.Helper()
		l, err := s.ListContacts(ctx, acct.ID, q, agentphone.Page{})
		must(t, err)
		if l.Total != len(l.Items) {
			t.Errorf("search %q: total %d, %d items", q, l.Total, len(l.Items))
		}
		var out []string
		for _, c := range l.Items {
			out = append(out, names[c.ID])
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"ada", []string{"ADA BYRON", "Ada Lovelace"}}, // case-insensitive, only this account's
		{"aDa", []string{"ADA BYRON", "Ada Lovelace"}},
		{"LOVE", []string{"Ada Lovelace"}},
		{"%", []string{"100% Legit"}}, // LIKE metacharacters match literally
		{"0%", []string{"100% Legit"}},
		{"_", []string{"snake_case"}},
		{"e_c", []string{"snake_case"}},
		{`\`, []string{`back\slash`}},
		{`k\s`, []string{`back\slash`}},
		{"zola", []string{"Émile Zola", "émile ZOLA"}},
		// Only ASCII letters fold: the same on both databases.
		{"émile", []string{"émile ZOLA"}},
		{"Émile", []string{"Émile Zola"}},
		// Phone numbers: as stored, or as people write them.
		{"+4420", []string{"Émile Zola"}},
		{"555010", []string{"100% Legit", "ADA BYRON", "Ada Lovelace", "Grace Hopper", `back\slash`, "snakeXcase", "snake_case", "émile ZOLA"}},
		{"(415) 555-0108", []string{"Grace Hopper"}},
		{" 1 415 555 0100", []string{"Ada Lovelace"}}, // a raw '+' decoded to a space
		{"+1-415-555-0100", []string{"Ada Lovelace"}},
		{"0100 x", nil},
		{"nobody", nil},
	} {
		if got := search(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("search %q = %q, want %q", tc.q, got, tc.want)
		}
	}

	// Pages of a search: total counts the matches, order is newest first.
	for i := range 12 {
		c := contactValue(acct.ID, fmt.Sprintf("+1212555%04d", i), fmt.Sprintf("Page %d", i))
		c.CreatedAt = createdAt(i)
		must(t, s.CreateContact(ctx, c))
	}
	l, err := s.ListContacts(ctx, acct.ID, "page", agentphone.Page{Limit: 5, Offset: 10})
	must(t, err)
	if l.Total != 12 || len(l.Items) != 2 {
		t.Errorf("search page: %d items, total %d; want 2 of 12", len(l.Items), l.Total)
	}
	all, err := s.ListContacts(ctx, acct.ID, "page", agentphone.Page{})
	must(t, err)
	var items []item
	for _, c := range all.Items {
		items = append(items, item{c.ID, c.CreatedAt})
	}
	want := newestFirst(slices.Clone(items))
	var got []string
	for _, it := range items {
		got = append(got, it.id)
	}
	if !slices.Equal(got, want) {
		t.Errorf("search order:\ngot  %v\nwant %v", got, want)
	}
	if got := []string{l.Items[0].ID, l.Items[1].ID}; !slices.Equal(got, want[10:]) {
		t.Errorf("search page 3 = %v, want %v", got, want[10:])
	}
	// Text no database stores is harmless.
	for _, q := range []string{"\x00", "\xff", "a\x00b"} {
		if got := search(q); got != nil {
			t.Errorf("search %q = %q", q, got)
		}
	}
}

func testPaginateContacts(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	newContact(t, s, other.ID, "+14155559999", "not mine")
	var items []item
	for i := range 25 {
		c := contactValue(acct.ID, fmt.Sprintf("+1415555%04d", i), fmt.Sprintf("contact %d", i))
		c.CreatedAt = createdAt(i)
		must(t, s.CreateContact(ctx, c))
		items = append(items, item{c.ID, c.CreatedAt})
	}
	want := newestFirst(items)
	checkPages(t, "ListContacts", want, func(p agentphone.Page) ([]string, int) {
		l, err := s.ListContacts(ctx, acct.ID, "", p)
		must(t, err)
		var ids []string
		for _, c := range l.Items {
			ids = append(ids, c.ID)
		}
		return ids, l.Total
	})
	l, err := s.ListContacts(ctx, "acct_none", "", agentphone.Page{Limit: 10})
	must(t, err)
	if l.Items == nil || len(l.Items) != 0 || l.Total != 0 {
		t.Errorf("empty list = %#v", l)
	}
}

// testContactIsolation: one account cannot read or change another's
// contacts, whatever their ids.
func testContactIsolation(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	a := newAccount(t, s, nil, "acme")
	b := newAccount(t, s, nil, "globex")
	sub := newAccount(t, s, a, "acme-eu")
	ca := newContact(t, s, a.ID, "+14155550100", "Ada")
	cb := newContact(t, s, b.ID, "+14155550200", "Bob")
	for _, acct := range []string{b.ID, sub.ID} {
		_, err := s.GetContact(ctx, acct, ca.ID)
		wantNotFound(t, err, "Contact not found")
		_, err = s.UpdateContact(ctx, acct, ca.ID, func(c *agentphone.Contact) error {
			t.Error("fn called for another account's contact")
			c.Name = "pwned"
			return nil
		})
		wantNotFound(t, err, "Contact not found")
		wantNotFound(t, s.DeleteContact(ctx, acct, ca.ID), "Contact not found")
		l, err := s.ListContacts(ctx, acct, "", agentphone.Page{Limit: 100})
		must(t, err)
		for _, c := range l.Items {
			if c.ID == ca.ID {
				t.Errorf("account %s lists another account's contact", acct)
			}
		}
		if l, _ := s.ListContacts(ctx, acct, "ada", agentphone.Page{}); l.Total != 0 {
			t.Errorf("account %s finds another account's contact", acct)
		}
	}
	if got, err := s.GetContact(ctx, a.ID, ca.ID); err != nil || !reflect.DeepEqual(got, ca) {
		t.Errorf("A's contact after B's attempts: %+v, %v", got, err)
	}
	if got, err := s.GetContact(ctx, b.ID, cb.ID); err != nil || !reflect.DeepEqual(got, cb) {
		t.Errorf("B's contact: %+v, %v", got, err)
	}
}

// testContactGoesWithAccount: deleting a sub-account deletes its contacts,
// and only its.
func testContactGoesWithAccount(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	top := newAccount(t, s, nil, "acme")
	sub := newAccount(t, s, top, "eu")
	gone := newContact(t, s, sub.ID, "+14155550100", "gone")
	kept := newContact(t, s, top.ID, "+14155550100", "kept")
	_, err := s.DeleteSubAccount(ctx, top.ID, sub.ID)
	must(t, err)
	_, err = s.GetContact(ctx, sub.ID, gone.ID)
	wantNotFound(t, err, "Contact not found")
	var n int
	must(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM contacts WHERE account_id = $1`, sub.ID).Scan(&n))
	if n != 0 {
		t.Errorf("%d contacts of the deleted sub-account remain", n)
	}
	if _, err := s.GetContact(ctx, top.ID, kept.ID); err != nil {
		t.Errorf("parent's contact gone: %v", err)
	}
}
