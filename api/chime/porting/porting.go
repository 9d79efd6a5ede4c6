// Package porting is the slice of number porting (console operations: porting was a Support case):
// port-in orders as a workflow (submit, operator transitions, a 10-day document upload link, the
// documents) and port-out (the PIN a gaining carrier presents, and its validation). Port-in orders
// answer from the decided state when the numbers read model is late.
package porting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/projections/chimenumbers"
)

// Store reads port-in orders from the numbers read model (chimenumbers.Store implements it).
type Store interface {
	PortIns(ctx context.Context, awsAccountID, id string) ([]chimenumbers.PortIn, error)
}

// Documents stores the documents' bytes outside the log (infra/portdocs implements it).
type Documents interface {
	Put(ctx context.Context, digest string, content []byte, orderID string) error
	MarkReferenced(ctx context.Context, digest string) error
}

// NumberCommands runs number commands and answers with the number (the numbers slice implements it).
type NumberCommands interface {
	ExecNumber(ctx context.Context, awsAccountID, e164 string, cmd phonenumber.Command) (chimenumbers.Number, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Ports     usecase.Repository[porting.Order, porting.Command, porting.Event]
	Numbers   usecase.Repository[phonenumber.State, phonenumber.Command, phonenumber.Event]
	NumberCmd NumberCommands
	NumbersRM usecase.Waiter
	Store     Store
	Documents Documents
	RYW       *usecase.ReadYourWrites
	Keys      Keys
	Now       func() time.Time
}

// Keys seals the service PIN of a port-in order under the order's own key (destroyed when the order
// is over) and hashes port-out PINs under an installation-wide index key, so that neither PIN is ever
// recorded in clear.
type Keys interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
	DestroySubject(ctx context.Context, tenant, subject string) error
	Index(ctx context.Context, name string, value []byte) (string, error)
}

// Service runs the porting use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// orderStream is the stream of port-in order id; an id that is not a UUID names no order (every
// order's id is one), and is NotFound rather than a stream name the event store refuses.
func orderStream(id string) (string, error) {
	if _, err := uuid.Parse(id); err != nil {
		return "", domain.Wrapf(porting.ErrNotFound, "port-in order %.100q does not exist", id)
	}
	return porting.StreamName(id), nil
}

// answer is a port-in order after a command: read back once the numbers read model applied pos,
// from the decided state when it is late.
func (s *Service) answer(ctx context.Context, awsAccountID, id string, pos uint64, o porting.Order) (chimenumbers.PortIn, error) {
	if !s.d.RYW.Await(ctx, s.d.NumbersRM, pos) {
		return portInFromState(id, o), nil
	}
	return s.GetPortIn(ctx, awsAccountID, id)
}

// SubmitPortIn places a port-in order (the guide's Support case, as a workflow); servicePIN, the
// account's PIN with the losing carrier, is recorded sealed under the order's key.
func (s *Service) SubmitPortIn(ctx context.Context, awsAccountID string, r porting.Request, servicePIN string) (chimenumbers.PortIn, error) {
	if utf8.RuneCountInString(servicePIN) > porting.MaxServicePIN {
		// Refused before a key is made for it (the decision refuses a larger sealed PIN too).
		return chimenumbers.PortIn{}, domain.Wrapf(porting.ErrInvalid, "ServicePin must be at most %d characters", porting.MaxServicePIN)
	}
	id := uuid.NewString()
	if servicePIN != "" {
		sealed, err := s.d.Keys.SealFor(ctx, awsAccountID, porting.ServicePINSubject(id), []byte(servicePIN))
		if err != nil {
			return chimenumbers.PortIn{}, err
		}
		r.ServicePIN = sealed
	}
	res, err := s.d.Ports.Execute(ctx, porting.StreamName(id), porting.Submit{AwsAccountID: awsAccountID, Request: r})
	if err != nil {
		return chimenumbers.PortIn{}, err
	}
	return s.answer(ctx, awsAccountID, id, res.Position, res.State)
}

// portInFromState is the answer of a port-in command whose read model has not caught up.
func portInFromState(id string, o porting.Order) chimenumbers.PortIn {
	p := chimenumbers.PortIn{OrderID: id, Status: o.Status, Request: o.Request, Documents: slices.Clone(o.Documents),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if !o.FOCAt.IsZero() {
		p.FOCAt = &o.FOCAt
	}
	if !o.LinkExpiresAt.IsZero() {
		p.LinkExpires = &o.LinkExpiresAt
	}
	return p
}

// GetPortIn returns one port-in order.
func (s *Service) GetPortIn(ctx context.Context, awsAccountID, id string) (chimenumbers.PortIn, error) {
	list, err := s.d.Store.PortIns(ctx, awsAccountID, id)
	if err != nil {
		return chimenumbers.PortIn{}, err
	}
	return list[0], nil
}

// ListPortIns returns the tenant's port-in orders.
func (s *Service) ListPortIns(ctx context.Context, awsAccountID string) ([]chimenumbers.PortIn, error) {
	return s.d.Store.PortIns(ctx, awsAccountID, "")
}

// TransitionPortIn applies an operator's status change; COMPLETED brings the numbers into the
// inventory as Unassigned (numbers another tenant holds are reported and left out).
func (s *Service) TransitionPortIn(ctx context.Context, awsAccountID, id, to, note string, focAt time.Time) (chimenumbers.PortIn, []string, error) {
	stream, err := orderStream(id)
	if err != nil {
		return chimenumbers.PortIn{}, nil, err
	}
	res, err := s.d.Ports.Execute(ctx, stream, porting.Transition{AwsAccountID: awsAccountID, To: to, Note: note, FOCAt: focAt})
	if err != nil {
		return chimenumbers.PortIn{}, nil, err
	}
	last := res.Position
	if porting.Terminal(to) && len(res.Events) > 0 {
		// The order is over: its service PIN is shredded in every stored copy. Should this fail, the
		// order's state is committed all the same; the PIN stays sealed.
		_ = s.d.Keys.DestroySubject(ctx, awsAccountID, porting.ServicePINSubject(id))
	}
	var failed []string
	if to == porting.Completed && len(res.Events) > 0 {
		for _, n := range res.State.Request.PhoneNumbers {
			nr, err := s.d.Numbers.Execute(ctx, phonenumber.StreamName(n), phonenumber.Acquire{E164: n, AwsAccountID: awsAccountID,
				OrderID: "portin-" + id, ProductType: res.State.Request.ProductType, Ported: true})
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", n, err))
				continue
			}
			last = max(last, nr.Position)
		}
	}
	p, err := s.answer(ctx, awsAccountID, id, last, res.State)
	return p, failed, err
}

