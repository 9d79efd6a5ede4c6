package eventlog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

const selectCols = `position, stream, revision, event_id, event_type, content_type, created, data, metadata`

func scanRecords(rows pgx.Rows) ([]Record, error) {
	defer rows.Close()
	var out []Record
	var sc recordScanner
	for rows.Next() {
		r, err := sc.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// recordScanner turns rows of selectCols into Records with few allocations: data and metadata are
// copied into shared slabs, event types and content types are interned, and a stream name is reused
// from the row before when it repeats. Rows whose integer, uuid or bytea columns are not in binary
// format go through rows.Scan.
type recordScanner struct {
	slab   []byte
	names  map[string]string
	stream string
	binary int // 0 unknown, 1 yes, -1 no
}

func (s *recordScanner) scan(rows pgx.Rows) (Record, error) {
	if s.binary == 0 {
		s.binary = -1
		if fds := rows.FieldDescriptions(); len(fds) == 9 {
			s.binary = 1
			for i, fd := range fds {
				// text columns (1, 4, 5) are the same bytes in either format
				if fd.Format != pgx.BinaryFormatCode && i != 1 && i != 4 && i != 5 {
					s.binary = -1
				}
			}
		}
	}
	raw := rows.RawValues()
	if s.binary < 0 || len(raw) != 9 || len(raw[0]) != 8 || len(raw[2]) != 8 || len(raw[3]) != 16 || len(raw[6]) != 8 {
		var r Record
		var pos, rev int64
		var id [16]byte
		if err := rows.Scan(&pos, &r.Stream, &rev, &id, &r.Type, &r.ContentType, &r.Created, &r.Data, &r.Metadata); err != nil {
			return Record{}, err
		}
		r.Position, r.Revision, r.EventID = uint64(pos), uint64(rev), id
		return r, nil
	}
	if string(raw[1]) != s.stream {
		s.stream = string(raw[1])
	}
	r := Record{Position: binary.BigEndian.Uint64(raw[0]), Stream: s.stream, Revision: binary.BigEndian.Uint64(raw[2]),
		EventID: uuid.UUID(raw[3]), Type: s.intern(raw[4]), ContentType: s.intern(raw[5]),
		Created: int64(binary.BigEndian.Uint64(raw[6])), Data: s.copy(raw[7]), Metadata: s.copy(raw[8])}
	return r, nil
}

// intern returns b as a string, allocating once per distinct value (up to a bound).
func (s *recordScanner) intern(b []byte) string {
	if v, ok := s.names[string(b)]; ok {
		return v
	}
	v := string(b)
	if s.names == nil {
		s.names = map[string]string{}
	}
	if len(s.names) < 256 {
		s.names[v] = v
	}
	return v
}

// copy returns a copy of b carved from the scanner's slab (never nil, like a scanned empty bytea).
func (s *recordScanner) copy(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	if cap(s.slab)-len(s.slab) < len(b) {
		s.slab = make([]byte, 0, max(64<<10, len(b)))
	}
	start := len(s.slab)
	s.slab = append(s.slab, b...)
	return s.slab[start:len(s.slab):len(s.slab)]
}

// ReadAllForwards returns up to count records with position >= from and <= the published head.
func (l *Log) ReadAllForwards(ctx context.Context, from uint64, count int) ([]Record, error) {
	if from == 0 {
		from = 1
	}
	l.mu.RLock()
	head := l.head
	if from >= l.ringLo && from <= head {
		n := int(head - from + 1)
		if n > count {
			n = count
		}
		out := make([]Record, n)
		size := uint64(len(l.ring))
		for i := range out {
			out[i] = l.ring[(from+uint64(i)-1)%size]
		}
		l.mu.RUnlock()
		return out, nil
	}
	l.mu.RUnlock()
	if from > head {
		return nil, nil
	}
	rows, err := l.pool.Query(ctx, `SELECT `+selectCols+` FROM eventlog.events
		WHERE position >= $1 AND position <= $2 ORDER BY position LIMIT $3`, int64(from), int64(head), count)
	if err != nil {
		return nil, fmt.Errorf("eventlog: read $all: %w", err)
	}
	return scanRecords(rows)
}

// ReadAllBackwards returns up to count records with position < before (0 means from the head), newest first.
func (l *Log) ReadAllBackwards(ctx context.Context, before uint64, count int) ([]Record, error) {
	head, _ := l.Head()
	if before == 0 || before > head+1 {
		before = head + 1
	}
	rows, err := l.pool.Query(ctx, `SELECT `+selectCols+` FROM eventlog.events
		WHERE position < $1 ORDER BY position DESC LIMIT $2`, int64(before), count)
	if err != nil {
		return nil, fmt.Errorf("eventlog: read $all backwards: %w", err)
	}
	return scanRecords(rows)
}

// StreamInfo is what a reader needs to know of a stream before reading it.
type StreamInfo struct {
	Last       int64 // -1: no events
	Tombstoned bool
	meta       streamMeta
}

// statSQL reads a stream's last revision and its metadata stream's latest data.
const statSQL = `SELECT
	(SELECT revision FROM eventlog.events WHERE stream = $1 AND position > 0 ORDER BY revision DESC LIMIT 1),
	(SELECT data FROM eventlog.events WHERE stream = '$$' || $1 AND position > 0 ORDER BY revision DESC LIMIT 1)`

// Stat returns the stream's last revision, tombstone flag and metadata.
func (l *Log) Stat(ctx context.Context, stream string) (StreamInfo, error) {
	var last *int64
	var meta []byte
	if err := l.pool.QueryRow(ctx, statSQL, stream).Scan(&last, &meta); err != nil {
		return StreamInfo{}, fmt.Errorf("eventlog: stat %q: %w", stream, err)
	}
	return statInfo(stream, last, meta), nil
}

func statInfo(stream string, last *int64, meta []byte) StreamInfo {
	info := StreamInfo{Last: -1}
	info.meta, _ = parseMeta(meta)
	if isMetaStream(stream) && info.meta.MaxCount == 0 {
		info.meta.MaxCount = 1 // metadata streams keep only their latest event, as in KurrentDB
	}
	if last != nil {
		info.Last = *last
		info.Tombstoned = *last == TombstoneRevision
	}
	return info
}

// ReadStream reads a stream forwards from revision from (inclusive) or backwards from revision from
// (inclusive; math.MaxUint64 means the end), honouring $tb, $maxCount and $maxAge. It fails with
// *StreamDeletedError for a tombstoned stream and ErrStreamNotFound for a missing or soft-deleted one.
// maxPosition, when non-zero, bounds the positions returned.
//
// One round trip reads the stream's state and the page as if its metadata restricted nothing (the
// common case: no $tb, $maxCount or $maxAge); when the metadata does restrict it, the page is read
// again within its bounds.
func (l *Log) ReadStream(ctx context.Context, stream string, forwards bool, from uint64, count int, maxPosition uint64) ([]Record, error) {
	if forwards && maxPosition == 0 && l.heads.pastEnd(stream, from) {
		return nil, nil
	}
	maxPos := int64(math.MaxInt64)
	if maxPosition > 0 {
		maxPos = int64(maxPosition)
	}
	start := int64(min(from, uint64(math.MaxInt64)))
	var last *int64
	var meta []byte
	var recs []Record
	b := &pgx.Batch{}
	b.Queue(statSQL, stream).QueryRow(func(r pgx.Row) error { return r.Scan(&last, &meta) })
	q, args := pageQuery(stream, forwards, start, 0, math.MinInt64, count, maxPos)
	b.Queue(q, args...).Query(func(rows pgx.Rows) (err error) { recs, err = scanRecords(rows); return err })
	if err := l.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("eventlog: read %q: %w", stream, err)
	}
	info := statInfo(stream, last, meta)
	if info.Tombstoned {
		return nil, &StreamDeletedError{Stream: stream}
	}
	if info.Last < 0 || info.meta.TruncateBefore > info.Last {
		return nil, ErrStreamNotFound
	}
	lo := info.meta.minVisible(info.Last)
	minCreated := info.meta.minCreated(l.cfg.Now())
	if lo == 0 && minCreated == math.MinInt64 {
		return recs, nil
	}
	if forwards && start < lo {
		start = lo
	}
	q, args = pageQuery(stream, forwards, start, lo, minCreated, count, maxPos)
	rows, err := l.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("eventlog: read %q: %w", stream, err)
	}
	return scanRecords(rows)
}

