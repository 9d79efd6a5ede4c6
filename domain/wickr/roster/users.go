package roster

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain/wickr"
)

// NewUser is one item of BatchCreateUser; UserID is allocated by the caller (consecutive ids keep a
// batch on one or two roster streams), Username is claimed in the directory first.
type NewUser struct {
	UserID, Username, FirstName, LastName, InviteCode string
	SecurityGroupIDs                                  []string
	InviteCodeTTLDays                                 int
	CodeValidation                                    bool
}

// CreateUsers invites users (BatchCreateUser): they are pending until they register.
type CreateUsers struct {
	NetworkID string
	Items     []NewUser
	Policy    Policy
}

// UserDetails is UpdateUser's userDetails: nil members are unchanged.
type UserDetails struct {
	FirstName, LastName, Username, InviteCode *string
	SecurityGroupIDs                          *[]string
	InviteCodeTTLDays                         *int
	CodeValidation                            *bool
}

// UpdateUser changes a user's details.
type UpdateUser struct {
	NetworkID, UserID string
	Details           UserDetails
	Policy            Policy
}

// DeleteUsers deletes users (BatchDeleteUser); deletion is final. ClientToken is the request's
// X-Client-Token ("" for none): a user that a request with the same token deleted is deleted again
// (no event), not a refused item, so that a retried request answers as the first did.
type DeleteUsers struct {
	NetworkID   string
	UserIDs     []string
	Policy      Policy
	ClientToken string
}

// ToggleSuspend suspends or unsuspends users (BatchToggleUserSuspendStatus); unsuspending a locked-out
// user unlocks it (the admin's manual unlock, guide §21.7).
type ToggleSuspend struct {
	NetworkID string
	UserIDs   []string
	Suspend   bool
	Policy    Policy
}

// Reinvite renews the invitations of pending users (BatchReinviteUser).
type Reinvite struct {
	NetworkID string
	UserIDs   []string
}

// ResetDevices resets a user's devices (BatchResetDevicesForUser): each must sign in again.
type ResetDevices struct {
	NetworkID, UserID string
	AppIDs            []string
}

// MoveGroup moves every user of a deleted group to the default group.
type MoveGroup struct{ NetworkID, From, To string }

func (c CreateUsers) network() string   { return c.NetworkID }
func (c UpdateUser) network() string    { return c.NetworkID }
func (c DeleteUsers) network() string   { return c.NetworkID }
func (c ToggleSuspend) network() string { return c.NetworkID }
func (c Reinvite) network() string      { return c.NetworkID }
func (c ResetDevices) network() string  { return c.NetworkID }
func (c MoveGroup) network() string     { return c.NetworkID }

func validName(field, v string) error {
	if utf8.RuneCountInString(v) > MaxNameLength {
		return wickr.Invalid(field, "must be at most %d characters", MaxNameLength)
	}
	return nil
}

// validGroups checks securityGroupIds: exactly one group of the network (a user belongs to one group).
func validGroups(field string, ids []string, p Policy) (string, error) {
	if len(ids) != 1 {
		return "", wickr.Invalid(field, "must name exactly one security group, got %d", len(ids))
	}
	if _, ok := p.Groups[ids[0]]; !ok {
		return "", wickr.Invalid(field+"[0]", "security group %q does not exist in the network", ids[0])
	}
	return ids[0], nil
}

func validPreview(p Policy, code string, ttl int, validation bool) error {
	switch {
	case !p.Preview && code != "":
		return wickr.Invalid("inviteCode", "is restricted to networks under preview")
	case !p.Preview && ttl != 0:
		return wickr.Invalid("inviteCodeTtl", "is restricted to networks under preview")
	case !p.Preview && validation:
		return wickr.Invalid("codeValidation", "is restricted to networks under preview")
	case ttl < 0 || ttl > MaxInviteTTLDays:
		return wickr.Invalid("inviteCodeTtl", "must be 1 to %d days, got %d", MaxInviteTTLDays, ttl)
	}
	return nil
}

// ValidateNewUser checks one BatchCreateUser item (fields relative to the item) and returns it with
// its username normalized and its one group; the caller checks items before claiming their usernames.
func ValidateNewUser(it NewUser, p Policy) (NewUser, string, error) {
	if err := wickr.ValidNumericID("userId", it.UserID); err != nil {
		return it, "", err
	}
	username, err := wickr.NormalizeUsername("username", it.Username)
	if err != nil {
		return it, "", err
	}
	group, err := validGroups("securityGroupIds", it.SecurityGroupIDs, p)
	if err != nil {
		return it, "", err
	}
	for _, e := range []error{validName("firstName", it.FirstName), validName("lastName", it.LastName),
		validPreview(p, it.InviteCode, it.InviteCodeTTLDays, it.CodeValidation)} {
		if e != nil {
			return it, "", e
		}
	}
	it.Username = username
	return it, group, nil
}

