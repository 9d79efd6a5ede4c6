package account

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
)

// Registration statuses of a user.
const (
	RegistrationUnregistered = "Unregistered"
	RegistrationRegistered   = "Registered"
	RegistrationSuspended    = "Suspended"
)

// Batch limits of the API.
const (
	MaxBatchUpdate  = 20
	MaxBatchSuspend = 50
)

// MaxAlexaRoomARN bounds AlexaForBusinessRoomArn (in bytes): ARNs are at most 2048 characters, and an
// unbounded one let a request's event exceed the event store's append limit (JSON escaping writes a
// '<' as six bytes), which failed the call with a 500.
const MaxAlexaRoomARN = 2048

// Per-item error codes of batch operations (the ErrorCode enum).
const (
	ItemBadRequest = "BadRequest"
	ItemNotFound   = "NotFound"
	ItemConflict   = "Conflict"
)

// Sentinels for user commands.
var (
	ErrUserNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "user not found"}
	ErrBatchTooLong = &domain.Error{Kind: domain.KindInvalid, Msg: "too many items in the batch"}
	ErrWrongAccount = &domain.Error{Kind: domain.KindInvalid, Msg: "operation not available for this account type"}
)

// User is one member of the account.
type User struct {
	ID           string
	Email        string
	Username     string
	Type         string
	License      string
	Registration string
	Alexa        *AlexaMetadata
	LoggedOutAt  time.Time
	Telephony    Telephony
	// PrimaryNumber is the user's primary provisioned number (E.164), if any.
	PrimaryNumber string
	Invitation    string
	DisplayName   string
	// beforeSuspension is the registration status a suspension interrupted.
	beforeSuspension string
}

// CheckNewUser validates what AddUser needs without the account's state, and returns the normalised
// e-mail address and user type; callers use it to refuse bad input before reserving a PIN.
func CheckNewUser(c AddUser) (email, userType string, err error) {
	email, err = normalizeEmail(c.Email)
	if err != nil {
		return "", "", err
	}
	userType = c.UserType
	if userType == "" {
		userType = UserTypePrivate
	}
	if userType != UserTypePrivate && userType != UserTypeSharedDevice {
		return "", "", domain.Wrapf(ErrInvalidUser, "UserType must be PrivateUser or SharedDevice, got %q", c.UserType)
	}
	if utf8.RuneCountInString(c.Username) > MaxUsernameLength {
		return "", "", domain.Wrapf(ErrInvalidUser, "Username must be at most %d characters", MaxUsernameLength)
	}
	if c.ClaimedBy != "" && c.ClaimedBy != c.AccountID {
		return "", "", domain.Wrapf(ErrDomainClaimed, "%s: its domain is claimed by another organisation's Enterprise account", email)
	}
	return email, userType, nil
}

// AddUser creates a user in the account; the PIN is reserved beforehand (globally unique) and sealed
// under the user's key. ClaimedBy is the account that has verified the address's domain, as the
// caller found it ("" none): an address of a domain another account claimed is refused (guide §4.1,
// as InviteUsers refuses it).
type AddUser struct {
	AccountID string
	UserID    string
	Email     string
	Username  string
	UserType  string // empty means PrivateUser
	PIN       domain.Sealed
	ClaimedBy string
}

// UserChange is the part of a user an update may change; nil fields stay as they are.
type UserChange struct {
	UserID      string
	LicenseType *string
	UserType    *string
	Alexa       *AlexaMetadata
}

// UpdateUser changes one user.
type UpdateUser struct {
	AccountID string
	UserChange
}

// BatchUpdateUser changes up to MaxBatchUpdate users; invalid items are reported, valid ones applied.
type BatchUpdateUser struct {
	AccountID string
	Items     []UserChange
}

// BatchSuspendUser suspends (EnterpriseLWA) or removes (Team) up to MaxBatchSuspend users.
type BatchSuspendUser struct {
	AccountID string
	UserIDs   []string
}

// BatchUnsuspendUser lifts the suspension of up to MaxBatchSuspend users (EnterpriseLWA only); users
// who are not suspended are ignored, and users of a removed domain awaiting deletion are refused
// (Conflict items): the removal cannot be reversed (guide §1.1.4).
type BatchUnsuspendUser struct {
	AccountID string
	UserIDs   []string
}

// LogoutUser signs a user out of every device.
type LogoutUser struct{ AccountID, UserID string }

// Telephony is a user's Business Calling and SMS permissions.
type Telephony struct {
	InboundCalling, OutboundCalling, SMS bool
}

