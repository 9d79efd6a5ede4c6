package chime

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections/chimenumbers"
)

// NumberDecider and OrderDecider are the phone-number aggregates for the command path.
var (
	NumberDecider = eventstore.Decider[phonenumber.State, phonenumber.Command, phonenumber.Event]{
		Initial: phonenumber.Initial, Evolve: phonenumber.Evolve, Decide: phonenumber.Decide, Decode: phonenumber.Decode,
		Type: func(e phonenumber.Event) string { return e.EventType() },
	}
	OrderDecider = eventstore.Decider[phonenumber.Order, phonenumber.OrderCommand, phonenumber.Event]{
		Initial: phonenumber.InitialOrder, Evolve: phonenumber.EvolveOrder, Decide: phonenumber.DecideOrder, Decode: phonenumber.Decode,
		Type: func(e phonenumber.Event) string { return e.EventType() },
	}
)

// SearchAvailable returns pool numbers that match q and no tenant holds, after the number in token.
func (s *Service) SearchAvailable(ctx context.Context, q phonenumber.Query, token string, limit int) ([]string, string, error) {
	if q.Type != "" && q.Type != phonenumber.TypeLocal && q.Type != phonenumber.TypeTollFree {
		return nil, "", domain.Errorf(domain.KindInvalid, "phone-number-type must be Local or TollFree, got %q", q.Type)
	}
	if q.Country != "" && q.Country != "US" && q.Country != "CA" {
		return nil, "", domain.Errorf(domain.KindInvalid, "country %q is not supported (supported: US, CA)", q.Country)
	}
	var out []string
	const chunk = 500
	var cand []string
	flush := func() error {
		if len(cand) == 0 {
			return nil
		}
		held, err := s.numbersRead.Held(ctx, cand, s.now())
		if err != nil {
			return err
		}
		for _, n := range cand {
			if !held[n] && len(out) <= limit {
				out = append(out, n)
			}
		}
		cand = cand[:0]
		return nil
	}
	for _, a := range phonenumber.Pool() {
		if a.E164 <= token || !q.Match(a) {
			continue
		}
		cand = append(cand, a.E164)
		if len(cand) == chunk {
			if err := flush(); err != nil {
				return nil, "", err
			}
			if len(out) > limit {
				break
			}
		}
	}
	if err := flush(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1]
	}
	return out, next, nil
}

// CreatePhoneNumberOrder places an order; its numbers are acquired in the background.
func (s *Service) CreatePhoneNumberOrder(ctx context.Context, awsAccountID, productType string, numbers []string) (chimenumbers.Order, error) {
	id := uuid.NewString()
	res, err := s.orders.Execute(ctx, phonenumber.OrderStreamName(id), phonenumber.CreateOrder{OrderID: id, AwsAccountID: awsAccountID,
		ProductType: productType, Numbers: numbers})
	if err != nil {
		return chimenumbers.Order{}, err
	}
	// The relay enqueues the order for the side-effect router once the event is in the log.
	if !s.waitRM(ctx, s.numbersRM, res.Position) {
		return orderFromState(id, res.State), nil
	}
	return s.numbersRead.GetOrder(ctx, awsAccountID, id)
}

