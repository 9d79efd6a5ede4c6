// Package blobstore keeps Chime attachments and Wickr messages' files (issue 13; container "wickr",
// migration 0028): the bytes in a content-addressed directory
// (by default <data dir>/blobs), each file named by the SHA-256 of what it holds — computed by the
// server while the upload streams in, never taken from the client — and encrypted under a content
// key of its own from infra/datakeys (a message key of the container's day: wrapped under keys that
// live in the keyring), so that plaintext never reaches the disk. The table blobs.attachments
// (migration 0023) says which attachment a blob is, with its name and plaintext hash sealed.
//
// Invariants: an upload larger than its bound is refused after reading at most bound+1 bytes and
// leaves nothing behind; a blob file is written whole (temporary file, fsync, rename) before its row
// exists; once an attachment's key is destroyed — shredded by a redaction, or its day, period or
// scope destroyed by retention or a deleted room — it opens for no one (ErrGone), and Sweep deletes
// its file and its row; Sweep is idempotent and resumes what an interrupted run left.
package blobstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
)

// Sentinels and values (domain/chime/attachment).
var (
	ErrTooLarge = attachment.ErrTooLarge
	ErrGone     = attachment.ErrGone
)

type (
	// Attachment is one row of blobs.attachments.
	Attachment = attachment.Stored
	// Meta is what an attachment's sealed metadata holds.
	Meta = attachment.Meta
	// Upload says where an upload goes.
	Upload = attachment.Upload
)

// Keys creates and loads content keys (infra/datakeys.Store implements it); a destroyed key loads
// as an error matching domain.ErrShredded.
type Keys interface {
	NewContentKey(ctx context.Context, tenant, scope string, day time.Time) (string, []byte, error)
	ContentKey(ctx context.Context, id string) ([]byte, error)
	ShredMessage(ctx context.Context, id string) error
}

// Store is the blob directory and the attachments table.
type Store struct {
	dir     string
	exports string // where export listings go (WithExports)
	pool    *pgxpool.Pool
	keys    Keys
}

// New returns a store over dir (created on first write).
func New(dir string, pool *pgxpool.Pool, keys Keys) *Store {
	return &Store{dir: dir, pool: pool, keys: keys}
}

func (s *Store) path(blob string) string { return filepath.Join(s.dir, blob[:2], blob) }