func inviteExpiry(now time.Time, ttlDays int) time.Time {
	if ttlDays > 0 {
		return now.AddDate(0, 0, ttlDays)
	}
	return now.Add(InviteTTL)
}

func decideCreate(s State, c CreateUsers, now time.Time) ([]Event, []ItemFailure, error) {
	if err := batchSize("users", len(c.Items)); err != nil {
		return nil, nil, err
	}
	var failed []ItemFailure
	batch := UsersInvited{NetworkID: c.NetworkID, At: now}
	seen := map[string]bool{}
	for i, raw := range c.Items {
		it, group, err := ValidateNewUser(raw, c.Policy)
		if err == nil && seen[it.UserID] {
			err = wickr.Invalid("userId", "%s appears twice in the batch", it.UserID)
		}
		if err == nil && wickr.RosterBlock(it.UserID) != blockOf(s, c.Items) {
			err = wickr.Invalid("userId", "user %s belongs to another roster block", it.UserID)
		}
		if err != nil {
			failed = append(failed, failure(raw.UserID, wickr.Prefix(fmt.Sprintf("users[%d]", i), err)))
			continue
		}
		seen[it.UserID] = true
		if u, ok := s.Users[it.UserID]; ok {
			if u.Username != it.Username || u.Deleted {
				failed = append(failed, failure(it.UserID, wickr.Invalid(fmt.Sprintf("users[%d].userId", i), "user id %s is already used", it.UserID)))
			}
			continue // the same user again: a replayed request
		}
		batch.invite(UserInvited{UserID: it.UserID, Username: it.Username, FirstName: it.FirstName, LastName: it.LastName,
			GroupID: group, InviteCode: it.InviteCode, CodeValidation: it.CodeValidation, InviteExpiresAt: inviteExpiry(now, it.InviteCodeTTLDays)})
	}
	if len(batch.UserIDs) == 0 {
		return nil, failed, nil
	}
	return []Event{batch}, failed, nil
}

// blockOf is the block of a roster: that of its users, or of the batch's first item when it is empty.
func blockOf(s State, items []NewUser) string {
	for id := range s.Users {
		return wickr.RosterBlock(id)
	}
	return wickr.RosterBlock(items[0].UserID)
}