// UpdateUserSettings sets a user's telephony permissions.
type UpdateUserSettings struct {
	AccountID, UserID string
	Telephony         Telephony
}

// ResetPIN gives a user a new personal meeting PIN (reserved beforehand, sealed under the user's key).
type ResetPIN struct {
	AccountID, UserID string
	PIN               domain.Sealed
}

// Target is the id of the account a command addresses.
func (c AddUser) Target() string            { return c.AccountID }
func (c UpdateUser) Target() string         { return c.AccountID }
func (c BatchUpdateUser) Target() string    { return c.AccountID }
func (c BatchSuspendUser) Target() string   { return c.AccountID }
func (c BatchUnsuspendUser) Target() string { return c.AccountID }
func (c LogoutUser) Target() string         { return c.AccountID }
func (c ResetPIN) Target() string           { return c.AccountID }
func (c UpdateUserSettings) Target() string { return c.AccountID }

// ItemError is the outcome of a rejected batch item; batch commands return them inside a
// *BatchErrors error value that also carries the events of the accepted items.
type ItemError struct {
	UserID  string
	Code    string
	Message string
}

func (s State) member(id string) (*User, bool) {
	return s.Members.Get(id)
}

// batchCommand is a command whose items are decided one by one (BatchUpdateUser, BatchSuspendUser,
// BatchUnsuspendUser).
type batchCommand interface {
	Command
	decideBatch(s State) ([]Event, []ItemError, error)
}

// DecideBatch is Decide for batch commands: it returns the events of the valid items and the errors
// of the others. Whole-request errors (limits, account type) come back as err.
func DecideBatch(s State, c Command, _ time.Time) ([]Event, []ItemError, error) {
	if !s.Live() {
		return nil, nil, domain.Wrapf(ErrNotFound, "The account %s does not exist", c.Target())
	}
	b, ok := c.(batchCommand)
	if !ok {
		return nil, nil, domain.Errorf(domain.KindInvalid, "%T is not a batch command", c)
	}
	return b.decideBatch(s)
}

func (c BatchUpdateUser) decideBatch(s State) ([]Event, []ItemError, error) {
	if len(c.Items) == 0 || len(c.Items) > MaxBatchUpdate {
		return nil, nil, domain.Wrapf(ErrBatchTooLong, "UpdateUserRequestItems must hold 1-%d items, got %d", MaxBatchUpdate, len(c.Items))
	}
	var out []Event
	var items []ItemError
	seen := map[string]bool{}
	for _, it := range c.Items {
		if seen[it.UserID] {
			items = append(items, ItemError{it.UserID, ItemBadRequest, "the user appears twice in the batch"})
			continue
		}
		seen[it.UserID] = true
		e, err := decideUpdate(s, it)
		if err != nil {
			items = append(items, itemError(it.UserID, err))
			continue
		}
		if e != nil {
			out = append(out, *e)
		}
	}
	return out, items, nil
}

func (c BatchSuspendUser) decideBatch(s State) ([]Event, []ItemError, error) {
	if err := batchSize("UserIdList", len(c.UserIDs)); err != nil {
		return nil, nil, err
	}
	if s.Type != TypeTeam && s.Type != TypeEnterpriseLWA {
		return nil, nil, domain.Wrapf(ErrWrongAccount, "BatchSuspendUser is available for Team and EnterpriseLWA accounts, not %s (suspend users in the directory)", s.Type)
	}
	var out []Event
	var items []ItemError
	for _, id := range unique(c.UserIDs, &items) {
		u, ok := s.member(id)
		switch {
		case !ok:
			items = append(items, ItemError{id, ItemNotFound, fmt.Sprintf("user %s is not in account %s", id, s.ID)})
		case s.Type == TypeTeam:
			if u.PrimaryNumber != "" {
				// The number goes back to the inventory as unassigned (the number's stream follows).
				out = append(out, UserNumberUnassigned{UserID: id, E164: u.PrimaryNumber})
			}
			out = append(out, UserRemoved{UserID: id}) // guide §5.3.2: Team admins remove, they cannot suspend
		case u.Registration == RegistrationSuspended:
			items = append(items, ItemError{id, ItemConflict, fmt.Sprintf("user %s is already suspended", id)})
		default:
			out = append(out, UserSuspended{UserID: id})
		}
	}
	return out, items, nil
}

