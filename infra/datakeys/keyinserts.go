package datakeys

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// maxKeyGroup bounds the message keys one grouped insert stores.
const maxKeyGroup = 256

// keyInserts groups the message-key inserts of concurrent seals: the first seal to find no group
// running stores its own key at once (one statement, as alone); seals that arrive meanwhile queue,
// and the next group stores all of them in one statement — one round trip, one transaction and one
// share lock of each day key per group, where a busy conversation otherwise paid them per message
// (each share lock of a day key already share-locked by another transaction creating a multixact).
// The queue is bounded by the seals waiting on it (each waits for its own answer).
type keyInserts struct {
	pool    *pgxpool.Pool
	mu      sync.Mutex
	queue   []*keyInsert
	running bool // a goroutine is storing a group; it starts the next one if the queue is not empty
}

// keyInsert is one message key to store: wrapped under generation gen of day key day.
type keyInsert struct {
	id, day string
	wrapped []byte
	gen     int
	done    chan struct{}
	stored  bool // the day key was still generation gen, holding a key: the row is in
	err     error
}

// store stores k with the seals that run at the same time; stored is false when the day
// key is no longer generation k.gen (replaced by a redaction, or destroyed), and nothing is stored.
// A caller whose ctx ends stops waiting; its key may still be stored (a row no event names).
func (q *keyInserts) store(ctx context.Context, k *keyInsert) (bool, error) {
	k.done = make(chan struct{})
	q.mu.Lock()
	q.queue = append(q.queue, k)
	lead := !q.running
	q.running = true
	q.mu.Unlock()
	if lead {
		q.runGroup() // k is first in this group
	}
	select {
	case <-k.done:
		return k.stored, k.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// runGroup stores the queued keys (up to maxKeyGroup) in one statement and answers each; when
// more have queued meanwhile, a new goroutine stores them, so that no seal's caller stores others'.
func (q *keyInserts) runGroup() {
	q.mu.Lock()
	n := min(len(q.queue), maxKeyGroup)
	group := append([]*keyInsert(nil), q.queue[:n]...)
	q.queue = append(q.queue[:0], q.queue[n:]...)
	q.mu.Unlock()
	q.insert(group)
	q.mu.Lock()
	more := len(q.queue) > 0
	q.running = more
	q.mu.Unlock()
	if more {
		go q.runGroup()
	}
}

// insert stores a group in one statement that commits without waiting for its WAL flush (as
// execAsync: only an event appended afterwards names these keys, and its synchronous commit flushes
// the WAL past them). A key is stored only while its day key is still the generation it was wrapped
// under, share-locked until the commit, so that a redaction replacing the day key (which rewraps the
// day's message keys) either sees the row or makes the insert leave it out.
func (q *keyInserts) insert(group []*keyInsert) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids, days, wrapped, gens := make([]string, len(group)), make([]string, len(group)), make([][]byte, len(group)), make([]int32, len(group))
	for i, k := range group {
		ids[i], days[i], wrapped[i], gens[i] = k.id, k.day, k.wrapped, int32(k.gen)
	}
	stored := map[string]bool{}
	rows, err := q.pool.Query(ctx, `INSERT INTO keys.message_keys (key_id, data_key_id, wrapped)
		SELECT m.id, d.key_id, m.wrapped
		FROM unnest($1::text[], $2::text[], $3::bytea[], $4::int[]) AS m(id, day, wrapped, gen)
		JOIN keys.data_keys d ON d.key_id = m.day AND d.gen = m.gen AND d.wrapped IS NOT NULL,
			(SELECT set_config('synchronous_commit', 'off', true)) AS async
		FOR SHARE OF d
		RETURNING key_id`, ids, days, wrapped, gens)
	if err == nil {
		for rows.Next() {
			var id string
			if err = rows.Scan(&id); err != nil {
				break
			}
			stored[id] = true
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		err = fmt.Errorf("datakeys: store message key: %w", err)
	}
	for _, k := range group {
		k.stored, k.err = stored[k.id], err
		close(k.done)
	}
}
