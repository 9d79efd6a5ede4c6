// Package bots is the slice of chat bots: CreateBot, GetBot, ListBots, UpdateBot,
// RegenerateSecurityToken and the events configuration (Put/Get/DeleteEventsConfiguration), whose
// target is verified before it is stored. The delivery of bot events belongs to the rooms slice.
//
// The mutations read the bot back from the accounts read model once it caught up; when it is late
// they answer from the decided state (CreateBot wholly; the others over the row the read model still
// shows), with the security token in clear when the call made it.
package bots

import (
	"context"
	"net/url"
	"regexp"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// ErrEventsVerification is returned when an events target fails its check (HTTP 4xx on the wire).
var ErrEventsVerification = &domain.Error{Kind: domain.KindInvalid, Msg: "events configuration could not be verified"}

var lambdaARN = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$`)

// Store reads bots from the accounts read model (chimeaccounts.Store implements it).
type Store interface {
	GetBot(ctx context.Context, awsAccountID, accountID, botID string) (chimeaccounts.Bot, error)
	ListBots(ctx context.Context, awsAccountID, accountID, token string, limit int) ([]chimeaccounts.Bot, string, error)
}

// Sealer seals a credential under a subject's key (infra/datakeys implements it).
type Sealer interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
}

// Targets verifies an events target (infra/botdelivery implements it).
type Targets interface {
	DryRunLambda(ctx context.Context, arn string) error
	Challenge(ctx context.Context, endpoint string) error
}

// Deps are the slice's collaborators.
type Deps struct {
	Accounts usecase.Accounts
	Store    Store
	Keys     Sealer
	Targets  Targets
}

// Service runs the bot use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service { return &Service{d: d} }

// newToken makes a new security token (the HMAC key of the bot's events), in clear and sealed under
// the bot's key: the log holds only the sealed token, and the account's deletion destroys the key.
func (s *Service) newToken(ctx context.Context, accountID, botID string) (string, domain.Sealed, error) {
	tok := usecase.RandomToken()
	sealed, err := s.d.Keys.SealFor(ctx, accountID, account.BotKeySubject(botID), []byte(tok))
	return tok, sealed, err
}

// fromState is the bot as the account decided it, over base (the read model's row, or the zero Bot
// for a new bot); token is the security token in clear when the call made one.
func fromState(base chimeaccounts.Bot, st account.State, botID, token string) chimeaccounts.Bot {
	b := st.Bots[botID]
	if b == nil {
		return base
	}
	if base.BotID == "" {
		base = chimeaccounts.Bot{BotID: b.ID, AccountID: st.ID, UserID: b.UserID, DisplayName: b.DisplayName, Email: b.Email,
			CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt}
	}
	base.Disabled, base.HasEvents = b.Disabled, b.HasEvents
	base.LambdaARN, base.HTTPSEndpoint = nilIfEmpty(b.LambdaARN), nilIfEmpty(b.HTTPSEndpoint)
	if token != "" {
		base.SecurityToken = token
	}
	return base
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// execBot runs a bot command and answers with the bot (see the package comment).
func (s *Service) execBot(ctx context.Context, awsAccountID, accountID, botID, token string, cmd account.Command) (chimeaccounts.Bot, error) {
	c := s.d.Accounts.Command(account.StreamName(accountID), cmd).After(usecase.Owner(s.d.Accounts.Repo, awsAccountID, accountID))
	read := func(ctx context.Context) (chimeaccounts.Bot, error) {
		return s.d.Store.GetBot(ctx, awsAccountID, accountID, botID)
	}
	return usecase.Run(ctx, c, read, func(d usecase.AccountDecided) (chimeaccounts.Bot, error) {
		base, err := read(ctx)
		if err != nil && domain.KindOf(err) != domain.KindNotFound {
			return chimeaccounts.Bot{}, err
		}
		return fromState(base, d.State, botID, token), nil
	})
}

// CreateBot registers a bot in an Enterprise account.
func (s *Service) CreateBot(ctx context.Context, awsAccountID, accountID, displayName, domainName string) (chimeaccounts.Bot, error) {
	if err := usecase.OwnAccount(ctx, s.d.Accounts.Repo, awsAccountID, accountID); err != nil {
		return chimeaccounts.Bot{}, err
	}
	botID := uuid.NewString()
	tok, sealed, err := s.newToken(ctx, accountID, botID)
	if err != nil {
		return chimeaccounts.Bot{}, err
	}
	return s.execBot(ctx, awsAccountID, accountID, botID, tok, account.CreateBot{AccountID: accountID, BotID: botID,
		UserID: uuid.NewString(), DisplayName: displayName, Domain: domainName, SecurityToken: sealed})
}

// GetBot returns a bot.
func (s *Service) GetBot(ctx context.Context, awsAccountID, accountID, botID string) (chimeaccounts.Bot, error) {
	return s.d.Store.GetBot(ctx, awsAccountID, accountID, botID)
}

// ListBots returns a page of bots.
func (s *Service) ListBots(ctx context.Context, awsAccountID, accountID, token string, limit int) ([]chimeaccounts.Bot, string, error) {
	return s.d.Store.ListBots(ctx, awsAccountID, accountID, token, limit)
}

// UpdateBot enables or disables a bot.
func (s *Service) UpdateBot(ctx context.Context, awsAccountID, accountID, botID string, disabled bool) (chimeaccounts.Bot, error) {
	return s.execBot(ctx, awsAccountID, accountID, botID, "", account.UpdateBot{AccountID: accountID, BotID: botID, Disabled: disabled})
}

// RegenerateSecurityToken gives the bot a new HMAC key.
func (s *Service) RegenerateSecurityToken(ctx context.Context, awsAccountID, accountID, botID string) (chimeaccounts.Bot, error) {
	if _, err := s.d.Store.GetBot(ctx, awsAccountID, accountID, botID); err != nil {
		return chimeaccounts.Bot{}, err
	}
	tok, sealed, err := s.newToken(ctx, accountID, botID)
	if err != nil {
		return chimeaccounts.Bot{}, err
	}
	return s.execBot(ctx, awsAccountID, accountID, botID, tok, account.RegenerateBotToken{AccountID: accountID, BotID: botID, SecurityToken: sealed})
}

// PutEventsConfiguration verifies the target first — the HTTPS challenge of guide §11.2.2 (the
// endpoint must echo the Challenge within 2 s) or a Lambda dry run — and stores it only then.
func (s *Service) PutEventsConfiguration(ctx context.Context, awsAccountID, accountID, botID, lambda, endpoint string) (chimeaccounts.Bot, error) {
	if _, err := s.d.Store.GetBot(ctx, awsAccountID, accountID, botID); err != nil {
		return chimeaccounts.Bot{}, err
	}
	if err := account.ValidateBotTarget(lambda, endpoint); err != nil {
		return chimeaccounts.Bot{}, err
	}
	if lambda != "" {
		if !lambdaARN.MatchString(lambda) {
			return chimeaccounts.Bot{}, domain.Wrapf(ErrEventsVerification, "LambdaFunctionArn %q is not a Lambda function ARN", lambda)
		}
		if err := s.d.Targets.DryRunLambda(ctx, lambda); err != nil {
			return chimeaccounts.Bot{}, domain.Wrapf(ErrEventsVerification, "the dry-run invocation of %s failed: %v", lambda, err)
		}
	}
	if endpoint != "" {
		if u, err := url.Parse(endpoint); err != nil || u.Scheme != "https" || u.Host == "" {
			// Not repeated: the member is sensitive (it often embeds a credential).
			return chimeaccounts.Bot{}, domain.Wrapf(ErrEventsVerification, "OutboundEventsHTTPSEndpoint must be an absolute https:// URL")
		}
		if err := s.d.Targets.Challenge(ctx, endpoint); err != nil {
			return chimeaccounts.Bot{}, domain.Wrapf(ErrEventsVerification, "%v", err)
		}
	}
	return s.execBot(ctx, awsAccountID, accountID, botID, "", account.PutBotEvents{AccountID: accountID, BotID: botID, LambdaARN: lambda, HTTPSEndpoint: endpoint})
}

// DeleteEventsConfiguration removes the bot's events configuration.
func (s *Service) DeleteEventsConfiguration(ctx context.Context, awsAccountID, accountID, botID string) error {
	_, err := s.execBot(ctx, awsAccountID, accountID, botID, "", account.DeleteBotEvents{AccountID: accountID, BotID: botID})
	return err
}
