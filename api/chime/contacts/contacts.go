// Package contacts is the slice of a Chime user's personal contact list (guide §1.2.3) on the client
// API: list, add (by user id or e-mail address), remove, and export as CSV (name, e-mail address,
// phone number); a contact made a delegate (guide §8.2) joins the owner's meetings as a moderator. The list is answered from its aggregate (domain/chime/contacts: one bounded stream
// per user, at most 100 contacts), never from a read model; what is shown of each contact comes from
// the directory (the accounts read model) at the time of the call, so a contact who was renamed shows
// the new name and one who was deleted is left out.
package contacts

import (
	"context"
	"strings"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/contacts"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Directory finds users (chimeaccounts.Store implements it).
type Directory interface {
	DirectoryByEmail(ctx context.Context, email string) ([]chimeaccounts.DirectoryEntry, error)
	DirectoryEntries(ctx context.Context, ids []string) (map[string]chimeaccounts.DirectoryEntry, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Contacts  usecase.Repository[contacts.State, contacts.Command, contacts.Event]
	Directory Directory
}

// Service runs the contact-list use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service { return &Service{d: d} }

// Errors of the slice.
var (
	ErrNoSuchUser = &domain.Error{Kind: domain.KindNotFound, Msg: "no Chime user found"}
	ErrAmbiguous  = &domain.Error{Kind: domain.KindConflict, Msg: "several Chime users have this e-mail address"}
)

// Contact is one contact as shown to its owner.
type Contact = chimeaccounts.DirectoryEntry

// List returns the user's contacts in the order they were added, as the directory shows them now.
func (s *Service) List(ctx context.Context, u chimeaccounts.User) ([]Contact, error) {
	st, _, err := s.d.Contacts.Load(ctx, contacts.StreamName(u.UserID))
	if err != nil {
		return nil, err
	}
	return s.resolve(ctx, st)
}

func (s *Service) resolve(ctx context.Context, st contacts.State) ([]Contact, error) {
	if len(st.Contacts) == 0 {
		return []Contact{}, nil
	}
	ids := make([]string, len(st.Contacts))
	for i, c := range st.Contacts {
		ids[i] = c.UserID
	}
	dir, err := s.d.Directory.DirectoryEntries(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Contact, 0, len(ids))
	for _, id := range ids {
		if d, ok := dir[id]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// Add adds a user, named by id or by e-mail address (exactly one of them), to u's contacts and
// returns the list.
func (s *Service) Add(ctx context.Context, u chimeaccounts.User, userID, email string) ([]Contact, error) {
	c, err := s.find(ctx, userID, email)
	if err != nil {
		return nil, err
	}
	d, err := s.d.Contacts.Execute(ctx, contacts.StreamName(u.UserID), contacts.Add{OwnerID: u.UserID, ContactID: c.UserID, ContactAccountID: c.AccountID})
	if err != nil {
		return nil, err
	}
	return s.resolve(ctx, d.State)
}

func (s *Service) find(ctx context.Context, userID, email string) (Contact, error) {
	if userID != "" {
		dir, err := s.d.Directory.DirectoryEntries(ctx, []string{userID})
		if err != nil {
			return Contact{}, err
		}
		if c, ok := dir[userID]; ok {
			return c, nil
		}
		return Contact{}, domain.Wrapf(ErrNoSuchUser, "no Chime user has the id %s", userID)
	}
	list, err := s.d.Directory.DirectoryByEmail(ctx, strings.TrimSpace(email))
	switch {
	case err != nil:
		return Contact{}, err
	case len(list) == 0:
		return Contact{}, domain.Wrapf(ErrNoSuchUser, "no Chime user has the e-mail address %s", email)
	case len(list) > 1:
		return Contact{}, domain.Wrapf(ErrAmbiguous, "%d Chime users have the e-mail address %s; add the contact by UserId", len(list), email)
	}
	return list[0], nil
}

// SetDelegate makes the contact contactID u's delegate (on) or no longer (guide §8.2: a delegate
// joins u's meetings as a moderator). A user not in u's contacts is NotFound.
func (s *Service) SetDelegate(ctx context.Context, u chimeaccounts.User, contactID string, on bool) error {
	_, err := s.d.Contacts.Execute(ctx, contacts.StreamName(u.UserID), contacts.SetDelegate{OwnerID: u.UserID, ContactID: contactID, On: on})
	return err
}

// Delegates returns u's delegates, as the directory shows them now.
func (s *Service) Delegates(ctx context.Context, u chimeaccounts.User) ([]Contact, error) {
	st, _, err := s.d.Contacts.Load(ctx, contacts.StreamName(u.UserID))
	if err != nil {
		return nil, err
	}
	var only contacts.State
	for _, c := range st.Contacts {
		if c.Delegate {
			only.Contacts = append(only.Contacts, c)
		}
	}
	return s.resolve(ctx, only)
}

// IsDelegate reports whether userID is a delegate of ownerID (the media slice admits delegates as
// moderators).
func (s *Service) IsDelegate(ctx context.Context, ownerID, userID string) (bool, error) {
	st, _, err := s.d.Contacts.Load(ctx, contacts.StreamName(ownerID))
	if err != nil {
		return false, err
	}
	return st.IsDelegate(userID), nil
}

// Remove removes a contact.
func (s *Service) Remove(ctx context.Context, u chimeaccounts.User, contactID string) error {
	_, err := s.d.Contacts.Execute(ctx, contacts.StreamName(u.UserID), contacts.Remove{OwnerID: u.UserID, ContactID: contactID})
	return err
}
