package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

func testAttachNumber(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	a1 := newAgent(t, s, acct.ID, "one")
	a2 := newAgent(t, s, acct.ID, "two")
	n := newNumber(t, s, acct.ID, "+14155550100")

	got, err := s.AttachNumber(ctx, acct.ID, a1.ID, n.ID)
	must(t, err)
	if got.ID != n.ID || got.AgentID == nil || *got.AgentID != a1.ID || got.AttachedAt == nil {
		t.Fatalf("AttachNumber = %+v", got)
	}
	wantUTC(t, "AttachedAt", *got.AttachedAt)
	read, err := s.GetNumber(ctx, acct.ID, n.ID)
	must(t, err)
	if !reflect.DeepEqual(read, got) {
		t.Errorf("GetNumber after attach = %+v, want %+v", read, got)
	}

	again, err := s.AttachNumber(ctx, acct.ID, a1.ID, n.ID)
	must(t, err)
	if !reflect.DeepEqual(again, got) {
		t.Errorf("attaching again changed the number: %+v, was %+v", again, got)
	}

	_, err = s.AttachNumber(ctx, acct.ID, a2.ID, n.ID)
	wantErr(t, err, agentphone.KindConflict, "")
	if read, _ := s.GetNumber(ctx, acct.ID, n.ID); *read.AgentID != a1.ID {
		t.Errorf("conflicting attach moved the number to %s", *read.AgentID)
	}

	released := newNumber(t, s, acct.ID, "+14155550199")
	_, err = s.ReleaseNumber(ctx, acct.ID, released.ID, agentphone.Now())
	must(t, err)
	_, err = s.AttachNumber(ctx, acct.ID, a2.ID, released.ID)
	wantErr(t, err, agentphone.KindBadRequest, "Phone number +14155550199 is released and cannot be attached")

	_, err = s.AttachNumber(ctx, acct.ID, a2.ID, "num_unknown")
	wantNotFound(t, err, "Phone number not found")
	_, err = s.AttachNumber(ctx, acct.ID, "agt_unknown", n.ID)
	wantNotFound(t, err, "Agent not found")

	a, err := s.GetAgent(ctx, acct.ID, a1.ID)
	must(t, err)
	want := []agentphone.AgentNumber{{ID: n.ID, PhoneNumber: n.PhoneNumber, Status: agentphone.NumberActive, Type: agentphone.NumberTypeSMS}}
	if !reflect.DeepEqual(a.Numbers, want) {
		t.Errorf("agent Numbers = %+v, want %+v", a.Numbers, want)
	}
}

func testDetachNumber(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	a1 := newAgent(t, s, acct.ID, "one")
	a2 := newAgent(t, s, acct.ID, "two")
	n := newNumber(t, s, acct.ID, "+14155550100")
	_, err := s.AttachNumber(ctx, acct.ID, a1.ID, n.ID)
	must(t, err)

	wantNotFound(t, s.DetachNumber(ctx, acct.ID, a2.ID, n.ID), "not attached")
	wantNotFound(t, s.DetachNumber(ctx, acct.ID, "agt_unknown", n.ID), "Agent not found")
	wantNotFound(t, s.DetachNumber(ctx, acct.ID, a1.ID, "num_unknown"), "Phone number not found")
	if read, _ := s.GetNumber(ctx, acct.ID, n.ID); read.AgentID == nil {
		t.Fatal("failed detach detached the number")
	}

	must(t, s.DetachNumber(ctx, acct.ID, a1.ID, n.ID))
	read, err := s.GetNumber(ctx, acct.ID, n.ID)
	must(t, err)
	if read.AgentID != nil || read.AttachedAt != nil || read.Status != agentphone.NumberActive {
		t.Errorf("after detach: agent %v, attached %v, status %s", read.AgentID, read.AttachedAt, read.Status)
	}
	if a, _ := s.GetAgent(ctx, acct.ID, a1.ID); len(a.Numbers) != 0 {
		t.Errorf("agent still lists %+v", a.Numbers)
	}
	wantNotFound(t, s.DetachNumber(ctx, acct.ID, a1.ID, n.ID), "not attached")
	// Free again: another agent may take it.
	_, err = s.AttachNumber(ctx, acct.ID, a2.ID, n.ID)
	must(t, err)
}

