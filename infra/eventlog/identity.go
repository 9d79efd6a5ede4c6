package eventlog

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// StoreStream is the read-only stream in which the server reports the identity of its store: one
// event of type StoreStream whose id is the store id and whose data is {"storeId": "<uuid>"}. The id
// is generated into the database when the schema is first migrated (eventlog.store).
const StoreStream = "$belfry-store"

// StoreID returns the identity of the event log kept in the database behind pool.
func StoreID(ctx context.Context, pool *pgxpool.Pool) (uuid.UUID, error) {
	var id uuid.UUID
	if err := pool.QueryRow(ctx, "SELECT id FROM eventlog.store").Scan(&id); err != nil {
		return uuid.Nil, fmt.Errorf("eventlog: read the store id: %w", err)
	}
	return id, nil
}

// storeEvent is the one event of StoreStream.
func storeEvent(id uuid.UUID) *api.ReadResp {
	data, _ := json.Marshal(map[string]string{"storeId": id.String()})
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               uuidToProto(id),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(StoreStream)},
			Metadata:         map[string]string{"type": StoreStream, "content-type": "application/json", "created": "0"},
			CustomMetadata:   []byte{},
			Data:             data,
		},
		Position: &api.ReadResp_ReadEvent_NoPosition{NoPosition: &shared.Empty{}},
	}}}
}

// uuidToProto is u as the protocol's structured UUID.
func uuidToProto(u uuid.UUID) *shared.UUID {
	var most, least uint64
	for i := 0; i < 8; i++ {
		most = most<<8 | uint64(u[i])
		least = least<<8 | uint64(u[8+i])
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: int64(most), LeastSignificantBits: int64(least)}}}
}