// orderFromState is the answer of an order command whose read model has not caught up.
func orderFromState(id string, o phonenumber.Order) chimenumbers.Order {
	out := chimenumbers.Order{OrderID: id, AwsAccountID: o.AwsAccountID, ProductType: o.ProductType, Status: o.Status,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	for _, n := range slices.Sorted(slices.Values(o.Numbers)) {
		st, ok := o.Results[n]
		if !ok {
			st = phonenumber.NumberProcessing
		}
		out.Numbers = append(out.Numbers, chimenumbers.OrderedNumber{E164: n, Status: st})
	}
	return out
}

// ProcessPhoneNumberOrder acquires the numbers of an order that is still Processing, one number at a
// time, recording each result on the order. It is the side-effect router's handler: an error leaves
// the message unacknowledged, and a redelivery resumes after the numbers already recorded.
func (s *Service) ProcessPhoneNumberOrder(ctx context.Context, id string) error {
	o, _, err := s.orders.Load(ctx, phonenumber.OrderStreamName(id))
	if err != nil {
		return fmt.Errorf("load order %s: %w", id, err)
	}
	if o.Status != phonenumber.OrderProcessing {
		return nil
	}
	for _, n := range o.Numbers {
		if _, done := o.Results[n]; done {
			continue
		}
		r := phonenumber.RecordResult{E164: n, Acquired: true}
		_, err := s.numbers.Execute(ctx, phonenumber.StreamName(n), phonenumber.Acquire{E164: n, AwsAccountID: o.AwsAccountID, OrderID: id, ProductType: o.ProductType})
		if domain.KindOf(err) != 0 {
			r.Acquired, r.Reason = false, err.Error()
		} else if err != nil {
			return fmt.Errorf("order %s: acquire %s: %w", id, n, err)
		}
		if _, err := s.orders.Execute(ctx, phonenumber.OrderStreamName(id), r); err != nil {
			return fmt.Errorf("order %s: record %s: %w", id, n, err)
		}
	}
	return nil
}

// GetPhoneNumberOrder returns one order.
func (s *Service) GetPhoneNumberOrder(ctx context.Context, awsAccountID, id string) (chimenumbers.Order, error) {
	return s.numbersRead.GetOrder(ctx, awsAccountID, id)
}

// ListPhoneNumberOrders returns a page of orders.
func (s *Service) ListPhoneNumberOrders(ctx context.Context, awsAccountID, token string, limit int) ([]chimenumbers.Order, string, error) {
	return s.numbersRead.ListOrders(ctx, awsAccountID, token, limit)
}

// GetPhoneNumber returns one number of the inventory or the deletion queue.
func (s *Service) GetPhoneNumber(ctx context.Context, awsAccountID, e164 string) (chimenumbers.Number, error) {
	return s.numbersRead.Get(ctx, awsAccountID, e164, s.now())
}

// ListPhoneNumbers returns a page of numbers.
func (s *Service) ListPhoneNumbers(ctx context.Context, awsAccountID string, f chimenumbers.Filter, token string, limit int) ([]chimenumbers.Number, string, error) {
	return s.numbersRead.List(ctx, awsAccountID, f, token, limit, s.now())
}

// CallingNameStatusOf derives a number's calling-name status now.
func (s *Service) CallingNameStatusOf(n chimenumbers.Number) string {
	if n.CallingNameAt == nil {
		return settings.CallingNameStatus(n.CallingName, time.Time{}, s.now(), s.propagation)
	}
	return settings.CallingNameStatus(n.CallingName, *n.CallingNameAt, s.now(), s.propagation)
}

func (s *Service) execNumber(ctx context.Context, awsAccountID, e164 string, cmd phonenumber.Command) (chimenumbers.Number, error) {
	if err := phonenumber.ValidateE164(e164); err != nil {
		return chimenumbers.Number{}, err
	}
	res, err := s.numbers.Execute(ctx, phonenumber.StreamName(e164), cmd)
	if err != nil {
		return chimenumbers.Number{}, err
	}
	s.waitRM(ctx, s.numbersRM, res.Position)
	return s.numbersRead.Get(ctx, awsAccountID, e164, s.now())
}

// UpdatePhoneNumber changes a number's product type and/or calling name.
func (s *Service) UpdatePhoneNumber(ctx context.Context, awsAccountID, e164 string, productType, callingName *string) (chimenumbers.Number, error) {
	return s.execNumber(ctx, awsAccountID, e164, phonenumber.Update{E164: e164, AwsAccountID: awsAccountID, ProductType: productType, CallingName: callingName})
}

// DeletePhoneNumber moves an unassigned number into the 7-day deletion queue.
func (s *Service) DeletePhoneNumber(ctx context.Context, awsAccountID, e164 string) error {
	_, err := s.execNumber(ctx, awsAccountID, e164, phonenumber.Delete{E164: e164, AwsAccountID: awsAccountID})
	return err
}

// RestorePhoneNumber moves a number from the deletion queue back to the inventory.
func (s *Service) RestorePhoneNumber(ctx context.Context, awsAccountID, e164 string) (chimenumbers.Number, error) {
	return s.execNumber(ctx, awsAccountID, e164, phonenumber.Restore{E164: e164, AwsAccountID: awsAccountID})
}

// AssociatePhoneNumberWithUser makes e164 the user's primary number: the account records it (one
// number per user), then the number (one user per number); a refused number undoes the first step.
func (s *Service) AssociatePhoneNumberWithUser(ctx context.Context, awsAccountID, accountID, userID, e164 string) error {
	if err := phonenumber.ValidateE164(e164); err != nil {
		return err
	}
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return err
	}
	if _, err := s.numbersRead.Get(ctx, awsAccountID, e164, s.now()); err != nil {
		return err
	}
	ar, err := s.accounts.Execute(ctx, account.StreamName(accountID), account.AssignNumber{AccountID: accountID, UserID: userID, E164: e164})
	if err != nil {
		return err
	}
	nr, err := s.numbers.Execute(ctx, phonenumber.StreamName(e164), phonenumber.Associate{E164: e164, AwsAccountID: awsAccountID, AccountID: accountID, UserID: userID})
	if err != nil {
		if len(ar.Events) > 0 {
			undo, uerr := s.accounts.Execute(ctx, account.StreamName(accountID), account.UnassignNumber{AccountID: accountID, UserID: userID})
			if uerr != nil {
				return fmt.Errorf("%w (and undoing the user's assignment failed: %v)", err, uerr)
			}
			s.waitRM(ctx, s.accountsRM, undo.Position)
		}
		return err
	}
	s.waitRM(ctx, s.accountsRM, ar.Position)
	s.waitRM(ctx, s.numbersRM, nr.Position)
	return nil
}

// DisassociatePhoneNumberFromUser removes the user's primary number.
func (s *Service) DisassociatePhoneNumberFromUser(ctx context.Context, awsAccountID, accountID, userID string) error {
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return err
	}
	ar, err := s.accounts.Execute(ctx, account.StreamName(accountID), account.UnassignNumber{AccountID: accountID, UserID: userID})
	if err != nil {
		return err
	}
	if err := s.ReleaseNumbers(ctx, awsAccountID, ar.Events); err != nil {
		return err
	}
	s.waitRM(ctx, s.accountsRM, ar.Position)
	return nil
}

// ReleaseNumbers makes the number streams follow the account's UserNumberUnassigned events (the
// second step of an unassignment; the account's decision was the first).
func (s *Service) ReleaseNumbers(ctx context.Context, awsAccountID string, events []account.Event) error {
	for _, e := range events {
		if un, ok := e.(account.UserNumberUnassigned); ok {
			nr, err := s.numbers.Execute(ctx, phonenumber.StreamName(un.E164), phonenumber.Disassociate{E164: un.E164, AwsAccountID: awsAccountID})
			if err != nil {
				return err
			}
			s.waitRM(ctx, s.numbersRM, nr.Position)
		}
	}
	return nil
}
