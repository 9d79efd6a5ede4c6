package eventlog

import (
	"context"

	"github.com/google/uuid"
)

// recentAppend is what the writer remembers of the last append committed to a stream: its event ids
// and the position of its last event. It answers retries of that append made with expected revision
// Any or StreamExists, which no revision check can recognise.
type recentAppend struct {
	ids      []uuid.UUID
	position uint64
}

func newRecentAppend(events []Proposed, position uint64) *recentAppend {
	ids := make([]uuid.UUID, len(events))
	for i, e := range events {
		ids[i] = e.EventID
	}
	return &recentAppend{ids: ids, position: position}
}

// repeatsLast reports whether r (an Any or StreamExists append to an existing stream) carries, in
// order, the event ids of the stream's last events; then it is a retry of a committed append and
// gets that append's result, as KurrentDB answers it, instead of storing the events twice. The
// writer's memory answers when it holds the stream's last append; otherwise the stored tail is read.
func (l *Log) repeatsLast(ctx context.Context, r *writeReq, st *streamState) (WriteResult, bool) {
	n := len(r.events)
	if n == 0 || int64(n) > st.last+1 {
		return WriteResult{}, false
	}
	if ra := st.recent; ra != nil && len(ra.ids) >= n {
		tail := ra.ids[len(ra.ids)-n:]
		for i, e := range r.events {
			if tail[i] != e.EventID {
				return WriteResult{}, false
			}
		}
		return WriteResult{Revision: st.last, Position: ra.position}, true
	}
	if st.recent != nil && r.events[n-1].EventID != st.recent.ids[len(st.recent.ids)-1] {
		return WriteResult{}, false
	}
	rows, err := l.pool.Query(ctx, `SELECT event_id, position FROM eventlog.events
		WHERE stream = $1 AND revision > $2 AND revision <= $3 ORDER BY revision`, r.stream, st.last-int64(n), st.last)
	if err != nil {
		return WriteResult{}, false
	}
	defer rows.Close()
	i := 0
	var pos int64
	for rows.Next() {
		var id [16]byte
		if err := rows.Scan(&id, &pos); err != nil || i >= n || id != r.events[i].EventID {
			return WriteResult{}, false
		}
		i++
	}
	if rows.Err() != nil || i != n {
		return WriteResult{}, false
	}
	return WriteResult{Revision: st.last, Position: uint64(pos)}, true
}
