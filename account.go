package agentphone

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"
)

// Account is a tenant. A sub-account has a ParentID; API keys belong to
// top-level accounts and reach their sub-accounts with X-Sub-Account-Id.
type Account struct {
	ID        string
	ParentID  *string
	Name      string
	CreatedAt time.Time
}

// APIKey is a bearer credential. Only the SHA-256 of the key is stored; the
// key itself is shown once, when created.
type APIKey struct {
	ID        string
	AccountID string
	Name      string
	Prefix    string // the first characters of the key, to recognise it in lists
	Hash      string // hex SHA-256 of the whole key
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Scope is what an authenticated request may act on: the key's account, and
// the (sub-)account the request operates on.
type Scope struct {
	KeyAccountID string // the top-level account that owns the API key
	AccountID    string // the tenant of this request: KeyAccountID or one of its sub-accounts
}

// KeyPrefix starts every API key this server issues.
const KeyPrefix = "sk_live_"

// NewAPIKey returns a fresh random key and its record (not yet stored).
func NewAPIKey(accountID, name string) (key string, rec *APIKey) {
	key = KeyPrefix + randomBase62(32)
	return key, &APIKey{
		ID:        NewID(PrefixAPIKey),
		AccountID: accountID,
		Name:      name,
		Prefix:    key[:len(KeyPrefix)+6],
		Hash:      HashAPIKey(key),
		CreatedAt: Now(),
	}
}

// HashAPIKey returns the stored form of a key.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// AccountService authenticates requests and manages accounts, sub-accounts
// and keys.
type AccountService struct {
	Store Store
}

// Authenticate resolves a bearer key and an optional sub-account id into a
// Scope. Returns ErrUnauthorized for an unknown or revoked key, and a
// not-found error when subAccountID is not a sub-account of the key's account.
func (s *AccountService) Authenticate(ctx context.Context, key, subAccountID string) (Scope, error) {
	if key == "" {
		return Scope{}, Errorf(KindUnauthorized, "Missing API key: send Authorization: Bearer <key>")
	}
	hash := HashAPIKey(key)
	k, err := s.Store.APIKeyByHash(ctx, hash)
	if err != nil {
		if ErrorKind(err) == KindNotFound {
			return Scope{}, Errorf(KindUnauthorized, "Invalid API key")
		}
		return Scope{}, err
	}
	// The lookup was by hash; compare again in constant time so that no
	// timing of ours depends on how much of a guessed key matched.
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1 || k.RevokedAt != nil {
		return Scope{}, Errorf(KindUnauthorized, "Invalid API key")
	}
	sc := Scope{KeyAccountID: k.AccountID, AccountID: k.AccountID}
	if subAccountID = strings.TrimSpace(subAccountID); subAccountID != "" {
		sub, err := s.Store.GetAccount(ctx, subAccountID)
		if err != nil || sub.ParentID == nil || *sub.ParentID != k.AccountID {
			if err != nil && ErrorKind(err) != KindNotFound {
				return Scope{}, err
			}
			return Scope{}, Errorf(KindNotFound, "Sub-account not found")
		}
		sc.AccountID = sub.ID
	}
	return sc, nil
}

// CreateKey creates a key for accountID and returns it with its record.
func (s *AccountService) CreateKey(ctx context.Context, accountID, name string) (string, *APIKey, error) {
	key, rec := NewAPIKey(accountID, name)
	if err := s.Store.CreateAPIKey(ctx, rec); err != nil {
		return "", nil, err
	}
	return key, rec, nil
}

// RegisterKey stores the given key for accountID unless it is stored already
// (operators pass a fixed key through AGENTPHONE_API_KEY).
func (s *AccountService) RegisterKey(ctx context.Context, accountID, key string) error {
	if len(key) < 16 {
		return Errorf(KindBadRequest, "API key too short: use at least 16 characters")
	}
	if _, err := s.Store.APIKeyByHash(ctx, HashAPIKey(key)); err == nil {
		return nil
	} else if ErrorKind(err) != KindNotFound {
		return err
	}
	n := min(len(key), len(KeyPrefix)+6)
	return s.Store.CreateAPIKey(ctx, &APIKey{
		ID: NewID(PrefixAPIKey), AccountID: accountID, Name: "AGENTPHONE_API_KEY",
		Prefix: key[:n], Hash: HashAPIKey(key), CreatedAt: Now(),
	})
}

// EnsureAccount returns the top-level account with the given name, creating
// it when none exists. created reports whether it was created.
func (s *AccountService) EnsureAccount(ctx context.Context, name string) (acct *Account, created bool, err error) {
	if a, err := s.Store.AccountByName(ctx, name); err == nil {
		return a, false, nil
	} else if ErrorKind(err) != KindNotFound {
		return nil, false, err
	}
	a := &Account{ID: NewID(PrefixAccount), Name: name, CreatedAt: Now()}
	if err := s.Store.CreateAccount(ctx, a); err != nil {
		return nil, false, err
	}
	return a, true, nil
}

// SubAccountInput is the body of sub-account create and update.
type SubAccountInput struct {
	Name Opt[string] `json:"name"`
}

// Validate reports every invalid field of in.
func (in *SubAccountInput) Validate() error {
	var fe fieldErrors
	switch {
	case !in.Name.Set:
		fe.missing("name")
	case in.Name.Null:
		fe.add("Input should be a valid string", "string_type", "name")
	default:
		fe.strLen(strings.TrimSpace(in.Name.Value), 1, 100, "name")
	}
	return fe.err()
}

// CreateSubAccount creates a sub-account of the key's account.
func (s *AccountService) CreateSubAccount(ctx context.Context, sc Scope, in SubAccountInput) (*Account, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	parent := sc.KeyAccountID
	a := &Account{ID: NewID(PrefixAccount), ParentID: &parent, Name: strings.TrimSpace(in.Name.Value), CreatedAt: Now()}
	if err := s.Store.CreateAccount(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// ListSubAccounts lists the sub-accounts of the key's account, newest first.
func (s *AccountService) ListSubAccounts(ctx context.Context, sc Scope, p Page) (List[*Account], error) {
	return s.Store.ListSubAccounts(ctx, sc.KeyAccountID, p)
}

// RenameSubAccount changes a sub-account's name.
func (s *AccountService) RenameSubAccount(ctx context.Context, sc Scope, id string, in SubAccountInput) (*Account, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return s.Store.RenameSubAccount(ctx, sc.KeyAccountID, id, strings.TrimSpace(in.Name.Value))
}

// DeleteSubAccount deletes a sub-account with its agents and webhooks. It
// refuses (conflict) while the sub-account still holds active numbers, which
// must be released through their provider first.
func (s *AccountService) DeleteSubAccount(ctx context.Context, sc Scope, id string) (*Account, error) {
	return s.Store.DeleteSubAccount(ctx, sc.KeyAccountID, id)
}
