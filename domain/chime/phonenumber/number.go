// Package phonenumber models Business Calling phone numbers (guide §6): the seeded pool, one stream per
// number ("chime.phonenumber-<E.164>") and one per order ("chime.phonenumberorder-<id>").
//
// Invariants:
//   - A number belongs to at most one AWS account at a time; acquiring a held number fails.
//   - A number is assigned to at most one user, and must be unassigned before it is deleted or its
//     product type changes (only BusinessCalling numbers are assigned).
//   - A deleted number waits in the deletion queue for DeletionGrace (7 days), during which it can be
//     restored; after that it is released to the pool. The release is derived from the deletion time
//     and the clock (no timer has to fire): a released number can be acquired again.
//   - A number's calling name has at most 15 characters and changes at most once every 7 days.
package phonenumber

import (
	"crypto/hmac"
	"fmt"
	"regexp"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/settings"
)

// Stable names.
const (
	StreamPrefix      = "chime.phonenumber-"
	TypeAcquired      = "chime.phonenumber.acquired.v1"
	TypeUpdated       = "chime.phonenumber.updated.v1"
	TypeAssociated    = "chime.phonenumber.associated.v1"
	TypeDisassociated = "chime.phonenumber.disassociated.v1"
	TypeDeleted       = "chime.phonenumber.deleted.v1"
	TypeRestored      = "chime.phonenumber.restored.v1"
	TypePortOutPIN    = "chime.phonenumber.port_out_pin_set.v1"
	TypePortedOut     = "chime.phonenumber.ported_out.v1"
	DeletionGrace     = 7 * 24 * time.Hour
)

// Statuses (the PhoneNumberStatus enum values Belfry uses).
const (
	StatusUnassigned       = "Unassigned"
	StatusAssigned         = "Assigned"
	StatusDeleteInProgress = "DeleteInProgress"
)

// Sentinels.
var (
	ErrInvalidNumber = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid phone number"}
	ErrNotAvailable  = &domain.Error{Kind: domain.KindConflict, Msg: "phone number not available"}
	ErrNotFound      = &domain.Error{Kind: domain.KindNotFound, Msg: "phone number not found"}
	ErrAssigned      = &domain.Error{Kind: domain.KindInvalid, Msg: "phone number is assigned"}
	ErrWrongState    = &domain.Error{Kind: domain.KindInvalid, Msg: "phone number is not in the right state"}
)

// StreamName is the stream of one number.
func StreamName(e164 string) string { return StreamPrefix + e164 }

var e164 = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)

// ValidateE164 checks the E.164 format.
func ValidateE164(n string) error {
	if !e164.MatchString(n) {
		return domain.Wrapf(ErrInvalidNumber, "%q is not an E.164 phone number such as +12065550100", n)
	}
	return nil
}

// ValidProduct reports whether p is a product type.
func ValidProduct(p string) bool {
	return p == ProductBusinessCall || p == ProductVoiceConn || p == ProductSipMediaApp
}

// Event is the sealed set of number events.
type Event interface{ EventType() string }

// Acquired records that an AWS account now holds the number.
type Acquired struct {
	AwsAccountID string    `json:"awsAccountId"`
	OrderID      string    `json:"orderId"`
	ProductType  string    `json:"productType"`
	Type         string    `json:"type"`
	Country      string    `json:"country"`
	At           time.Time `json:"at"`
}

// Updated records a new product type and/or calling name.
type Updated struct {
	ProductType   string    `json:"productType"`
	CallingName   string    `json:"callingName"`
	CallingNameAt time.Time `json:"callingNameAt"`
	At            time.Time `json:"at"`
}

// Associated records the assignment to a user.
type Associated struct {
	AccountID string    `json:"accountId"`
	UserID    string    `json:"userId"`
	At        time.Time `json:"at"`
}

// Disassociated records the end of the assignment.
type Disassociated struct {
	At time.Time `json:"at"`
}

// Deleted records the move into the deletion queue.
type Deleted struct {
	At time.Time `json:"at"`
}

// Restored records the move back to the inventory.
type Restored struct {
	At time.Time `json:"at"`
}