// pageQuery is the query of a page of a stream from revision start, forwards or backwards, no
// lower than revision lo nor created before minCreated, at most count events, none past maxPos nor
// below position 1 (which the writer never assigns: such a row was put there behind its back, and
// audit verify names it).
//
// A bound that restricts nothing (lo 0, minCreated math.MinInt64, maxPos math.MaxInt64: the common
// read) is left out of the query, and the position bound, when there is one, is written so that no
// index can serve it: the statement is prepared once per connection, and after a few executions
// Postgres may plan it without its parameters' values, where a parameter's range on position made
// it walk the whole log by its primary key (17 ms at 5,600 events, growing with the log) instead of
// the stream's few rows by (stream, revision) (0.03 ms).
func pageQuery(stream string, forwards bool, start, lo, minCreated int64, count int, maxPos int64) (string, []any) {
	q := `SELECT ` + selectCols + ` FROM eventlog.events WHERE stream = $1 AND position > 0`
	args := []any{stream}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if forwards {
		q += ` AND revision >= ` + arg(start)
	} else {
		q += ` AND revision <= ` + arg(start)
		if lo > 0 {
			q += ` AND revision >= ` + arg(lo)
		}
	}
	if minCreated != math.MinInt64 {
		q += ` AND created >= ` + arg(minCreated)
	}
	if maxPos != math.MaxInt64 {
		q += ` AND (position <= ` + arg(maxPos) + `) IS TRUE`
	}
	if forwards {
		return q + ` ORDER BY revision LIMIT ` + arg(count), args
	}
	return q + ` ORDER BY revision DESC LIMIT ` + arg(count), args
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
