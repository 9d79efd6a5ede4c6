package eventbridge

import (
	"context"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// Log reads first events through the event store client.
type Log struct{ Client *esdb.Client }

// FirstEvent implements FirstEvents.
func (l Log) FirstEvent(ctx context.Context, stream string) (string, []byte, error) {
	rs, err := l.Client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.Start{}, Direction: esdb.Forwards}, 1)
	if err != nil {
		return "", nil, fmt.Errorf("eventbridge: read %s: %w", stream, err)
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if err != nil {
		return "", nil, fmt.Errorf("eventbridge: read %s: %w", stream, err)
	}
	return ev.Event.EventType, ev.Event.Data, nil
}
