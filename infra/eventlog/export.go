package eventlog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog/chain"
)

// An export of the log for offline verification is a directory of three files.
const (
	ExportStoreFile       = "store.json"        // {"storeId": …, "from": …, "to": …}
	ExportEventsFile      = "events.jsonl"      // one exportedEvent per line, in position order
	ExportCheckpointsFile = "checkpoints.jsonl" // one exportedCheckpoint per line
)

type exportedStore struct {
	StoreID uuid.UUID `json:"storeId"`
	From    uint64    `json:"from"`
	To      uint64    `json:"to"`
}

type exportedEvent struct {
	Position    int64     `json:"position"` // signed: a row stored below position 1 is exported as it is stored
	Stream      string    `json:"stream"`
	Revision    uint64    `json:"revision"`
	EventID     uuid.UUID `json:"eventId"`
	Type        string    `json:"type"`
	ContentType string    `json:"contentType"`
	Created     int64     `json:"created"`
	Data        []byte    `json:"data"`
	Metadata    []byte    `json:"metadata"`
	Digest      []byte    `json:"digest"`
	Chain       []byte    `json:"chain"`
}

type exportedCheckpoint struct {
	Position  uint64 `json:"position"`
	Chain     []byte `json:"chain"`
	Signature []byte `json:"signature"`
	KeyID     string `json:"keyId"`
}