// RequestPortInDocuments issues a 10-day upload link; the token is returned once.
func (s *Service) RequestPortInDocuments(ctx context.Context, awsAccountID, id string) (token string, expires time.Time, err error) {
	stream, err := orderStream(id)
	if err != nil {
		return "", time.Time{}, err
	}
	raw, hash := usecase.NewToken()
	res, err := s.d.Ports.Execute(ctx, stream, porting.RequestDocuments{AwsAccountID: awsAccountID, TokenHash: hash})
	if err != nil {
		return "", time.Time{}, err
	}
	s.d.RYW.Await(ctx, s.d.NumbersRM, res.Position)
	return raw, res.State.LinkExpiresAt, nil
}

// UploadPortInDocument stores a document sent with a valid link token.
//
// The bytes and the event are two writes (Postgres and the event log), ordered so that a crash between
// them loses nothing that was acknowledged and leaves no event without its bytes:
//  1. the upload is decided on the order's current state first (a dry run), so that a refused upload
//     (wrong or expired link, bad name) stores nothing;
//  2. the bytes are stored, content-addressed by the SHA-256 computed here: storing the same bytes
//     again is a no-op, so a retried upload is idempotent, and the blob records the order it is for;
//  3. the event naming (document name, SHA-256, size) is appended, decided again by the command path;
//  4. the blob is marked referenced (a lost mark is recovered by the collector).
//
// A crash or refusal after step 2 leaves an unreferenced blob, which the collector (infra/portdocs)
// deletes once it is older than its grace period and no event of the orders it was uploaded for names
// it. The document is not put in the event itself: LOAs and identity documents may be large (an append
// is limited to 1 MiB) and hold personal data that must stay deletable, which an immutable log is not.
func (s *Service) UploadPortInDocument(ctx context.Context, awsAccountID, id, token, name string, content []byte) error {
	if len(content) == 0 {
		return domain.Errorf(domain.KindInvalid, "the document is empty")
	}
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])
	cmd := porting.UploadDocument{AwsAccountID: awsAccountID, TokenHash: usecase.HashToken(token), Name: name, SHA256: digest, Size: len(content)}
	stream, err := orderStream(id)
	if err != nil {
		return err
	}
	st, _, err := s.d.Ports.Load(ctx, stream)
	if err != nil {
		return err
	}
	if _, err := porting.Decide(st, cmd, s.d.Now()); err != nil {
		return err
	}
	if err := s.d.Documents.Put(ctx, digest, content, id); err != nil {
		return err
	}
	res, err := s.d.Ports.Execute(ctx, stream, cmd)
	if err != nil {
		return err
	}
	// Best effort: the event is committed, so the call succeeds; an unmarked blob is checked (and kept)
	// by the collector.
	_ = s.d.Documents.MarkReferenced(ctx, digest)
	s.d.RYW.Await(ctx, s.d.NumbersRM, res.Position)
	return nil
}

// SetPortOutPIN sets the PIN a gaining carrier must present for a number.
func (s *Service) SetPortOutPIN(ctx context.Context, awsAccountID, e164, pin string) error {
	hash, err := s.pinHash(ctx, e164, pin)
	if err != nil {
		return err
	}
	_, err = s.d.NumberCmd.ExecNumber(ctx, awsAccountID, e164, phonenumber.SetPortOutPIN{E164: e164, AwsAccountID: awsAccountID, PIN: pin, PINHash: hash})
	return err
}

// pinHash is the hash a port-out PIN is recorded and compared as (phonenumber.PortOutPINSet).
func (s *Service) pinHash(ctx context.Context, e164, pin string) (string, error) {
	return s.d.Keys.Index(ctx, "port-out-pin", []byte(e164+"\x00"+pin))
}

// PortOut validates a gaining carrier's port-out request (AWS account id and PIN, as the carrier gives
// them); an accepted request takes the number out of the inventory at once.
func (s *Service) PortOut(ctx context.Context, e164, claimedAwsAccountID, pin string) error {
	if err := phonenumber.ValidateE164(e164); err != nil {
		return err
	}
	hash, err := s.pinHash(ctx, e164, pin)
	if err != nil {
		return err
	}
	res, err := s.d.Numbers.Execute(ctx, phonenumber.StreamName(e164), phonenumber.PortOut{E164: e164, ClaimedAwsAccountID: claimedAwsAccountID, PIN: pin, PINHash: hash})
	if err != nil {
		return err
	}
	s.d.RYW.Await(ctx, s.d.NumbersRM, res.Position)
	return nil
}
