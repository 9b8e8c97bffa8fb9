package agentphone

import (
	"context"
	"encoding/json"
	"time"
)

// Store persists the domain. Every method that changes more than one row does
// so in one transaction. Reads and changes are always scoped by account: a
// row of another account is reported as not found.
//
// Errors: not-found conditions are domain errors of KindNotFound with a
// message naming the object ("Agent not found"); rule violations are domain
// errors of their kind; anything else is an internal error.
type Store interface {
	// Accounts and keys.
	CreateAccount(ctx context.Context, a *Account) error
	GetAccount(ctx context.Context, id string) (*Account, error)
	// AccountByName returns the oldest top-level account of that name.
	AccountByName(ctx context.Context, name string) (*Account, error)
	ListSubAccounts(ctx context.Context, parentID string, p Page) (List[*Account], error)
	RenameSubAccount(ctx context.Context, parentID, id, name string) (*Account, error)
	// DeleteSubAccount refuses with a conflict while the sub-account holds
	// active numbers.
	DeleteSubAccount(ctx context.Context, parentID, id string) (*Account, error)
	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	// ListAPIKeys lists an account's keys, newest first; accountID "" lists
	// the keys of every account.
	ListAPIKeys(ctx context.Context, accountID string) ([]*APIKey, error)
	// RevokeAPIKey marks a key revoked; the key id may be given with or
	// without its prefix characters. Not-found when unknown.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) (*APIKey, error)
	// CountAccounts returns the number of accounts, to detect a fresh database.
	CountAccounts(ctx context.Context) (int, error)

	// Agents.
	CreateAgent(ctx context.Context, a *Agent) error
	GetAgent(ctx context.Context, accountID, id string) (*Agent, error)
	ListAgents(ctx context.Context, accountID string, p Page) (List[*Agent], error)
	// UpdateAgent reads the agent, calls fn to change it and writes it back,
	// all in one transaction; an error from fn aborts with nothing written.
	// fn must not call the Store: on SQLite it runs while holding the only
	// write connection.
	UpdateAgent(ctx context.Context, accountID, id string, fn func(*Agent) error) (*Agent, error)
	// DeleteAgent deletes the agent and its agent webhook and detaches its
	// numbers, returning the deleted agent.
	DeleteAgent(ctx context.Context, accountID, id string) (*Agent, error)
	// AttachNumber: bad request for a released number, conflict when another
	// agent holds it.
	AttachNumber(ctx context.Context, accountID, agentID, numberID string) (*Number, error)
	// DetachNumber: not found when the number is not attached to that agent.
	DetachNumber(ctx context.Context, accountID, agentID, numberID string) error

	// Numbers.
	// CreateNumber stores an active number; conflict when the phone number is
	// already held by an active number ("already held"), or when the account
	// already holds maxActive active numbers (maxActive 0: no cap).
	CreateNumber(ctx context.Context, n *Number, maxActive int) error
	GetNumber(ctx context.Context, accountID, id string) (*Number, error)
	// GetActiveNumberByPhone returns the active number with that E.164
	// phone number, of any account; not-found when none holds it.
	GetActiveNumberByPhone(ctx context.Context, phone string) (*Number, error)
	// ListNumbers lists active numbers only.
	ListNumbers(ctx context.Context, accountID string, p Page) (List[*Number], error)
	CountActiveNumbers(ctx context.Context, accountID string) (int, error)
	// HeldPhoneNumbers reports which of phones are held by an active number
	// of any account.
	HeldPhoneNumbers(ctx context.Context, phones []string) (map[string]bool, error)
	// ReleaseNumber marks the number released and detaches it.
	ReleaseNumber(ctx context.Context, accountID, id string, at time.Time) (*Number, error)

	// Webhooks (agentID nil: the account's project webhook).
	// UpsertWebhook creates w, or updates the existing webhook of the same
	// scope keeping its id and creation time; returns what is stored.
	UpsertWebhook(ctx context.Context, w *Webhook) (*Webhook, error)
	GetWebhook(ctx context.Context, accountID string, agentID *string) (*Webhook, error)
	// GetWebhookByID returns a webhook of the account, project or agent, by
	// its id; not-found when there is none.
	GetWebhookByID(ctx context.Context, accountID, id string) (*Webhook, error)
	DeleteWebhook(ctx context.Context, accountID string, agentID *string) error

	// Webhook deliveries (the delivery log).
	// CreateDelivery stores a new delivery. A pending delivery that is not
	// a test is queued for the outbox with it (the delivery log is the
	// queue).
	CreateDelivery(ctx context.Context, d *Delivery) error
	// UpdateDeliveryAttempt writes the outcome fields of d (Status,
	// HTTPStatus, ErrorMessage, ResponseBody, AttemptCount, LastAttemptAt,
	// NextRetryAt). Not-found when d does not exist.
	UpdateDeliveryAttempt(ctx context.Context, d *Delivery) error
	// GetDelivery returns a delivery of the account, payload included.
	GetDelivery(ctx context.Context, accountID, id string) (*Delivery, error)
	// ListDeliveries lists an account's deliveries, newest first, without
	// their payloads.
	ListDeliveries(ctx context.Context, accountID string, f DeliveryFilter, p Page) (List[*Delivery], error)
	// CountDeliveries groups the account's deliveries created at or after
	// since (all when nil) by event type, status and UTC hour.
	CountDeliveries(ctx context.Context, accountID string, since *time.Time) ([]DeliveryCount, error)
	// PruneDeliveries deletes finished (success or failed) deliveries
	// created before before, of every account, and returns how many.
	PruneDeliveries(ctx context.Context, before time.Time) (int, error)

	// Contacts.
	// CreateContact stores c; conflict (ContactExistsError) when the account
	// has a contact with the same phone number, not-found when the account
	// does not exist.
	CreateContact(ctx context.Context, c *Contact) error
	GetContact(ctx context.Context, accountID, id string) (*Contact, error)
	// GetContactByPhone returns the account's contact with that E.164
	// number, or nil when there is none.
	GetContactByPhone(ctx context.Context, accountID, phone string) (*Contact, error)
	// ListContacts lists the account's contacts, newest first (createdAt
	// descending, ties by id descending). A non-empty search keeps those
	// whose name contains it, ignoring the case of ASCII letters, or whose
	// phone number contains it; Total counts the matches.
	ListContacts(ctx context.Context, accountID, search string, p Page) (List[*Contact], error)
	// UpdateContact reads the contact, calls fn to change it and writes it
	// back, all in one transaction; an error from fn aborts with nothing
	// written, and a phone number another contact of the account has is a
	// conflict. fn must not call the Store (as for UpdateAgent).
	UpdateContact(ctx context.Context, accountID, id string, fn func(*Contact) error) (*Contact, error)
	DeleteContact(ctx context.Context, accountID, id string) error

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error

	// Messaging.
	// ReceiveMessage stores inbound message m in its conversation (of
	// m.NumberID and m.From, created on the first message), and the
	// delivery that event returns, in one transaction. event gets the
	// conversation as updated with m and up to historyLimit of its messages
	// before m, oldest first. m.CreatedAt may be moved forward so that the
	// messages of a number are at least a millisecond apart (time cursors
	// then page without gaps). Returns the conversation. When the number
	// already holds an inbound message with m's ProviderRef (a carrier's
	// retry), nothing is stored, *m becomes that message and the error is
	// ErrDuplicateMessage.
	ReceiveMessage(ctx context.Context, m *Message, historyLimit int,
		event func(c *Conversation, history []*Message) (*Delivery, error)) (*Conversation, error)
	// ClaimDueMessages claims, for a hand-over to their carrier, up to
	// limit queued outbound messages of every account whose next attempt
	// is due by now: it moves their NextAttemptAt to leaseEnd (when, if
	// their status is still queued, they are taken for lost and claimed
	// again) and returns them.
	ClaimDueMessages(ctx context.Context, now, leaseEnd time.Time, limit int) ([]*Message, error)
	// RescheduleMessage records, while message id is still queued, that
	// attempts hand-overs were made and when the next one is due.
	RescheduleMessage(ctx context.Context, id string, attempts int, next time.Time) error
	// GetMessage returns a message of the account.
	GetMessage(ctx context.Context, accountID, id string) (*Message, error)
	// CreateOutboundMessage stores outbound message m in its conversation
	// (of m.NumberID and m.To) in one transaction, its time adjusted as
	// ReceiveMessage does. Returns the conversation.
	CreateOutboundMessage(ctx context.Context, m *Message) (*Conversation, error)
	// UpdateMessageStatus records the outcome of the attempts-th
	// hand-over of outbound message id to its carrier: its status (sent,
	// delivered or failed) and error (nil: none), and its carrier id when
	// providerRef is not nil. Statuses only move forward (queued, sent, then
	// delivered or failed): an update that would move one back changes
	// nothing and is not an error. Not-found when there is no such message.
	UpdateMessageStatus(ctx context.Context, id, status string, attempts int, errorMessage, providerRef *string) error
	// UpdateCarrierStatus records a status the carrier reported later for
	// outbound message id, whose carrier id is ref, with UpdateMessageStatus's
	// forward-only rule. Not-found when there is no such message or its
	// recorded carrier id is another.
	UpdateCarrierStatus(ctx context.Context, id, ref, status string, reason *string) error
	// ListNumberMessages lists a number's messages within the cursor's
	// bounds, newest first: the newest ones, or, with only After, the
	// oldest after it (so that paging forward leaves no gap); hasMore when
	// more lie beyond the limit.
	ListNumberMessages(ctx context.Context, accountID, numberID string, c MessageCursor) (msgs []*Message, hasMore bool, err error)
	// ListConversationMessages is ListNumberMessages for a conversation.
	ListConversationMessages(ctx context.Context, accountID, conversationID string, c MessageCursor) (msgs []*Message, hasMore bool, err error)
	GetConversation(ctx context.Context, accountID, id string) (*Conversation, error)
	// FindConversation returns the account's conversation of number
	// numberID with participant (E.164 or as stored); not-found when there
	// is none.
	FindConversation(ctx context.Context, accountID, numberID, participant string) (*Conversation, error)
	// ListConversations lists the account's conversations (agentID set: of
	// that agent only), most recent activity first.
	ListConversations(ctx context.Context, accountID string, agentID *string, p Page) (List[*Conversation], error)
	// SetConversationMetadata replaces the metadata (nil clears it).
	SetConversationMetadata(ctx context.Context, accountID, id string, metadata json.RawMessage) (*Conversation, error)

	// Calls. The telephony edge knows calls by id only: FindCall,
	// AdvanceCall, AddTurn, AddCallEvent and FinishCall take no account.
	// CreateCall stores call c. When maxLive > 0 it counts, in the
	// transaction that stores c and with the account's row locked, the
	// account's calls not ended, and refuses with CallLimitError (errors.Is
	// ErrCallLimit) when there are maxLive already. Not-found when the
	// account does not exist.
	CreateCall(ctx context.Context, c *Call, maxLive int) error
	// GetCall returns a call of the account.
	GetCall(ctx context.Context, accountID, id string) (*Call, error)
	// FindCall returns the call with that id, of any account.
	FindCall(ctx context.Context, id string) (*Call, error)
	// ListCalls lists the account's calls that f keeps, newest first
	// (StartedAt descending, ties by id descending); Total counts them. A
	// Search keeps the calls whose From or To contains it (a search written
	// like a phone number is matched by its digits).
	ListCalls(ctx context.Context, accountID string, f CallFilter, p Page) (List[*Call], error)
	// ListUnfinishedCalls lists the calls of every account that have not
	// ended, oldest first.
	ListUnfinishedCalls(ctx context.Context) ([]*Call, error)
	// AdvanceCall moves call id to status when its status is one of from,
	// and sets its AnsweredAt to answeredAt when that is not nil. It
	// returns the call as stored afterwards and whether it moved. Not-found
	// when there is no such call.
	AdvanceCall(ctx context.Context, id, status string, from []string, answeredAt *time.Time) (*Call, bool, error)
	// AddTurn stores turn t of call t.CallID, or replaces the turn of that
	// call stored with t's id (its CreatedAt is kept), and, unless snippet
	// is "", sets the call's LastTranscriptSnippet to snippet, in one
	// transaction. Not-found when there is no such call; a conflict when
	// t's id is a turn of another call.
	AddTurn(ctx context.Context, t *Turn, snippet string) error
	// ListTurns returns the turns of a call of the account in order
	// (StartedAt, then CreatedAt, then id); empty when it has none or is
	// not the account's.
	ListTurns(ctx context.Context, accountID, callID string) ([]*Turn, error)
	// ListConversationTurns returns the last limit turns with text of the
	// account's calls between its number numberID and participant (the
	// caller of an inbound call, the callee of an outbound one), oldest
	// first: the voice side of their conversation (spec §20.17).
	ListConversationTurns(ctx context.Context, accountID, numberID, participant string, limit int) ([]*Turn, error)
	// AddCallEvent appends e to its call's event log. Not-found when there
	// is no such call.
	AddCallEvent(ctx context.Context, e *CallEvent) error
	// ListCallEvents returns the event log of a call of the account,
	// oldest first.
	ListCallEvents(ctx context.Context, accountID, callID string) ([]*CallEvent, error)
	// FinishCall ends call id unless it has ended, in one transaction that
	// locks its row: finish gets the call, its turns in order and the
	// conversation of its number with its other party (nil when none),
	// writes the end into the call (Status, EndReason, EndedAt,
	// DurationSeconds, RecordingPath, Analysis, AnalysisPending: the fields
	// written back) and returns the delivery of its event (nil: none),
	// stored with it. It returns the call as stored and whether this call
	// ended it: for a call that had ended already nothing is written and
	// finish is not called. An error from finish aborts with nothing
	// written. finish must not call the Store (as for UpdateAgent).
	FinishCall(ctx context.Context, id string, finish func(c *Call, turns []*Turn, conv *Conversation) (*Delivery, error)) (*Call, bool, error)
	// SettleCallAnalysis stores the post-call analysis of ended call id
	// when its AnalysisPending is set, in one transaction that locks its
	// row: settle gets the call, its turns and conversation as finish does
	// for FinishCall, writes the analysis into the call (Analysis: the
	// field written back; AnalysisPending is cleared) and returns the
	// delivery of its agent.call_ended event (nil: none), stored with it.
	// It returns the call as stored and whether this call settled it: for
	// a call not pending nothing is written and settle is not called. An
	// error from settle aborts with nothing written; settle must not call
	// the Store. Not-found when there is no such call.
	SettleCallAnalysis(ctx context.Context, id string, settle func(c *Call, turns []*Turn, conv *Conversation) (*Delivery, error)) (*Call, bool, error)
	// ListAnalysisPendingCalls lists the calls of every account whose
	// AnalysisPending is set, oldest end first.
	ListAnalysisPendingCalls(ctx context.Context) ([]*Call, error)

	// Account settings (our addition).
	// GetAccountSettings returns the settings of the account; not-found
	// when it does not exist.
	GetAccountSettings(ctx context.Context, accountID string) (*AccountSettings, error)
	// SetRecordCalls sets (nil: clears) the account's recording setting and
	// returns the settings as stored.
	SetRecordCalls(ctx context.Context, accountID string, v *bool) (*AccountSettings, error)

	// Usage.
	// CountMessages counts the account's messages, both directions: all of
	// them, then those created at or after each of since, in that order.
	CountMessages(ctx context.Context, accountID string, since ...time.Time) ([]int, error)
	// CountDeliveriesByStatus counts all the account's deliveries, test
	// ones included, by status.
	CountDeliveriesByStatus(ctx context.Context, accountID string) (map[string]int, error)
	// CountCalls counts the account's calls, any status: all of them, then
	// those started at or after each of since, in that order.
	CountCalls(ctx context.Context, accountID string, since ...time.Time) ([]int, error)
	// CountUsage counts the account's messages and deliveries created, and
	// calls started (with their voice minutes), at or after since by UTC
	// day or month, oldest first; periods with none of them are left out.
	CountUsage(ctx context.Context, accountID string, unit UsageUnit, since time.Time) ([]UsageCount, error)
	// UsageByNumber returns the account's active numbers and the released
	// ones that have messages or calls, newest first, with their agent's
	// name and their messages and calls counted.
	UsageByNumber(ctx context.Context, accountID string) ([]NumberUsage, error)
	// CountCallsByAgent counts the account's completed calls started in
	// [from, to), and sums the seconds of all of them, by agent, with the
	// agent's name; AgentID nil groups those of no agent. Unordered.
	CountCallsByAgent(ctx context.Context, accountID string, from, to time.Time) ([]AgentUsage, error)
	// CountMessagesByAgent counts the account's messages created in [from,
	// to) by agent, with the agent's name; AgentID nil groups those of no
	// agent (AgentName ""). Unordered.
	CountMessagesByAgent(ctx context.Context, accountID string, from, to time.Time) ([]AgentUsage, error)
}
