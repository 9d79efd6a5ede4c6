package account

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
)

// Sign-in delegate groups (guide §4.10): directory groups whose members may sign in, for Enterprise accounts.
const (
	TypeDelegateGroupsAssociated    = "chime.account.signin_delegate_groups_associated.v1"
	TypeDelegateGroupsDisassociated = "chime.account.signin_delegate_groups_disassociated.v1"
	MaxGroupName                    = 256
	// MaxDelegateGroups bounds the groups of an account (and so those one call adds): every call's
	// groups are one event, which must stay within the event store's append limit (a 1 MiB list of
	// names full of '<', six bytes each once JSON-escaped, failed the call with a 500).
	MaxDelegateGroups = 100
)

// DelegateGroupsAssociated records groups added to the account.
type DelegateGroupsAssociated struct {
	Groups []string `json:"groups"`
}

// DelegateGroupsDisassociated records groups removed from the account.
type DelegateGroupsDisassociated struct {
	Groups []string `json:"groups"`
}

func (DelegateGroupsAssociated) EventType() string    { return TypeDelegateGroupsAssociated }
func (DelegateGroupsDisassociated) EventType() string { return TypeDelegateGroupsDisassociated }
func (DelegateGroupsAssociated) isAccountEvent()      {}
func (DelegateGroupsDisassociated) isAccountEvent()   {}

// AssociateDelegateGroups adds sign-in delegate groups.
type AssociateDelegateGroups struct {
	AccountID string
	Groups    []string
}

// DisassociateDelegateGroups removes sign-in delegate groups (unknown names are ignored).
type DisassociateDelegateGroups struct {
	AccountID string
	Groups    []string
}

func (c AssociateDelegateGroups) Target() string    { return c.AccountID }
func (c DisassociateDelegateGroups) Target() string { return c.AccountID }

func (c AssociateDelegateGroups) decide(s State, _ time.Time) ([]Event, error) {
	if s.Type == TypeTeam {
		return nil, domain.Wrapf(ErrWrongAccount, "sign-in delegate groups are for Enterprise accounts; account %s is a Team account", s.ID)
	}
	if len(c.Groups) == 0 {
		return nil, domain.Wrapf(ErrInvalidUser, "SigninDelegateGroups must not be empty")
	}
	var add []string
	for _, g := range c.Groups {
		if n := utf8.RuneCountInString(g); n < 1 || n > MaxGroupName || strings.TrimSpace(g) == "" {
			return nil, domain.Wrapf(ErrInvalidUser, "GroupName must be 1-%d characters", MaxGroupName)
		}
		if strings.Contains(g, "=") {
			return nil, domain.Wrapf(ErrInvalidUser, "GroupName %q looks like a distinguished name; name the AD group itself (organizational units are not supported)", g)
		}
		if !slices.Contains(s.DelegateGroups, g) && !slices.Contains(add, g) {
			add = append(add, g)
		}
	}
	if len(add) == 0 {
		return nil, nil
	}
	if n := len(s.DelegateGroups) + len(add); n > MaxDelegateGroups {
		return nil, domain.Wrapf(ErrInvalidUser, "an account has at most %d sign-in delegate groups; this call would give account %s %d", MaxDelegateGroups, s.ID, n)
	}
	return []Event{DelegateGroupsAssociated{Groups: add}}, nil
}

func (c DisassociateDelegateGroups) decide(s State, _ time.Time) ([]Event, error) {
	var del []string
	for _, g := range c.Groups {
		if slices.Contains(s.DelegateGroups, g) && !slices.Contains(del, g) {
			del = append(del, g)
		}
	}
	if len(del) == 0 {
		return nil, nil
	}
	return []Event{DelegateGroupsDisassociated{Groups: del}}, nil
}

func evolveDelegates(s *State, e Event) {
	switch e := e.(type) {
	case DelegateGroupsAssociated:
		s.DelegateGroups = append(slices.Clone(s.DelegateGroups), e.Groups...)
		slices.Sort(s.DelegateGroups)
	case DelegateGroupsDisassociated:
		s.DelegateGroups = slices.DeleteFunc(slices.Clone(s.DelegateGroups), func(g string) bool { return slices.Contains(e.Groups, g) })
	}
}
