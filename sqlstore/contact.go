package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/agentphone/agentphone"
)

// msgContactNotFound is the not-found message of contacts, as API users
// read it.
const msgContactNotFound = "Contact not found"

const contactCols = `id, account_id, phone_number, name, email, notes, created_at, updated_at`

func contactDest(c *agentphone.Contact) []any {
	return []any{&c.ID, &c.AccountID, &c.PhoneNumber, &c.Name, nullStringCol{&c.Email}, nullStringCol{&c.Notes},
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt}}
}

func scanContact(rows *sql.Rows) (*agentphone.Contact, error) {
	c := new(agentphone.Contact)
	return c, rows.Scan(contactDest(c)...)
}

// Contact lists are newest first: created_at descending, ties broken by id
// descending (byte order on both databases), the order of the
// contacts_account index. The search variant keeps the contacts whose
// lower-cased name contains $2 or whose phone number contains $3, both
// patterns built by contactSearch; the count uses the same condition, so
// Total counts the matches.
const (
	contactsWhere       = `account_id = $1`
	contactsSearchWhere = `account_id = $1 AND (lower(name) LIKE $2 ESCAPE '\' OR phone_number LIKE $3 ESCAPE '\')`

	listContactsSQL        = `SELECT ` + contactCols + ` FROM contacts WHERE ` + contactsWhere + ` ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`
	countContactsSQL       = `SELECT count(*) FROM contacts WHERE ` + contactsWhere
	searchContactsSQL      = `SELECT ` + contactCols + ` FROM contacts WHERE ` + contactsSearchWhere + ` ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5`
	countSearchContactsSQL = `SELECT count(*) FROM contacts WHERE ` + contactsSearchWhere
)

// likeEscaper escapes the metacharacters of LIKE (with ESCAPE '\') so that
// a search matches them literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// contactSearch returns the LIKE patterns of a non-empty search: "contains"
// on the name and on the phone number.
//
// Case: the name pattern has its ASCII letters lower-cased, and is matched
// against lower(name), which on SQLite folds ASCII letters only, and on
// PostgreSQL does the same because the column's collation is "C" (see
// 0004_contacts.sql). A search therefore ignores the case of ASCII letters
// and matches other characters exactly, identically on both databases.
//
// Phone numbers: a search made of digits and the characters people write
// in phone numbers ("+1 (415) 555-01") is matched by its digits, so that it
// finds the E.164 form. Any other search is matched as it is.
//
// Text that no database stores (invalid UTF-8, NUL) is replaced with U+FFFD
// first, so that PostgreSQL does not refuse the query.
func contactSearch(search string) (name, phone string) {
	search = strings.ReplaceAll(strings.ToValidUTF8(search, "\uFFFD"), "\x00", "\uFFFD")
	name = "%" + likeEscaper.Replace(lowerASCII(search)) + "%"
	phone = name
	if digits, ok := phoneDigits(search); ok {
		phone = "%" + digits + "%"
	}
	return name, phone
}

// lowerASCII lower-cases the ASCII letters of s and leaves every other
// byte as it is, like SQLite's lower().
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// phoneDigits returns the digits of s when s has at least one digit and
// nothing but digits, spaces and + - . ( ).
func phoneDigits(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune(" +-.()", r):
		default:
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}

// CreateContact stores c, in one statement. Returns a conflict when the
// account has a contact with the same phone number (the UNIQUE index
// decides, so concurrent creates cannot both pass) and not-found when the
// account does not exist.
func (s *Store) CreateContact(ctx context.Context, c *agentphone.Contact) error {
	_, err := s.exec(ctx, `INSERT INTO contacts (`+contactCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.ID, c.AccountID, c.PhoneNumber, c.Name, dbNullString(c.Email), dbNullString(c.Notes),
		dbTime(c.CreatedAt), dbTime(c.UpdatedAt))
	switch {
	case err == nil:
		return nil
	case s.d.IsUniqueViolation(err):
		return agentphone.ContactExistsError(c.PhoneNumber)
	case s.d.IsForeignKeyViolation(err):
		return agentphone.Errorf(agentphone.KindNotFound, msgAccountNotFound)
	}
	return wrap("create contact", err)
}

