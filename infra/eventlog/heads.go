package eventlog

import "sync"

// heads is what readers may know of a stream's end without asking Postgres: for a stream this
// Log's writer appended to since it opened, its last revision — kept only while the stream has no
// metadata stream (no $tb, $maxCount or $maxAge to honour) and no tombstone. It is updated when a
// group is committed, before any of its appends is acknowledged, so a read that starts after an
// append's answer sees that append's revision; the writer is the only one that changes a stream
// (one writer per database: the advisory lock). A forward read from past the end of such a stream
// is answered empty at once: the common read of a fresh decision on a cached state that is
// current.
type heads struct {
	mu sync.RWMutex
	m  map[string]int64
}

// maxHeads bounds heads; it is emptied when full (reads then ask Postgres until the streams are
// appended to again).
const maxHeads = 1 << 20

// headUpdates lists, for the streams of a committed group, the head readers may use (-1: none),
// from the writer's states, which each request's apply has brought up to date.
func headUpdates(states map[string]*streamState, rows []Record) map[string]int64 {
	out := make(map[string]int64, 1)
	for i := range rows {
		base := baseStream(rows[i].Stream)
		st := states[base]
		if st == nil || st.metaLast >= 0 || st.tombstoned || st.last < 0 {
			out[base] = -1
			continue
		}
		out[base] = st.last
	}
	return out
}

// apply records a group's heads.
func (h *heads) apply(updates map[string]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil || len(h.m) >= maxHeads {
		h.m = map[string]int64{}
	}
	for s, last := range updates {
		if last < 0 {
			delete(h.m, s)
		} else {
			h.m[s] = last
		}
	}
}

// forget drops every known head (a commit whose outcome is unknown).
func (h *heads) forget() {
	h.mu.Lock()
	h.m = nil
	h.mu.Unlock()
}

// pastEnd reports whether a forward read of stream from revision from is known to find nothing.
func (h *heads) pastEnd(stream string, from uint64) bool {
	h.mu.RLock()
	last, ok := h.m[stream]
	h.mu.RUnlock()
	return ok && from > uint64(last)
}
