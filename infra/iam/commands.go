package iam

import (
	"context"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/belfry/belfry/domain/belfry/iam"
	"github.com/belfry/belfry/infra/eventstore"
)

// Decider is the IAM stream's decider for the event store's command path.
var Decider = eventstore.DeciderOf[iam.State, iam.Command, iam.Event](iam.Initial, iam.Evolve, iam.Decide, iam.Decode)

// Commands runs IAM commands on the installation's IAM stream with expected revisions.
type Commands struct {
	repo *eventstore.Repository[iam.State, iam.Command, iam.Event]
}

// NewCommands returns the IAM command path over client.
func NewCommands(client *esdb.Client) *Commands {
	return &Commands{repo: eventstore.NewRepository(client, Decider, nil)}
}

// ExecuteIAM runs c: the events appended and the $all position of the last one (0: none).
func (c *Commands) ExecuteIAM(ctx context.Context, cmd iam.Command) ([]iam.Event, uint64, error) {
	res, err := c.repo.Execute(ctx, iam.Stream, cmd)
	return res.Events, res.Position, err
}