// Export writes every stored event (with its digest and chain) and every checkpoint to dir, for
// VerifyExport; progress, when set, is called about every 100,000 events. It returns the events in
// the export. An export of this log already in dir — interrupted (a partial last line is dropped) or
// finished — is continued after its last complete event line, which must be the log's row at that
// position (same event, same chain: the lines before it are then this log's too); anything else is
// written again from the start. store.json, which names the export's end, is written last.
func Export(ctx context.Context, pool *pgxpool.Pool, dir string, progress func(uint64)) (uint64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	store, err := StoreID(ctx, pool)
	if err != nil {
		return 0, err
	}
	cps, err := Checkpoints(ctx, pool)
	if err != nil {
		return 0, err
	}
	var out []exportedCheckpoint
	for _, cp := range cps {
		out = append(out, exportedCheckpoint{Position: cp.Position, Chain: cp.Chain[:], Signature: cp.Signature, KeyID: cp.KeyID})
	}
	if err := writeJSONLines(filepath.Join(dir, ExportCheckpointsFile), out); err != nil {
		return 0, err
	}
	// Until the events are all there, no store.json says where they end.
	if err := os.Remove(filepath.Join(dir, ExportStoreFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	n, last, err := exportEvents(ctx, pool, filepath.Join(dir, ExportEventsFile), progress)
	if err != nil {
		return 0, err
	}
	b, _ := json.Marshal(exportedStore{StoreID: store, From: 1, To: last})
	return n, os.WriteFile(filepath.Join(dir, ExportStoreFile), b, 0o644)
}

func writeJSONLines[T any](path string, items []T) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// exportEvents writes to the events file at path the rows after those it already holds (see
// resumeEvents); it returns the lines the file holds and the last position (0 for none, or a row
// stored below position 1).
func exportEvents(ctx context.Context, pool *pgxpool.Pool, path string, progress func(uint64)) (n, last uint64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	n, after, end, err := resumeEvents(ctx, pool, f)
	if err != nil {
		return 0, 0, err
	}
	if err := f.Truncate(end); err != nil {
		return 0, 0, err
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		return 0, 0, err
	}
	if n > 0 {
		last = uint64(max(after, 0))
		if progress != nil {
			progress(last) // where it goes on from
		}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	rows, err := pool.Query(ctx, `SELECT `+selectCols+`, digest, chain FROM eventlog.events WHERE position > $1 ORDER BY position`, after)
	if err != nil {
		return 0, 0, fmt.Errorf("eventlog: export: %w", err)
	}
	defer rows.Close()
	var e exportedEvent
	var pos, rev int64
	for rows.Next() {
		var id [16]byte // as bytes: uuid.UUID's sql.Scanner would go through its text form
		if err := rows.Scan(&pos, &e.Stream, &rev, &id, &e.Type, &e.ContentType, &e.Created, &e.Data, &e.Metadata, &e.Digest, &e.Chain); err != nil {
			return 0, 0, err
		}
		e.Position, e.Revision, e.EventID = pos, uint64(rev), id
		if err := enc.Encode(&e); err != nil {
			return 0, 0, err
		}
		n, last = n+1, uint64(max(pos, 0))
		if progress != nil && n%ProgressEvery == 0 {
			progress(last)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("eventlog: export: %w", err)
	}
	if err := w.Flush(); err != nil {
		return 0, 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, 0, err
	}
	return n, last, f.Close()
}

// resumeEvents reads the events file an earlier export wrote: the complete lines it holds, the
// position of the last one (math.MinInt64 for none) and where they end. A partial last line is left
// out; so is the whole file (nothing kept) when its last complete line is not the log's row at its
// position — another log's export, or a log rewritten since.
func resumeEvents(ctx context.Context, pool *pgxpool.Pool, f *os.File) (n uint64, after, end int64, err error) {
	r := bufio.NewReaderSize(f, 1<<20)
	var last []byte
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // a partial line, or nothing, is left: dropped
		}
		if err != nil {
			return 0, 0, 0, err
		}
		n, end, last = n+1, end+int64(len(line)), line
	}
	var e exportedEvent
	if n == 0 || json.Unmarshal(last, &e) != nil {
		return 0, math.MinInt64, 0, nil
	}
	var id [16]byte
	var digest, chain []byte
	err = pool.QueryRow(ctx, `SELECT event_id, digest, chain FROM eventlog.events WHERE position = $1`, e.Position).Scan(&id, &digest, &chain)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && (uuid.UUID(id) != e.EventID || !bytes.Equal(digest, e.Digest) || !bytes.Equal(chain, e.Chain)) {
		return 0, math.MinInt64, 0, nil
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("eventlog: export: resume: %w", err)
	}
	return n, e.Position, end, nil
}

// VerifyExport verifies an export directory offline against the public key pub (which must come
// from a source the auditor trusts, not from the export alone).
func VerifyExport(dir string, pub ed25519.PublicKey) (chain.Result, error) {
	return VerifyExportProgress(dir, pub, 0, nil)
}

// ProgressEvery is how many events a long verification checks between two progress reports.
const ProgressEvery = 100_000

// VerifyExportProgress is VerifyExport calling progress, when set, every `every` events (0:
// ProgressEvery) with the number of events checked so far.
func VerifyExportProgress(dir string, pub ed25519.PublicKey, every uint64, progress func(rows uint64)) (chain.Result, error) {
	if every == 0 {
		every = ProgressEvery
	}
	b, err := os.ReadFile(filepath.Join(dir, ExportStoreFile))
	if err != nil {
		return chain.Result{}, fmt.Errorf("eventlog: %s is not an export of the log: %w", dir, err)
	}
	var st exportedStore
	if err := json.Unmarshal(b, &st); err != nil {
		return chain.Result{}, fmt.Errorf("eventlog: %s: %w", ExportStoreFile, err)
	}
	var cps []chain.Checkpoint
	if err := readJSONLines(filepath.Join(dir, ExportCheckpointsFile), func(c *exportedCheckpoint) error {
		cp := chain.Checkpoint{Position: c.Position, Signature: c.Signature, KeyID: c.KeyID}
		copy(cp.Chain[:], c.Chain)
		cps = append(cps, cp)
		return nil
	}); err != nil {
		return chain.Result{}, err
	}
	v := chain.NewVerifier(pub, st.StoreID, 0, chain.Hash{}, cps)
	var lines uint64
	err = readJSONLines(filepath.Join(dir, ExportEventsFile), func(e *exportedEvent) error {
		if lines++; progress != nil && lines%every == 0 {
			defer progress(lines)
		}
		if e.Position < 1 {
			v.Stray(e.Position, e.Stream, e.Revision)
			return nil
		}
		v.Feed(&chain.Row{Event: chain.Event{Position: uint64(e.Position), Stream: e.Stream, Revision: e.Revision, EventID: e.EventID,
			Type: e.Type, ContentType: e.ContentType, Created: e.Created, Data: e.Data, Metadata: e.Metadata}, Digest: e.Digest, Chain: e.Chain})
		return nil
	})
	if err != nil {
		return chain.Result{}, err
	}
	v.ExpectEnd(st.To) // the export's own end: lines lost from the end of its events are removed events
	return v.Finish(0), nil
}

// readJSONLines decodes each line of path into a fresh T and hands it to f.
func readJSONLines[T any](path string, f func(*T) error) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("eventlog: %w", err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 4*MaxAppendSize)
	line := 0
	for sc.Scan() {
		line++
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return fmt.Errorf("eventlog: %s line %d: %w", filepath.Base(path), line, err)
		}
		if err := f(&v); err != nil {
			return err
		}
	}
	return sc.Err()
}