// PortOutPINSet records the PIN a gaining carrier must present (guide §6.3) as PINHash: the hex
// HMAC-SHA256 of "<e164>\x00<pin>" under the installation's index key "port-out-pin" (infra/datakeys
// Index), never the PIN itself, so the log cannot give it away. LegacyPIN holds the PIN in clear in
// events stored before that; they still decode and are honoured, and Decide never writes it.
type PortOutPINSet struct {
	LegacyPIN string `json:"pin,omitempty"`
	PINHash   string `json:"pinHash,omitempty"`
}

// PortedOut records that the number left for another carrier: it is gone at once, with no restore.
type PortedOut struct {
	At time.Time `json:"at"`
}

func (Acquired) EventType() string      { return TypeAcquired }
func (Updated) EventType() string       { return TypeUpdated }
func (Associated) EventType() string    { return TypeAssociated }
func (Disassociated) EventType() string { return TypeDisassociated }
func (Deleted) EventType() string       { return TypeDeleted }
func (Restored) EventType() string      { return TypeRestored }
func (PortOutPINSet) EventType() string { return TypePortOutPIN }
func (PortedOut) EventType() string     { return TypePortedOut }

// State is one number.
type State struct {
	Held          bool
	AwsAccountID  string
	OrderID       string
	ProductType   string
	Type          string
	Country       string
	Status        string
	CallingName   string
	CallingNameAt time.Time
	AccountID     string
	UserID        string
	AssociatedAt  time.Time
	DeletedAt     time.Time
	PortOutPIN    string // a PIN set before hashing (LegacyPIN)
	PortOutHash   string // the hash of the PIN (PINHash)
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Initial is a number never acquired.
func Initial() State { return State{} }

// HeldAt reports whether an AWS account holds the number at time now (a deleted number is released
// DeletionGrace after its deletion).
func (s State) HeldAt(now time.Time) bool {
	if !s.Held {
		return false
	}
	return s.Status != StatusDeleteInProgress || now.Before(s.DeletedAt.Add(DeletionGrace))
}

// Command is the sealed set of number commands.
type Command interface{ isNumberCommand() }

// Acquire gives the number to an AWS account (from an order, or a completed port-in when Ported).
type Acquire struct {
	E164, AwsAccountID, OrderID, ProductType string
	Ported                                   bool
}

// SetPortOutPIN sets the port-out PIN (4–10 letters or digits); PINHash is its hash as PortOutPINSet
// describes, computed by the caller. Only the hash is recorded.
type SetPortOutPIN struct{ E164, AwsAccountID, PIN, PINHash string }

// PortOut validates a gaining carrier's request: the AWS account and (when set) the PIN must match,
// and the number must be unassigned; then the number leaves the inventory.
// PINHash is the hash of PIN, computed by the caller as for SetPortOutPIN.
type PortOut struct{ E164, ClaimedAwsAccountID, PIN, PINHash string }

// Update changes the product type and/or the calling name; nil fields stay.
type Update struct {
	E164, AwsAccountID string
	ProductType        *string
	CallingName        *string
}

// Associate assigns the number to a user.
type Associate struct{ E164, AwsAccountID, AccountID, UserID string }

// Disassociate ends the assignment. With UserID set, only an assignment to that user: a number that
// is assigned to another user (the account's stream, which decided the unassignment, and the
// number's disagree while concurrent calls run) is left as it is, so that releasing one user's
// number never takes it away from another.
type Disassociate struct{ E164, AwsAccountID, UserID string }

// Delete moves the number into the deletion queue.
type Delete struct{ E164, AwsAccountID string }

// Restore moves the number back to the inventory.
type Restore struct{ E164, AwsAccountID string }

func (Acquire) isNumberCommand()       {}
func (Update) isNumberCommand()        {}
func (Associate) isNumberCommand()     {}
func (Disassociate) isNumberCommand()  {}
func (Delete) isNumberCommand()        {}
func (Restore) isNumberCommand()       {}
func (SetPortOutPIN) isNumberCommand() {}
func (PortOut) isNumberCommand()       {}

func notFound(n string) error {
	return domain.Wrapf(ErrNotFound, "phone number %s is not in your inventory", n)
}

// Decide applies a command at time now.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	held := s.HeldAt(now)
	switch c := c.(type) {
	case Acquire:
		return decideAcquire(s, c, held, now)
	case PortOut:
		switch {
		case !held || s.AwsAccountID != c.ClaimedAwsAccountID:
			return nil, domain.Wrapf(ErrPortOutRejected, "port-out of %s rejected: the AWS account id does not match the number's owner", c.E164)
		case s.PortOutHash != "" && !hmac.Equal([]byte(s.PortOutHash), []byte(c.PINHash)),
			s.PortOutHash == "" && s.PortOutPIN != "" && !hmac.Equal([]byte(s.PortOutPIN), []byte(c.PIN)):
			return nil, domain.Wrapf(ErrPortOutRejected, "port-out of %s rejected: the PIN does not match", c.E164)
		case s.Status != StatusUnassigned:
			return nil, domain.Wrapf(ErrPortOutRejected, "port-out of %s rejected: the number is %s; unassign it first", c.E164, s.Status)
		}
		return []Event{PortedOut{At: now.UTC()}}, nil
	}
	var owner, num string
	switch c := c.(type) {
	case SetPortOutPIN:
		owner, num = c.AwsAccountID, c.E164
	case Update:
		owner, num = c.AwsAccountID, c.E164
	case Associate:
		owner, num = c.AwsAccountID, c.E164
	case Disassociate:
		owner, num = c.AwsAccountID, c.E164
	case Delete:
		owner, num = c.AwsAccountID, c.E164
	case Restore:
		owner, num = c.AwsAccountID, c.E164
	}
	if !held || s.AwsAccountID != owner {
		return nil, notFound(num)
	}
	return decideOwned(s, c, now)
}