func (c BatchUnsuspendUser) decideBatch(s State) ([]Event, []ItemError, error) {
	if err := batchSize("UserIdList", len(c.UserIDs)); err != nil {
		return nil, nil, err
	}
	if s.Type != TypeEnterpriseLWA {
		return nil, nil, domain.Wrapf(ErrWrongAccount, "only users of EnterpriseLWA accounts can be unsuspended; account %s is %s", s.ID, s.Type)
	}
	var out []Event
	var items []ItemError
	for _, id := range unique(c.UserIDs, &items) {
		u, ok := s.member(id)
		switch {
		case !ok:
			items = append(items, ItemError{id, ItemNotFound, fmt.Sprintf("user %s is not in account %s", id, s.ID)})
		case u.Registration != RegistrationSuspended:
			continue // the API reference: users who are not suspended are ignored
		case s.inRemovedDomain(u.Email):
			// Guide §1.1.4: removing a domain "cannot be reversed"; its users lose access and are deleted
			// after 90 days (PurgeDomainUsers).
			items = append(items, ItemError{id, ItemConflict, fmt.Sprintf("user %s belongs to a removed domain: the removal cannot be reversed, "+
				"and the user is deleted 90 days after it", id)})
		default:
			out = append(out, UserUnsuspended{UserID: id, Registration: u.beforeSuspension})
		}
	}
	return out, items, nil
}

// inRemovedDomain reports whether an address is in a domain whose removal's user deletion is pending.
func (s State) inRemovedDomain(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	_, pending := s.PendingPurges[email[at+1:]]
	return pending
}

// Decide of a batch command applies its valid items and reports the first whole-request error.
func (c BatchUpdateUser) decide(s State, _ time.Time) ([]Event, error)    { return batchEvents(c, s) }
func (c BatchSuspendUser) decide(s State, _ time.Time) ([]Event, error)   { return batchEvents(c, s) }
func (c BatchUnsuspendUser) decide(s State, _ time.Time) ([]Event, error) { return batchEvents(c, s) }

func batchEvents(c batchCommand, s State) ([]Event, error) {
	events, _, err := c.decideBatch(s)
	return events, err
}

func batchSize(field string, n int) error {
	if n == 0 || n > MaxBatchSuspend {
		return domain.Wrapf(ErrBatchTooLong, "%s must hold 1-%d user ids, got %d", field, MaxBatchSuspend, n)
	}
	return nil
}

