// Package numbers is the slice of the phone-number inventory: the search of the pool, phone-number
// orders (acquired in the background by ProcessPhoneNumberOrder, the side-effect router's handler),
// the numbers themselves (Get/List/Update/Delete/Restore, the batch forms) and their association
// with users. CreatePhoneNumberOrder, UpdatePhoneNumber and RestorePhoneNumber answer from the decided
// state when the numbers read model is late.
package numbers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/projections/chimenumbers"
	"github.com/google/uuid"
)

// Store reads numbers and orders from the numbers read model (chimenumbers.Store implements it).
type Store interface {
	Get(ctx context.Context, awsAccountID, e164 string, now time.Time) (chimenumbers.Number, error)
	List(ctx context.Context, awsAccountID string, f chimenumbers.Filter, token string, limit int, now time.Time) ([]chimenumbers.Number, string, error)
	Held(ctx context.Context, numbers []string, now time.Time) (map[string]bool, error)
	GetOrder(ctx context.Context, awsAccountID, id string) (chimenumbers.Order, error)
	ListOrders(ctx context.Context, awsAccountID, token string, limit int) ([]chimenumbers.Order, string, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Numbers   usecase.Repository[phonenumber.State, phonenumber.Command, phonenumber.Event]
	Orders    usecase.Repository[phonenumber.Order, phonenumber.OrderCommand, phonenumber.Event]
	NumbersRM usecase.Waiter
	Accounts  usecase.Accounts
	Store     Store
	RYW       *usecase.ReadYourWrites
	Now       func() time.Time
	// CallingNamePropagation is how long a calling-name change stays UpdateInProgress (default 72 h).
	CallingNamePropagation time.Duration
}

// Service runs the phone-number use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.CallingNamePropagation <= 0 {
		d.CallingNamePropagation = 72 * time.Hour
	}
	return &Service{d: d}
}

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
		held, err := s.d.Store.Held(ctx, cand, s.d.Now())
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
	res, err := s.d.Orders.Execute(ctx, phonenumber.OrderStreamName(id), phonenumber.CreateOrder{OrderID: id, AwsAccountID: awsAccountID,
		ProductType: productType, Numbers: numbers})
	if err != nil {
		return chimenumbers.Order{}, err
	}
	// The relay enqueues the order for the side-effect router once the event is in the log.
	if !s.d.RYW.Await(ctx, s.d.NumbersRM, res.Position) {
		return orderFromState(id, res.State), nil
	}
	return s.d.Store.GetOrder(ctx, awsAccountID, id)
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
	o, _, err := s.d.Orders.Load(ctx, phonenumber.OrderStreamName(id))
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
		_, err := s.d.Numbers.Execute(ctx, phonenumber.StreamName(n), phonenumber.Acquire{E164: n, AwsAccountID: o.AwsAccountID, OrderID: id, ProductType: o.ProductType})
		if domain.KindOf(err) != 0 {
			r.Acquired, r.Reason = false, err.Error()
		} else if err != nil {
			return fmt.Errorf("order %s: acquire %s: %w", id, n, err)
		}
		if _, err := s.d.Orders.Execute(ctx, phonenumber.OrderStreamName(id), r); err != nil {
			return fmt.Errorf("order %s: record %s: %w", id, n, err)
		}
	}
	return nil
}

// GetPhoneNumberOrder returns one order.
func (s *Service) GetPhoneNumberOrder(ctx context.Context, awsAccountID, id string) (chimenumbers.Order, error) {
	return s.d.Store.GetOrder(ctx, awsAccountID, id)
}

// ListPhoneNumberOrders returns a page of orders.
func (s *Service) ListPhoneNumberOrders(ctx context.Context, awsAccountID, token string, limit int) ([]chimenumbers.Order, string, error) {
	return s.d.Store.ListOrders(ctx, awsAccountID, token, limit)
}

