package wickrarchive

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/projections/wickrconversations"
)

// Holds says which gone messages this archive has yet to ship, so that their keys wait for it
// (api/wickr/messaging ArchiveHolds): a message is held when a network whose archive must keep it
// (an item of the archive's read model) has not shipped past it to this shipper's target, or when
// the read model has not applied its post yet (it may be such an item; Applied says how far it has
// applied the log).
type Holds struct {
	Shipper *Shipper
	Applied func() uint64
}

// Held answers the held messages among due, by message id.
func (h Holds) Held(ctx context.Context, due []wickrconversations.Due) (map[string]bool, error) {
	out := map[string]bool{}
	applied := h.Applied()
	var ids []string
	for _, d := range due {
		if d.Position > applied {
			out[d.MessageID] = true
			continue
		}
		ids = append(ids, d.MessageID)
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := h.Shipper.pool.Query(ctx, `SELECT DISTINCT i.message_id FROM rm.wickr_archive_items i
		LEFT JOIN wickrarchive.shipments s ON s.target = $2 AND s.network_id = i.network_id
		WHERE i.message_id = ANY($1) AND i.seq > coalesce((s.state->>'shipped')::bigint, 0)`, ids, h.Shipper.stateKey())
	var id string
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { out[id] = true; return nil }); err != nil {
		return nil, fmt.Errorf("wickrarchive: held messages: %w", err)
	}
	return out, nil
}