func testAgentNumbersOrder(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	a := newAgent(t, s, acct.ID, "bot")
	other := newAgent(t, s, acct.ID, "other")
	var ns []*agentphone.Number
	for i := range 4 {
		ns = append(ns, newNumber(t, s, acct.ID, fmt.Sprintf("+1415555010%d", i)))
	}
	// Attached in the order 2, 0, 3; number 1 goes to the other agent.
	for _, i := range []int{2, 0, 3} {
		_, err := s.AttachNumber(ctx, acct.ID, a.ID, ns[i].ID)
		must(t, err)
	}
	_, err := s.AttachNumber(ctx, acct.ID, other.ID, ns[1].ID)
	must(t, err)
	// A number created attached, with an attachment time before all others.
	early := numberValue(acct.ID, "+14155550109")
	early.AgentID = &a.ID
	early.AttachedAt = ptr(ns[0].CreatedAt.Add(-time.Hour))
	must(t, s.CreateNumber(ctx, early, 0))

	var want []string
	for _, n := range []*agentphone.Number{early, ns[2], ns[0], ns[3]} {
		want = append(want, n.ID)
	}
	ids := func(l []agentphone.AgentNumber) []string {
		var out []string
		for _, n := range l {
			out = append(out, n.ID)
		}
		return out
	}
	got, err := s.GetAgent(ctx, acct.ID, a.ID)
	must(t, err)
	if !reflect.DeepEqual(ids(got.Numbers), want) {
		t.Errorf("GetAgent numbers = %v, want %v (attachment order)", ids(got.Numbers), want)
	}
	l, err := s.ListAgents(ctx, acct.ID, agentphone.Page{Limit: 10})
	must(t, err)
	for _, item := range l.Items {
		switch item.ID {
		case a.ID:
			if !reflect.DeepEqual(ids(item.Numbers), want) {
				t.Errorf("ListAgents numbers = %v, want %v", ids(item.Numbers), want)
			}
		case other.ID:
			if !reflect.DeepEqual(ids(item.Numbers), []string{ns[1].ID}) {
				t.Errorf("ListAgents other numbers = %v", ids(item.Numbers))
			}
		}
	}
}

func testNumberRoundTrip(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	for i, c := range []agentphone.Capabilities{
		{}, {SMS: true}, {MMS: true}, {Voice: true}, {IMessage: true}, {SMS: true, MMS: true, Voice: true, IMessage: true},
	} {
		n := numberValue(acct.ID, fmt.Sprintf("+4420794600%02d", i))
		n.Country, n.Type, n.Provider, n.ProviderRef = "GB", "local", "twilio", fmt.Sprintf("PN%032d", i)
		n.Capabilities = c
		must(t, s.CreateNumber(ctx, n, 0))
		got, err := s.GetNumber(ctx, acct.ID, n.ID)
		must(t, err)
		if !reflect.DeepEqual(got, n) {
			t.Errorf("GetNumber = %+v, want %+v", got, n)
		}
		wantUTC(t, "CreatedAt", got.CreatedAt)
	}
	_, err := s.GetNumber(ctx, acct.ID, "num_unknown")
	wantNotFound(t, err, "Phone number not found")
}

func testNumberUnique(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	a := newAccount(t, s, nil, "acme")
	b := newAccount(t, s, nil, "globex")
	const phone = "+14155550100"
	na := newNumber(t, s, a.ID, phone)

	err := s.CreateNumber(ctx, numberValue(b.ID, phone), 0)
	wantErr(t, err, agentphone.KindConflict, "already held")
	err = s.CreateNumber(ctx, numberValue(a.ID, phone), 0)
	wantErr(t, err, agentphone.KindConflict, "already held")

	_, err = s.ReleaseNumber(ctx, a.ID, na.ID, agentphone.Now())
	must(t, err)
	nb := newNumber(t, s, b.ID, phone) // free again
	err = s.CreateNumber(ctx, numberValue(a.ID, phone), 0)
	wantErr(t, err, agentphone.KindConflict, "already held")

	// The released one keeps its history.
	got, err := s.GetNumber(ctx, a.ID, na.ID)
	must(t, err)
	if got.Status != agentphone.NumberReleased || got.PhoneNumber != phone {
		t.Errorf("released number reads %+v", got)
	}
	// Released twice over, the phone is still free to buy a third time.
	_, err = s.ReleaseNumber(ctx, b.ID, nb.ID, agentphone.Now())
	must(t, err)
	newNumber(t, s, a.ID, phone)
}

