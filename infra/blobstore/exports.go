package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
)

// Export is one attachment export (table blobs.data_exports).
type Export = attachment.Export

// ErrNoExport is an export that does not exist (or is not the account's).
var ErrNoExport = &domain.Error{Kind: domain.KindNotFound, Msg: "data export not found"}

// WithExports sets the directory export listings are written to (<data dir>/exports by default in
// cmd/belfry).
func (s *Store) WithExports(dir string) *Store { s.exports = dir; return s }

const exportCols = `export_id, account_id, user_id, status, requested_by, requested_at, coalesce(ready_at, 'epoch'), coalesce(expires_at, 'epoch'),
	coalesce(attachments, 0), coalesce(error, '')`

func scanExport(r pgx.CollectableRow) (Export, error) {
	var e Export
	err := r.Scan(&e.ExportID, &e.AccountID, &e.UserID, &e.Status, &e.RequestedBy, &e.RequestedAt, &e.ReadyAt, &e.ExpiresAt, &e.Attachments, &e.Error)
	if e.ReadyAt.Unix() == 0 {
		e.ReadyAt, e.ExpiresAt = time.Time{}, time.Time{}
	}
	return e, err
}

// StartExport records e as Running unless the account has an export (not Failed) requested after
// since, which it returns instead with ok false; concurrent requests of an account are serialized.
func (s *Store) StartExport(ctx context.Context, e Export, since time.Time) (got Export, ok bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('blobs.data_exports/' || $1))`, e.AccountID); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT `+exportCols+` FROM blobs.data_exports WHERE account_id = $1 AND status <> 'Failed' AND requested_at > $2
			ORDER BY requested_at DESC LIMIT 1`, e.AccountID, since)
		prev, err := pgx.CollectRows(rows, scanExport)
		if err != nil || len(prev) > 0 {
			if len(prev) > 0 {
				got = prev[0]
			}
			return err
		}
		e.ExportID, e.Status, ok, got = uuid.NewString(), attachment.ExportRunning, true, e
		got.ExportID, got.Status = e.ExportID, e.Status
		_, err = tx.Exec(ctx, `INSERT INTO blobs.data_exports (export_id, account_id, user_id, status, requested_by, requested_at) VALUES ($1,$2,$3,$4,$5,$6)`,
			e.ExportID, e.AccountID, e.UserID, e.Status, e.RequestedBy, e.RequestedAt)
		return err
	})
	if err != nil {
		return Export{}, false, fmt.Errorf("blobstore: start export: %w", err)
	}
	return got, ok, nil
}

// Exports returns an account's latest exports, newest first.
func (s *Store) Exports(ctx context.Context, accountID string, limit int) ([]Export, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+exportCols+` FROM blobs.data_exports WHERE account_id = $1 ORDER BY requested_at DESC LIMIT $2`, accountID, limit)
	list, err := pgx.CollectRows(rows, scanExport)
	if err != nil {
		return nil, fmt.Errorf("blobstore: exports: %w", err)
	}
	return list, nil
}

// GetExport returns one export (ErrNoExport when there is none).
func (s *Store) GetExport(ctx context.Context, exportID string) (Export, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+exportCols+` FROM blobs.data_exports WHERE export_id = $1`, exportID)
	e, err := pgx.CollectExactlyOneRow(rows, scanExport)
	if errors.Is(err, pgx.ErrNoRows) {
		return Export{}, domain.Wrapf(ErrNoExport, "data export %s does not exist", exportID)
	}
	if err != nil {
		return Export{}, fmt.Errorf("blobstore: export: %w", err)
	}
	return e, nil
}

// RunningExports returns the exports still Running (a restart resumes them).
func (s *Store) RunningExports(ctx context.Context) ([]Export, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+exportCols+` FROM blobs.data_exports WHERE status = 'Running' ORDER BY requested_at`)
	list, err := pgx.CollectRows(rows, scanExport)
	if err != nil {
		return nil, fmt.Errorf("blobstore: running exports: %w", err)
	}
	return list, nil
}

// FinishExport records an export's outcome (Ready with its count and expiry, or Failed with why).
func (s *Store) FinishExport(ctx context.Context, e Export) error {
	var ready, expires *time.Time
	if e.Status == attachment.ExportReady {
		ready, expires = &e.ReadyAt, &e.ExpiresAt
	}
	_, err := s.pool.Exec(ctx, `UPDATE blobs.data_exports SET status = $2, ready_at = $3, expires_at = $4, attachments = $5, error = nullif($6, ''),
		manifest_key = CASE WHEN $2 = 'Ready' THEN export_id || '/attachments.txt' END WHERE export_id = $1 AND status = 'Running'`,
		e.ExportID, e.Status, ready, expires, e.Attachments, e.Error)
	if err != nil {
		return fmt.Errorf("blobstore: finish export: %w", err)
	}
	return nil
}

// AccountAttachments returns up to limit attachments uploaded by an account's users (one user's when
// userID is set), in (created_at, attachment_id) order after the attachment after (nil: from the
// start).
func (s *Store) AccountAttachments(ctx context.Context, accountID, userID string, after *Attachment, limit int) ([]Attachment, error) {
	at, id := time.Time{}, ""
	if after != nil {
		at, id = after.CreatedAt, after.AttachmentID
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+cols+` FROM blobs.attachments WHERE account_id = $1 AND ($2 = '' OR uploader_id = $2)
		AND (created_at, attachment_id) > ($3, $4) ORDER BY created_at, attachment_id LIMIT $5`, accountID, userID, at, id, limit)
	list, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("blobstore: account attachments: %w", err)
	}
	return list, nil
}

func (s *Store) listingPath(exportID string) (string, error) {
	if s.exports == "" {
		return "", errors.New("blobstore: no export directory configured")
	}
	if _, err := uuid.Parse(exportID); err != nil {
		return "", domain.Wrapf(ErrNoExport, "data export %s does not exist", exportID)
	}
	return filepath.Join(s.exports, exportID, "attachments.txt"), nil
}

// WriteListing writes an export's listing file whole (a temporary file, fsync, rename): write
// streams its content.
func (s *Store) WriteListing(exportID string, write func(w io.Writer) error) error {
	path, err := s.listingPath(exportID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".listing-*")
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// OpenListing opens an export's listing file (ErrNoExport when it is not there).
func (s *Store) OpenListing(exportID string) (io.ReadCloser, int64, error) {
	path, err := s.listingPath(exportID)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, domain.Wrapf(ErrNoExport, "the listing of data export %s is gone", exportID)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("blobstore: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blobstore: %w", err)
	}
	return f, st.Size(), nil
}