// GetPhoneNumber returns one number of the inventory or the deletion queue.
func (s *Service) GetPhoneNumber(ctx context.Context, awsAccountID, e164 string) (chimenumbers.Number, error) {
	return s.d.Store.Get(ctx, awsAccountID, e164, s.d.Now())
}

// ListPhoneNumbers returns a page of numbers.
func (s *Service) ListPhoneNumbers(ctx context.Context, awsAccountID string, f chimenumbers.Filter, token string, limit int) ([]chimenumbers.Number, string, error) {
	return s.d.Store.List(ctx, awsAccountID, f, token, limit, s.d.Now())
}

// CallingNameStatusOf derives a number's calling-name status now.
func (s *Service) CallingNameStatusOf(n chimenumbers.Number) string {
	if n.CallingNameAt == nil {
		return settings.CallingNameStatus(n.CallingName, time.Time{}, s.d.Now(), s.d.CallingNamePropagation)
	}
	return settings.CallingNameStatus(n.CallingName, *n.CallingNameAt, s.d.Now(), s.d.CallingNamePropagation)
}

// ExecNumber runs a number command and answers with the number: read back once the numbers read
// model caught up, from the decided state when it is late.
func (s *Service) ExecNumber(ctx context.Context, awsAccountID, e164 string, cmd phonenumber.Command) (chimenumbers.Number, error) {
	if err := phonenumber.ValidateE164(e164); err != nil {
		return chimenumbers.Number{}, err
	}
	agg := usecase.Aggregate[phonenumber.State, phonenumber.Command, phonenumber.Event]{Repo: s.d.Numbers, RM: s.d.NumbersRM, RYW: s.d.RYW}
	return usecase.Run(ctx, agg.Command(phonenumber.StreamName(e164), cmd),
		func(ctx context.Context) (chimenumbers.Number, error) {
			return s.d.Store.Get(ctx, awsAccountID, e164, s.d.Now())
		},
		func(d usecase.Decided[phonenumber.State, phonenumber.Event]) (chimenumbers.Number, error) {
			return NumberFromState(e164, d.State), nil
		})
}

