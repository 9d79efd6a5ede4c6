package eventstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// Head is the $all position of the log's last event (0 for an empty log).
func Head(ctx context.Context, client *esdb.Client) (uint64, error) {
	rs, err := client.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.End{}, Direction: esdb.Backwards}, 1)
	if err != nil {
		return 0, fmt.Errorf("eventstore: read the head: %w", err)
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if errors.Is(err, io.EOF) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("eventstore: read the head: %w", err)
	}
	return ev.Event.Position.Commit, nil
}

// Pass calls fn, in $all order, with every event of the streams starting with one of prefixes whose
// position is after from and at most to: one filtered pass over $all (the server filters; a
// catch-up subscription, the only read of $all the protocol filters), ended at to — by the first
// event or checkpoint past it, or when the subscription has caught up with the log. fn's error
// stops the pass and is returned.
func Pass(ctx context.Context, client *esdb.Client, prefixes []string, from, to uint64, fn func(*esdb.RecordedEvent) error) error {
	if to <= from {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var start esdb.AllPosition = esdb.Start{}
	if from > 0 {
		start = esdb.Position{Commit: from, Prepare: from}
	}
	sub, err := client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: start, MaxSearchWindow: 256, CheckpointInterval: 64,
		Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: prefixes}})
	if err != nil {
		return fmt.Errorf("eventstore: pass over $all: %w", err)
	}
	defer sub.Close()
	for {
		m := sub.Recv()
		switch {
		case m.SubscriptionDropped != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("eventstore: pass over $all: %w", m.SubscriptionDropped.Error)
		case m.CaughtUp != nil:
			return nil
		case m.CheckPointReached != nil:
			if m.CheckPointReached.Commit >= to {
				return nil
			}
		case m.EventAppeared != nil && m.EventAppeared.Event != nil:
			ev := m.EventAppeared.Event
			if ev.Position.Commit > to {
				return nil
			}
			if ev.Position.Commit <= from {
				continue
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
}

// StreamPass calls fn, in order, with the events of one stream whose $all position is at most to: a
// read of the stream by name (a missing stream has none), which costs the stream's events only,
// where a filtered Pass scans every event of the log. fn's error stops it and is returned.
func StreamPass(ctx context.Context, client *esdb.Client, stream string, to uint64, fn func(*esdb.RecordedEvent) error) error {
	rs, err := client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.Start{}}, ^uint64(0))
	if IsCode(err, esdb.ErrorCodeResourceNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("eventstore: read %s: %w", stream, err)
	}
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		switch {
		case errors.Is(err, io.EOF), IsCode(err, esdb.ErrorCodeResourceNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("eventstore: read %s: %w", stream, err)
		case ev.Event == nil:
			continue
		case ev.Event.Position.Commit > to:
			return nil
		}
		if err := fn(ev.Event); err != nil {
			return err
		}
	}
}