func decideUpdate(s State, c UpdateUser, now time.Time) ([]Event, error) {
	if err := wickr.ValidNumericID("userId", c.UserID); err != nil {
		return nil, err
	}
	u, err := s.User(c.UserID)
	if err != nil {
		return nil, err
	}
	d := c.Details
	if d.Username != nil {
		if n, err := wickr.NormalizeUsername("userDetails.username", *d.Username); err != nil || n != u.Username {
			return nil, wickr.Invalid("userDetails.username", "a username is permanent: it cannot change after creation")
		}
	}
	first, last, group := u.FirstName, u.LastName, u.GroupID
	set := func(dst *string, v *string, field string) error {
		if v != nil {
			*dst = *v
			return validName(field, *v)
		}
		return nil
	}
	if err := set(&first, d.FirstName, "userDetails.firstName"); err != nil {
		return nil, err
	}
	if err := set(&last, d.LastName, "userDetails.lastName"); err != nil {
		return nil, err
	}
	if d.SecurityGroupIDs != nil {
		if group, err = validGroups("userDetails.securityGroupIds", *d.SecurityGroupIDs, c.Policy); err != nil {
			return nil, err
		}
	}
	code, ttl, validation := deref(d.InviteCode), deref(d.InviteCodeTTLDays), deref(d.CodeValidation)
	if err := validPreview(c.Policy, code, ttl, validation); err != nil {
		return nil, wickr.Prefix("userDetails", err)
	}
	if first == u.FirstName && last == u.LastName && group == u.GroupID && d.InviteCode == nil && d.InviteCodeTTLDays == nil && d.CodeValidation == nil {
		return nil, nil
	}
	e := UserUpdated{UserID: u.ID, FirstName: first, LastName: last, GroupID: group, InviteCode: u.InviteCode, CodeValidation: u.CodeValidation, At: now}
	if d.InviteCode != nil || d.InviteCodeTTLDays != nil || d.CodeValidation != nil {
		e.InviteCode, e.CodeValidation, e.InviteExpiresAt = code, validation, inviteExpiry(now, ttl)
	}
	return []Event{e}, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func decideDelete(s State, c DeleteUsers, now time.Time) ([]Event, []ItemFailure, error) {
	if err := bulk("userIds", c.UserIDs, c.Policy, "delete"); err != nil {
		return nil, nil, err
	}
	var evs []Event
	var failed []ItemFailure
	for _, id := range uniqueIDs("userIds", c.UserIDs, &failed) {
		if u, ok := s.Users[id]; ok && u.Deleted && c.ClientToken != "" && u.DeletedBy == c.ClientToken {
			continue // deleted by this request before: a retry
		}
		if _, err := s.User(id); err != nil {
			failed = append(failed, failure(id, err))
			continue
		}
		evs = append(evs, UserDeleted{UserID: id, ClientToken: c.ClientToken, At: now})
	}
	return evs, failed, nil
}

// bulk checks a batch of user ids and refuses more than one while SSO is on.
func bulk(field string, ids []string, p Policy, what string) error {
	if err := batchSize(field, len(ids)); err != nil {
		return err
	}
	if p.SSO && len(ids) > 1 {
		return wickr.Invalid(field, "bulk %s is available only when SSO is not enabled; %s users one at a time", what, what)
	}
	return nil
}

// decideSuspend suspends or unsuspends users. The guide limits bulk suspension to networks without
// SSO ("사용자를 대량 일시 중지하는 옵션은 SSO가 활성화되지 않은 경우에만 적용됩니다"); unsuspending, which it
// does not limit, goes in batches either way.
func decideSuspend(s State, c ToggleSuspend, now time.Time) ([]Event, []ItemFailure, error) {
	check := bulk
	if !c.Suspend {
		check = func(field string, ids []string, _ Policy, _ string) error { return batchSize(field, len(ids)) }
	}
	if err := check("userIds", c.UserIDs, c.Policy, "suspend"); err != nil {
		return nil, nil, err
	}
	var evs []Event
	var failed []ItemFailure
	for _, id := range uniqueIDs("userIds", c.UserIDs, &failed) {
		u, err := s.User(id)
		switch {
		case err != nil:
			failed = append(failed, failure(id, err))
		case c.Suspend && u.Status != StatusActive:
			failed = append(failed, failure(id, wickr.FieldErr(ErrState, "suspend", "user %s has not registered: only active users can be suspended", id)))
		case c.Suspend && !u.Suspended:
			evs = append(evs, UserSuspended{UserID: id, At: now})
		case !c.Suspend && u.Suspended:
			evs = append(evs, UserUnsuspended{UserID: id, At: now})
		case !c.Suspend && !u.LockedUntil.IsZero():
			evs = append(evs, UserUnlocked{UserID: id, Reason: UnlockByAdmin, At: now})
		}
	}
	return evs, failed, nil
}

func decideReinvite(s State, c Reinvite, now time.Time) ([]Event, []ItemFailure, error) {
	if err := batchSize("userIds", len(c.UserIDs)); err != nil {
		return nil, nil, err
	}
	var evs []Event
	var failed []ItemFailure
	for _, id := range uniqueIDs("userIds", c.UserIDs, &failed) {
		u, err := s.User(id)
		switch {
		case err != nil:
			failed = append(failed, failure(id, err))
		case u.Status != StatusPending:
			failed = append(failed, failure(id, wickr.FieldErr(ErrState, "userIds", "user %s has already registered", id)))
		default:
			evs = append(evs, UserReinvited{UserID: id, InviteExpiresAt: now.Add(InviteTTL), At: now})
		}
	}
	return evs, failed, nil
}

func decideResetDevices(s State, c ResetDevices, now time.Time) ([]Event, []ItemFailure, error) {
	if err := batchSize("appIds", len(c.AppIDs)); err != nil {
		return nil, nil, err
	}
	u, err := s.User(c.UserID)
	if err != nil {
		return nil, nil, err
	}
	var evs []Event
	var failed []ItemFailure
	for _, app := range uniqueIDs("appIds", c.AppIDs, &failed) {
		d, ok := u.Devices[app]
		switch {
		case !ok:
			failed = append(failed, failure(app, wickr.FieldErr(ErrNotFound, "appIds", "device %s is not a device of user %s", app, u.ID)))
		case d.Status == DeviceActive:
			evs = append(evs, DeviceWasReset{UserID: u.ID, AppID: app, Reason: ResetByAdmin, At: now})
		}
	}
	return evs, failed, nil
}

func decideMove(s State, c MoveGroup, now time.Time) []Event {
	var ids []string
	for id, u := range s.Users {
		if u.GroupID == c.From && !u.Deleted {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var evs []Event
	for _, id := range ids {
		evs = append(evs, UserMoved{UserID: id, GroupID: c.To, At: now})
	}
	return evs
}
