package agentphone

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
)

// Number statuses and types.
const (
	NumberActive   = "active"
	NumberReleased = "released"
	NumberTypeSMS  = "sms"
)

// Number is a phone number held (or once held) by an account.
type Number struct {
	ID           string
	AccountID    string
	PhoneNumber  string // E.164
	Country      string // ISO-3166 alpha-2
	Status       string // NumberActive or NumberReleased
	Type         string
	AgentID      *string
	Provider     string // name of the NumberProvider that holds it
	ProviderRef  string // the provider's own id for it
	Capabilities Capabilities
	CreatedAt    time.Time
	AttachedAt   *time.Time // when it was attached to its current agent
	ReleasedAt   *time.Time
}

// Capabilities are the channels a number can carry.
type Capabilities struct {
	SMS      bool `json:"sms"`
	MMS      bool `json:"mms"`
	Voice    bool `json:"voice"`
	IMessage bool `json:"imessage"`
}

// NumberQuery asks a provider for numbers it can sell.
type NumberQuery struct {
	Country  string // ISO-3166 alpha-2, e.g. "US"
	AreaCode string // optional, three digits for US/CA
	Limit    int    // at most this many
}

// AvailableNumber is a number a provider offers.
type AvailableNumber struct {
	PhoneNumber  string // E.164
	Country      string
	Capabilities Capabilities
}

// ProvisionedNumber is what a provider returns after a purchase.
type ProvisionedNumber struct {
	PhoneNumber  string
	Country      string
	ProviderRef  string
	Capabilities Capabilities
}

// NumberProvider is a source of phone numbers: a carrier (Twilio, Telnyx),
// SIP DIDs, or the local sandbox.
type NumberProvider interface {
	// Name identifies the provider in stored numbers, e.g. "sandbox".
	Name() string
	// Countries lists the ISO-3166 codes the provider sells numbers in.
	Countries() []string
	// Search lists numbers available for purchase, best matches first.
	// An empty result is not an error.
	Search(ctx context.Context, q NumberQuery) ([]AvailableNumber, error)
	// Purchase buys n. When n was taken in the meantime, the error wraps
	// ErrNumberTaken (and the next candidate is tried); any other error
	// ends the purchase.
	Purchase(ctx context.Context, n AvailableNumber) (ProvisionedNumber, error)
	// Release gives a number back to the provider.
	Release(ctx context.Context, n *Number) error
}

// ErrNumberTaken is wrapped by a NumberProvider's Purchase error when the
// number was sold to someone else between search and purchase.
var ErrNumberTaken = errors.New("the number is no longer available")

// NumberInput is the body of POST /v1/numbers.
type NumberInput struct {
	Country  Opt[string] `json:"country"`
	AreaCode Opt[string] `json:"areaCode"`
	AgentID  Opt[string] `json:"agentId"`
}

// NumberService provisions, lists and releases numbers.
type NumberService struct {
	Store Store
	// Provider sells new numbers. Others are providers of numbers bought
	// before (under another configuration), through which they are
	// released.
	Provider NumberProvider
	Others   []NumberProvider
	Logger   *slog.Logger
	// MaxNumbersPerAccount caps the active numbers of one (sub-)account; 0
	// means no cap.
	MaxNumbersPerAccount int
}

// searchBatch is how many candidates are asked for at once; some may already
// be held by other accounts of this server.
const searchBatch = 100

// Create provisions the first available number for the request and stores it,
// attached to in.AgentID when given. An area code with no free number falls
// back to any number of the country. Returns a validation error for bad
// input, not-found for an unknown agent, and a conflict when the account is at
// its number limit or the country has no number left.
func (s *NumberService) Create(ctx context.Context, sc Scope, in NumberInput) (*Number, error) {
	country, areaCode, err := s.parse(in)
	if err != nil {
		return nil, err
	}
	var agentID *string
	if in.AgentID.HasValue() {
		if _, err := s.Store.GetAgent(ctx, sc.AccountID, in.AgentID.Value); err != nil {
			return nil, err
		}
		agentID = &in.AgentID.Value
	}
	if s.MaxNumbersPerAccount > 0 {
		n, err := s.Store.CountActiveNumbers(ctx, sc.AccountID)
		if err != nil {
			return nil, err
		}
		if n >= s.MaxNumbersPerAccount {
			return nil, NumberLimitError(s.MaxNumbersPerAccount)
		}
	}

	candidates, err := s.candidates(ctx, country, areaCode)
	if err != nil {
		return nil, err
	}
	for _, c := range candidates {
		p, err := s.Provider.Purchase(ctx, c)
		if errors.Is(err, ErrNumberTaken) {
			s.Logger.WarnContext(ctx, "number taken before its purchase, trying the next one", "phone_number", c.PhoneNumber, "err", err)
			continue
		}
		if err != nil {
			return nil, upstream(s.Provider, "could not buy "+c.PhoneNumber, err)
		}
		now := Now()
		n := &Number{
			ID: NewID(PrefixNumber), AccountID: sc.AccountID, PhoneNumber: p.PhoneNumber,
			Country: p.Country, Status: NumberActive, Type: NumberTypeSMS, AgentID: agentID,
			Provider: s.Provider.Name(), ProviderRef: p.ProviderRef, Capabilities: p.Capabilities,
			CreatedAt: now,
		}
		if agentID != nil {
			n.AttachedAt = &now
		}
		err = s.Store.CreateNumber(ctx, n, s.MaxNumbersPerAccount)
		if err == nil {
			return n, nil
		}
		// Not stored: give the number back so it is not held twice upstream.
		if rerr := s.Provider.Release(ctx, n); rerr != nil {
			s.Logger.ErrorContext(ctx, "releasing an unstored number failed", "phone_number", n.PhoneNumber, "err", rerr)
		}
		if ErrorKind(err) == KindConflict && strings.Contains(ErrorMessage(err), "already held") {
			continue // another account took it between search and insert
		}
		return nil, err
	}
	return nil, Errorf(KindConflict, "No phone numbers available in %s", country)
}

