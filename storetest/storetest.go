// Package storetest is the conformance suite of agentphone stores, and the
// helpers that open a fresh store on every supported database for the tests
// of other packages (the HTTP API, end-to-end tests).
//
// Run is called by the tests of the sqlite and postgres packages. Backends
// returns SQLite always and PostgreSQL when AGENTPHONE_TEST_POSTGRES_URL
// names a server on which the tests may create and drop schemas.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/postgres"
	"github.com/agentphone/agentphone/sqlite"
	"github.com/agentphone/agentphone/sqlstore"
)

// PostgresEnv names the environment variable holding the URL of a
// PostgreSQL server for tests, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "AGENTPHONE_TEST_POSTGRES_URL"

// Backend is a database the store runs on.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// Open returns a fresh, empty, migrated store that t's cleanup closes
	// and deletes.
	Open func(t testing.TB) *sqlstore.Store
}

// Backends returns SQLite, and PostgreSQL when PostgresEnv is set; it logs
// why PostgreSQL is left out otherwise.
func Backends(t testing.TB) []Backend {
	t.Helper()
	bs := []Backend{{Name: "sqlite", Open: OpenSQLite}}
	if base := os.Getenv(PostgresEnv); base != "" {
		bs = append(bs, Backend{Name: "postgres", Open: func(t testing.TB) *sqlstore.Store { return OpenPostgres(t, base) }})
	} else {
		t.Logf("storetest: PostgreSQL skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run against it too", PostgresEnv)
	}
	return bs
}

// OpenSQLite opens a store in a new file under t.TempDir().
func OpenSQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "agentphone.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { closeStore(t, s) })
	return s
}

// OpenPostgres opens a store in a new schema of the server at base (see
// PostgresSchemaURL).
func OpenPostgres(t testing.TB, base string) *sqlstore.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), PostgresSchemaURL(t, base))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { closeStore(t, s) })
	return s
}

func closeStore(t testing.TB, s *sqlstore.Store) {
	if err := s.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
}

// PostgresSchemaURL creates a schema t_<random> on the server at base (a
// postgres:// URL or key=value string), drops it with everything in it in
// t's cleanup, and returns base with search_path set to it: a URL for a
// store, or for a server binary, that sees only that schema.
func PostgresSchemaURL(t testing.TB, base string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParam(base, "search_path", schema)
}

