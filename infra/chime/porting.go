package chime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections/chimenumbers"
)

// PortDecider is the port-in aggregate for the command path.
var PortDecider = eventstore.Decider[porting.Order, porting.Command, porting.Event]{
	Initial: porting.Initial, Evolve: porting.Evolve, Decide: porting.Decide, Decode: porting.Decode,
	Type: func(e porting.Event) string { return e.EventType() },
}

// SubmitPortIn places a port-in order (the guide's Support case, as a workflow).
func (s *Service) SubmitPortIn(ctx context.Context, awsAccountID string, r porting.Request) (chimenumbers.PortIn, error) {
	id := uuid.NewString()
	res, err := s.ports.Execute(ctx, porting.StreamName(id), porting.Submit{AwsAccountID: awsAccountID, Request: r})
	if err != nil {
		return chimenumbers.PortIn{}, err
	}
	s.waitRM(ctx, s.numbersRM, res.Position)
	return s.GetPortIn(ctx, awsAccountID, id)
}

// GetPortIn returns one port-in order.
func (s *Service) GetPortIn(ctx context.Context, awsAccountID, id string) (chimenumbers.PortIn, error) {
	list, err := s.numbersRead.PortIns(ctx, awsAccountID, id)
	if err != nil {
		return chimenumbers.PortIn{}, err
	}
	return list[0], nil
}

// ListPortIns returns the tenant's port-in orders.
func (s *Service) ListPortIns(ctx context.Context, awsAccountID string) ([]chimenumbers.PortIn, error) {
	return s.numbersRead.PortIns(ctx, awsAccountID, "")
}

// TransitionPortIn applies an operator's status change; COMPLETED brings the numbers into the
// inventory as Unassigned (numbers another tenant holds are reported and left out).
func (s *Service) TransitionPortIn(ctx context.Context, awsAccountID, id, to, note string, focAt time.Time) (chimenumbers.PortIn, []string, error) {
	res, err := s.ports.Execute(ctx, porting.StreamName(id), porting.Transition{AwsAccountID: awsAccountID, To: to, Note: note, FOCAt: focAt})
	if err != nil {
		return chimenumbers.PortIn{}, nil, err
	}
	last := res.Position
	var failed []string
	if to == porting.Completed && len(res.Events) > 0 {
		for _, n := range res.State.Request.PhoneNumbers {
			nr, err := s.numbers.Execute(ctx, phonenumber.StreamName(n), phonenumber.Acquire{E164: n, AwsAccountID: awsAccountID,
				OrderID: "portin-" + id, ProductType: res.State.Request.ProductType, Ported: true})
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", n, err))
				continue
			}
			last = max(last, nr.Position)
		}
	}
	s.waitRM(ctx, s.numbersRM, last)
	p, err := s.GetPortIn(ctx, awsAccountID, id)
	return p, failed, err
}

// RequestPortInDocuments issues a 10-day upload link; the token is returned once.
func (s *Service) RequestPortInDocuments(ctx context.Context, awsAccountID, id string) (token string, expires time.Time, err error) {
	raw, hash := newToken()
	res, err := s.ports.Execute(ctx, porting.StreamName(id), porting.RequestDocuments{AwsAccountID: awsAccountID, TokenHash: hash})
	if err != nil {
		return "", time.Time{}, err
	}
	s.waitRM(ctx, s.numbersRM, res.Position)
	return raw, res.State.LinkExpiresAt, nil
}

// UploadPortInDocument stores a document sent with a valid link token.
func (s *Service) UploadPortInDocument(ctx context.Context, awsAccountID, id, token, name string, content []byte) error {
	if len(content) == 0 {
		return domain.Errorf(domain.KindInvalid, "the document is empty")
	}
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])
	res, err := s.ports.Execute(ctx, porting.StreamName(id), porting.UploadDocument{AwsAccountID: awsAccountID, TokenHash: hashToken(token),
		Name: name, SHA256: digest, Size: len(content)})
	if err != nil {
		return err
	}
	if _, err := s.sessions.Exec(ctx, `INSERT INTO porting.documents (order_id, name, content, sha256) VALUES ($1,$2,$3,$4)
		ON CONFLICT (order_id, name) DO UPDATE SET content = $3, sha256 = $4, uploaded_at = now()`, id, name, content, digest); err != nil {
		return fmt.Errorf("chime: store document: %w", err)
	}
	s.waitRM(ctx, s.numbersRM, res.Position)
	return nil
}

// SetPortOutPIN sets the PIN a gaining carrier must present for a number.
func (s *Service) SetPortOutPIN(ctx context.Context, awsAccountID, e164, pin string) error {
	_, err := s.execNumber(ctx, awsAccountID, e164, phonenumber.SetPortOutPIN{E164: e164, AwsAccountID: awsAccountID, PIN: pin})
	return err
}

// PortOut validates a gaining carrier's port-out request (AWS account id and PIN, as the carrier gives
// them); an accepted request takes the number out of the inventory at once.
func (s *Service) PortOut(ctx context.Context, e164, claimedAwsAccountID, pin string) error {
	if err := phonenumber.ValidateE164(e164); err != nil {
		return err
	}
	res, err := s.numbers.Execute(ctx, phonenumber.StreamName(e164), phonenumber.PortOut{E164: e164, ClaimedAwsAccountID: claimedAwsAccountID, PIN: pin})
	if err != nil {
		return err
	}
	s.waitRM(ctx, s.numbersRM, res.Position)
	return nil
}
