package httpapi

import (
	"net/http"

	"github.com/agentphone/agentphone"
)

// contactJSON is ContactResponse (spec §6.1); email and notes are always
// emitted, null when unset.
type contactJSON struct {
	ID          string    `json:"id"`
	PhoneNumber string    `json:"phoneNumber"`
	Name        string    `json:"name"`
	Email       *string   `json:"email"`
	Notes       *string   `json:"notes"`
	CreatedAt   timestamp `json:"createdAt"`
	UpdatedAt   timestamp `json:"updatedAt"`
}

func newContactJSON(c *agentphone.Contact) contactJSON {
	return contactJSON{
		ID: c.ID, PhoneNumber: c.PhoneNumber, Name: c.Name, Email: c.Email, Notes: c.Notes,
		CreatedAt: timestamp(c.CreatedAt), UpdatedAt: timestamp(c.UpdatedAt),
	}
}

// The contact list pages by offset with its own size (spec §6.2).
const (
	defaultContactLimit = 50
	maxContactLimit     = 200
)

// listContacts lists the account's contacts, newest first; search, when
// given, keeps those whose name or phone number contains it.
func (s *Server) listContacts(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	q := r.URL.Query()
	var qe queryErrors
	p := qe.page(q, defaultContactLimit, maxContactLimit)
	if err := qe.err(); err != nil {
		return err
	}
	search, _ := last(q, "search")
	l, err := s.contacts.List(r.Context(), sc, search, p)
	if err != nil {
		return err
	}
	out := offsetList[contactJSON]{Data: make([]contactJSON, len(l.Items)), HasMore: l.HasMore(p), Total: l.Total}
	for i, c := range l.Items {
		out.Data[i] = newContactJSON(c)
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in agentphone.ContactInput
	err := decode(r, &in, bodyRequired, func() error { return s.contacts.Validate(in, true) })
	if err != nil {
		return err
	}
	c, err := s.contacts.Create(r.Context(), sc, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, newContactJSON(c))
	return nil
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	c, err := s.contacts.Get(r.Context(), sc, r.PathValue("contact_id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newContactJSON(c))
	return nil
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in agentphone.ContactInput
	err := decode(r, &in, bodyRequired, func() error { return s.contacts.Validate(in, false) })
	if err != nil {
		return err
	}
	c, err := s.contacts.Update(r.Context(), sc, r.PathValue("contact_id"), in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newContactJSON(c))
	return nil
}

// deleteContact answers 204 with no body (spec §6.7).
func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	if err := s.contacts.Delete(r.Context(), sc, r.PathValue("contact_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
