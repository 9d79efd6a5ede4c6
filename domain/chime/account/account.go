package account

import (
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
)

// Enum values of the wire contract.
const (
	TypeTeam                = "Team"
	TypeEnterpriseDirectory = "EnterpriseDirectory"
	TypeEnterpriseLWA       = "EnterpriseLWA"
	TypeEnterpriseOIDC      = "EnterpriseOIDC"
	StatusActive            = "Active"
	StatusSuspended         = "Suspended"
	LicenseBasic            = "Basic"
	LicensePlus             = "Plus"
	LicensePro              = "Pro"
	LicenseProTrial         = "ProTrial"
	MaxNameLength           = 100
	UserTypePrivate         = "PrivateUser"
	UserTypeSharedDevice    = "SharedDevice"
	MaxEmailLength          = 254
	MaxUsernameLength       = 100
)

// Licenses lists every licence value.
var Licenses = []string{LicenseBasic, LicensePlus, LicensePro, LicenseProTrial}

// Sentinel errors.
var (
	ErrInvalidName    = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid account name"}
	ErrInvalidLicense = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid licence"}
	ErrNotFound       = &domain.Error{Kind: domain.KindNotFound, Msg: "account not found"}
	ErrAlreadyExists  = &domain.Error{Kind: domain.KindConflict, Msg: "account already exists"}
	ErrNotEmpty       = &domain.Error{Kind: domain.KindUnprocessable, Msg: "account is not empty"}
	ErrInvalidUser    = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid user"}
	ErrEmailTaken     = &domain.Error{Kind: domain.KindConflict, Msg: "e-mail address already in use"}
)

// Settings are the account's meeting policies.
type Settings struct {
	DisableRemoteControl bool
	EnableDialOut        bool
}

// State is an account folded from its events.
type State struct {
	Exists            bool
	Deleted           bool
	ID                string
	AwsAccountID      string
	Name              string
	Type              string
	Status            string
	DefaultLicense    string
	SupportedLicenses []string
	CreatedAt         time.Time
	Settings          Settings
	// Emails maps each member's lower-cased e-mail address to the user id; Members holds their state
	// by id. Both are Indexes (maps that a snapshot restores without an insert per user); Evolve
	// updates them in place: the repository serializes every use of a stream's state.
	Emails  *Index[string]
	Members *Index[*User]
	// Domains holds the account's domain claims by name.
	Domains map[string]*DomainClaim
	// Bots holds the account's chat bots by id.
	Bots map[string]*Bot
	// DelegateGroups are the sign-in delegate (directory) groups, sorted.
	DelegateGroups []string
	// Invites holds the invitations by id.
	Invites map[string]*Invite
	// PendingPurges maps removed domains to the time their users are deleted.
	PendingPurges map[string]time.Time
}

// sortedMembers returns the members in id order (decisions must be deterministic).
func (s State) sortedMembers() []*User {
	_, out := s.Members.Sorted() // in key order, which is id order: Evolve files each user under its id
	byID := func(a, b *User) int { return strings.Compare(a.ID, b.ID) }
	if !slices.IsSortedFunc(out, byID) {
		slices.SortFunc(out, byID)
	}
	return out
}

// Users is the number of users in the account.
func (s State) Users() int { return s.Emails.Len() }

// Initial is the state of an account that was never created.
func Initial() State { return State{} }

// Live reports whether the account exists and is not deleted.
func (s State) Live() bool { return s.Exists && !s.Deleted }

// Command is the sealed set of account commands. Each command decides itself (its decide method), so
// Decide is the one router: a command type without a decision does not compile as a Command.
type Command interface {
	Target() string
	decide(s State, now time.Time) ([]Event, error)
}

// Create creates an account.
type Create struct {
	AccountID    string
	AwsAccountID string
	Name         string
}

// Update renames the account and/or changes its default licence; nil fields stay as they are.
type Update struct {
	AccountID      string
	Name           *string
	DefaultLicense *string
}

// UpdateSettings changes the meeting policies; nil fields stay as they are.
type UpdateSettings struct {
	AccountID            string
	DisableRemoteControl *bool
	EnableDialOut        *bool
}

// Delete deletes the account.
type Delete struct{ AccountID string }

// Target is the id of the account a command addresses.
func (c Create) Target() string         { return c.AccountID }
func (c Update) Target() string         { return c.AccountID }
func (c UpdateSettings) Target() string { return c.AccountID }
func (c Delete) Target() string         { return c.AccountID }

// ValidateName checks the account name rule.
func ValidateName(name string) error {
	n := utf8.RuneCountInString(name)
	if n < 1 || n > MaxNameLength {
		return domain.Wrapf(ErrInvalidName, "Name must be 1-%d characters, got %d", MaxNameLength, n)
	}
	if strings.IndexFunc(name, func(r rune) bool { return !unicode.IsSpace(r) }) < 0 {
		return domain.Wrapf(ErrInvalidName, "Name must contain a character that is not white space")
	}
	if !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return domain.Wrapf(ErrInvalidName, "Name must not contain control characters")
	}
	return nil
}

// Decide applies a command to the state at time now. Every command but Create addresses a live
// account.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	if c == nil {
		return nil, domain.Errorf(domain.KindInvalid, "no account command")
	}
	if _, create := c.(Create); !create && !s.Live() {
		return nil, domain.Wrapf(ErrNotFound, "The account %s does not exist", c.Target())
	}
	return c.decide(s, now)
}