// Validate reports what Create would reject in in, without side effects.
func (s *NumberService) Validate(in NumberInput) error {
	_, _, err := s.parse(in)
	return err
}

// parse validates in and returns its country (default US) and area code.
func (s *NumberService) parse(in NumberInput) (country, areaCode string, err error) {
	var fe fieldErrors
	country = "US"
	if in.Country.HasValue() {
		country = strings.ToUpper(strings.TrimSpace(in.Country.Value))
		fe.literal(country, s.Provider.Countries(), "country")
	}
	if in.AreaCode.HasValue() {
		areaCode = strings.TrimSpace(in.AreaCode.Value)
		if !isAreaCode(areaCode) {
			fe.add("String should match pattern '^[2-9][0-9]{2}$'", "string_pattern_mismatch", "areaCode")
		}
	}
	return country, areaCode, fe.err()
}

// NumberLimitError is the conflict returned when an account already holds
// max active numbers.
func NumberLimitError(max int) error {
	return Errorf(KindConflict, "Number limit reached: this account may hold at most %d active numbers", max)
}

// candidates lists free numbers for the country, those in the area code first.
func (s *NumberService) candidates(ctx context.Context, country, areaCode string) ([]AvailableNumber, error) {
	var out []AvailableNumber
	queries := []NumberQuery{{Country: country, Limit: searchBatch}}
	if areaCode != "" {
		queries = append([]NumberQuery{{Country: country, AreaCode: areaCode, Limit: searchBatch}}, queries...)
	}
	seen := map[string]bool{}
	for _, q := range queries {
		found, err := s.Provider.Search(ctx, q)
		if err != nil {
			return nil, upstream(s.Provider, "could not search numbers", err)
		}
		phones := make([]string, len(found))
		for i, f := range found {
			phones[i] = f.PhoneNumber
		}
		held, err := s.Store.HeldPhoneNumbers(ctx, phones)
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			if !held[f.PhoneNumber] && !seen[f.PhoneNumber] {
				seen[f.PhoneNumber] = true
				out = append(out, f)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return out, nil
}

func isAreaCode(s string) bool {
	return len(s) == 3 && s[0] >= '2' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}

// Get returns a number of the account whatever its status.
func (s *NumberService) Get(ctx context.Context, sc Scope, id string) (*Number, error) {
	return s.Store.GetNumber(ctx, sc.AccountID, id)
}

// List returns the account's active numbers, newest first.
func (s *NumberService) List(ctx context.Context, sc Scope, p Page) (List[*Number], error) {
	return s.Store.ListNumbers(ctx, sc.AccountID, p)
}

// Release gives the number back to its provider and marks it released,
// keeping its history. Releasing a released number is a bad request.
func (s *NumberService) Release(ctx context.Context, sc Scope, id string) (*Number, error) {
	n, err := s.Store.GetNumber(ctx, sc.AccountID, id)
	if err != nil {
		return nil, err
	}
	if n.Status == NumberReleased {
		return nil, Errorf(KindBadRequest, "Phone number %s is already released", n.PhoneNumber)
	}
	switch p := s.provider(n.Provider); {
	case p == nil:
		s.Logger.WarnContext(ctx, "releasing a number of a provider this server no longer has: release it with the provider yourself",
			"phone_number", n.PhoneNumber, "provider", n.Provider, "provider_ref", n.ProviderRef)
	default:
		if err := p.Release(ctx, n); err != nil {
			return nil, upstream(p, "could not release "+n.PhoneNumber, err)
		}
	}
	return s.Store.ReleaseNumber(ctx, sc.AccountID, id, Now())
}

// provider returns the provider called name, or nil.
func (s *NumberService) provider(name string) NumberProvider {
	for _, p := range append([]NumberProvider{s.Provider}, s.Others...) {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// upstream is the error of a provider's failure: unavailable (503), naming
// the provider and the cause.
func upstream(p NumberProvider, what string, err error) error {
	return Errorf(KindUnavailable, "Number provider %s %s: %v", p.Name(), what, err)
}
