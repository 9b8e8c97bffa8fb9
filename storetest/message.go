package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/sqlstore"
)

// inboundValue is an inbound SMS to number n from from, not stored.
func inboundValue(n *agentphone.Number, from, body string, at time.Time) *agentphone.Message {
	return &agentphone.Message{
		ID: agentphone.NewID(agentphone.PrefixMessage), AccountID: n.AccountID, NumberID: n.ID, AgentID: n.AgentID,
		Direction: agentphone.DirectionInbound, From: from, To: n.PhoneNumber, Body: body, MediaURLs: []string{},
		Channel: agentphone.ChannelSMS, Status: agentphone.MessageReceived, CreatedAt: at, UpdatedAt: at,
	}
}

// receive stores m with a delivery of its event and returns the
// conversation and the history the event was given.
func receive(t testing.TB, s agentphone.Store, m *agentphone.Message, limit int) (*agentphone.Conversation, []*agentphone.Message) {
	t.Helper()
	var history []*agentphone.Message
	c, err := s.ReceiveMessage(t.Context(), m, limit, func(c *agentphone.Conversation, h []*agentphone.Message) (*agentphone.Delivery, error) {
		history = h
		d := deliveryValue(m.AccountID, m.AgentID)
		d.MessageID = &m.ID
		return d, nil
	})
	if err != nil {
		t.Fatalf("receive message: %v", err)
	}
	return c, history
}

// testReceiveMessage: inbound messages thread into one conversation per
// (number, other party), counted, with the latest as preview; the event
// sees the earlier messages, oldest first, up to the limit; the delivery
// is stored with the message; metadata is replaced and cleared.
func testReceiveMessage(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	agent := newAgent(t, s, acct.ID, "bot")
	n := numberValue(acct.ID, "+15555550123")
	n.AgentID = &agent.ID
	if err := s.CreateNumber(ctx, n, 0); err != nil {
		t.Fatal(err)
	}
	base := agentphone.Now()
	var msgs []*agentphone.Message
	var conv *agentphone.Conversation
	for i := range 4 {
		m := inboundValue(n, "+15551230000", fmt.Sprintf("hello %d", i), base) // same instant: moved apart
		c, history := receive(t, s, m, 2)
		if conv != nil && c.ID != conv.ID {
			t.Fatalf("message %d in conversation %s, want %s", i, c.ID, conv.ID)
		}
		conv = c
		want := msgs[max(0, len(msgs)-2):]
		if got := messageIDs(history); !slices.Equal(got, messageIDs(want)) {
			t.Fatalf("history of message %d = %v, want %v", i, got, messageIDs(want))
		}
		msgs = append(msgs, m)
	}
	for i := 1; i < len(msgs); i++ {
		if !msgs[i].CreatedAt.After(msgs[i-1].CreatedAt) {
			t.Fatalf("message times not increasing: %v then %v", msgs[i-1].CreatedAt, msgs[i].CreatedAt)
		}
	}
	if conv.MessageCount != 4 || conv.LastMessagePreview != "hello 3" || !conv.LastMessageAt.Equal(msgs[3].CreatedAt) ||
		conv.Participant != "+15551230000" || conv.PhoneNumber != n.PhoneNumber || derefString(conv.AgentID) != agent.ID ||
		conv.Metadata != nil {
		t.Fatalf("conversation %+v", conv)
	}
	// Each message's delivery was stored with it.
	l, err := s.ListDeliveries(ctx, acct.ID, agentphone.DeliveryFilter{}, agentphone.Page{Limit: 10})
	must(t, err)
	if l.Total != 4 {
		t.Fatalf("%d deliveries, want 4", l.Total)
	}
	// Another party: another conversation.
	other, _ := receive(t, s, inboundValue(n, "+15551239999", "hi", agentphone.Now()), 10)
	if other.ID == conv.ID {
		t.Fatal("another party shares the conversation")
	}
	// Listed by latest activity.
	cl, err := s.ListConversations(ctx, acct.ID, nil, agentphone.Page{Limit: 10})
	must(t, err)
	if cl.Total != 2 || cl.Items[0].ID != other.ID || cl.Items[1].ID != conv.ID {
		t.Fatalf("conversations %+v", cl)
	}
	cl, err = s.ListConversations(ctx, acct.ID, &agent.ID, agentphone.Page{Limit: 10})
	must(t, err)
	if cl.Total != 2 {
		t.Fatalf("agent's conversations: %d", cl.Total)
	}

	// Metadata: replaced, then cleared; appears in the next event's view.
	meta := json.RawMessage(`{"orderId":"ORD-1","n":[1,2]}`)
	c, err := s.SetConversationMetadata(ctx, acct.ID, conv.ID, meta)
	must(t, err)
	if string(c.Metadata) != string(meta) {
		t.Fatalf("metadata %s, want %s", c.Metadata, meta)
	}
	var seen json.RawMessage
	_, err = s.ReceiveMessage(ctx, inboundValue(n, "+15551230000", "again", agentphone.Now()), 0,
		func(c *agentphone.Conversation, h []*agentphone.Message) (*agentphone.Delivery, error) {
			seen = c.Metadata
			if len(h) != 0 {
				t.Errorf("history with limit 0: %d messages", len(h))
			}
			return deliveryValue(acct.ID, &agent.ID), nil
		})
	must(t, err)
	if string(seen) != string(meta) {
		t.Fatalf("the event saw metadata %s, want %s", seen, meta)
	}
	c, err = s.SetConversationMetadata(ctx, acct.ID, conv.ID, nil)
	must(t, err)
	if c.Metadata != nil {
		t.Fatalf("metadata after clearing: %s", c.Metadata)
	}
	if _, err := s.SetConversationMetadata(ctx, newAccount(t, s, nil, "other").ID, conv.ID, meta); err == nil {
		t.Fatal("another account set the metadata")
	}

	// An event that fails stores nothing.
	before, _, err := s.ListNumberMessages(ctx, acct.ID, n.ID, agentphone.MessageCursor{Limit: 100})
	must(t, err)
	_, err = s.ReceiveMessage(ctx, inboundValue(n, "+15551230000", "lost", agentphone.Now()), 0,
		func(*agentphone.Conversation, []*agentphone.Message) (*agentphone.Delivery, error) {
			return nil, fmt.Errorf("boom")
		})
	if err == nil {
		t.Fatal("ReceiveMessage with a failing event: no error")
	}
	after, _, err := s.ListNumberMessages(ctx, acct.ID, n.ID, agentphone.MessageCursor{Limit: 100})
	must(t, err)
	if len(after) != len(before) {
		t.Fatalf("%d messages after a failed receive, want %d", len(after), len(before))
	}
	got, err := s.GetConversation(ctx, acct.ID, conv.ID)
	must(t, err)
	if got.MessageCount != 5 {
		t.Fatalf("message count %d after a failed receive, want 5", got.MessageCount)
	}
}

