package eventstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
)

// SnapshotCached writes, synchronously, a snapshot of every cached stream that is at least Every
// events long and has moved past the last snapshot this process knows of, longest tail first, so that
// the next start loads each of them with no tail to fold. Call it at a clean stop, after the API has
// stopped taking commands: it takes each stream's lock in turn (a command still running only delays
// it) and waits for the background snapshot writes first, so no older snapshot lands after its own.
// It stops at ctx's end, leaving the rest to their last snapshot, and returns how many it wrote; a
// failed snapshot is counted in SnapshotStats.Failed and logged, never returned (a snapshot is a cache).
func (r *Repository[S, C, E]) SnapshotCached(ctx context.Context) int {
	sn := r.snaps
	if sn == nil {
		return 0
	}
	sn.wg.Wait()
	type due struct {
		stream string
		tail   int64
	}
	var todo []due
	r.mu.Lock()
	for stream, c := range r.cache {
		if c.revision+1 >= sn.cfg.Every && c.revision > c.snapRev {
			todo = append(todo, due{stream, c.revision - c.snapRev})
		}
	}
	r.mu.Unlock()
	slices.SortFunc(todo, func(a, b due) int { return cmp.Compare(b.tail, a.tail) })
	written := 0
	for _, d := range todo {
		if ctx.Err() != nil {
			break
		}
		if r.snapshotNow(ctx, d.stream) {
			written++
		}
	}
	return written
}

// snapshotNow encodes and writes the cached state of stream under its lock; false when it did not.
func (r *Repository[S, C, E]) snapshotNow(ctx context.Context, stream string) bool {
	sn := r.snaps
	unlock := r.keys.lock(stream)
	defer unlock()
	c, ok := r.cached(stream)
	if !ok || c.revision <= c.snapRev || c.revision+1 < sn.cfg.Every || c.lastID == uuid.Nil {
		return false
	}
	for {
		sn.mu.Lock()
		busy := sn.inflight[stream]
		if !busy {
			sn.inflight[stream] = true
		}
		sn.mu.Unlock()
		if !busy {
			break
		}
		sn.wg.Wait() // a write of this stream started before the lock was taken
	}
	defer sn.done(stream)
	data, err := sn.encode(c.state)
	if err != nil {
		sn.failed.Add(1)
		sn.cfg.Logger.Warn("eventstore: snapshot at stop does not encode", "stream", stream, "revision", c.revision, "err", err)
		return false
	}
	snap := Snapshot{Revision: c.revision, EventID: c.lastID, Version: sn.cfg.Codec.Version(), Data: data}
	if err := sn.cfg.Store.SaveSnapshot(ctx, stream, snap); err != nil {
		sn.failed.Add(1)
		sn.cfg.Logger.Warn("eventstore: snapshot at stop not written", "stream", stream, "revision", c.revision, "err", err)
		return false
	}
	sn.taken.Add(1)
	c.snapRev, c.snapAt = c.revision, time.Now()
	r.remember(stream, c)
	return true
}
