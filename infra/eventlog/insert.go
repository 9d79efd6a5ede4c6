package eventlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

const insertColumns = `(position, stream, revision, event_id, event_type, content_type, created, data, metadata, digest, chain)`

// insert writes a group's rows in one statement, which is one implicit transaction: one round trip
// and one WAL flush per group. A single row is one prepared INSERT … VALUES; more rows are one
// binary COPY, built here directly from the records (no per-value encoding plans, no arrays), sent
// with its query and its end in one write when it is small (see copyInOneWrite).
func (l *Log) insert(ctx context.Context, rows []Record) error {
	if len(rows) == 1 {
		r := &rows[0]
		_, err := l.pool.Exec(ctx, `INSERT INTO eventlog.events `+insertColumns+` VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			int64(r.Position), r.Stream, int64(r.Revision), [16]byte(r.EventID), r.Type, r.ContentType, r.Created, r.Data, r.Metadata, r.Digest[:], r.Chain[:])
		return err
	}
	l.copyBuf = appendCopyData(l.copyBuf[:0], rows)
	if cap(l.copyBuf) > 4<<20 {
		defer func() { l.copyBuf = nil }() // keep no more than a few MiB between groups
	}
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var stored int64
	if len(l.copyBuf) <= maxOneWriteCopy {
		stored, err = copyInOneWrite(ctx, conn.Conn().PgConn(), copySQL, l.copyBuf)
	} else {
		var tag pgconn.CommandTag
		tag, err = conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(l.copyBuf), copySQL)
		stored = tag.RowsAffected()
	}
	if err != nil {
		return err
	}
	if stored != int64(len(rows)) {
		return fmt.Errorf("eventlog: COPY stored %d of %d rows", stored, len(rows))
	}
	return nil
}

const copySQL = `COPY eventlog.events ` + insertColumns + ` FROM STDIN (FORMAT binary)`

// maxOneWriteCopy bounds the COPY data copyInOneWrite sends (a few hundred events); larger groups,
// whose per-COPY cost is spread over many rows, go through pgx's CopyFrom,
// which streams the data while reading what the server answers.
const maxOneWriteCopy = 64 << 10

// copyInOneWrite runs a COPY … FROM STDIN of data with one write (the query, the data, the end) and
// one read of the answer, where pgx's CopyFrom makes three writes and starts two goroutines. The
// server takes copy data sent before it answers the query (and ignores it after an error), and
// answers little before it has read all, so the write cannot block on an unread answer. On anything
// but an answer from the server the connection is closed (the pool then drops it): what it is in the
// middle of is unknown.
func copyInOneWrite(ctx context.Context, pc *pgconn.PgConn, sql string, data []byte) (int64, error) {
	fail := func(err error) (int64, error) {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = pc.Close(cctx)
		return 0, err
	}
	f := pc.Frontend()
	f.SendQuery(&pgproto3.Query{String: sql})
	f.Send(&pgproto3.CopyData{Data: data})
	f.Send(&pgproto3.CopyDone{})
	if err := f.Flush(); err != nil {
		return fail(err)
	}
	stored := int64(-1)
	var pgErr error
	for {
		msg, err := pc.ReceiveMessage(ctx)
		if err != nil {
			return fail(err)
		}
		switch m := msg.(type) {
		case *pgproto3.CommandComplete:
			stored = pgconn.NewCommandTag(string(m.CommandTag)).RowsAffected()
		case *pgproto3.ErrorResponse:
			pgErr = pgconn.ErrorResponseToPgError(m)
		case *pgproto3.ReadyForQuery:
			return stored, pgErr
		}
	}
}

// copySignature starts PostgreSQL's binary COPY format, followed by flags and extension length (0).
const copySignature = "PGCOPY\n\xff\r\n\x00"

// appendCopyData appends the binary COPY stream of rows in the column order of insertColumns.
func appendCopyData(b []byte, rows []Record) []byte {
	b = append(b, copySignature...)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	for i := range rows {
		r := &rows[i]
		b = binary.BigEndian.AppendUint16(b, 11)
		b = appendCopyInt8(b, int64(r.Position))
		b = appendCopyBytes(b, r.Stream)
		b = appendCopyInt8(b, int64(r.Revision))
		b = appendCopyBytes(b, r.EventID[:])
		b = appendCopyBytes(b, r.Type)
		b = appendCopyBytes(b, r.ContentType)
		b = appendCopyInt8(b, r.Created)
		b = appendCopyBytes(b, r.Data)
		b = appendCopyBytes(b, r.Metadata)
		b = appendCopyBytes(b, r.Digest[:])
		b = appendCopyBytes(b, r.Chain[:])
	}
	return binary.BigEndian.AppendUint16(b, 0xffff) // trailer: -1
}

func appendCopyInt8(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func appendCopyBytes[T string | []byte](b []byte, v T) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}