// testMessagesOutliveAgentAndNumber: deleting the agent nulls its
// reference; releasing the number keeps its conversations and messages.
func testMessagesOutliveAgentAndNumber(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	agent := newAgent(t, s, acct.ID, "bot")
	n := numberValue(acct.ID, "+15555550124")
	n.AgentID = &agent.ID
	must(t, s.CreateNumber(ctx, n, 0))
	m := inboundValue(n, "+15551230000", "hi", agentphone.Now())
	conv, _ := receive(t, s, m, 0)
	_, err := s.DeleteAgent(ctx, acct.ID, agent.ID)
	must(t, err)
	_, err = s.ReleaseNumber(ctx, acct.ID, n.ID, agentphone.Now())
	must(t, err)
	c, err := s.GetConversation(ctx, acct.ID, conv.ID)
	must(t, err)
	if c.AgentID != nil {
		t.Errorf("conversation's agent %v after the agent's deletion, want nil", *c.AgentID)
	}
	msgs, _, err := s.ListConversationMessages(ctx, acct.ID, conv.ID, agentphone.MessageCursor{Limit: 10})
	must(t, err)
	if len(msgs) != 1 || msgs[0].ID != m.ID || msgs[0].AgentID != nil || msgs[0].Body != "hi" {
		t.Fatalf("messages after agent deletion and release: %+v", msgs)
	}
}

