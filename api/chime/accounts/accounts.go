// Package accounts is the slice of Chime accounts: CreateAccount, GetAccount, ListAccounts,
// UpdateAccount, DeleteAccount, Get/UpdateAccountSettings and the sign-in delegate groups. Mutations
// answer from the account's decided state (the read model is only waited for, never read back).
package accounts

import (
	"context"
	"log/slog"
	"slices"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Store reads accounts from the accounts read model (chimeaccounts.Store implements it).
type Store interface {
	Get(ctx context.Context, awsAccountID, id string) (chimeaccounts.Account, error)
	List(ctx context.Context, awsAccountID string, f chimeaccounts.ListFilter, token string, limit int) ([]chimeaccounts.Account, string, error)
}

// NumberReleaser makes the number streams follow the UserNumberUnassigned events of an account
// command (the numbers slice implements it).
type NumberReleaser interface {
	ReleaseNumbers(ctx context.Context, awsAccountID string, events []account.Event) error
}

// Deps are the slice's collaborators.
type Deps struct {
	Accounts usecase.Accounts
	Store    Store
	Keys     usecase.KeyShredder
	// Numbers makes the number streams follow the numbers a deletion took from the account's users
	// (nil: none follow).
	Numbers NumberReleaser
	Logger  *slog.Logger
}

// Service runs the account use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{d: d}
}

// FromState is an account as its aggregate decided it.
func FromState(st account.State) chimeaccounts.Account {
	return chimeaccounts.Account{AccountID: st.ID, AwsAccountID: st.AwsAccountID, Name: st.Name, AccountType: st.Type,
		AccountStatus: st.Status, DefaultLicense: st.DefaultLicense, SupportedLicenses: st.SupportedLicenses,
		CreatedAt: st.CreatedAt, DisableRemoteControl: st.Settings.DisableRemoteControl, EnableDialOut: st.Settings.EnableDialOut,
		DelegateGroups: slices.Clone(st.DelegateGroups)}
}

func fromDecided(d usecase.AccountDecided) (chimeaccounts.Account, error) {
	return FromState(d.State), nil
}

func (s *Service) owned(awsAccountID, id string, cmd account.Command) usecase.Command[account.State, account.Event] {
	return s.d.Accounts.Command(account.StreamName(id), cmd).After(usecase.Owner(s.d.Accounts.Repo, awsAccountID, id))
}

// CreateAccount creates a Team account for the caller's AWS account.
func (s *Service) CreateAccount(ctx context.Context, awsAccountID, name string) (chimeaccounts.Account, error) {
	id := uuid.NewString()
	cmd := s.d.Accounts.Command(account.StreamName(id), account.Create{AccountID: id, AwsAccountID: awsAccountID, Name: name})
	return usecase.Run(ctx, cmd, nil, fromDecided)
}

// GetAccount returns one account of the caller.
func (s *Service) GetAccount(ctx context.Context, awsAccountID, id string) (chimeaccounts.Account, error) {
	return s.d.Store.Get(ctx, awsAccountID, id)
}

// ListAccounts returns a page of the caller's accounts.
func (s *Service) ListAccounts(ctx context.Context, awsAccountID string, f chimeaccounts.ListFilter, token string, limit int) ([]chimeaccounts.Account, string, error) {
	return s.d.Store.List(ctx, awsAccountID, f, token, limit)
}

// UpdateAccount renames the account and/or changes its default licence.
func (s *Service) UpdateAccount(ctx context.Context, awsAccountID, id string, name, license *string) (chimeaccounts.Account, error) {
	return usecase.Run(ctx, s.owned(awsAccountID, id, account.Update{AccountID: id, Name: name, DefaultLicense: license}), nil, fromDecided)
}

// DeleteAccount deletes the account if the guide's guards allow it; its users' numbers go back to
// the inventory.
func (s *Service) DeleteAccount(ctx context.Context, awsAccountID, id string) error {
	d, _, err := s.owned(awsAccountID, id, account.Delete{AccountID: id}).Do(ctx)
	if err != nil {
		return err
	}
	usecase.Shred(ctx, s.d.Keys, s.d.Logger, id, d.Events)
	if s.d.Numbers != nil {
		return s.d.Numbers.ReleaseNumbers(ctx, awsAccountID, d.Events)
	}
	return nil
}

// GetAccountSettings returns the meeting policies.
func (s *Service) GetAccountSettings(ctx context.Context, awsAccountID, id string) (disableRemoteControl, enableDialOut bool, err error) {
	a, err := s.d.Store.Get(ctx, awsAccountID, id)
	if err != nil {
		return false, false, err
	}
	return a.DisableRemoteControl, a.EnableDialOut, nil
}

// UpdateAccountSettings changes the meeting policies given.
func (s *Service) UpdateAccountSettings(ctx context.Context, awsAccountID, id string, disableRemoteControl, enableDialOut *bool) error {
	return usecase.Exec(ctx, s.owned(awsAccountID, id, account.UpdateSettings{AccountID: id,
		DisableRemoteControl: disableRemoteControl, EnableDialOut: enableDialOut}))
}

// SetDelegateGroups associates (add=true) or disassociates sign-in delegate groups.
func (s *Service) SetDelegateGroups(ctx context.Context, awsAccountID, accountID string, groups []string, add bool) error {
	var cmd account.Command = account.DisassociateDelegateGroups{AccountID: accountID, Groups: groups}
	if add {
		cmd = account.AssociateDelegateGroups{AccountID: accountID, Groups: groups}
	}
	return usecase.Exec(ctx, s.owned(awsAccountID, accountID, cmd))
}
