package roster

import "time"

func evolveUsers(s *State, e Event) {
	switch ev := e.(type) {
	case UserInvited:
		s.invited(ev)
		return
	case UsersInvited:
		for _, u := range ev.Each() {
			s.invited(u)
		}
		return
	}
	u := s.Users[userOf(e)]
	if u == nil {
		return
	}
	switch e := e.(type) {
	case UserReinvited:
		u.InviteExpiresAt, u.Modified = e.InviteExpiresAt, e.At
	case UserRegistered:
		u.Status, u.Password, u.Modified = StatusActive, e.Password, e.At
	case UserUpdated:
		u.FirstName, u.LastName, u.GroupID, u.InviteCode, u.CodeValidation, u.Modified = e.FirstName, e.LastName, e.GroupID, e.InviteCode, e.CodeValidation, e.At
		if !e.InviteExpiresAt.IsZero() {
			u.InviteExpiresAt = e.InviteExpiresAt
		}
	case UserMoved:
		u.GroupID, u.Modified = e.GroupID, e.At
	case UserRegisteredSSO:
		u.Status, u.Modified = StatusActive, e.At
	case UserSuspended:
		u.Suspended, u.Modified, u.RevokedAt, u.ResetExpiresAt = true, e.At, e.At, time.Time{}
	case UserUnsuspended:
		u.Suspended, u.Modified = false, e.At
	case UserDeleted:
		u.Deleted, u.Modified, u.RevokedAt, u.DeletedBy = true, e.At, e.At, e.ClientToken
	case DeviceRegistered:
		u.Devices[e.AppID] = &Device{AppID: e.AppID, Type: e.Type, Status: DeviceActive, Created: e.At, LastLogin: e.At}
	case DeviceWasReset:
		u.Devices[e.AppID].Status = DeviceReset
	case SignedIn:
		u.Failures, u.LastLogin = 0, e.At
		u.Devices[e.AppID].LastLogin = e.At
	case SignInFailed:
		u.Failures = e.Failures
	case UserLockedOut:
		u.LockedUntil, u.RevokedAt = e.Until, e.At
	case UserUnlocked:
		u.LockedUntil, u.Failures = time.Time{}, 0
	case PasswordResetRequested:
		u.ResetExpiresAt = e.ExpiresAt
	case PasswordReset:
		u.Password, u.Failures, u.ResetExpiresAt, u.Modified = e.Password, 0, time.Time{}, e.At
	}
}

func userOf(e Event) string {
	switch e := e.(type) {
	case UserReinvited:
		return e.UserID
	case UserRegistered:
		return e.UserID
	case UserRegisteredSSO:
		return e.UserID
	case UserUpdated:
		return e.UserID
	case UserMoved:
		return e.UserID
	case UserSuspended:
		return e.UserID
	case UserUnsuspended:
		return e.UserID
	case UserDeleted:
		return e.UserID
	case DeviceRegistered:
		return e.UserID
	case DeviceWasReset:
		return e.UserID
	case SignedIn:
		return e.UserID
	case SignInFailed:
		return e.UserID
	case UserLockedOut:
		return e.UserID
	case UserUnlocked:
		return e.UserID
	case PasswordResetRequested:
		return e.UserID
	case PasswordReset:
		return e.UserID
	}
	return ""
}

// invited adds a new pending user.
func (s *State) invited(ev UserInvited) {
	s.NetworkID = ev.NetworkID
	s.Users[ev.UserID] = &User{ID: ev.UserID, Username: ev.Username, FirstName: ev.FirstName, LastName: ev.LastName, GroupID: ev.GroupID,
		Status: StatusPending, InviteCode: ev.InviteCode, CodeValidation: ev.CodeValidation, InviteExpiresAt: ev.InviteExpiresAt,
		Devices: map[string]*Device{}, Created: ev.At, Modified: ev.At}
}