// GetContact returns a contact of the account.
func (s *Store) GetContact(ctx context.Context, accountID, id string) (*agentphone.Contact, error) {
	c := new(agentphone.Contact)
	rows, err := s.query(ctx, `SELECT `+contactCols+` FROM contacts WHERE id = $1 AND account_id = $2`, id, accountID)
	if err := scanOne(rows, err, contactDest(c)...); err != nil {
		return nil, wrap("get contact", notFound(err, msgContactNotFound))
	}
	return c, nil
}

// GetContactByPhone returns the account's contact with phone number phone
// (E.164), or nil when it has none.
func (s *Store) GetContactByPhone(ctx context.Context, accountID, phone string) (*agentphone.Contact, error) {
	c := new(agentphone.Contact)
	rows, err := s.query(ctx, `SELECT `+contactCols+` FROM contacts WHERE account_id = $1 AND phone_number = $2`, accountID, phone)
	if err := scanOne(rows, err, contactDest(c)...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, wrap("get contact by phone", err)
	}
	return c, nil
}

// ListContacts lists the contacts of the account, newest first (created_at
// descending, ties by id descending). A non-empty search keeps the contacts
// whose name or phone number contains it (see contactSearch); Total counts
// the matches.
func (s *Store) ListContacts(ctx context.Context, accountID, search string, p agentphone.Page) (agentphone.List[*agentphone.Contact], error) {
	listSQL, countSQL, filter := listContactsSQL, countContactsSQL, []any{accountID}
	if search != "" {
		name, phone := contactSearch(search)
		listSQL, countSQL, filter = searchContactsSQL, countSearchContactsSQL, []any{accountID, name, phone}
	}
	l, err := listPage(ctx, s, p, listSQL, countSQL, filter, scanContact)
	return l, wrap("list contacts", err)
}

// UpdateContact reads a contact of the account, lets fn change it and
// writes it back in one transaction. An error from fn is returned as it
// is, with nothing written. fn cannot move the contact: its ID, AccountID
// and CreatedAt are not written. A phone number another contact of the
// account has is a conflict (the UNIQUE index decides). fn runs inside the
// transaction and must not use the Store.
func (s *Store) UpdateContact(ctx context.Context, accountID, id string, fn func(*agentphone.Contact) error) (*agentphone.Contact, error) {
	var out *agentphone.Contact
	var fnErr error
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c := new(agentphone.Contact)
		err := tx.QueryRowContext(ctx, `SELECT `+contactCols+` FROM contacts WHERE id = $1 AND account_id = $2`+s.d.LockRows,
			id, accountID).Scan(contactDest(c)...)
		if err != nil {
			return notFound(err, msgContactNotFound)
		}
		created := c.CreatedAt
		if fnErr = fn(c); fnErr != nil {
			return fnErr
		}
		c.ID, c.AccountID, c.CreatedAt = id, accountID, created
		_, err = tx.ExecContext(ctx, `UPDATE contacts SET phone_number = $3, name = $4, email = $5, notes = $6, updated_at = $7
			WHERE id = $1 AND account_id = $2`,
			id, accountID, c.PhoneNumber, c.Name, dbNullString(c.Email), dbNullString(c.Notes), dbTime(c.UpdatedAt))
		if err != nil && s.d.IsUniqueViolation(err) {
			return agentphone.ContactExistsError(c.PhoneNumber)
		}
		if err != nil {
			return err
		}
		out = c
		return nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, wrap("update contact", err)
	}
	return out, nil
}

// DeleteContact deletes a contact of the account, in one statement;
// not-found when there is none.
func (s *Store) DeleteContact(ctx context.Context, accountID, id string) error {
	res, err := s.exec(ctx, `DELETE FROM contacts WHERE id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return wrap("delete contact", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("delete contact", err)
	}
	if n == 0 {
		return agentphone.Errorf(agentphone.KindNotFound, msgContactNotFound)
	}
	return nil
}
