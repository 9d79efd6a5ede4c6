package chime

import (
	"context"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/infra/eventstore"
)

// SettingsDecider is the tenant-settings aggregate for the command path.
var SettingsDecider = eventstore.Decider[settings.State, settings.Command, settings.Event]{
	Initial: settings.Initial, Evolve: settings.Evolve, Decide: settings.Decide, Decode: settings.Decode,
	Type: func(e settings.Event) string { return e.EventType() },
}

// GlobalSettings returns the CDR buckets of the caller's AWS account (answered from the aggregate).
func (s *Service) GlobalSettings(ctx context.Context, awsAccountID string) (settings.State, error) {
	st, _, err := s.settings.Load(ctx, settings.StreamName(awsAccountID))
	return st, err
}

// UpdateGlobalSettings changes the CDR buckets.
func (s *Service) UpdateGlobalSettings(ctx context.Context, awsAccountID string, businessCalling, voiceConnector *string) error {
	_, err := s.settings.Execute(ctx, settings.StreamName(awsAccountID),
		settings.UpdateGlobal{BusinessCallingCdrBucket: businessCalling, VoiceConnectorCdrBucket: voiceConnector})
	return err
}

// UpdateCallingName sets the default outbound calling name (once every 7 days).
func (s *Service) UpdateCallingName(ctx context.Context, awsAccountID, name string) error {
	_, err := s.settings.Execute(ctx, settings.StreamName(awsAccountID), settings.UpdateCallingName{CallingName: name})
	return err
}

// CallingNameStatus is the propagation status of the default calling name now.
func (s *Service) CallingNameStatus(st settings.State) string {
	return settings.CallingNameStatus(st.CallingName, st.CallingNameUpdatedAt, s.now(), s.propagation)
}

// GetUserSettings returns a user's telephony permissions.
func (s *Service) GetUserSettings(ctx context.Context, awsAccountID, accountID, userID string) (account.Telephony, error) {
	u, err := s.store.GetUser(ctx, awsAccountID, accountID, userID)
	return u.Telephony, err
}

// UpdateUserSettings sets a user's telephony permissions.
func (s *Service) UpdateUserSettings(ctx context.Context, awsAccountID, accountID, userID string, t account.Telephony) error {
	_, err := s.execUser(ctx, awsAccountID, accountID, userID, account.UpdateUserSettings{AccountID: accountID, UserID: userID, Telephony: t})
	return err
}