func decideAcquire(s State, c Acquire, held bool, now time.Time) ([]Event, error) {
	a, ok := Lookup(c.E164)
	if c.Ported {
		if err := ValidateE164(c.E164); err != nil {
			return nil, err
		}
		a, ok = Available{E164: c.E164, Country: "US", Type: portedType(c.E164)}, true
	}
	if !ok {
		return nil, domain.Wrapf(ErrNotAvailable, "%s is not an available number", c.E164)
	}
	if held {
		if s.AwsAccountID == c.AwsAccountID && s.OrderID == c.OrderID {
			return nil, nil // the same order again
		}
		return nil, domain.Wrapf(ErrNotAvailable, "%s is no longer available", c.E164)
	}
	return []Event{Acquired{AwsAccountID: c.AwsAccountID, OrderID: c.OrderID, ProductType: c.ProductType, Type: a.Type, Country: a.Country, At: now.UTC()}}, nil
}

// decideOwned decides the commands of the number's owner.
func decideOwned(s State, c Command, now time.Time) ([]Event, error) {
	switch c := c.(type) {
	case Update:
		return decideUpdate(s, c, now)
	case Associate:
		switch {
		case s.Status == StatusAssigned && s.UserID == c.UserID:
			return nil, nil
		case s.Status != StatusUnassigned:
			return nil, domain.Wrapf(ErrWrongState, "%s is %s; only an unassigned number can be assigned", c.E164, s.Status)
		case s.ProductType != ProductBusinessCall:
			return nil, domain.Wrapf(ErrWrongState, "%s is a %s number; only BusinessCalling numbers are assigned to users", c.E164, s.ProductType)
		}
		return []Event{Associated{AccountID: c.AccountID, UserID: c.UserID, At: now.UTC()}}, nil
	case Disassociate:
		if s.Status != StatusAssigned || c.UserID != "" && s.UserID != c.UserID {
			return nil, nil
		}
		return []Event{Disassociated{At: now.UTC()}}, nil
	case Delete:
		switch s.Status {
		case StatusAssigned:
			return nil, domain.Wrapf(ErrAssigned, "%s is assigned to user %s; unassign it before deleting it", c.E164, s.UserID)
		case StatusDeleteInProgress:
			return nil, nil
		}
		return []Event{Deleted{At: now.UTC()}}, nil
	case SetPortOutPIN:
		if !portPIN.MatchString(c.PIN) {
			return nil, domain.Wrapf(ErrInvalidNumber, "the port-out PIN must be 4 to 10 letters or digits")
		}
		if !pinHash.MatchString(c.PINHash) {
			return nil, domain.Errorf(domain.KindInvalid, "the port-out PIN's hash must be 64 hex digits")
		}
		return []Event{PortOutPINSet{PINHash: c.PINHash}}, nil
	case Restore:
		if s.Status != StatusDeleteInProgress {
			return nil, domain.Wrapf(ErrWrongState, "%s is not in the deletion queue", c.E164)
		}
		return []Event{Restored{At: now.UTC()}}, nil
	}
	return nil, fmt.Errorf("phonenumber: unknown command %T", c)
}

