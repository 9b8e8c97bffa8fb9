package agentphone

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Contact is an entry of an account's address book (spec §6): a phone
// number, unique within the account, with a name and optional details.
type Contact struct {
	ID          string
	AccountID   string
	PhoneNumber string // E.164, unique within the account
	Name        string
	Email       *string
	Notes       *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PrefixContact starts every contact id (see NewID). It lives here rather
// than with the other prefixes in id.go so that contacts stay in one file.
const PrefixContact = "contact_"

// Contact limits, in characters.
const (
	MaxContactNameLen  = 200
	MaxContactEmailLen = 320
	MaxContactNotesLen = 10000
)

// ContactInput is the body of contact create and update. On create,
// phoneNumber and name are required; on update every key is optional and
// only the keys sent change. name and phoneNumber cannot be null; null
// clears email and notes.
type ContactInput struct {
	PhoneNumber Opt[string] `json:"phoneNumber"`
	Name        Opt[string] `json:"name"`
	Email       Opt[string] `json:"email"`
	Notes       Opt[string] `json:"notes"`
}

// ContactExistsError is the conflict returned when the account already has
// a contact with that (E.164) phone number.
func ContactExistsError(phone string) error {
	return Errorf(KindConflict, "A contact with phone number %s already exists", phone)
}

// apply validates in and writes the fields it sets into c (a fresh contact
// on create). It lists every invalid field and changes nothing when any is
// invalid. Every check looks at the input alone, never at c, so the outcome
// does not depend on the contact's current state.
func (in *ContactInput) apply(c *Contact, create bool) error {
	var fe fieldErrors
	next := *c

	// requiredString handles a key that must be a string when sent, and be
	// sent on create.
	requiredString := func(o Opt[string], name string) bool {
		switch {
		case create && !o.Set:
			fe.missing(name)
		case o.Null:
			fe.add("Input should be a valid string", "string_type", name)
		case o.Set:
			return checkText(&fe, o.Value, name)
		}
		return false
	}

	if requiredString(in.PhoneNumber, "phoneNumber") {
		if e164, err := NormalizePhone(in.PhoneNumber.Value); err != nil {
			fe.value(fmt.Sprintf("phoneNumber is not a valid phone number (%v); use E.164 format, e.g. +14155551234", err), "phoneNumber")
		} else {
			next.PhoneNumber = e164
		}
	}
	if requiredString(in.Name, "name") {
		v := in.Name.Value
		if strings.TrimSpace(v) == "" {
			fe.add("String should have at least 1 character", "string_too_short", "name")
		} else {
			fe.strLen(v, 0, MaxContactNameLen, "name")
		}
		next.Name = v
	}
	if in.Email.Set {
		next.Email = nil
		if v := in.Email.Value; !in.Email.Null && checkText(&fe, v, "email") {
			switch at := strings.LastIndexByte(v, '@'); {
			case utf8.RuneCountInString(v) > MaxContactEmailLen:
				fe.strLen(v, 0, MaxContactEmailLen, "email")
			case at <= 0 || at == len(v)-1:
				fe.value("email must be an email address such as name@example.com (with an '@')", "email")
			}
			next.Email = &v
		}
	}
	if in.Notes.Set {
		next.Notes = nil
		if v := in.Notes.Value; !in.Notes.Null && checkText(&fe, v, "notes") {
			fe.strLen(v, 0, MaxContactNotesLen, "notes")
			next.Notes = &v
		}
	}
	if err := fe.err(); err != nil {
		return err
	}
	*c = next
	return nil
}

// checkText reports whether s can be stored as text on every database,
// adding a field error when not: valid UTF-8, without NUL. (The HTTP edge
// refuses NUL already; this guards the other callers.)
func checkText(fe *fieldErrors, s string, loc ...any) bool {
	switch {
	case !utf8.ValidString(s):
		fe.value("text must be valid UTF-8", loc...)
	case strings.ContainsRune(s, 0):
		fe.value("text must not contain NUL (\\u0000) characters", loc...)
	default:
		return true
	}
	return false
}

// ContactService creates, reads, changes and deletes the contacts of an
// account.
type ContactService struct {
	Store Store
}

// Validate reports what Create (create true) or Update would reject in in,
// without side effects; the edge calls it to list every invalid field
// together with its own type errors.
func (s *ContactService) Validate(in ContactInput, create bool) error {
	return in.apply(&Contact{}, create)
}

// Create validates in and stores a new contact in the scope's account.
// Returns a conflict when the account has a contact with that phone number.
func (s *ContactService) Create(ctx context.Context, sc Scope, in ContactInput) (*Contact, error) {
	now := Now()
	c := &Contact{ID: NewID(PrefixContact), AccountID: sc.AccountID, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(c, true); err != nil {
		return nil, err
	}
	if err := s.Store.CreateContact(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Get returns a contact of the scope's account.
func (s *ContactService) Get(ctx context.Context, sc Scope, id string) (*Contact, error) {
	return s.Store.GetContact(ctx, sc.AccountID, id)
}

// List returns a page of the account's contacts, newest first. A search
// that is not blank keeps those whose name or phone number contains it
// (see Store.ListContacts); surrounding spaces are ignored, which also
// covers a '+' that form decoding of a query turned into a space.
func (s *ContactService) List(ctx context.Context, sc Scope, search string, p Page) (List[*Contact], error) {
	return s.Store.ListContacts(ctx, sc.AccountID, strings.TrimSpace(search), p)
}

// Update changes the fields present in in, atomically. Invalid input is
// reported before the contact is looked up, as FastAPI validates a body
// before its handler runs; a phone number another contact of the account
// has is a conflict.
func (s *ContactService) Update(ctx context.Context, sc Scope, id string, in ContactInput) (*Contact, error) {
	if err := s.Validate(in, false); err != nil {
		return nil, err
	}
	return s.Store.UpdateContact(ctx, sc.AccountID, id, func(c *Contact) error {
		if err := in.apply(c, false); err != nil {
			return err
		}
		c.UpdatedAt = Now()
		return nil
	})
}

// Delete deletes a contact of the scope's account.
func (s *ContactService) Delete(ctx context.Context, sc Scope, id string) error {
	return s.Store.DeleteContact(ctx, sc.AccountID, id)
}
