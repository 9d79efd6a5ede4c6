// Package settings is the slice of the tenant-wide settings (CDR buckets, the default outbound
// calling name) and of a user's telephony settings: the operations GetGlobalSettings,
// UpdateGlobalSettings, GetPhoneNumberSettings, UpdatePhoneNumberSettings, GetUserSettings and
// UpdateUserSettings, and their use cases. The tenant settings are answered from their aggregate,
// never from a read model; a user's settings from the accounts read model.
package settings

import (
	"context"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Users reads users from the accounts read model (chimeaccounts.Store implements it).
type Users interface {
	GetUser(ctx context.Context, awsAccountID, accountID, userID string) (chimeaccounts.User, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Settings usecase.Repository[settings.State, settings.Command, settings.Event]
	Accounts usecase.Accounts
	Users    Users
}

// Service runs the settings use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service { return &Service{d: d} }

// GlobalSettings returns the CDR buckets of the caller's AWS account (answered from the aggregate).
func (s *Service) GlobalSettings(ctx context.Context, awsAccountID string) (settings.State, error) {
	st, _, err := s.d.Settings.Load(ctx, settings.StreamName(awsAccountID))
	return st, err
}

// UpdateGlobalSettings changes the CDR buckets.
func (s *Service) UpdateGlobalSettings(ctx context.Context, awsAccountID string, businessCalling, voiceConnector *string) error {
	_, err := s.d.Settings.Execute(ctx, settings.StreamName(awsAccountID),
		settings.UpdateGlobal{BusinessCallingCdrBucket: businessCalling, VoiceConnectorCdrBucket: voiceConnector})
	return err
}

// UpdateCallingName sets the default outbound calling name (once every 7 days).
func (s *Service) UpdateCallingName(ctx context.Context, awsAccountID, name string) error {
	_, err := s.d.Settings.Execute(ctx, settings.StreamName(awsAccountID), settings.UpdateCallingName{CallingName: name})
	return err
}

// GetUserSettings returns a user's telephony permissions.
func (s *Service) GetUserSettings(ctx context.Context, awsAccountID, accountID, userID string) (account.Telephony, error) {
	u, err := s.d.Users.GetUser(ctx, awsAccountID, accountID, userID)
	return u.Telephony, err
}

// UpdateUserSettings sets a user's telephony permissions.
func (s *Service) UpdateUserSettings(ctx context.Context, awsAccountID, accountID, userID string, t account.Telephony) error {
	cmd := s.d.Accounts.Command(account.StreamName(accountID), account.UpdateUserSettings{AccountID: accountID, UserID: userID, Telephony: t})
	return usecase.Exec(ctx, cmd.After(usecase.Owner(s.d.Accounts.Repo, awsAccountID, accountID)))
}
