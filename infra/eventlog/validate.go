package eventlog

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
)

// MaxNameLength is the longest stream name, event type or content type, in bytes. Stream names are
// indexed, and PostgreSQL refuses index entries much larger than 2 kB.
const MaxNameLength = 1024

// checkText reports why s cannot be stored faithfully in a PostgreSQL text column, naming field:
// text holds no NUL and only valid UTF-8, and names are bounded.
func checkText(field, s string) error {
	return textError(s, func() string { return field })
}

// textError is checkText with the field's name built only when s is refused.
func textError(s string, field func() string) error {
	if s == "" {
		return fmt.Errorf("%w: %s is required", ErrInvalidRequest, field())
	}
	if len(s) > MaxNameLength {
		return fmt.Errorf("%w: %s is %d bytes long; at most %d are allowed", ErrInvalidRequest, field(), len(s), MaxNameLength)
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("%w: %s contains a NUL character at byte %d", ErrInvalidRequest, field(), i)
	}
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return fmt.Errorf("%w: %s is not valid UTF-8 (byte %d)", ErrInvalidRequest, field(), i)
	}
	return nil
}

// checkStream validates a stream name a client asks to write.
func checkStream(name string) error {
	if err := checkText("stream name", name); err != nil {
		return err
	}
	if baseStream(name) == StoreStream {
		return fmt.Errorf("%w: stream %q is reserved (it reports the store's identity)", ErrInvalidRequest, name)
	}
	return nil
}

// checkDeletable validates a stream name a client asks to delete or tombstone. A metadata stream
// "$$x" is not deleted on its own: the writer keeps its state with x's, which a delete would then
// mark (x refusing appends as deleted, or hiding its events, while reads show it alive). Deleting x
// is what hides x; its metadata is replaced by appending to "$$x".
func checkDeletable(name string) error {
	if err := checkStream(name); err != nil {
		return err
	}
	if isMetaStream(name) {
		return fmt.Errorf("%w: stream %q is a metadata stream, which is not deleted itself: delete %q, or append its new metadata",
			ErrInvalidRequest, name, baseStream(name))
	}
	return nil
}

// checkAppend validates a whole append request before it joins a group, so that one request that
// cannot be stored never fails the others committed with it.
func checkAppend(stream string, events []Proposed) error {
	if err := checkStream(stream); err != nil {
		return err
	}
	for i := range events {
		e := &events[i]
		if err := textError(e.Type, func() string { return fmt.Sprintf("event %d (%s) type", i, e.EventID) }); err != nil {
			return err
		}
		if err := textError(e.ContentType, func() string { return fmt.Sprintf("event %d (%s) content type", i, e.EventID) }); err != nil {
			return err
		}
	}
	return nil
}

// rowFault reports whether a failed INSERT was refused by PostgreSQL because of the rows it carried
// (data exception, integrity violation, program limit such as an oversized index entry): the
// statement was rolled back, so nothing of it is stored and its requests may be re-run.
func rowFault(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "54":
		return true
	}
	return false
}

// lenientCodec is gRPC's own protobuf codec, except for a message it cannot decode (invalid UTF-8
// in a protobuf string such as an event type, which the official client refuses to send; truncated
// fields): the library would answer that call with Internal before any handler runs, so the codec
// reports success and keeps the failure, and the interceptors answer InvalidArgument for that call
// alone.
type lenientCodec struct {
	encoding.CodecV2
	pending atomic.Int64
	failed  sync.Map // message pointer → decode error
}

func newLenientCodec(inner encoding.CodecV2) *lenientCodec {
	return &lenientCodec{CodecV2: inner}
}

func (c *lenientCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if err := c.CodecV2.Unmarshal(data, v); err != nil {
		c.pending.Add(1)
		c.failed.Store(v, err)
	}
	return nil
}

// failure returns InvalidArgument when v could not be decoded, and forgets it.
func (c *lenientCodec) failure(v any) error {
	if c.pending.Load() == 0 {
		return nil
	}
	err, ok := c.failed.LoadAndDelete(v)
	if !ok {
		return nil
	}
	c.pending.Add(-1)
	return status.Errorf(codes.InvalidArgument, "malformed request message (event types, content types and metadata "+
		"must be valid UTF-8): %v", err)
}

// decodeChecked is a server stream whose received messages are checked against the codec's failures.
type decodeChecked struct {
	grpc.ServerStream
	codec *lenientCodec
}

func (s decodeChecked) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.codec.failure(m)
}

// checkReadStream validates a stream name a client asks to read.
func checkReadStream(name string) error {
	return checkText("stream name", name)
}

// isolate answers the requests of a group whose stream-state query or INSERT PostgreSQL refused for
// the values they carry (so nothing of it is stored): a lone request fails with InvalidArgument; the
// members of a larger group are re-run one by one, so that only the culprit fails and the others
// commit.
func (l *Log) isolate(reqs []*writeReq, err error) {
	if len(reqs) == 1 {
		reqs[0].reply <- writeReply{err: fmt.Errorf("%w: PostgreSQL refused to store it: %w", ErrInvalidRequest, err)}
		return
	}
	for _, r := range reqs {
		l.process([]*writeReq{r})
	}
}
