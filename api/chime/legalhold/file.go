package legalhold

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/belfry/belfry/domain"
)

// ExportFile writes the export of q to the file at path, resuming what is there: a file that is
// neither empty nor an export of q (its header, whole or cut short) is refused and left as it is; a
// partial last line is dropped; the export continues after the last complete line. A query refused
// (its account unknown, or its user not one of the account's) creates no file. It returns the progress of this run (Messages: lines it
// added) and the lines the file held before (Resumed).
func (x *Exporter) ExportFile(ctx context.Context, q Query, path string, progress func(Progress)) (p Progress, resumed int64, err error) {
	if err := q.Check(); err != nil {
		return Progress{}, 0, err
	}
	// The query is refused before the file is touched: a refused export creates nothing.
	if err := x.known(ctx, q); err != nil {
		return Progress{}, 0, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return Progress{}, 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	head, _ := json.Marshal(q.header())
	c, end, resumed, err := resumePoint(f, head)
	if err != nil {
		return Progress{}, 0, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Truncate(end); err != nil {
		return Progress{}, 0, err
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		return Progress{}, 0, err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	if end == 0 {
		if _, err := w.Write(append(head, '\n')); err != nil {
			return Progress{}, 0, err
		}
	}
	p, err = x.Run(ctx, q, c, w, func(p Progress) {
		if ferr := w.Flush(); ferr == nil && progress != nil {
			progress(p)
		}
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err == nil {
		err = f.Sync()
	}
	return p, resumed, err
}

// resumePoint reads a file an earlier run wrote: the cursor after its last complete message line,
// where its complete lines end, and how many message lines it holds. An empty file starts afresh.
func resumePoint(f *os.File, head []byte) (c Cursor, end int64, lines int64, err error) {
	r := bufio.NewReaderSize(f, 64<<10)
	first, err := r.ReadBytes('\n')
	if err != nil && err != io.EOF {
		return Cursor{}, 0, 0, err
	}
	if err == io.EOF && bytes.HasPrefix(head, first) {
		return Cursor{}, 0, 0, nil // empty, or this export's header cut short: start again
	}
	if !bytes.Equal(bytes.TrimSuffix(first, []byte("\n")), head) {
		return Cursor{}, 0, 0, domain.Wrapf(ErrInvalid, "--out holds something else than this export (%.200q); choose another file", first)
	}
	end = int64(len(first))
	var last []byte
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return Cursor{}, 0, 0, domain.Wrapf(ErrInvalid, "--out has a line over 64 KiB: not an export this version wrote")
		}
		if err == io.EOF {
			break // a partial line (or nothing) is left: dropped
		}
		if err != nil {
			return Cursor{}, 0, 0, err
		}
		end += int64(len(line))
		lines++
		last = append(last[:0], line...)
	}
	if last == nil {
		return Cursor{}, end, 0, nil
	}
	var m Message
	if err := json.Unmarshal(last, &m); err != nil || m.Type != "message" {
		return Cursor{}, 0, 0, domain.Wrapf(ErrInvalid, "--out: its last line is not a message of this export")
	}
	at, err := time.Parse(time.RFC3339Nano, m.CreatedAt)
	if err != nil {
		return Cursor{}, 0, 0, domain.Wrapf(ErrInvalid, "--out: its last line has no createdAt")
	}
	return Cursor{At: at, ContainerID: m.ContainerID, Message: m.MessageID}, end, lines, nil
}