func (c Create) decide(s State, now time.Time) ([]Event, error) {
	if s.Exists {
		return nil, domain.Wrapf(ErrAlreadyExists, "account %s already exists", c.AccountID)
	}
	if err := ValidateName(c.Name); err != nil {
		return nil, err
	}
	return []Event{Created{
		AccountID: c.AccountID, AwsAccountID: c.AwsAccountID, Name: c.Name, AccountType: TypeTeam,
		DefaultLicense: LicensePro, SupportedLicenses: []string{LicenseBasic, LicensePro}, CreatedAt: now.UTC(),
	}}, nil
}

func (c Update) decide(s State, _ time.Time) ([]Event, error) {
	var out []Event
	if c.Name != nil {
		if err := ValidateName(*c.Name); err != nil {
			return nil, err
		}
	}
	if c.DefaultLicense != nil {
		if !slices.Contains(Licenses, *c.DefaultLicense) {
			return nil, domain.Wrapf(ErrInvalidLicense, "DefaultLicense must be one of %s, got %q", strings.Join(Licenses, ", "), *c.DefaultLicense)
		}
		if !slices.Contains(s.SupportedLicenses, *c.DefaultLicense) {
			return nil, domain.Wrapf(ErrInvalidLicense, "DefaultLicense %s is not supported by this %s account (supported: %s)",
				*c.DefaultLicense, s.Type, strings.Join(s.SupportedLicenses, ", "))
		}
	}
	if c.Name != nil && *c.Name != s.Name {
		out = append(out, Renamed{Name: *c.Name})
	}
	if c.DefaultLicense != nil && *c.DefaultLicense != s.DefaultLicense {
		out = append(out, DefaultLicenseChanged{DefaultLicense: *c.DefaultLicense})
	}
	return out, nil
}

func (c UpdateSettings) decide(s State, _ time.Time) ([]Event, error) {
	next := s.Settings
	if c.DisableRemoteControl != nil {
		next.DisableRemoteControl = *c.DisableRemoteControl
	}
	if c.EnableDialOut != nil {
		next.EnableDialOut = *c.EnableDialOut
	}
	if next == s.Settings {
		return nil, nil
	}
	return []Event{SettingsUpdated{DisableRemoteControl: next.DisableRemoteControl, EnableDialOut: next.EnableDialOut}}, nil
}

func (c Delete) decide(s State, now time.Time) ([]Event, error) {
	// Guide §4.5: a Team account is deleted after its users are removed, an Enterprise account after
	// its domains are removed. Pending claims block deletion too: they hold the domain.
	if s.Type == TypeTeam && s.Users() > 0 {
		return nil, domain.Wrapf(ErrNotEmpty, "Team account %s still has %d users; remove them before deleting the account", s.ID, s.Users())
	}
	if len(s.Domains) > 0 {
		return nil, domain.Wrapf(ErrNotEmpty, "account %s still has %d domain claims; remove the domains before deleting the account", s.ID, len(s.Domains))
	}
	// The users go with the account (an Enterprise account keeps its users once its domains are
	// removed): their numbers go back to the inventory as unassigned (the numbers' streams follow).
	return append(unassignNumbers(s.sortedMembers()), Deleted{DeletedAt: now.UTC()}), nil
}

// unassignNumbers gives back the primary numbers of users who are leaving the account.
func unassignNumbers(users []*User) []Event {
	var out []Event
	for _, u := range users {
		if u.PrimaryNumber != "" {
			out = append(out, UserNumberUnassigned{UserID: u.ID, E164: u.PrimaryNumber})
		}
	}
	return out
}

// Evolve folds one event into the state.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Created:
		s = State{Exists: true, ID: e.AccountID, AwsAccountID: e.AwsAccountID, Name: e.Name, Type: e.AccountType,
			Status: StatusActive, DefaultLicense: e.DefaultLicense, SupportedLicenses: e.SupportedLicenses, CreatedAt: e.CreatedAt}
	case Renamed:
		s.Name = e.Name
	case DefaultLicenseChanged:
		s.DefaultLicense = e.DefaultLicense
	case SettingsUpdated:
		s.Settings = Settings{DisableRemoteControl: e.DisableRemoteControl, EnableDialOut: e.EnableDialOut}
	case Deleted:
		s.Deleted = true
	case UserAdded, UserUpdated, UserSuspended, UserUnsuspended, UserRemoved, UserLoggedOut, PersonalPINReset, UserSettingsUpdated:
		evolveUsers(&s, e)
	case DomainClaimAdded, DomainVerified, DomainClaimRemoved, AccountTypeChanged, DomainUsersPurged:
		evolveDomains(&s, e)
	case BotCreated, BotUpdated, BotTokenRegenerated, BotEventsConfigured, BotEventsConfigurationDeleted:
		evolveBots(&s, e)
	case DelegateGroupsAssociated, DelegateGroupsDisassociated:
		evolveDelegates(&s, e)
	case UserNumberAssigned, UserNumberUnassigned:
		evolveNumbers(&s, e)
	case UserInvited, InviteEmailResult, UserRegistered, InviteTokenIssued:
		evolveInvites(&s, e)
	}
	return s
}

// normalizeEmail validates an address and lower-cases it for uniqueness.
func normalizeEmail(email string) (string, error) {
	if email == "" || len(email) > MaxEmailLength {
		return "", domain.Wrapf(ErrInvalidUser, "Email must be 1-%d characters", MaxEmailLength)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		return "", domain.Wrapf(ErrInvalidUser, "Email %q is not a valid e-mail address", email)
	}
	return strings.ToLower(email), nil
}
