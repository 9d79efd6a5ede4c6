// Package retention is the slice of chat retention: the admin operations GetRetentionSettings and
// PutRetentionSettings (guide §4.7–4.8), what the room slice asks before it shows a message
// (HideBefore), and the purge (Purger) that destroys what fell out of retention.
//
// Settings are events of the account's retention stream (domain/chime/retention) and are answered
// from its aggregate; the purge reads them from the chime_retention read model.
package retention

import (
	"context"
	"net/http"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/retention"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// ErrNeedsEnterprise refuses retention settings for a Team account (guide §4.7: Enterprise only).
var ErrNeedsEnterprise = &domain.Error{Kind: domain.KindInvalid, Msg: "chat retention is available in Enterprise accounts"}

// Retention is the retention aggregate's command path.
type Retention = usecase.Aggregate[retention.State, retention.Command, retention.Event]

// Accounts reads the accounts read model (chimeaccounts.Store implements it).
type Accounts interface {
	Get(ctx context.Context, awsAccountID, id string) (chimeaccounts.Account, error)
}

// Policies reads the accounts' retention from the read model (chimeretention.Store implements
// it); accountID "" asks for every account that has one.
type Policies interface {
	Policies(ctx context.Context, accountID string) (map[string]retention.Policy, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Retention Retention
	Accounts  Accounts
	Policies  Policies
	// Enterprise says which accounts are Enterprise accounts (chimeaccounts.Index implements it; nil:
	// conversations are never hidden).
	Enterprise interface {
		Enterprise(ctx context.Context, ids []string) (map[string]bool, error)
	}
	// Now is the clock of what is hidden (default time.Now).
	Now func() time.Time
}

// Service runs the retention use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// enterprise checks that the account is the caller's and an Enterprise account.
func (s *Service) enterprise(ctx context.Context, awsAccountID, accountID string) error {
	a, err := s.d.Accounts.Get(ctx, awsAccountID, accountID)
	if err != nil {
		return err
	}
	if a.AccountType == account.TypeTeam {
		return domain.Wrapf(ErrNeedsEnterprise, "account %s is a Team account: retention is set on Enterprise accounts", accountID)
	}
	return nil
}

// GetRetentionSettings returns an account's settings (answered from its aggregate).
func (s *Service) GetRetentionSettings(ctx context.Context, awsAccountID, accountID string) (retention.State, error) {
	if err := s.enterprise(ctx, awsAccountID, accountID); err != nil {
		return retention.State{}, err
	}
	st, _, err := s.d.Retention.Repo.Load(ctx, retention.StreamName(accountID))
	return st, err
}

// PutRetentionSettings replaces an account's settings (a class left out is off); it answers once
// the read model hides accordingly.
func (s *Service) PutRetentionSettings(ctx context.Context, awsAccountID, accountID string, set retention.Settings, by string) (retention.State, error) {
	if err := set.Validate(); err != nil {
		return retention.State{}, err
	}
	if err := s.enterprise(ctx, awsAccountID, accountID); err != nil {
		return retention.State{}, err
	}
	c := s.d.Retention.Command(retention.StreamName(accountID), retention.Put{AccountID: accountID, Settings: set, By: by})
	return usecase.Run(ctx, c, nil, func(d usecase.Decided[retention.State, retention.Event]) (retention.State, error) {
		return d.State, nil
	})
}

// HideBefore is the instant before which an account's messages of a class are hidden now; ok is
// false when the class has no retention.
func (s *Service) HideBefore(ctx context.Context, accountID string, c retention.Class) (time.Time, bool, error) {
	all, err := s.d.Policies.Policies(ctx, accountID)
	if err != nil || accountID == "" {
		return time.Time{}, false, err
	}
	before, ok := all[accountID].HideBefore(c, s.d.Now())
	return before, ok, nil
}

// ConversationHideBefore is the instant before which the messages of a conversation whose members
// belong to accounts are hidden now (guide §4.7.1, retention.Conversation); ok is false when none are.
func (s *Service) ConversationHideBefore(ctx context.Context, accounts []string) (time.Time, bool, error) {
	if s.d.Enterprise == nil {
		return time.Time{}, false, nil
	}
	enterprise, err := s.d.Enterprise.Enterprise(ctx, accounts)
	if err != nil {
		return time.Time{}, false, err
	}
	members := make([]retention.Member, len(accounts))
	for i, a := range accounts {
		members[i] = retention.Member{AccountID: a, Enterprise: enterprise[a]}
	}
	rule := retention.Conversation(members)
	var p retention.Policy
	if rule.AccountID != "" {
		all, err := s.d.Policies.Policies(ctx, rule.AccountID)
		if err != nil {
			return time.Time{}, false, err
		}
		p = all[rule.AccountID]
	}
	before, ok := rule.HideBefore(p, s.d.Now())
	return before, ok, nil
}

type wireDays struct {
	RetentionDays *int `json:",omitempty"`
}

type wireSettings struct {
	RoomRetentionSettings         *wireDays `json:",omitempty"`
	ConversationRetentionSettings *wireDays `json:",omitempty"`
}

func days(d int) *wireDays {
	if d == 0 {
		return &wireDays{}
	}
	return &wireDays{RetentionDays: &d}
}

func settingsOut(st retention.State, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	cur := st.Policy.Current()
	out := map[string]any{"RetentionSettings": wireSettings{RoomRetentionSettings: days(cur.RoomDays), ConversationRetentionSettings: days(cur.ConversationDays)}}
	if at, ok := st.InitiateDeletion(); ok {
		out["InitiateDeletionTimestamp"] = awsproto.Timestamp(at)
	}
	// PutRetentionSettings is modeled 204 but has output members: 200 with the body (chime-api.md).
	return http.StatusOK, out, nil
}

// Operations are the slice's route table.
func (s *Service) Operations() []awsproto.Operation {
	const path = "/accounts/:accountId/retention-settings"
	return []awsproto.Operation{
		{Name: "GetRetentionSettings", Method: http.MethodGet, Path: path, ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			return settingsOut(s.GetRetentionSettings(k.Ctx, k.AWSAccount(), k.Param("accountId")))
		}},
		{Name: "PutRetentionSettings", Method: http.MethodPut, Path: path, Fn: s.put},
	}
}

func (s *Service) put(k *awsproto.Call) (int, any, error) {
	var in struct{ RetentionSettings *wireSettings }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	if in.RetentionSettings == nil {
		return 0, nil, awsproto.BadRequest("RetentionSettings is required")
	}
	var set retention.Settings
	for _, f := range []struct {
		name string
		in   *wireDays
		out  *int
	}{{"RoomRetentionSettings", in.RetentionSettings.RoomRetentionSettings, &set.RoomDays},
		{"ConversationRetentionSettings", in.RetentionSettings.ConversationRetentionSettings, &set.ConversationDays}} {
		if f.in == nil || f.in.RetentionDays == nil {
			continue // off
		}
		if *f.in.RetentionDays == 0 {
			return 0, nil, awsproto.BadRequest("RetentionSettings." + f.name + ".RetentionDays must be 1 to 5475; leave it out to turn retention off")
		}
		*f.out = *f.in.RetentionDays
	}
	return settingsOut(s.PutRetentionSettings(k.Ctx, k.AWSAccount(), k.Param("accountId"), set, k.Caller.ARN()))
}
