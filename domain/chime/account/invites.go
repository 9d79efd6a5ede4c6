package account

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
)

// Invitations and registration (guide §3.4, §5.1): a Team admin invites addresses; each invitation
// carries a single-use token (only its hash is stored) that expires after InviteTTL; accepting it
// sets the user's credentials and registers the user, who then gets a personal PIN.
const (
	TypeUserInvited       = "chime.account.user_invited.v1"
	TypeInviteEmailSent   = "chime.account.invite_email_result.v1"
	TypeUserRegistered    = "chime.account.user_registered.v1"
	TypeInviteTokenIssued = "chime.account.invite_token_issued.v1"
	InviteTTL             = 7 * 24 * time.Hour
	MaxInvites            = 50
	MinPasswordLength     = 8
	InvitePending         = "Pending"
	InviteAccepted        = "Accepted"
	InviteFailed          = "Failed"
	EmailNotSent          = "NotSent"
	EmailSent             = "Sent"
	EmailFailed           = "Failed"
)

// Invitation sentinels.
var (
	ErrInvalidInvite = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid invitation"}
	ErrInviteUsed    = &domain.Error{Kind: domain.KindForbidden, Msg: "invitation expired or already used"}
	ErrSuspended     = &domain.Error{Kind: domain.KindForbidden, Msg: "user suspended"}
	// ErrDomainClaimed refuses an invitation to an address whose domain another account claimed.
	ErrDomainClaimed = &domain.Error{Kind: domain.KindConflict, Msg: "e-mail domain claimed by another organisation"}
)

// Invite is one invitation.
type Invite struct {
	ID, UserID, Email, TokenHash, EmailStatus string
	ExpiresAt, At                             time.Time
	Used                                      bool
}

// UserInvited records an invitation (the user is added first when new).
type UserInvited struct {
	UserID    string    `json:"userId"`
	InviteID  string    `json:"inviteId"`
	Email     string    `json:"email"`
	TokenHash string    `json:"tokenHash"`
	ExpiresAt time.Time `json:"expiresAt"`
	At        time.Time `json:"at"`
}

// InviteTokenIssued records the hash of the token mailed for an invitation (a new mail replaces it).
type InviteTokenIssued struct {
	InviteID  string `json:"inviteId"`
	TokenHash string `json:"tokenHash"`
}

func (InviteTokenIssued) EventType() string { return TypeInviteTokenIssued }
func (InviteTokenIssued) isAccountEvent()   {}

// IssueInviteToken records the token of the invitation mail being sent.
type IssueInviteToken struct{ AccountID, InviteID, TokenHash string }

func (c IssueInviteToken) Target() string { return c.AccountID }

// InviteEmailResult records whether the invitation mail went out.
type InviteEmailResult struct {
	InviteID string `json:"inviteId"`
	Status   string `json:"status"`
}

// UserRegistered records accepted credentials; the invitation is used up. The password's bcrypt hash
// and the PIN are sealed under the user's key (domain.Sealed): the log never holds either in clear.
type UserRegistered struct {
	UserID       string        `json:"userId"`
	InviteID     string        `json:"inviteId"`
	PasswordHash domain.Sealed `json:"sealedPasswordHash,omitzero"`
	DisplayName  string        `json:"displayName"`
	PIN          domain.Sealed `json:"sealedPin,omitzero"`
	// LegacyPasswordHash and LegacyPIN are the plain values of events stored before credentials were
	// sealed: decoded (upcast) so old logs still replay, never written by Decide.
	LegacyPasswordHash string    `json:"passwordHash,omitempty"`
	LegacyPIN          string    `json:"personalPin,omitempty"`
	At                 time.Time `json:"at"`
}

func (UserInvited) EventType() string       { return TypeUserInvited }
func (InviteEmailResult) EventType() string { return TypeInviteEmailSent }
func (UserRegistered) EventType() string    { return TypeUserRegistered }
func (UserInvited) isAccountEvent()         {}
func (InviteEmailResult) isAccountEvent()   {}
func (UserRegistered) isAccountEvent()      {}

// InviteItem is one address to invite, with ids chosen by the caller (the token is issued when the
// invitation mail is sent). ClaimedBy is the account that has verified the address's domain, as the
// caller found it ("" none): a Team account invites users of any domain not claimed by another
// organisation (guide §4.1), so an item claimed by another account fails the call.
type InviteItem struct {
	Email, UserID, InviteID string
	ClaimedBy               string
}

// InviteUsers invites up to MaxInvites addresses to a Team account.
type InviteUsers struct {
	AccountID string
	UserType  string
	Items     []InviteItem
}

// RecordInviteEmail records the outcome of sending an invitation mail.
type RecordInviteEmail struct{ AccountID, InviteID, Status string }

// Register accepts an invitation: TokenHash must match, the invitation must be unused and unexpired.
// PasswordHash (bcrypt) and PIN are sealed under the user's key.
type Register struct {
	AccountID, UserID, InviteID, TokenHash, DisplayName string
	PasswordHash, PIN                                   domain.Sealed
}

func (c InviteUsers) Target() string       { return c.AccountID }
func (c RecordInviteEmail) Target() string { return c.AccountID }
func (c Register) Target() string          { return c.AccountID }

// MaxPasswordBytes bounds a password: bcrypt, which hashes it, takes no more than 72 bytes.
const MaxPasswordBytes = 72

// ValidatePassword checks the password rules: at least MinPasswordLength characters, at most
// MaxPasswordBytes bytes of UTF-8.
func ValidatePassword(p string) error {
	if utf8.RuneCountInString(p) < MinPasswordLength {
		return domain.Wrapf(ErrInvalidInvite, "Password must have at least %d characters", MinPasswordLength)
	}
	if len(p) > MaxPasswordBytes {
		return domain.Wrapf(ErrInvalidInvite, "Password must be at most %d bytes of UTF-8, got %d", MaxPasswordBytes, len(p))
	}
	return nil
}

