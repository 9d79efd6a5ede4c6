package eventlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog/chain"
)

// MaxAppendSize is the largest total size (see eventSize) of the events of one append request.
const MaxAppendSize = 1 << 20

// eventSize is what a proposed event counts towards MaxAppendSize, as KurrentDB counts it
// (Event.SizeOnDisk): its data, its metadata and twice its type (a .NET string's UTF-16 length, which
// twice the UTF-8 length never falls short of). Counting the type bounds the events of one request:
// without it, events with empty data and metadata could be sent without end.
func eventSize(e *Proposed) int { return len(e.Data) + len(e.Metadata) + 2*len(e.Type) }

// TombstoneRevision is the revision of the "$streamDeleted" event that tombstones a stream.
const TombstoneRevision = math.MaxInt64

// Record is one committed event.
type Record struct {
	Position    uint64
	Stream      string
	Revision    uint64
	EventID     uuid.UUID
	Type        string
	ContentType string
	Created     int64 // .NET ticks (100 ns) since the Unix epoch, as the protocol carries them
	Data        []byte
	Metadata    []byte
	// Digest and Chain are set by the writer (package chain); reads leave them zero.
	Digest, Chain chain.Hash
}

// Proposed is an event a client asks to append.
type Proposed struct {
	EventID     uuid.UUID
	Type        string
	ContentType string
	Data        []byte
	Metadata    []byte
}

// ExpectKind says which kind of expected revision an append carries.
type ExpectKind int

// The expected-revision kinds of the protocol.
const (
	ExpectAny ExpectKind = iota
	ExpectNoStream
	ExpectStreamExists
	ExpectExact
)

// Expect is an expected revision.
type Expect struct {
	Kind     ExpectKind
	Revision uint64
}

func (e Expect) String() string {
	switch e.Kind {
	case ExpectNoStream:
		return "no_stream"
	case ExpectStreamExists:
		return "stream_exists"
	case ExpectExact:
		return fmt.Sprint(e.Revision)
	default:
		return "any"
	}
}

// WriteResult is the outcome of a successful write.
type WriteResult struct {
	// Revision of the stream after the write; -1 when it has no events.
	Revision int64
	Position uint64
}

// WrongExpectedVersionError reports an optimistic-concurrency failure.
type WrongExpectedVersionError struct {
	Stream   string
	Expected Expect
	Current  int64 // -1: the stream does not exist
}

func (e *WrongExpectedVersionError) Error() string {
	return fmt.Sprintf("wrong expected version on %q: expected %s, current %d", e.Stream, e.Expected, e.Current)
}

// StreamDeletedError reports an operation on a tombstoned stream.
type StreamDeletedError struct{ Stream string }

func (e *StreamDeletedError) Error() string { return fmt.Sprintf("stream %q is deleted", e.Stream) }

// Sentinel errors of the log.
var (
	ErrLocked          = errors.New("eventlog: another writer holds the log lock on this database")
	ErrClosed          = errors.New("eventlog: closed")
	ErrAppendTooLarge  = fmt.Errorf("eventlog: maximum append size of %d bytes exceeded", MaxAppendSize)
	ErrInvalidRequest  = errors.New("eventlog: invalid request")
	ErrStreamNotFound  = errors.New("eventlog: stream not found")
	errIdempotentRetry = errors.New("idempotent retry")
)

// streamMeta is the part of stream metadata the log honours.
type streamMeta struct {
	TruncateBefore int64 // -1: none
	MaxCount       int64 // 0: none
	MaxAge         int64 // seconds, 0: none
}

func parseMeta(b []byte) (streamMeta, map[string]any) {
	m := streamMeta{TruncateBefore: -1}
	var raw map[string]any
	if len(b) == 0 || json.Unmarshal(b, &raw) != nil {
		return m, map[string]any{}
	}
	num := func(k string) (int64, bool) {
		f, ok := raw[k].(float64)
		return int64(f), ok
	}
	if v, ok := num("$tb"); ok {
		m.TruncateBefore = v
	}
	if v, ok := num("$maxCount"); ok && v > 0 {
		m.MaxCount = v
	}
	if v, ok := num("$maxAge"); ok && v > 0 {
		m.MaxAge = v
	}
	return m, raw
}

// minVisible is the lowest revision a read may return, given the last revision and the time now.
func (m streamMeta) minVisible(last int64) int64 {
	lo := int64(0)
	if m.TruncateBefore > lo {
		lo = m.TruncateBefore
	}
	if m.MaxCount > 0 && last-m.MaxCount+1 > lo {
		lo = last - m.MaxCount + 1
	}
	return lo
}

func (m streamMeta) minCreated(now time.Time) int64 {
	// An age past what a Duration holds (292 years) reaches back before any stored event: nothing is
	// too old. Multiplied into nanoseconds it would wrap, to a cut-off that may lie in the future.
	if m.MaxAge <= 0 || m.MaxAge > int64(math.MaxInt64/time.Second) {
		return math.MinInt64
	}
	return toTicks(now.Add(-time.Duration(m.MaxAge) * time.Second))
}

func toTicks(t time.Time) int64 { return t.UnixNano() / 100 }

func isMetaStream(name string) bool { return strings.HasPrefix(name, "$$") }

func baseStream(name string) string { return strings.TrimPrefix(name, "$$") }
