package network

import (
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// MaxGroupName bounds a security group's name (Belfry's bound: the model sets none).
const MaxGroupName = 256

// Group is a security group.
type Group struct {
	ID, Name  string
	IsDefault bool
	Settings  sg.Settings
	Modified  time.Time
}

// CreateGroup creates a security group (CreateSecurityGroup) with the defaults updated by Settings.
// Retry says that GroupID derives from the request's X-Client-Token: a group of that id with the
// request's name and settings is the same request again (no change); one with another name or other
// settings is another request under the same token (ErrGroupToken).
type CreateGroup struct {
	NetworkID, GroupID, Name string
	Settings                 sg.Patch
	Retry                    bool
}

// ErrGroupToken is a CreateGroup whose group id is taken by another request's group, or by a deleted
// group (a group id is never reused: the deleted group's users may still be moving to the default).
var ErrGroupToken = &domain.Error{Kind: domain.KindConflict, Msg: "the security group id is taken"}

// UpdateGroup renames a group and/or updates its settings (nil: unchanged).
type UpdateGroup struct {
	NetworkID, GroupID string
	Name               *string
	Settings           *sg.Patch
}

// DeleteGroup deletes a group that is not the default; its members move to the default group.
type DeleteGroup struct{ NetworkID, GroupID string }

func (c CreateGroup) target() string { return c.NetworkID }
func (c UpdateGroup) target() string { return c.NetworkID }
func (c DeleteGroup) target() string { return c.NetworkID }

func validGroupName(name string) error {
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > MaxGroupName {
		return wickr.Invalid("name", "must be 1 to %d characters", MaxGroupName)
	}
	return nil
}

// Group returns a live group of the network.
func (s State) Group(id string) (*Group, error) {
	g, ok := s.Groups[id]
	if !ok {
		return nil, domain.Wrapf(ErrGroupNotFound, "Security group %s not found in network %s", id, s.ID)
	}
	return g, nil
}

func (s State) groupIDs() []string {
	ids := make([]string, 0, len(s.Groups))
	for id := range s.Groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func decideGroups(s State, c Command, now time.Time) ([]Event, bool, error) {
	switch c := c.(type) {
	case CreateGroup:
		evs, err := decideCreateGroup(s, c, now)
		return evs, true, err
	case UpdateGroup:
		evs, err := decideUpdateGroup(s, c, now)
		return evs, true, err
	case DeleteGroup:
		g, err := s.Group(c.GroupID)
		if err != nil {
			return nil, true, err
		}
		if g.IsDefault {
			return nil, true, domain.Wrapf(ErrDefaultGroup, "security group %s is the default security group of network %s", g.ID, s.ID)
		}
		evs := []Event{GroupDeleted{GroupID: g.ID, MovedTo: s.DefaultGroupID, At: now}}
		for _, id := range s.botIDs() {
			if b := s.Bots[id]; b.GroupID == g.ID {
				evs = append(evs, BotUpdated{BotID: id, DisplayName: b.DisplayName, GroupID: s.DefaultGroupID, At: now})
			}
		}
		return evs, true, nil
	}
	return nil, false, nil
}

func decideCreateGroup(s State, c CreateGroup, now time.Time) ([]Event, error) {
	if err := validGroupName(c.Name); err != nil {
		return nil, err
	}
	if c.GroupID == "" {
		return nil, wickr.Invalid("groupId", "is required")
	}
	if s.DeletedGroups[c.GroupID] {
		return nil, domain.Wrapf(ErrGroupToken, "security group %s was deleted and its id is not used again; create the group with a new X-Client-Token", c.GroupID)
	}
	if g, ok := s.Groups[c.GroupID]; ok {
		if st, err := sg.Apply(g.Settings, c.Settings, s.GroupContext()); c.Retry && err == nil && g.Name == c.Name && reflect.DeepEqual(st, g.Settings) {
			return nil, nil // the same request again
		}
		return nil, domain.Wrapf(ErrGroupToken, "security group %s already exists with another name or other settings: another request (its X-Client-Token) made it", c.GroupID)
	}
	st, err := sg.Apply(sg.Defaults(), c.Settings, s.GroupContext())
	if err != nil {
		return nil, wickr.Prefix("securityGroupSettings", err)
	}
	return []Event{GroupCreated{GroupID: c.GroupID, Name: c.Name, Settings: st, At: now}}, nil
}

func decideUpdateGroup(s State, c UpdateGroup, now time.Time) ([]Event, error) {
	g, err := s.Group(c.GroupID)
	if err != nil {
		return nil, err
	}
	name, st := g.Name, g.Settings
	if c.Name != nil {
		if err := validGroupName(*c.Name); err != nil {
			return nil, err
		}
		name = *c.Name
	}
	if c.Settings != nil {
		if st, err = sg.Apply(g.Settings, *c.Settings, s.GroupContext()); err != nil {
			return nil, wickr.Prefix("securityGroupSettings", err)
		}
	}
	if name == g.Name && reflect.DeepEqual(st, g.Settings) {
		return nil, nil
	}
	return []Event{GroupUpdated{GroupID: g.ID, Name: name, Settings: st, At: now}}, nil
}

func evolveGroups(s *State, e Event) bool {
	switch e := e.(type) {
	case GroupCreated:
		s.Groups[e.GroupID] = &Group{ID: e.GroupID, Name: e.Name, IsDefault: e.IsDefault, Settings: e.Settings, Modified: e.At}
		if e.IsDefault {
			s.DefaultGroupID = e.GroupID
		}
	case GroupUpdated:
		g := s.Groups[e.GroupID]
		g.Name, g.Settings, g.Modified = e.Name, e.Settings, e.At
	case GroupDeleted:
		delete(s.Groups, e.GroupID)
		if s.DeletedGroups == nil {
			s.DeletedGroups = map[string]bool{}
		}
		s.DeletedGroups[e.GroupID] = true
	default:
		return false
	}
	return true
}