// testMessageCursors: 500 messages of one number, with many created in
// the same microsecond, page by before (newest first) and by after
// (oldest first) without gaps or repeats; another account sees none.
func testMessageCursors(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	n := newNumber(t, s, acct.ID, "+15555550125")
	const total = 500
	at := agentphone.Now().Add(-time.Hour)
	var want []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 5 { // concurrent writers on two conversations
		wg.Go(func() {
			for i := range total / 5 {
				m := inboundValue(n, fmt.Sprintf("+1555123000%d", w%2), fmt.Sprintf("m%d-%d", w, i), at)
				_, err := s.ReceiveMessage(ctx, m, 0, func(*agentphone.Conversation, []*agentphone.Message) (*agentphone.Delivery, error) {
					return deliveryValue(acct.ID, nil), nil
				})
				if err != nil {
					t.Errorf("receive: %v", err)
					return
				}
				mu.Lock()
				want = append(want, m.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	var back []string // before-cursor pages, newest first
	cur := agentphone.MessageCursor{Limit: 37}
	for pages := 0; ; pages++ {
		msgs, more, err := s.ListNumberMessages(ctx, acct.ID, n.ID, cur)
		must(t, err)
		for i := 1; i < len(msgs); i++ {
			if !msgs[i].CreatedAt.Before(msgs[i-1].CreatedAt) {
				t.Fatalf("page not newest first")
			}
		}
		back = append(back, messageIDs(msgs)...)
		if !more {
			break
		}
		// As a JavaScript client would pass it back: to the millisecond.
		cur.Before = msgs[len(msgs)-1].CreatedAt.Truncate(time.Millisecond)
		if pages > total {
			t.Fatal("paging does not end")
		}
	}
	var fwd []string // after-cursor pages, oldest first
	cur = agentphone.MessageCursor{Limit: 41, After: at.Add(-time.Second)}
	for pages := 0; ; pages++ {
		msgs, more, err := s.ListNumberMessages(ctx, acct.ID, n.ID, cur)
		must(t, err)
		for i := 1; i < len(msgs); i++ {
			if !msgs[i].CreatedAt.Before(msgs[i-1].CreatedAt) {
				t.Fatalf("after-page not newest first")
			}
		}
		page := messageIDs(msgs)
		slices.Reverse(page)
		fwd = append(fwd, page...) // oldest first overall
		if !more {
			break
		}
		cur.After = msgs[0].CreatedAt.Truncate(time.Millisecond)
		if pages > total {
			t.Fatal("paging does not end")
		}
	}
	if !sameSet(back, want) || len(back) != total {
		t.Fatalf("before-pages: %d messages (%d distinct of %d)", len(back), len(uniq(back)), total)
	}
	slices.Reverse(fwd)
	if !slices.Equal(fwd, back) {
		t.Fatalf("after-pages, reversed, differ from before-pages (%d vs %d)", len(fwd), len(back))
	}
	other := newAccount(t, s, nil, "other")
	msgs, _, err := s.ListNumberMessages(ctx, other.ID, n.ID, agentphone.MessageCursor{Limit: 10})
	must(t, err)
	if len(msgs) != 0 {
		t.Fatalf("another account sees %d messages", len(msgs))
	}
}

func messageIDs(ms []*agentphone.Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func uniq(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}

// testMessageClaimRace: claims of due messages running at once hand out
// each queued message once, and none that is not due yet.
func testMessageClaimRace(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	n := newNumber(t, s, acct.ID, "+14155550100")
	now := agentphone.Now()
	const due = 150
	for i := range due + 10 {
		at := now.Add(-time.Second)
		if i >= due {
			at = now.Add(time.Minute)
		}
		m := &agentphone.Message{
			ID: agentphone.NewID(agentphone.PrefixMessage), AccountID: acct.ID, NumberID: n.ID,
			Direction: agentphone.DirectionOutbound, From: n.PhoneNumber, To: fmt.Sprintf("+1415555%04d", 1000+i%7),
			Body: "hi", MediaURLs: []string{}, Channel: agentphone.ChannelSMS, Status: agentphone.MessageQueued,
			CreatedAt: now, UpdatedAt: now, NextAttemptAt: &at,
		}
		if _, err := s.CreateOutboundMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				got, err := s.ClaimDueMessages(ctx, now, now.Add(time.Hour), 7)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
					if m.NextAttemptAt == nil || !m.NextAttemptAt.Equal(now.Add(time.Hour).Truncate(time.Microsecond)) {
						t.Errorf("claimed message %s due at %v, want the lease's end", m.ID, m.NextAttemptAt)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != due {
		t.Errorf("%d messages claimed, want the %d due", len(seen), due)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("message %s claimed %d times", id, k)
		}
	}
}

// testReceiveDuplicate: an inbound message handed over again with the same
// carrier id (a carrier's retry) is stored once, with one delivery, and the
// second call sees the first message; the same carrier id on another number,
// or on an outbound message, is no duplicate.
func testReceiveDuplicate(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	acct := newAccount(t, s, nil, "acme")
	n1 := newNumber(t, s, acct.ID, "+15555550123")
	n2 := newNumber(t, s, acct.ID, "+15555550124")
	ref := "SM0123456789abcdef0123456789abcdef"
	first := inboundValue(n1, "+15551230000", "hello", agentphone.Now())
	first.ProviderRef = &ref
	receive(t, s, first, 0)

	again := inboundValue(n1, "+15551230000", "hello", agentphone.Now())
	again.ProviderRef = &ref
	events := 0
	_, err := s.ReceiveMessage(ctx, again, 0, func(*agentphone.Conversation, []*agentphone.Message) (*agentphone.Delivery, error) {
		events++
		return deliveryValue(acct.ID, nil), nil
	})
	if !errors.Is(err, agentphone.ErrDuplicateMessage) || again.ID != first.ID || events != 0 {
		t.Fatalf("second receive: %v, message %s (first %s), %d events", err, again.ID, first.ID, events)
	}
	msgs, _, err := s.ListNumberMessages(ctx, acct.ID, n1.ID, agentphone.MessageCursor{Limit: 10})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("number holds %d messages (%v), want 1", len(msgs), err)
	}
	other := inboundValue(n2, "+15551230000", "hello", agentphone.Now())
	other.ProviderRef = &ref
	receive(t, s, other, 0)
	if other.ID == first.ID {
		t.Fatal("the same carrier id on another number was taken for a duplicate")
	}
}
