package httpapi

import (
	"net/http"

	"github.com/agentphone/agentphone"
)

// Sub-accounts (spec §12) have no documented response shapes; ours are
// {"id", "name", "createdAt"} per sub-account. These routes always act on
// the API key's own account: X-Sub-Account-Id is ignored on them.

type subAccountJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt timestamp `json:"createdAt"`
}

func newSubAccountJSON(a *agentphone.Account) subAccountJSON {
	return subAccountJSON{ID: a.ID, Name: a.Name, CreatedAt: timestamp(a.CreatedAt)}
}

type deleteSubAccountJSON struct {
	Success bool   `json:"success"`
	ID      string `json:"id"`
}

func (s *Server) listSubAccounts(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	p, err := pageQuery(r)
	if err != nil {
		return err
	}
	l, err := s.accounts.ListSubAccounts(r.Context(), sc, p)
	if err != nil {
		return err
	}
	out := offsetList[subAccountJSON]{Data: make([]subAccountJSON, len(l.Items)), HasMore: l.HasMore(p), Total: l.Total}
	for i, a := range l.Items {
		out.Data[i] = newSubAccountJSON(a)
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) createSubAccount(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	var in agentphone.SubAccountInput
	err := decode(r, &in, bodyRequired, in.Validate)
	if err != nil {
		return err
	}
	a, err := s.accounts.CreateSubAccount(r.Context(), sc, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newSubAccountJSON(a))
	return nil
}

func (s *Server) renameSubAccount(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	id := r.PathValue("sub_account_id")
	var in agentphone.SubAccountInput
	err := decode(r, &in, bodyRequired, in.Validate)
	if err != nil {
		return err
	}
	a, err := s.accounts.RenameSubAccount(r.Context(), sc, id, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newSubAccountJSON(a))
	return nil
}

func (s *Server) deleteSubAccount(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error {
	a, err := s.accounts.DeleteSubAccount(r.Context(), sc, r.PathValue("sub_account_id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, deleteSubAccountJSON{Success: true, ID: a.ID})
	return nil
}