func (c InviteUsers) decide(s State, now time.Time) ([]Event, error) {
	if s.Type != TypeTeam {
		return nil, domain.Wrapf(ErrWrongAccount, "InviteUsers invites users to Team accounts; users of an Enterprise account join through its claimed domains")
	}
	if len(c.Items) == 0 || len(c.Items) > MaxInvites {
		return nil, domain.Wrapf(ErrBatchTooLong, "UserEmailList must hold 1-%d addresses, got %d", MaxInvites, len(c.Items))
	}
	ut := c.UserType
	if ut == "" {
		ut = UserTypePrivate
	}
	if ut != UserTypePrivate && ut != UserTypeSharedDevice {
		return nil, domain.Wrapf(ErrInvalidUser, "UserType must be PrivateUser or SharedDevice, got %q", c.UserType)
	}
	var out []Event
	seen := map[string]bool{}
	for _, it := range c.Items {
		email, err := normalizeEmail(it.Email)
		if err != nil {
			return nil, err
		}
		if it.ClaimedBy != "" && it.ClaimedBy != s.ID {
			return nil, domain.Wrapf(ErrDomainClaimed, "%s: its domain is claimed by another organisation's Enterprise account; "+
				"a Team account invites users of unclaimed domains only", email)
		}
		if seen[email] {
			continue
		}
		seen[email] = true
		userID := it.UserID
		if id, ok := s.Emails.Get(email); ok {
			userID = id
			if u, _ := s.Members.Get(id); u.Registration == RegistrationRegistered {
				continue // already a registered member: nothing to accept
			}
		} else {
			out = append(out, UserAdded{UserID: userID, Email: email, UserType: ut, LicenseType: s.DefaultLicense, CreatedAt: now.UTC()})
		}
		out = append(out, UserInvited{UserID: userID, InviteID: it.InviteID, Email: email,
			ExpiresAt: now.Add(InviteTTL).UTC(), At: now.UTC()})
	}
	return out, nil
}

func (c IssueInviteToken) decide(s State, now time.Time) ([]Event, error) {
	inv, ok := s.Invites[c.InviteID]
	if !ok || inv.Used || !now.Before(inv.ExpiresAt) {
		return nil, domain.Wrapf(ErrInviteUsed, "invitation %s is unknown, used or expired", c.InviteID)
	}
	return []Event{InviteTokenIssued{InviteID: c.InviteID, TokenHash: c.TokenHash}}, nil
}

func (c RecordInviteEmail) decide(s State, _ time.Time) ([]Event, error) {
	if _, ok := s.Invites[c.InviteID]; !ok {
		return nil, domain.Wrapf(ErrInvalidInvite, "no invitation %s", c.InviteID)
	}
	return []Event{InviteEmailResult{InviteID: c.InviteID, Status: c.Status}}, nil
}

func (c Register) decide(s State, now time.Time) ([]Event, error) {
	inv, ok := s.Invites[c.InviteID]
	if !ok || inv.UserID != c.UserID || inv.TokenHash == "" || inv.TokenHash != c.TokenHash {
		return nil, domain.Wrapf(ErrInviteUsed, "the invitation token is not valid")
	}
	if inv.Used || !now.Before(inv.ExpiresAt) {
		return nil, domain.Wrapf(ErrInviteUsed, "the invitation has expired or was already used; ask for a new one")
	}
	u, ok := s.Members.Get(c.UserID)
	if !ok {
		return nil, domain.Wrapf(ErrInviteUsed, "the invited user is no longer in the account")
	}
	if u.Registration == RegistrationSuspended {
		return nil, domain.Wrapf(ErrSuspended, "the user is suspended")
	}
	name := strings.TrimSpace(c.DisplayName)
	if utf8.RuneCountInString(name) > MaxUsernameLength {
		return nil, domain.Wrapf(ErrInvalidUser, "DisplayName must be at most %d characters", MaxUsernameLength)
	}
	if err := checkSealed(s.ID, UserKeySubject(c.UserID), "PasswordHash", c.PasswordHash); err != nil {
		return nil, err
	}
	if err := checkSealed(s.ID, UserKeySubject(c.UserID), "PIN", c.PIN); err != nil {
		return nil, err
	}
	return []Event{UserRegistered{UserID: c.UserID, InviteID: c.InviteID, PasswordHash: c.PasswordHash, DisplayName: name,
		PIN: c.PIN, At: now.UTC()}}, nil
}

func evolveInvites(s *State, e Event) {
	if s.Invites == nil {
		s.Invites = map[string]*Invite{}
	}
	switch e := e.(type) {
	case UserInvited:
		s.Invites[e.InviteID] = &Invite{ID: e.InviteID, UserID: e.UserID, Email: e.Email, TokenHash: e.TokenHash,
			EmailStatus: EmailNotSent, ExpiresAt: e.ExpiresAt, At: e.At}
		if u, ok := s.Members.Get(e.UserID); ok {
			u.Invitation = InvitePending
		}
	case InviteTokenIssued:
		if inv, ok := s.Invites[e.InviteID]; ok {
			inv.TokenHash = e.TokenHash
		}
	case InviteEmailResult:
		if inv, ok := s.Invites[e.InviteID]; ok {
			inv.EmailStatus = e.Status
		}
	case UserRegistered:
		if inv, ok := s.Invites[e.InviteID]; ok {
			inv.Used = true
		}
		if u, ok := s.Members.Get(e.UserID); ok {
			u.Registration, u.Invitation, u.DisplayName = RegistrationRegistered, InviteAccepted, e.DisplayName
		}
	}
}
