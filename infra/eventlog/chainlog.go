package eventlog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

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

// chainRows sets the digest and chain of a group's rows, extending from the committed chain head, and
// returns the group's new head (committed by the caller only once the rows are).
func (l *Log) chainRows(rows []Record) chain.Hash {
	head := l.chainHead
	for i := range rows {
		e := chainEvent(&rows[i])
		rows[i].Digest = chain.Digest(&e)
		head = chain.Link(head, rows[i].Digest)
		rows[i].Chain = head
	}
	return head
}

// loadChain reads the chain head; rows stored before the log was chained are chained first, in
// position order, resumably (an interrupted run goes on from the last chained row).
func (l *Log) loadChain(ctx context.Context) error {
	var head uint64
	var c []byte
	err := l.pool.QueryRow(ctx, `SELECT position, chain FROM eventlog.events ORDER BY position DESC LIMIT 1`).Scan(&head, &c)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("eventlog: read the chain head: %w", err)
	}
	if len(c) == 32 {
		l.chainHead = chain.Hash(c)
		return nil
	}
	return l.backfillChain(ctx, head)
}

// backfillBatch is how many rows one backfill step chains.
const backfillBatch = 5000

func (l *Log) backfillChain(ctx context.Context, head uint64) error {
	var from uint64
	var c []byte
	err := l.pool.QueryRow(ctx, `SELECT position, chain FROM eventlog.events WHERE chain IS NOT NULL ORDER BY position DESC LIMIT 1`).Scan(&from, &c)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		from, l.chainHead = 0, chain.Hash{}
	case err != nil:
		return fmt.Errorf("eventlog: resume the chain: %w", err)
	default:
		l.chainHead = chain.Hash(c)
	}
	log := l.cfg.Logger
	log.Info("chaining the events stored before tamper evidence", "from", from+1, "to", head)
	started := time.Now()
	for from < head {
		n, err := l.backfillStep(ctx, from)
		if err != nil {
			return err
		}
		from = n
		log.Info("chaining", "position", from, "head", head, "percent", 100*from/head)
	}
	log.Info("chained", "events", head, "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// backfillStep chains the rows after position from (up to backfillBatch) and returns the last one.
func (l *Log) backfillStep(ctx context.Context, from uint64) (uint64, error) {
	rows, err := l.pool.Query(ctx, `SELECT `+selectCols+` FROM eventlog.events WHERE position > $1 ORDER BY position LIMIT $2`, int64(from), backfillBatch)
	if err != nil {
		return 0, fmt.Errorf("eventlog: chain: %w", err)
	}
	var recs []Record
	for rows.Next() {
		var r Record
		var pos, rev int64
		if err := rows.Scan(&pos, &r.Stream, &rev, &r.EventID, &r.Type, &r.ContentType, &r.Created, &r.Data, &r.Metadata); err != nil {
			rows.Close()
			return 0, err
		}
		r.Position, r.Revision = uint64(pos), uint64(rev)
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(recs) == 0 {
		return 0, fmt.Errorf("eventlog: chain after %d: %v", from, err)
	}
	head := l.chainRows(recs)
	pos, dig, chn := make([]int64, len(recs)), make([][]byte, len(recs)), make([][]byte, len(recs))
	for i := range recs {
		pos[i], dig[i], chn[i] = int64(recs[i].Position), recs[i].Digest[:], recs[i].Chain[:]
	}
	if _, err := l.pool.Exec(ctx, `UPDATE eventlog.events e SET digest = v.d, chain = v.c
		FROM unnest($1::bigint[], $2::bytea[], $3::bytea[]) AS v(p, d, c) WHERE e.position = v.p`, pos, dig, chn); err != nil {
		return 0, fmt.Errorf("eventlog: chain: %w", err)
	}
	l.chainHead = head
	return recs[len(recs)-1].Position, nil
}

// checkpointer signs the committed chain head every CheckpointEvery while it moves, and once more
// when the log closes.
func (l *Log) checkpointer() {
	defer close(l.cpDone)
	t := time.NewTicker(l.cfg.CheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.checkpoint()
		case <-l.done:
			l.checkpoint()
			return
		}
	}
}

// checkpoint signs the committed head unless it is signed already.
func (l *Log) checkpoint() {
	l.mu.RLock()
	pos, c := l.chainAt, l.committedChain
	l.mu.RUnlock()
	if pos == 0 || pos == l.lastCheckpoint {
		return
	}
	cp := chain.Sign(l.cfg.SigningKey, l.storeID, pos, c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := l.pool.Exec(ctx, `INSERT INTO eventlog.checkpoints (position, chain, signature, key_id) VALUES ($1,$2,$3,$4)
		ON CONFLICT (position) DO NOTHING`, int64(pos), c[:], cp.Signature, cp.KeyID); err != nil {
		l.cfg.Logger.Warn("eventlog: checkpoint not written; the next one covers it", "position", pos, "err", err)
		return
	}
	l.lastCheckpoint = pos
}