// Put streams r into a new blob under a fresh content key and returns the attachment (not yet
// recorded: Record does that) with its id, key, blob address, size and sealed metadata. On any error
// nothing is left: the key is shredded and the temporary file removed.
func (s *Store) Put(ctx context.Context, r io.Reader, u Upload) (a Attachment, err error) {
	keyID, key, err := s.keys.NewContentKey(ctx, u.Tenant, u.Scope, u.Day)
	if err != nil {
		return Attachment{}, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.keys.ShredMessage(context.WithoutCancel(ctx), keyID))
		}
	}()
	if err := os.MkdirAll(filepath.Join(s.dir, "tmp"), 0o700); err != nil {
		return Attachment{}, fmt.Errorf("blobstore: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "upload-*")
	if err != nil {
		return Attachment{}, fmt.Errorf("blobstore: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	stored, plain := sha256.New(), sha256.New()
	size, err := encrypt(io.MultiWriter(tmp, stored), r, key, []byte(keyID), u.Max, plain)
	if errors.Is(err, ErrTooLarge) {
		return Attachment{}, domain.Wrapf(ErrTooLarge, "the attachment is over %d bytes", u.Max)
	}
	if err != nil {
		return Attachment{}, fmt.Errorf("blobstore: upload: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return Attachment{}, fmt.Errorf("blobstore: %w", err)
	}
	blob := hex.EncodeToString(stored.Sum(nil))
	if err := os.MkdirAll(filepath.Dir(s.path(blob)), 0o700); err != nil {
		return Attachment{}, fmt.Errorf("blobstore: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(blob)); err != nil {
		return Attachment{}, fmt.Errorf("blobstore: %w", err)
	}
	meta, _ := json.Marshal(Meta{Name: u.Name, SHA256: hex.EncodeToString(plain.Sum(nil))})
	sealedMeta, err := sealMeta(key, keyID, meta)
	if err != nil {
		return Attachment{}, err
	}
	return Attachment{AttachmentID: uuid.NewString(), AccountID: u.Tenant, KeyID: keyID, Blob: blob, Size: size, SealedMeta: sealedMeta}, nil
}

func sealMeta(key []byte, keyID string, meta []byte) ([]byte, error) {
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	n := make([]byte, g.NonceSize()) // the metadata is the only other message under this key:
	n[0] = 0xff                      // a nonce no chunk uses (chunk numbers stay far below 2^56)
	return g.Seal(nil, n, meta, []byte("meta:"+keyID)), nil
}

// Meta opens an attachment's sealed metadata (ErrGone once its key is destroyed; domain.ErrUnreadable
// when it does not open under its key, which is there: damaged).
func (s *Store) Meta(ctx context.Context, a Attachment) (Meta, error) {
	key, err := s.key(ctx, a)
	if err != nil {
		return Meta{}, err
	}
	g, err := gcm(key)
	if err != nil {
		return Meta{}, err
	}
	n := make([]byte, g.NonceSize())
	n[0] = 0xff
	pt, err := g.Open(nil, n, a.SealedMeta, []byte("meta:"+a.KeyID))
	if err != nil {
		return Meta{}, fmt.Errorf("blobstore: metadata of %s: %w: %w", a.AttachmentID, domain.ErrUnreadable, err)
	}
	var m Meta
	return m, json.Unmarshal(pt, &m)
}

func (s *Store) key(ctx context.Context, a Attachment) ([]byte, error) {
	key, err := s.keys.ContentKey(ctx, a.KeyID)
	if errors.Is(err, domain.ErrShredded) {
		return nil, domain.Wrapf(ErrGone, "attachment %s was redacted or purged", a.AttachmentID)
	}
	return key, err
}

// Open returns a reader of an attachment's plaintext; a chunk that does not open (a damaged or
// truncated file) is a read error matching domain.ErrUnreadable.
func (s *Store) Open(ctx context.Context, a Attachment) (io.ReadCloser, error) {
	key, err := s.key(ctx, a)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(a.Blob))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, domain.Wrapf(ErrGone, "attachment %s is gone", a.AttachmentID)
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	d, err := newDecrypter(f, key, []byte(a.KeyID))
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{d, f}, nil
}

// Discard removes an attachment — one Put returned that was never posted, or a Wickr message's file
// when the message goes —: its key (shredded first), file and row. It is idempotent.
func (s *Store) Discard(ctx context.Context, a Attachment) error {
	ctx = context.WithoutCancel(ctx)
	err := s.keys.ShredMessage(ctx, a.KeyID)
	if rerr := os.Remove(s.path(a.Blob)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return errors.Join(err, rerr) // the row stays, so Sweep (or a retry) finds the file again
	}
	if _, derr := s.pool.Exec(ctx, `DELETE FROM blobs.attachments WHERE attachment_id = $1`, a.AttachmentID); derr != nil {
		err = errors.Join(err, derr)
	}
	return err
}

const cols = `attachment_id, account_id, container, container_id, message_id, uploader_id, key_id, blob, size, content_type, sealed_meta, created_at`

func scan(r pgx.CollectableRow) (Attachment, error) {
	var a Attachment
	err := r.Scan(&a.AttachmentID, &a.AccountID, &a.Container, &a.ContainerID, &a.MessageID, &a.UploaderID, &a.KeyID, &a.Blob, &a.Size,
		&a.ContentType, &a.SealedMeta, &a.CreatedAt)
	return a, err
}

// Record stores an attachment's row.
func (s *Store) Record(ctx context.Context, a Attachment) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO blobs.attachments (`+cols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
		a.AttachmentID, a.AccountID, a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.KeyID, a.Blob, a.Size, a.ContentType, a.SealedMeta, a.CreatedAt)
	if err != nil {
		return fmt.Errorf("blobstore: record: %w", err)
	}
	return nil
}

// Get returns the attachment of a container (ErrGone when it is not one of its).
func (s *Store) Get(ctx context.Context, containerID, attachmentID string) (Attachment, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+cols+` FROM blobs.attachments WHERE attachment_id = $1 AND container_id = $2`, attachmentID, containerID)
	a, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return Attachment{}, domain.Wrapf(ErrGone, "attachment %s is not in %s", attachmentID, containerID)
	}
	if err != nil {
		return Attachment{}, fmt.Errorf("blobstore: get: %w", err)
	}
	return a, nil
}

// Find returns an attachment by id alone.
func (s *Store) Find(ctx context.Context, attachmentID string) (Attachment, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+cols+` FROM blobs.attachments WHERE attachment_id = $1`, attachmentID)
	a, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return Attachment{}, domain.Wrapf(ErrGone, "attachment %s does not exist", attachmentID)
	}
	if err != nil {
		return Attachment{}, fmt.Errorf("blobstore: get: %w", err)
	}
	return a, nil
}

// List returns up to limit attachments of a container, or of an uploader of an account (container
// ""), oldest first.
func (s *Store) List(ctx context.Context, accountID, uploaderID, containerID string, limit int) ([]Attachment, error) {
	var rows pgx.Rows
	if containerID != "" {
		rows, _ = s.pool.Query(ctx, `SELECT `+cols+` FROM blobs.attachments WHERE container_id = $1 ORDER BY created_at, attachment_id LIMIT $2`, containerID, limit)
	} else {
		rows, _ = s.pool.Query(ctx, `SELECT `+cols+` FROM blobs.attachments WHERE account_id = $1 AND uploader_id = $2 ORDER BY created_at, attachment_id LIMIT $3`,
			accountID, uploaderID, limit)
	}
	list, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("blobstore: list: %w", err)
	}
	return list, nil
}

// ForMessages returns the attachments of messages, by message id.
func (s *Store) ForMessages(ctx context.Context, messageIDs []string) (map[string][]Attachment, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+cols+` FROM blobs.attachments WHERE message_id = ANY($1) ORDER BY created_at, attachment_id`, messageIDs)
	list, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("blobstore: attachments of messages: %w", err)
	}
	out := map[string][]Attachment{}
	for _, a := range list {
		out[a.MessageID] = append(out[a.MessageID], a)
	}
	return out, nil
}

// ShredMessage destroys the keys of a message's attachments (a redaction), then sweeps their blobs
// (SweepMessage: its error is about those files only). A key it cannot shred holds back none of the
// others.
func (s *Store) ShredMessage(ctx context.Context, messageID string) error {
	m, err := s.ForMessages(ctx, []string{messageID})
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range m[messageID] {
		errs = append(errs, s.keys.ShredMessage(ctx, a.KeyID))
	}
	_, err = s.SweepMessage(ctx, messageID)
	return errors.Join(append(errs, err)...)
}

// maxStuck bounds the files a sweep names in its error.
const maxStuck = 10

// sweepBatch is how many attachments a redaction's sweep (SweepMessage) takes at once.
const sweepBatch = 1000

// Sweep deletes, in batches of batch, the files and rows of attachments whose key is gone (shredded,
// or its day key destroyed); it returns how many it deleted. A file it cannot remove holds back no
// other: its row stays for the next sweep, and the error names it once the others are deleted.
func (s *Store) Sweep(ctx context.Context, batch int) (int64, error) {
	return s.sweep(ctx, batch, "")
}

// SweepMessage is Sweep over one message's attachments alone (a redaction's, once it has shredded
// their keys): their files and rows go once their keys are gone (one whose key lives is left alone),
// and the error names only those of their files it could not remove — never a file of another
// message, which is the retention purge's sweep's to retry and report. It returns how many it
// deleted.
func (s *Store) SweepMessage(ctx context.Context, messageID string) (int64, error) {
	if messageID == "" {
		return 0, nil
	}
	return s.sweep(ctx, sweepBatch, messageID)
}

// gone selects the attachments after $2 whose key is gone, $1 at most (sweep).
const gone = ` AND attachment_id > $2 AND NOT EXISTS (SELECT 1 FROM keys.message_keys m JOIN keys.data_keys d ON d.key_id = m.data_key_id
	WHERE m.key_id = a.key_id AND d.wrapped IS NOT NULL) ORDER BY attachment_id LIMIT $1`

// sweep is Sweep, over the attachments of message messageID only when it is not "".
func (s *Store) sweep(ctx context.Context, batch int, messageID string) (int64, error) {
	var total int64
	var stuck []error
	for after := ""; ; {
		var rows pgx.Rows
		if messageID == "" {
			rows, _ = s.pool.Query(ctx, `SELECT `+cols+` FROM blobs.attachments a WHERE true`+gone, batch, after)
		} else {
			rows, _ = s.pool.Query(ctx, `SELECT `+cols+` FROM blobs.attachments a WHERE message_id = $3`+gone, batch, after, messageID)
		}
		list, err := pgx.CollectRows(rows, scan)
		if err != nil {
			return total, errors.Join(append(stuck, fmt.Errorf("blobstore: sweep: %w", err))...)
		}
		ids := make([]string, 0, len(list))
		for _, a := range list {
			if err := os.Remove(s.path(a.Blob)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				if stuck = append(stuck, fmt.Errorf("blobstore: sweep: attachment %s: %w", a.AttachmentID, err)); len(stuck) > maxStuck {
					stuck = append(stuck[:maxStuck-1], fmt.Errorf("blobstore: sweep: and more files that could not be removed"))
				}
				continue
			}
			ids = append(ids, a.AttachmentID)
		}
		if _, err := s.pool.Exec(ctx, `DELETE FROM blobs.attachments WHERE attachment_id = ANY($1)`, ids); err != nil {
			return total, errors.Join(append(stuck, fmt.Errorf("blobstore: sweep: %w", err))...)
		}
		total += int64(len(ids))
		if len(list) < batch {
			return total, errors.Join(stuck...)
		}
		after = list[len(list)-1].AttachmentID
	}
}