// NumberFromState is a number as its aggregate decided it.
func NumberFromState(e164 string, st phonenumber.State) chimenumbers.Number {
	n := chimenumbers.Number{E164: e164, AwsAccountID: st.AwsAccountID, Status: st.Status, ProductType: st.ProductType, Type: st.Type,
		Country: st.Country, CallingName: st.CallingName, CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt,
		CallingNameAt: timeOrNil(st.CallingNameAt), AssociatedAt: timeOrNil(st.AssociatedAt), DeletedAt: timeOrNil(st.DeletedAt)}
	if st.AccountID != "" {
		n.AccountID, n.UserID = &st.AccountID, &st.UserID
	}
	return n
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// UpdatePhoneNumber changes a number's product type and/or calling name.
func (s *Service) UpdatePhoneNumber(ctx context.Context, awsAccountID, e164 string, productType, callingName *string) (chimenumbers.Number, error) {
	return s.ExecNumber(ctx, awsAccountID, e164, phonenumber.Update{E164: e164, AwsAccountID: awsAccountID, ProductType: productType, CallingName: callingName})
}

// DeletePhoneNumber moves an unassigned number into the 7-day deletion queue.
func (s *Service) DeletePhoneNumber(ctx context.Context, awsAccountID, e164 string) error {
	_, err := s.ExecNumber(ctx, awsAccountID, e164, phonenumber.Delete{E164: e164, AwsAccountID: awsAccountID})
	return err
}

// RestorePhoneNumber moves a number from the deletion queue back to the inventory.
func (s *Service) RestorePhoneNumber(ctx context.Context, awsAccountID, e164 string) (chimenumbers.Number, error) {
	return s.ExecNumber(ctx, awsAccountID, e164, phonenumber.Restore{E164: e164, AwsAccountID: awsAccountID})
}

// AssociatePhoneNumberWithUser makes e164 the user's primary number: the account records it (one
// number per user), then the number (one user per number). A number that would refuse is refused
// before the first step; one that refuses after it (a concurrent change) undoes the first step, for
// this number only.
func (s *Service) AssociatePhoneNumberWithUser(ctx context.Context, awsAccountID, accountID, userID, e164 string) error {
	if err := phonenumber.ValidateE164(e164); err != nil {
		return err
	}
	if err := usecase.OwnAccount(ctx, s.d.Accounts.Repo, awsAccountID, accountID); err != nil {
		return err
	}
	if _, err := s.d.Store.Get(ctx, awsAccountID, e164, s.d.Now()); err != nil {
		return err
	}
	assoc := phonenumber.Associate{E164: e164, AwsAccountID: awsAccountID, AccountID: accountID, UserID: userID}
	// Refuse what the number would refuse (assigned to another user, in the deletion queue, not a
	// BusinessCalling number) before the account records anything: the undo below is for a race, and
	// a refused call must not append an assignment and its undo.
	if err := s.d.Numbers.Inspect(ctx, phonenumber.StreamName(e164), true, func(st phonenumber.State) error {
		_, err := phonenumber.Decide(st, assoc, s.d.Now())
		return err
	}); err != nil {
		return err
	}
	ar, err := s.d.Accounts.Repo.Execute(ctx, account.StreamName(accountID), account.AssignNumber{AccountID: accountID, UserID: userID, E164: e164})
	if err != nil {
		return err
	}
	nr, err := s.d.Numbers.Execute(ctx, phonenumber.StreamName(e164), assoc)
	if err != nil {
		if len(ar.Events) > 0 {
			// The undo names the number: the user may have another one by now (disassociated and
			// associated again by concurrent calls), which is not this call's to take away.
			undo, uerr := s.d.Accounts.Repo.Execute(ctx, account.StreamName(accountID), account.UnassignNumber{AccountID: accountID, UserID: userID, E164: e164})
			if uerr != nil {
				return fmt.Errorf("%w (and undoing the user's assignment failed: %v)", err, uerr)
			}
			s.d.RYW.Await(ctx, s.d.Accounts.RM, undo.Position)
		}
		return err
	}
	s.d.RYW.Await(ctx, s.d.Accounts.RM, ar.Position)
	s.d.RYW.Await(ctx, s.d.NumbersRM, nr.Position)
	return nil
}

// DisassociatePhoneNumberFromUser removes the user's primary number.
func (s *Service) DisassociatePhoneNumberFromUser(ctx context.Context, awsAccountID, accountID, userID string) error {
	if err := usecase.OwnAccount(ctx, s.d.Accounts.Repo, awsAccountID, accountID); err != nil {
		return err
	}
	ar, err := s.d.Accounts.Repo.Execute(ctx, account.StreamName(accountID), account.UnassignNumber{AccountID: accountID, UserID: userID})
	if err != nil {
		return err
	}
	if err := s.ReleaseNumbers(ctx, awsAccountID, ar.Events); err != nil {
		return err
	}
	s.d.RYW.Await(ctx, s.d.Accounts.RM, ar.Position)
	return nil
}

// ReleaseNumbers makes the number streams follow the account's UserNumberUnassigned events (the
// second step of an unassignment; the account's decision was the first). Each release names the
// user: a number its stream holds for another user (assigned to it by a concurrent call while the
// account still recorded it for this one) stays that user's.
func (s *Service) ReleaseNumbers(ctx context.Context, awsAccountID string, events []account.Event) error {
	for _, e := range events {
		if un, ok := e.(account.UserNumberUnassigned); ok {
			nr, err := s.d.Numbers.Execute(ctx, phonenumber.StreamName(un.E164), phonenumber.Disassociate{E164: un.E164, AwsAccountID: awsAccountID, UserID: un.UserID})
			if err != nil {
				return err
			}
			s.d.RYW.Await(ctx, s.d.NumbersRM, nr.Position)
		}
	}
	return nil
}
