package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog"
)

// ErrForeignStore reports an event log that is not the one of the database this process opened.
var ErrForeignStore = errors.New("eventstore: the event log belongs to another database")

// CheckStoreID reads the identity an embedded event log reports (eventlog.StoreStream) and compares
// it with want, the store id of the database this process opened (eventlog.StoreID).
func CheckStoreID(ctx context.Context, client *esdb.Client, want uuid.UUID) error {
	rs, err := client.ReadStream(ctx, eventlog.StoreStream, esdb.ReadStreamOptions{From: esdb.Start{}}, 1)
	if err != nil {
		return fmt.Errorf("eventstore: read the store id: %w", err)
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if errors.Is(err, io.EOF) || IsCode(err, esdb.ErrorCodeResourceNotFound) {
		return fmt.Errorf("%w: it reports no store id (is it a Belfry event log?)", ErrForeignStore)
	}
	if err != nil {
		return fmt.Errorf("eventstore: read the store id: %w", err)
	}
	var body struct {
		StoreID uuid.UUID `json:"storeId"`
	}
	if err := json.Unmarshal(ev.Event.Data, &body); err != nil {
		return fmt.Errorf("%w: unreadable store id: %w", ErrForeignStore, err)
	}
	if body.StoreID != want {
		return fmt.Errorf("%w: it serves store %s, this database's store is %s", ErrForeignStore, body.StoreID, want)
	}
	return nil
}