func testNumberUniqueConcurrent(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	const workers = 8
	accts := make([]*agentphone.Account, workers)
	for i := range accts {
		accts[i] = newAccount(t, s, nil, fmt.Sprintf("acct%d", i))
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { errs[i] = s.CreateNumber(ctx, numberValue(accts[i].ID, "+14155550100"), 0) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantErr(t, err, agentphone.KindConflict, "already held")
	}
	if ok != 1 {
		t.Fatalf("%d concurrent creates of one phone number succeeded, want 1", ok)
	}
	held, err := s.HeldPhoneNumbers(ctx, []string{"+14155550100"})
	must(t, err)
	if !held["+14155550100"] {
		t.Error("phone number not held")
	}
}

func testReleaseNumber(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	a := newAgent(t, s, acct.ID, "bot")
	n := newNumber(t, s, acct.ID, "+14155550100")
	keep := newNumber(t, s, acct.ID, "+14155550101")
	_, err := s.AttachNumber(ctx, acct.ID, a.ID, n.ID)
	must(t, err)

	_, err = s.ReleaseNumber(ctx, other.ID, n.ID, agentphone.Now())
	wantNotFound(t, err, "Phone number not found")

	at := agentphone.Now()
	got, err := s.ReleaseNumber(ctx, acct.ID, n.ID, at)
	must(t, err)
	if got.Status != agentphone.NumberReleased || got.ReleasedAt == nil || !got.ReleasedAt.Equal(at) || got.AgentID != nil || got.AttachedAt != nil {
		t.Fatalf("ReleaseNumber = %+v", got)
	}
	wantUTC(t, "ReleasedAt", *got.ReleasedAt)
	read, err := s.GetNumber(ctx, acct.ID, n.ID)
	must(t, err)
	if !reflect.DeepEqual(read, got) {
		t.Errorf("GetNumber after release = %+v, want %+v", read, got)
	}
	if ag, _ := s.GetAgent(ctx, acct.ID, a.ID); len(ag.Numbers) != 0 {
		t.Errorf("agent still lists the released number: %+v", ag.Numbers)
	}
	l, err := s.ListNumbers(ctx, acct.ID, agentphone.Page{Limit: 20})
	must(t, err)
	if l.Total != 1 || len(l.Items) != 1 || l.Items[0].ID != keep.ID {
		t.Errorf("ListNumbers after release: %d items, total %d", len(l.Items), l.Total)
	}
	if c, err := s.CountActiveNumbers(ctx, acct.ID); err != nil || c != 1 {
		t.Errorf("CountActiveNumbers = %d, %v; want 1", c, err)
	}
	again, err := s.ReleaseNumber(ctx, acct.ID, n.ID, at.Add(time.Hour))
	must(t, err)
	if !again.ReleasedAt.Equal(at) {
		t.Errorf("releasing again moved ReleasedAt to %v", again.ReleasedAt)
	}
}

const limitMsg = "Number limit reached: this account may hold at most %d active numbers"

func testNumberLimit(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	n1 := numberValue(acct.ID, "+14155550101")
	must(t, s.CreateNumber(ctx, n1, 2))
	must(t, s.CreateNumber(ctx, numberValue(acct.ID, "+14155550102"), 2))
	err := s.CreateNumber(ctx, numberValue(acct.ID, "+14155550103"), 2)
	wantErr(t, err, agentphone.KindConflict, fmt.Sprintf(limitMsg, 2))
	must(t, s.CreateNumber(ctx, numberValue(other.ID, "+14155550104"), 2)) // per account
	_, err = s.ReleaseNumber(ctx, acct.ID, n1.ID, agentphone.Now())
	must(t, err)
	must(t, s.CreateNumber(ctx, numberValue(acct.ID, "+14155550103"), 2)) // released ones do not count
	must(t, s.CreateNumber(ctx, numberValue(acct.ID, "+14155550105"), 0)) // 0: no cap
	if c, err := s.CountActiveNumbers(ctx, acct.ID); err != nil || c != 3 {
		t.Errorf("CountActiveNumbers = %d, %v; want 3", c, err)
	}
}

func testNumberLimitConcurrent(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	const workers, limit = 20, 5
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { errs[i] = s.CreateNumber(ctx, numberValue(acct.ID, fmt.Sprintf("+141555501%02d", i)), limit) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantErr(t, err, agentphone.KindConflict, fmt.Sprintf(limitMsg, limit))
	}
	c, err := s.CountActiveNumbers(ctx, acct.ID)
	must(t, err)
	if ok != limit || c != limit {
		t.Fatalf("%d of %d concurrent creates succeeded, %d active; want exactly %d", ok, workers, c, limit)
	}
}

func testCreateNumberWithAgent(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	other := newAccount(t, s, nil, "globex")
	a := newAgent(t, s, acct.ID, "bot")
	foreign := newAgent(t, s, other.ID, "foreign")

	n := numberValue(acct.ID, "+14155550100")
	n.AgentID = &a.ID
	must(t, s.CreateNumber(ctx, n, 0))
	if n.AttachedAt == nil || !n.AttachedAt.Equal(n.CreatedAt) {
		t.Errorf("AttachedAt = %v, want CreatedAt %v", n.AttachedAt, n.CreatedAt)
	}
	got, err := s.GetNumber(ctx, acct.ID, n.ID)
	must(t, err)
	if !reflect.DeepEqual(got, n) {
		t.Errorf("GetNumber = %+v, want %+v", got, n)
	}
	if ag, _ := s.GetAgent(ctx, acct.ID, a.ID); len(ag.Numbers) != 1 || ag.Numbers[0].ID != n.ID {
		t.Errorf("agent Numbers = %+v", ag.Numbers)
	}

	bad := numberValue(acct.ID, "+14155550101")
	bad.AgentID = &foreign.ID
	wantNotFound(t, s.CreateNumber(ctx, bad, 0), "Agent not found")
	bad.AgentID = ptr("agt_unknown")
	wantNotFound(t, s.CreateNumber(ctx, bad, 0), "Agent not found")
	wantNotFound(t, s.CreateNumber(ctx, numberValue("acct_unknown", "+14155550102"), 0), "Account not found")
	if held, _ := s.HeldPhoneNumbers(ctx, []string{"+14155550101", "+14155550102"}); len(held) != 0 {
		t.Errorf("refused numbers were stored: %v", held)
	}
}

func testHeldPhoneNumbers(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	a := newAccount(t, s, nil, "acme")
	b := newAccount(t, s, nil, "globex")
	newNumber(t, s, a.ID, "+14155550001")
	newNumber(t, s, b.ID, "+14155550002")
	r := newNumber(t, s, a.ID, "+14155550003")
	_, err := s.ReleaseNumber(ctx, a.ID, r.ID, agentphone.Now())
	must(t, err)

	held, err := s.HeldPhoneNumbers(ctx, nil)
	must(t, err)
	if held == nil || len(held) != 0 {
		t.Errorf("HeldPhoneNumbers(nil) = %#v, want an empty map", held)
	}
	// More phones than one query takes.
	var phones []string
	for i := range 1200 {
		phones = append(phones, fmt.Sprintf("+1415555%04d", i))
	}
	held, err = s.HeldPhoneNumbers(ctx, phones)
	must(t, err)
	want := map[string]bool{"+14155550001": true, "+14155550002": true}
	if !reflect.DeepEqual(held, want) {
		t.Errorf("HeldPhoneNumbers = %v, want %v", held, want)
	}
}
