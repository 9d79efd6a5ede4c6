// Package usecase is what the Wickr slices (api/wickr/*) share to run their use cases, and nothing
// else: the command paths of the Wickr aggregates over the generic execute-and-wait of
// api/chime/usecase (Run answers from the read model when it caught up, from the decided state when
// it is late), the own-network check, and the ids the API allocates.
package usecase

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	chime "github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/account"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// The generic command path (see api/chime/usecase).
type (
	// Aggregate is one aggregate type's repository, read model and bounded wait.
	Aggregate[S, C, E any] = chime.Aggregate[S, C, E]
	// Repository runs the commands of one aggregate type.
	Repository[S, C, E any] = chime.Repository[S, C, E]
	// Decided is what a command decided.
	Decided[S, E any] = chime.Decided[S, E]
	// Command is one command ready to Run.
	Command[S, E any] = chime.Command[S, E]
	// Waiter waits until a read model has applied a position.
	Waiter = chime.Waiter
	// ReadYourWrites bounds the waits for read models.
	ReadYourWrites = chime.ReadYourWrites
)

// Run is api/chime/usecase.Run: check → execute → wait → answer from the read model or the decision.
func Run[S, E, R any](ctx context.Context, c Command[S, E], fromRM func(context.Context) (R, error), fromDecided func(Decided[S, E]) (R, error)) (R, error) {
	return chime.Run(ctx, c, fromRM, fromDecided)
}

// NewReadYourWrites bounds the waits for read models (see api/chime/usecase).
func NewReadYourWrites(wait time.Duration, reg prometheus.Registerer) *ReadYourWrites {
	return chime.NewReadYourWrites(wait, reg)
}

// Exec is Run for a use case that answers nothing but its error.
func Exec[S, E any](ctx context.Context, c Command[S, E]) error { return chime.Exec(ctx, c) }

// The Wickr aggregates' command paths.
type (
	// Networks is the network aggregate's (stream wickr.network-<id>).
	Networks = Aggregate[network.State, network.Command, network.Event]
	// Accounts is the AWS account's Wickr aggregate (stream wickr.account-<awsAccountId>).
	Accounts = Aggregate[account.State, account.Command, account.Event]
	// Rosters is the roster blocks' (streams wickr.roster-<networkId>-<block>).
	Rosters = Aggregate[roster.State, roster.Command, roster.Event]
)

// NetworkPeeker reads a network's state, from the repository's cache when it can.
type NetworkPeeker interface {
	Peek(ctx context.Context, stream string) (network.State, error)
}

// OwnNetwork checks that id is a network of the caller's AWS account in the call's region that is
// not being deleted; any other (another account's, another region's, a malformed id) is
// ResourceNotFound, as if it did not exist. The owner and region never change, so a cached state
// will do; a deletion the cache has not seen is caught by the command itself.
func OwnNetwork(ctx context.Context, networks NetworkPeeker, awsAccountID, region, id string) error {
	if err := wickr.ValidNetworkID("networkId", id); err != nil {
		return err
	}
	st, err := networks.Peek(ctx, network.StreamName(id))
	if err != nil {
		return err
	}
	if !st.Live() || st.AwsAccountID != awsAccountID || st.Region != region {
		return domain.Wrapf(network.ErrNotFound, "Network %s not found", id)
	}
	return nil
}

// Owner binds OwnNetwork to a command: Owner(peeker, aws, region, id) is a check for Command.After.
func Owner(networks NetworkPeeker, awsAccountID, region, id string) func(context.Context) error {
	return func(ctx context.Context) error { return OwnNetwork(ctx, networks, awsAccountID, region, id) }
}

// NewNetworkID is a random network id: 8 digits, the first not 0 (the model's NetworkId).
func NewNetworkID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(90_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%08d", 10_000_000+n.Int64())
}

// idAlphabet spells security group ids: letters and digits, as the model's SecurityGroupId ([\S]+).
const idAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// NewGroupID is a security group id of 8 characters: random, or, for a request with an
// X-Client-Token, derived from the network and the token, so that a retried request names the same
// group and creates it once.
func NewGroupID(networkID, clientToken string) string {
	var seed [8]byte
	if clientToken == "" {
		_, _ = rand.Read(seed[:])
	} else {
		h := sha256.Sum256([]byte("wickr-security-group\x00" + networkID + "\x00" + clientToken))
		copy(seed[:], h[:])
	}
	v := binary.BigEndian.Uint64(seed[:])
	out := make([]byte, 8)
	for i := range out {
		out[i] = idAlphabet[v%uint64(len(idAlphabet))]
		v /= uint64(len(idAlphabet))
	}
	return string(out)
}
