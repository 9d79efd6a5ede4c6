// Package pins reserves personal meeting PINs. It is an adapter (the event log and the data keys);
// the users and client-auth slices declare the port it implements.
//
// Invariant: PIN reservation streams make personal meeting PINs unique across the installation; a
// PIN is never reserved twice, so an old PIN is not handed out again after a reset (guide §5.4). The
// stream is named by the PIN's HMAC under an installation key (datakeys.Index), not by the PIN: the log
// links the reservation to the user, so a plain name would publish every user's PIN. Streams named by
// the plain PIN (before this) are still consulted, so those PINs are not handed out again.
//
// Owner answers whom a PIN was reserved for — also after a reset: the reservation stays, so the
// caller compares the user's current PIN before it treats the PIN as live (guide §5.4: an old PIN
// fails cleanly).
package pins

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
)

const (
	streamPrefix  = "chime.pin-"
	reservedEvent = "chime.pin.reserved.v1"
	index         = "personal-pin"
)

// Reserver reserves PINs in the event log and seals them under the user's key.
type Reserver struct {
	Client *esdb.Client
	Keys   *datakeys.Store
}

// Reserve reserves a new personal PIN for a user and returns it in clear and sealed under the
// user's key.
func (r Reserver) Reserve(ctx context.Context, accountID, userID string) (string, domain.Sealed, error) {
	for i := 0; i < 20; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(10_000_000_000))
		if err != nil {
			return "", domain.Sealed{}, err
		}
		pin := fmt.Sprintf("%010d", n.Int64())
		name, err := r.Keys.Index(ctx, index, []byte(pin))
		if err != nil {
			return "", domain.Sealed{}, err
		}
		ok, err := eventstore.Reserve(ctx, r.Client, streamPrefix+name, reservedEvent,
			map[string]string{"accountId": accountID, "userId": userID})
		if err == nil && ok {
			ok, err = r.streamAbsent(ctx, streamPrefix+pin)
		}
		if err != nil {
			return "", domain.Sealed{}, err
		}
		if ok {
			sealed, err := r.Keys.SealFor(ctx, accountID, account.UserKeySubject(userID), []byte(pin))
			return pin, sealed, err
		}
	}
	return "", domain.Sealed{}, errors.New("pins: no free personal PIN found after 20 tries")
}

// streamAbsent reports whether a stream has no event (a legacy PIN reservation).
func (r Reserver) streamAbsent(ctx context.Context, stream string) (bool, error) {
	found, err := r.first(ctx, stream, nil)
	return !found, err
}

// ErrUnknown is Owner's answer for a PIN never reserved.
var ErrUnknown = &domain.Error{Kind: domain.KindNotFound, Msg: "no such meeting PIN"}

// Owner returns the account and user a PIN was reserved for (ErrUnknown when none).
func (r Reserver) Owner(ctx context.Context, pin string) (accountID, userID string, err error) {
	name, err := r.Keys.Index(ctx, index, []byte(pin))
	if err != nil {
		return "", "", err
	}
	for _, stream := range []string{streamPrefix + name, streamPrefix + pin} {
		var owner struct {
			AccountID string `json:"accountId"`
			UserID    string `json:"userId"`
		}
		found, err := r.first(ctx, stream, &owner)
		if err != nil {
			return "", "", err
		}
		if found && owner.UserID != "" {
			return owner.AccountID, owner.UserID, nil
		}
	}
	return "", "", ErrUnknown
}

// first decodes the first event of a stream into v (unless nil); false when the stream has none.
func (r Reserver) first(ctx context.Context, stream string, v any) (bool, error) {
	rs, err := r.Client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.Start{}}, 1)
	if err != nil {
		return false, fmt.Errorf("pins: read %s: %w", stream, err)
	}
	defer rs.Close()
	ev, err := rs.Recv()
	switch {
	case errors.Is(err, io.EOF), eventstore.IsCode(err, esdb.ErrorCodeResourceNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("pins: read %s: %w", stream, err)
	}
	if v == nil {
		return true, nil
	}
	if err := json.Unmarshal(ev.Event.Data, v); err != nil {
		return false, fmt.Errorf("pins: %s: %w", stream, err)
	}
	return true, nil
}