func unique(ids []string, items *[]ItemError) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if seen[id] {
			*items = append(*items, ItemError{id, ItemBadRequest, "the user appears twice in the batch"})
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

func itemError(id string, err error) ItemError {
	code := ItemBadRequest
	switch domain.KindOf(err) {
	case domain.KindNotFound:
		code = ItemNotFound
	case domain.KindConflict:
		code = ItemConflict
	}
	return ItemError{UserID: id, Code: code, Message: err.Error()}
}

func decideUpdate(s State, c UserChange) (*UserUpdated, error) {
	u, ok := s.member(c.UserID)
	if !ok {
		return nil, domain.Wrapf(ErrUserNotFound, "User %s does not exist in account %s", c.UserID, s.ID)
	}
	next := UserUpdated{UserID: u.ID, LicenseType: u.License, UserType: u.Type, Alexa: u.Alexa}
	if c.LicenseType != nil {
		if !slices.Contains(Licenses, *c.LicenseType) {
			return nil, domain.Wrapf(ErrInvalidLicense, "LicenseType must be one of %s, got %q", strings.Join(Licenses, ", "), *c.LicenseType)
		}
		if !slices.Contains(s.SupportedLicenses, *c.LicenseType) {
			return nil, domain.Wrapf(ErrInvalidLicense, "LicenseType %s is not supported by this %s account (supported: %s)",
				*c.LicenseType, s.Type, strings.Join(s.SupportedLicenses, ", "))
		}
		next.LicenseType = *c.LicenseType
	}
	if c.UserType != nil {
		if *c.UserType != UserTypePrivate && *c.UserType != UserTypeSharedDevice {
			return nil, domain.Wrapf(ErrInvalidUser, "UserType must be PrivateUser or SharedDevice, got %q", *c.UserType)
		}
		next.UserType = *c.UserType
	}
	if c.Alexa != nil {
		if len(c.Alexa.RoomARN) > MaxAlexaRoomARN {
			return nil, domain.Wrapf(ErrInvalidUser, "AlexaForBusinessRoomArn must be at most %d characters", MaxAlexaRoomARN)
		}
		if c.Alexa.Enabled && !strings.HasPrefix(c.Alexa.RoomARN, "arn:") {
			return nil, domain.Wrapf(ErrInvalidUser, "AlexaForBusinessRoomArn must be an ARN when Alexa for Business is enabled")
		}
		a := *c.Alexa
		next.Alexa = &a
	}
	if next.LicenseType == u.License && next.UserType == u.Type && alexaEqual(next.Alexa, u.Alexa) {
		return nil, nil
	}
	return &next, nil
}

func alexaEqual(a, b *AlexaMetadata) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (c AddUser) decide(s State, now time.Time) ([]Event, error) {
	email, ut, err := CheckNewUser(c)
	if err != nil {
		return nil, err
	}
	if id, taken := s.Emails.Get(email); taken {
		return nil, domain.Wrapf(ErrEmailTaken, "a user with Email %s already exists in account %s (user %s)", c.Email, s.ID, id)
	}
	if err := checkSealed(s.ID, UserKeySubject(c.UserID), "PIN", c.PIN); err != nil {
		return nil, err
	}
	return []Event{UserAdded{UserID: c.UserID, Email: email, Username: c.Username, UserType: ut,
		LicenseType: s.DefaultLicense, PIN: c.PIN, CreatedAt: now.UTC()}}, nil
}

func (c UpdateUser) decide(s State, _ time.Time) ([]Event, error) {
	e, err := decideUpdate(s, c.UserChange)
	if err != nil || e == nil {
		return nil, err
	}
	return []Event{*e}, nil
}

func (c LogoutUser) decide(s State, now time.Time) ([]Event, error) {
	if _, ok := s.member(c.UserID); !ok {
		return nil, domain.Wrapf(ErrUserNotFound, "User %s does not exist in account %s", c.UserID, s.ID)
	}
	return []Event{UserLoggedOut{UserID: c.UserID, At: now.UTC()}}, nil
}

func (c ResetPIN) decide(s State, _ time.Time) ([]Event, error) {
	if _, ok := s.member(c.UserID); !ok {
		return nil, domain.Wrapf(ErrUserNotFound, "User %s does not exist in account %s", c.UserID, s.ID)
	}
	if err := checkSealed(s.ID, UserKeySubject(c.UserID), "PIN", c.PIN); err != nil {
		return nil, err
	}
	return []Event{PersonalPINReset{UserID: c.UserID, PIN: c.PIN}}, nil
}

func (c UpdateUserSettings) decide(s State, _ time.Time) ([]Event, error) {
	u, ok := s.member(c.UserID)
	if !ok {
		return nil, domain.Wrapf(ErrUserNotFound, "User %s does not exist in account %s", c.UserID, s.ID)
	}
	if u.Telephony == c.Telephony {
		return nil, nil
	}
	return []Event{UserSettingsUpdated{UserID: c.UserID, InboundCalling: c.Telephony.InboundCalling,
		OutboundCalling: c.Telephony.OutboundCalling, SMS: c.Telephony.SMS}}, nil
}

func evolveUsers(s *State, e Event) {
	if s.Members == nil {
		s.Members, s.Emails = &Index[*User]{}, &Index[string]{}
	}
	switch e := e.(type) {
	case UserAdded:
		s.Emails.set(e.Email, e.UserID)
		s.Members.set(e.UserID, &User{ID: e.UserID, Email: e.Email, Username: e.Username, Type: e.UserType,
			License: e.LicenseType, Registration: RegistrationUnregistered})
	case UserUpdated:
		if u, ok := s.Members.Get(e.UserID); ok {
			u.License, u.Type, u.Alexa = e.LicenseType, e.UserType, e.Alexa
		}
	case UserSuspended:
		if u, ok := s.Members.Get(e.UserID); ok {
			u.beforeSuspension, u.Registration = u.Registration, RegistrationSuspended
		}
	case UserUnsuspended:
		if u, ok := s.Members.Get(e.UserID); ok {
			u.Registration = e.Registration
		}
	case UserRemoved:
		if u, ok := s.Members.Get(e.UserID); ok {
			s.Emails.remove(u.Email)
			s.Members.remove(e.UserID)
		}
	case UserLoggedOut:
		if u, ok := s.Members.Get(e.UserID); ok {
			u.LoggedOutAt = e.At
		}
	case UserSettingsUpdated:
		if u, ok := s.Members.Get(e.UserID); ok {
			u.Telephony = Telephony{InboundCalling: e.InboundCalling, OutboundCalling: e.OutboundCalling, SMS: e.SMS}
		}
	}
}
