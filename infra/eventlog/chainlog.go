package eventlog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog/chain"
)

// SigningKeyFile and PublicKeyFile are the checkpoint key pair's files in Config.Dir.
const (
	SigningKeyFile = "eventlog-signing.key"
	PublicKeyFile  = "eventlog-signing.pub"
)

// LoadOrCreateSigningKey returns the checkpoint signing key of dir, generating it (mode 0600, and
// its public key beside it, mode 0644) on first use.
func LoadOrCreateSigningKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, SigningKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, key, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		if err := writeAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("eventlog: write the signing key: %w", err)
		}
		return key, writePublicKey(dir, key.Public().(ed25519.PublicKey))
	}
	if err != nil {
		return nil, fmt.Errorf("eventlog: read the signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("eventlog: %s is not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	key, ok := k.(ed25519.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("eventlog: %s is not an ed25519 private key: %v", path, err)
	}
	return key, writePublicKey(dir, key.Public().(ed25519.PublicKey))
}

func writePublicKey(dir string, pub ed25519.PublicKey) error {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return writeAtomic(filepath.Join(dir, PublicKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// ParsePublicKey reads a PEM public key as PublicKeyFile holds it.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("eventlog: the public key is not PEM")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	pub, ok := k.(ed25519.PublicKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("eventlog: not an ed25519 public key: %v", err)
	}
	return pub, nil
}

func chainEvent(r *Record) chain.Event {
	return chain.Event{Position: r.Position, Stream: r.Stream, Revision: r.Revision, EventID: r.EventID, Type: r.Type,
		ContentType: r.ContentType, Created: r.Created, Data: r.Data, Metadata: r.Metadata}
}

// chainer keeps the log's hash chain: the writer's head, the committed (position, chain) pair the
// checkpoints sign, and the checkpoint loop.
type chainer struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	key     ed25519.PrivateKey // nil: no checkpoints
	storeID uuid.UUID
	every   time.Duration

	head  chain.Hash // writer-owned: the chain of the last committed row
	stale bool       // writer-owned: a commit may or may not have happened; head must be read again

	mu        sync.Mutex
	at        uint64     // a committed position …
	committed chain.Hash // … and its chain: always a consistent pair

	last uint64 // checkpoint-loop-owned: the position last signed
	done chan struct{}
}

// rows sets the digest and chain of a group's rows, extending from the committed head, and returns
// the group's new head (the caller commits it with advance once the rows are stored).
func (c *chainer) rows(rows []Record) chain.Hash {
	head := c.head
	for i := range rows {
		e := chainEvent(&rows[i])
		rows[i].Digest = chain.Digest(&e)
		head = chain.Link(head, rows[i].Digest)
		rows[i].Chain = head
	}
	return head
}

// reloadIfStale reads the head again after a commit whose outcome is unknown.
func (c *chainer) reloadIfStale(ctx context.Context) error {
	if !c.stale {
		return nil
	}
	if err := c.load(ctx); err != nil {
		return err
	}
	c.stale = false
	return nil
}

// advance records that the rows up to position pos, whose chain is head, are committed.
func (c *chainer) advance(pos uint64, head chain.Hash) {
	c.head = head
	c.mu.Lock()
	c.at, c.committed = pos, head
	c.mu.Unlock()
}

// load reads the chain head; rows stored before the log was chained are chained first, in position
// order, resumably (an interrupted run goes on from the last chained row).
func (c *chainer) load(ctx context.Context) error {
	var head uint64
	var h []byte
	err := c.pool.QueryRow(ctx, `SELECT position, chain FROM eventlog.events ORDER BY position DESC LIMIT 1`).Scan(&head, &h)
	if errors.Is(err, pgx.ErrNoRows) {
		c.advance(0, chain.Hash{})
		return nil
	}
	if err != nil {
		return fmt.Errorf("eventlog: read the chain head: %w", err)
	}
	if len(h) != 32 {
		if err := c.backfill(ctx, head); err != nil {
			return err
		}
		h = c.head[:]
	}
	c.advance(head, chain.Hash(h))
	return nil
}

// backfillBatch is how many rows one backfill step chains.
const backfillBatch = 5000

func (c *chainer) backfill(ctx context.Context, head uint64) error {
	var from uint64
	var h []byte
	err := c.pool.QueryRow(ctx, `SELECT position, chain FROM eventlog.events WHERE chain IS NOT NULL ORDER BY position DESC LIMIT 1`).Scan(&from, &h)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		from, c.head = 0, chain.Hash{}
	case err != nil:
		return fmt.Errorf("eventlog: resume the chain: %w", err)
	default:
		c.head = chain.Hash(h)
	}
	c.log.Info("chaining the events stored before tamper evidence", "from", from+1, "to", head)
	started := time.Now()
	for from < head {
		n, err := c.backfillStep(ctx, from)
		if err != nil {
			return err
		}
		from = n
		c.log.Info("chaining", "position", from, "head", head, "percent", 100*from/head)
	}
	c.log.Info("chained", "events", head, "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// backfillStep chains the rows after position from (up to backfillBatch) and returns the last one.
func (c *chainer) backfillStep(ctx context.Context, from uint64) (uint64, error) {
	rows, err := c.pool.Query(ctx, `SELECT `+selectCols+` FROM eventlog.events WHERE position > $1 ORDER BY position LIMIT $2`, int64(from), backfillBatch)
	if err != nil {
		return 0, fmt.Errorf("eventlog: chain: %w", err)
	}
	var recs []Record
	for rows.Next() {
		var r Record
		var pos, rev int64
		var id [16]byte // as bytes: uuid.UUID's sql.Scanner would go through its text form
		if err := rows.Scan(&pos, &r.Stream, &rev, &id, &r.Type, &r.ContentType, &r.Created, &r.Data, &r.Metadata); err != nil {
			rows.Close()
			return 0, err
		}
		r.Position, r.Revision, r.EventID = uint64(pos), uint64(rev), id
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(recs) == 0 {
		return 0, fmt.Errorf("eventlog: chain after %d: %v", from, err)
	}
	head := c.rows(recs)
	pos, dig, chn := make([]int64, len(recs)), make([][]byte, len(recs)), make([][]byte, len(recs))
	for i := range recs {
		pos[i], dig[i], chn[i] = int64(recs[i].Position), recs[i].Digest[:], recs[i].Chain[:]
	}
	if _, err := c.pool.Exec(ctx, `UPDATE eventlog.events e SET digest = v.d, chain = v.c
		FROM unnest($1::bigint[], $2::bytea[], $3::bytea[]) AS v(p, d, c) WHERE e.position = v.p`, pos, dig, chn); err != nil {
		return 0, fmt.Errorf("eventlog: chain: %w", err)
	}
	c.head = head
	return recs[len(recs)-1].Position, nil
}

// run signs the committed chain every c.every while it moves, and once more when stop closes.
func (c *chainer) run(stop <-chan struct{}) {
	defer close(c.done)
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.checkpoint()
		case <-stop:
			c.checkpoint()
			return
		}
	}
}

// checkpoint signs the committed position unless it is signed already.
func (c *chainer) checkpoint() {
	c.mu.Lock()
	pos, h := c.at, c.committed
	c.mu.Unlock()
	if pos == 0 || pos == c.last {
		return
	}
	cp := chain.Sign(c.key, c.storeID, pos, h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.pool.Exec(ctx, `INSERT INTO eventlog.checkpoints (position, chain, signature, key_id) VALUES ($1,$2,$3,$4)
		ON CONFLICT (position) DO NOTHING`, int64(pos), h[:], cp.Signature, cp.KeyID); err != nil {
		c.log.Warn("eventlog: checkpoint not written; the next one covers it", "position", pos, "err", err)
		return
	}
	c.last = pos
}
