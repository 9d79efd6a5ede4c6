package usecase

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
)

// Accounts is the account aggregate's command path.
type Accounts = Aggregate[account.State, account.Command, account.Event]

// AccountDecided is what an account command decided.
type AccountDecided = Decided[account.State, account.Event]

// AccountPeeker reads an account's state (its owner never changes, so a cached state will do).
type AccountPeeker interface {
	Peek(ctx context.Context, stream string) (account.State, error)
}

// OwnAccount checks that account id exists and belongs to the caller's AWS account; any other
// account is NotFound, as if it did not exist.
func OwnAccount(ctx context.Context, accounts AccountPeeker, awsAccountID, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return domain.Wrapf(account.ErrNotFound, "The account %s does not exist", id)
	}
	// The owner never changes; a deletion the cache has not seen is caught by the command itself.
	st, err := accounts.Peek(ctx, account.StreamName(id))
	if err != nil {
		return err
	}
	if !st.Exists || st.AwsAccountID != awsAccountID {
		return domain.Wrapf(account.ErrNotFound, "The account %s does not exist", id)
	}
	return nil
}

// Owner binds OwnAccount to a Run: Owner(accounts, aws, id) is a check for Command.After.
func Owner(accounts AccountPeeker, awsAccountID, id string) func(context.Context) error {
	return func(ctx context.Context) error { return OwnAccount(ctx, accounts, awsAccountID, id) }
}

// KeyShredder destroys credential keys (infra/datakeys implements it).
type KeyShredder interface {
	DestroySubject(ctx context.Context, tenant, subject string) error
	DestroyTenant(ctx context.Context, tenant string) error
}

// Shred destroys the keys of the users an append removed, or of every user and bot of an account it
// deleted, so that their credentials are unreadable when the call answers. The accounts projection
// destroys the same keys in its own transaction (the durable path, replayed after a crash); this is
// the immediate one. A failure here is logged: the projection still destroys them.
func Shred(ctx context.Context, keys KeyShredder, log *slog.Logger, accountID string, events []account.Event) {
	for _, e := range events {
		var err error
		switch e := e.(type) {
		case account.UserRemoved:
			err = keys.DestroySubject(ctx, accountID, account.UserKeySubject(e.UserID))
		case account.Deleted:
			err = keys.DestroyTenant(ctx, accountID)
		}
		if err != nil {
			log.Error("destroying credential keys failed; the accounts projection destroys them", "account", accountID, "err", err)
		}
	}
}