// withParam sets a connection parameter on a postgres:// URL or appends it
// to a key=value connection string.
func withParam(base, key, value string) string {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		if u, err := url.Parse(base); err == nil {
			q := u.Query()
			q.Set(key, value)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return strings.TrimSpace(base) + " " + key + "=" + value
}

// Run runs the conformance suite, each subtest in parallel on a store of
// its own from open.
func Run(t *testing.T, open func(t testing.TB) *sqlstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *sqlstore.Store)
	}{
		{"Migrate", testMigrate},
		{"Ping", testPing},
		{"Account", testAccount},
		{"AccountByName", testAccountByName},
		{"SubAccount", testSubAccount},
		{"DeleteSubAccount", testDeleteSubAccount},
		{"APIKey", testAPIKey},
		{"AgentRoundTrip", testAgentRoundTrip},
		{"AgentNullsAndEmpties", testAgentNullsAndEmpties},
		{"UpdateAgent", testUpdateAgent},
		{"UpdateAgentRollback", testUpdateAgentRollback},
		{"DeleteAgent", testDeleteAgent},
		{"AttachNumber", testAttachNumber},
		{"DetachNumber", testDetachNumber},
		{"AgentNumbersOrder", testAgentNumbersOrder},
		{"NumberRoundTrip", testNumberRoundTrip},
		{"NumberUniqueAmongActive", testNumberUnique},
		{"NumberUniqueConcurrent", testNumberUniqueConcurrent},
		{"ReleaseNumber", testReleaseNumber},
		{"NumberLimit", testNumberLimit},
		{"NumberLimitConcurrent", testNumberLimitConcurrent},
		{"CreateNumberWithAgent", testCreateNumberWithAgent},
		{"HeldPhoneNumbers", testHeldPhoneNumbers},
		{"PaginateAgents", testPaginateAgents},
		{"PaginateNumbers", testPaginateNumbers},
		{"PaginateSubAccounts", testPaginateSubAccounts},
		{"WebhookUpsert", testWebhookUpsert},
		{"WebhookScopes", testWebhookScopes},
		{"WebhookUnknownAgent", testWebhookUnknownAgent},
		{"WebhookByID", testWebhookByID},
		{"TenantIsolation", testTenantIsolation},
		{"DeliveryRoundTrip", testDeliveryRoundTrip},
		{"DeliveryOutsideText", testDeliveryOutsideText},
		{"DeliveryUpdate", testDeliveryUpdate},
		{"DeliveryQueue", testDeliveryQueue},
		{"DeliveryClaimRace", testDeliveryClaimRace},
		{"DeliveryIsolation", testDeliveryIsolation},
		{"DeliveryList", testDeliveryList},
		{"DeliveryCounts", testDeliveryCounts},
		{"DeliveryPrune", testDeliveryPrune},
		{"DeliveryOutlivesAgent", testDeliveryOutlivesAgent},
		{"DeliveryGoesWithAccount", testDeliveryGoesWithAccount},
		{"ReceiveMessage", testReceiveMessage},
		{"MessagesOutliveAgentAndNumber", testMessagesOutliveAgentAndNumber},
		{"MessageCursors", testMessageCursors},
		{"MessageClaimRace", testMessageClaimRace},
		{"ReceiveDuplicate", testReceiveDuplicate},
		{"ContactRoundTrip", testContactRoundTrip},
		{"UpdateContact", testUpdateContact},
		{"ContactUnique", testContactUnique},
		{"ContactUniqueConcurrent", testContactUniqueConcurrent},
		{"ContactSearch", testContactSearch},
		{"PaginateContacts", testPaginateContacts},
		{"ContactIsolation", testContactIsolation},
		{"ContactGoesWithAccount", testContactGoesWithAccount},
		{"CallRoundTrip", testCallRoundTrip},
		{"CallList", testCallList},
		{"CallAdvance", testCallAdvance},
		{"CallTurns", testCallTurns},
		{"ConversationTurns", testConversationTurns},
		{"FindConversation", testFindConversation},
		{"CallEvents", testCallEvents},
		{"FinishCall", testFinishCall},
		{"FinishCallRace", testFinishCallRace},
		{"CallAnalysisRoundTrip", testCallAnalysisRoundTrip},
		{"SettleCallAnalysis", testSettleCallAnalysis},
		{"SettleCallAnalysisRace", testSettleCallAnalysisRace},
		{"ListAnalysisPendingCalls", testListAnalysisPendingCalls},
		{"CallLimit", testCallLimit},
		{"CallsOutliveAgentAndNumber", testCallsOutliveAgentAndNumber},
		{"AccountSettings", testAccountSettings},
		{"UsageCalls", testUsageCalls},
		{"UsageTotals", testUsageTotals},
		{"UsageSeries", testUsageSeries},
		{"UsageByNumber", testUsageByNumber},
		{"UsageByAgent", testUsageByAgent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// Fixtures.

func newAccount(t testing.TB, s agentphone.Store, parent *agentphone.Account, name string) *agentphone.Account {
	t.Helper()
	a := &agentphone.Account{ID: agentphone.NewID(agentphone.PrefixAccount), Name: name, CreatedAt: agentphone.Now()}
	if parent != nil {
		a.ParentID = &parent.ID
	}
	if err := s.CreateAccount(t.Context(), a); err != nil {
		t.Fatalf("create account: %v", err)
	}
	return a
}

// agentValue returns an agent with the defaults of the spec, not stored.
func agentValue(accountID, name string) *agentphone.Agent {
	now := agentphone.Now()
	return &agentphone.Agent{
		ID: agentphone.NewID(agentphone.PrefixAgent), AccountID: accountID, Name: name,
		VoiceMode: agentphone.DefaultVoiceMode, EnableMessaging: true, ModelTier: agentphone.DefaultModelTier,
		Voice: "espeak-en", STTMode: agentphone.DefaultSTTMode, AmbientSound: agentphone.DefaultAmbientSound,
		DenoisingMode: agentphone.DefaultDenoisingMode, MaxSilenceMs: agentphone.DefaultMaxSilenceMs,
		VoiceSpeed: agentphone.DefaultVoiceSpeed, InterruptionSensitivity: agentphone.DefaultInterruptionSensitivity,
		EnableBackchannel: true, Language: agentphone.DefaultLanguage,
		CreatedAt: now, UpdatedAt: now, Numbers: []agentphone.AgentNumber{},
	}
}

func newAgent(t testing.TB, s agentphone.Store, accountID, name string) *agentphone.Agent {
	t.Helper()
	a := agentValue(accountID, name)
	if err := s.CreateAgent(t.Context(), a); err != nil {
		t.Fatalf("create agent: %v", err)
	}
	return a
}

func numberValue(accountID, phone string) *agentphone.Number {
	return &agentphone.Number{
		ID: agentphone.NewID(agentphone.PrefixNumber), AccountID: accountID, PhoneNumber: phone,
		Country: "US", Status: agentphone.NumberActive, Type: agentphone.NumberTypeSMS,
		Provider: "sandbox", ProviderRef: "ref-" + phone,
		Capabilities: agentphone.Capabilities{SMS: true, Voice: true},
		CreatedAt:    agentphone.Now(),
	}
}

func newNumber(t testing.TB, s agentphone.Store, accountID, phone string) *agentphone.Number {
	t.Helper()
	n := numberValue(accountID, phone)
	if err := s.CreateNumber(t.Context(), n, 0); err != nil {
		t.Fatalf("create number %s: %v", phone, err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// wantErr fails t unless err is a domain error of kind whose message
// contains msg.
func wantErr(t testing.TB, err error, kind agentphone.Kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want kind %d %q", kind, msg)
	}
	if agentphone.ErrorKind(err) != kind || !strings.Contains(agentphone.ErrorMessage(err), msg) {
		t.Fatalf("got error %v (kind %d), want kind %d containing %q", err, agentphone.ErrorKind(err), kind, msg)
	}
}

func wantNotFound(t testing.TB, err error, msg string) {
	t.Helper()
	wantErr(t, err, agentphone.KindNotFound, msg)
	if !errors.Is(err, agentphone.ErrNotFound) {
		t.Fatalf("errors.Is(%v, ErrNotFound) = false", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantUTC(t testing.TB, what string, tm time.Time) {
	t.Helper()
	if tm.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, tm.Location())
	}
	if tm.IsZero() {
		t.Errorf("%s is zero", what)
	}
}
