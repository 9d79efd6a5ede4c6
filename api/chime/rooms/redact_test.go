package rooms_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/api/chime/rooms"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/infra/blobstore"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/migrations"
)

// noWait is a read model that is always current (the redaction reads none).
type noWait struct{}

func (noWait) WaitFor(context.Context, uint64) error { return nil }

// redactRoom is a room of an account with one member, over the real key and blob stores, and the
// admin use cases over it.
type redactRoom struct {
	svc                *rooms.Service
	repo               repo[room.State, room.Command, room.Event]
	pool               *pgxpool.Pool
	keys               *datakeys.Store
	blobs              *blobstore.Store
	dir                string
	acct, roomID, user string
}

// posted is one message posted to the room: its text's key and its attachment (when it has one).
type posted struct {
	id, keyID string
	sealed    []byte
	att       blobstore.Attachment
}

func newRedactRoom(t *testing.T) *redactRoom {
	t.Helper()
	ctx := context.Background()
	pool, client := eventlogtest.Start(t)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	ring, err := datakeys.OpenFileKeyring(filepath.Join(t.TempDir(), "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	r := &redactRoom{pool: pool, dir: t.TempDir(), acct: uuid.NewString(), roomID: uuid.NewString(), user: uuid.NewString()}
	r.keys = datakeys.New(pool).WithKeyring(ring).WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.blobs = blobstore.New(r.dir, pool, r.keys)
	accounts := newRepo(client, eventstore.Decider[account.State, account.Command, account.Event]{
		Initial: account.Initial, Evolve: account.Evolve, Decide: account.Decide, Decode: account.Decode,
		Type: func(e account.Event) string { return e.EventType() }})
	if _, err := accounts.Execute(ctx, account.StreamName(r.acct), account.Create{AccountID: r.acct, AwsAccountID: aws, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	r.repo = newRepo(client, eventstore.Decider[room.State, room.Command, room.Event]{
		Initial: room.Initial, Evolve: room.Evolve, Decide: room.Decide, Decode: room.Decode,
		Type: func(e room.Event) string { return e.EventType() }})
	for _, cmd := range []room.Command{room.Create{AccountID: r.acct, Name: "Ops", CreatedBy: "arn:aws:iam::111122223333:user/admin"},
		room.AddMember{AccountID: r.acct, Member: room.Candidate{ID: r.user, Type: room.MemberUser, Email: "alice@example.com"}}} {
		if _, err := r.repo.Execute(ctx, room.StreamName(r.roomID), cmd); err != nil {
			t.Fatal(err)
		}
	}
	r.svc = rooms.New(rooms.Deps{Rooms: rooms.Rooms{Repo: r.repo, RM: noWait{}, RYW: usecase.NewReadYourWrites(time.Second, prometheus.NewRegistry())},
		Accounts: accounts, Keys: r.keys, Blobs: r.blobs})
	return r
}

// post posts a message of the member's, with an attachment holding body (none when body is nil).
func (r *redactRoom) post(t *testing.T, text string, body []byte) posted {
	t.Helper()
	ctx, now := context.Background(), time.Now()
	p := posted{id: uuid.NewString()}
	var err error
	if p.keyID, p.sealed, err = r.keys.Seal(ctx, r.acct, "room/"+r.roomID, now, []byte(text)); err != nil {
		t.Fatal(err)
	}
	var ref *room.Attachment
	if body != nil {
		if p.att, err = r.blobs.Put(ctx, bytes.NewReader(body), blobstore.Upload{Tenant: r.acct, Scope: "room/" + r.roomID, Day: now, Name: "f.txt", Max: 1000}); err != nil {
			t.Fatal(err)
		}
		a := &p.att
		a.Container, a.ContainerID, a.MessageID, a.UploaderID, a.ContentType, a.CreatedAt = "room", r.roomID, p.id, r.user, "text/plain", now
		if err := r.blobs.Record(ctx, p.att); err != nil {
			t.Fatal(err)
		}
		ref = &room.Attachment{AttachmentID: a.AttachmentID, KeyID: a.KeyID, Blob: a.Blob, Size: a.Size, ContentType: a.ContentType, SealedMeta: a.SealedMeta}
	}
	cmd := room.PostMessage{AccountID: r.acct, MessageID: p.id, SenderID: r.user, Content: room.Content{Text: text, KeyID: p.keyID, Sealed: p.sealed}, Attachment: ref}
	if _, err := r.repo.Execute(ctx, room.StreamName(r.roomID), cmd); err != nil {
		t.Fatal(err)
	}
	return p
}

func (r *redactRoom) redact(p posted) error {
	return r.svc.RedactRoomMessage(context.Background(), aws, r.acct, r.roomID, p.id, "arn:aws:iam::111122223333:user/admin")
}

// block puts a directory where an attachment's file is, so that no sweep can remove it.
func (r *redactRoom) block(t *testing.T, a blobstore.Attachment) string {
	t.Helper()
	path := filepath.Join(r.dir, a.Blob[:2], a.Blob)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRedactionReportsOnlyItsOwnFiles: another message's attachment, whose key is gone, has a file no
// sweep can remove. A redaction of a message with an attachment is not failed by it: it succeeds, its
// own file and row are gone, and the other's row is left to the retention purge's sweep. When the
// redacted message's own file cannot be removed, the error names that attachment, and only it.
func TestRedactionReportsOnlyItsOwnFiles(t *testing.T) {
	ctx := context.Background()
	r := newRedactRoom(t)
	other := r.post(t, "other", []byte("other file"))
	if err := r.keys.ShredMessage(ctx, other.att.KeyID); err != nil {
		t.Fatal(err)
	}
	r.block(t, other.att)
	mine := r.post(t, "mine", []byte("my file"))
	if err := r.redact(mine); err != nil {
		t.Fatalf("a redaction failed by another message's file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.dir, mine.att.Blob[:2], mine.att.Blob)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the redacted message's file: %v", err)
	}
	if _, err := r.blobs.Find(ctx, mine.att.AttachmentID); !errors.Is(err, blobstore.ErrGone) {
		t.Fatalf("the redacted message's attachment row: %v", err)
	}
	if _, err := r.blobs.Find(ctx, other.att.AttachmentID); err != nil {
		t.Fatalf("the other message's row is the purge's to sweep: %v", err)
	}
	stuck := r.post(t, "stuck", []byte("stuck file"))
	r.block(t, stuck.att)
	err := r.redact(stuck)
	if err == nil || !strings.Contains(err.Error(), stuck.att.AttachmentID) || strings.Contains(err.Error(), other.att.AttachmentID) {
		t.Fatalf("a redaction whose own file stays: %v (want it named, %s, and not the other's, %s)", err, stuck.att.AttachmentID, other.att.AttachmentID)
	}
	if _, err := r.keys.Open(ctx, stuck.keyID, stuck.sealed); !errors.Is(err, domain.ErrShredded) {
		t.Fatalf("the redacted message's text all the same: %v", err)
	}
}

// TestRedactionPastADamagedKey: another message of the same day has a damaged key (its wrapping does
// not open). Redacting a message is not failed by it: the redacted message opens for no one, the
// damaged one stays as it was (unreadable), and an intact one still opens.
func TestRedactionPastADamagedKey(t *testing.T) {
	ctx := context.Background()
	r := newRedactRoom(t)
	redacted, damaged, intact := r.post(t, "redact me", nil), r.post(t, "damaged", nil), r.post(t, "intact", nil)
	if _, err := r.pool.Exec(ctx, `UPDATE keys.message_keys SET wrapped = set_byte(wrapped, 20, get_byte(wrapped, 20) # 1) WHERE key_id = $1`, damaged.keyID); err != nil {
		t.Fatal(err)
	}
	r.keys.Evict("")
	if err := r.redact(redacted); err != nil {
		t.Fatalf("a redaction failed by another message's damaged key: %v", err)
	}
	if _, err := r.keys.Open(ctx, redacted.keyID, redacted.sealed); !errors.Is(err, domain.ErrShredded) {
		t.Fatalf("the redacted message: %v", err)
	}
	if _, err := r.keys.Open(ctx, damaged.keyID, damaged.sealed); !errors.Is(err, domain.ErrUnreadable) {
		t.Fatalf("the damaged message: %v", err)
	}
	if pt, err := r.keys.Open(ctx, intact.keyID, intact.sealed); err != nil || string(pt) != "intact" {
		t.Fatalf("the intact message: %q %v", pt, err)
	}
}