func decideUpdate(s State, c Update, now time.Time) ([]Event, error) {
	next := Updated{ProductType: s.ProductType, CallingName: s.CallingName, CallingNameAt: s.CallingNameAt, At: now.UTC()}
	if c.ProductType != nil {
		if !ValidProduct(*c.ProductType) {
			return nil, domain.Wrapf(ErrInvalidNumber, "ProductType must be BusinessCalling, VoiceConnector or SipMediaApplicationDialIn, got %q", *c.ProductType)
		}
		if s.Status == StatusAssigned && *c.ProductType != ProductBusinessCall {
			// Only BusinessCalling numbers are assigned to users (Associate): unassign it first.
			return nil, domain.Wrapf(ErrAssigned, "%s is assigned to user %s; unassign it before making it a %s number", c.E164, s.UserID, *c.ProductType)
		}
		next.ProductType = *c.ProductType
	}
	if c.CallingName != nil && *c.CallingName != s.CallingName {
		if err := settings.ValidateCallingName(*c.CallingName); err != nil {
			return nil, err
		}
		if !s.CallingNameAt.IsZero() && now.Sub(s.CallingNameAt) < settings.CallingNameInterval {
			return nil, domain.Wrapf(settings.ErrTooSoon, "the calling name of %s can be updated once every 7 days", c.E164)
		}
		next.CallingName, next.CallingNameAt = *c.CallingName, now.UTC()
	}
	if next.ProductType == s.ProductType && next.CallingName == s.CallingName {
		return nil, nil
	}
	return []Event{next}, nil
}

// Evolve folds an event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Acquired:
		s = State{Held: true, AwsAccountID: e.AwsAccountID, OrderID: e.OrderID, ProductType: e.ProductType, Type: e.Type,
			Country: e.Country, Status: StatusUnassigned, CreatedAt: e.At, UpdatedAt: e.At}
	case Updated:
		s.ProductType, s.CallingName, s.CallingNameAt, s.UpdatedAt = e.ProductType, e.CallingName, e.CallingNameAt, e.At
	case Associated:
		s.Status, s.AccountID, s.UserID, s.AssociatedAt, s.UpdatedAt = StatusAssigned, e.AccountID, e.UserID, e.At, e.At
	case Disassociated:
		s.Status, s.AccountID, s.UserID, s.UpdatedAt = StatusUnassigned, "", "", e.At
	case Deleted:
		s.Status, s.DeletedAt, s.UpdatedAt = StatusDeleteInProgress, e.At, e.At
	case Restored:
		s.Status, s.DeletedAt, s.UpdatedAt = StatusUnassigned, time.Time{}, e.At
	case PortOutPINSet:
		s.PortOutPIN, s.PortOutHash = e.LegacyPIN, e.PINHash
	case PortedOut:
		s = State{}
	}
	return s
}

var (
	portPIN = regexp.MustCompile(`^[A-Za-z0-9]{4,10}$`)
	pinHash = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ErrPortOutRejected is returned for a port-out request that does not match the number's owner or PIN.
var ErrPortOutRejected = &domain.Error{Kind: domain.KindForbidden, Msg: "port-out rejected"}

func portedType(e164 string) string {
	for _, p := range tollFreePrefixes {
		if len(e164) > 5 && e164[2:5] == p {
			return TypeTollFree
		}
	}
	return TypeLocal
}
