package datakeys_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/datakeys"
)

// backup is what a copy of the database taken earlier (a WAL segment, a base backup, a replica)
// holds of one message's keys: the wrapped message key and the wrapped day key with its KEKs' names.
type backup struct {
	msgWrapped, dayWrapped  []byte
	dayID, period, scopeKEK string
}

func takeBackup(t *testing.T, pool *pgxpool.Pool, msgID string) backup {
	t.Helper()
	var b backup
	err := pool.QueryRow(context.Background(), `SELECT m.wrapped, d.wrapped, d.key_id, d.period_kek, d.scope_kek FROM keys.message_keys m
		JOIN keys.data_keys d ON d.key_id = m.data_key_id WHERE m.key_id = $1`, msgID).Scan(&b.msgWrapped, &b.dayWrapped, &b.dayID, &b.period, &b.scopeKEK)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gcmOpen(t *testing.T, key, sealed []byte, aad string) ([]byte, error) {
	t.Helper()
	blk, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cipher.NewGCM(blk)
	return g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], []byte(aad))
}

// open is the attack: the old rows and whatever the keyring holds now.
func (b backup) open(t *testing.T, ring datakeys.Keyring, msgID string, sealed []byte) ([]byte, error) {
	t.Helper()
	ctx := context.Background()
	inner, err := ring.Unwrap(ctx, b.period, b.dayWrapped, []byte(b.dayID))
	if err != nil {
		return nil, err
	}
	dk, err := ring.Unwrap(ctx, b.scopeKEK, inner, []byte(b.dayID))
	if err != nil {
		return nil, err
	}
	mk, err := gcmOpen(t, dk, b.msgWrapped, "mk:"+msgID)
	if err != nil {
		return nil, err
	}
	return gcmOpen(t, mk, sealed, msgID)
}

func TestShredMessageSurvivesOldCopies(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	day := time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
	type msg struct {
		id     string
		sealed []byte
	}
	var msgs []msg
	for i, d := range []time.Time{day, day.Add(time.Minute), day.Add(time.Hour), day.Add(-24 * time.Hour)} {
		id, sealed, err := s.Seal(ctx, "acct", "room/r1", d, []byte{'m', byte('0' + i)})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, msg{id, sealed})
	}
	old := takeBackup(t, pool, msgs[0].id)
	if pt, err := old.open(t, ring, msgs[0].id, msgs[0].sealed); err != nil || string(pt) != "m0" {
		t.Fatalf("the backup opens the message before the redaction: %q %v", pt, err)
	}
	if err := s.ShredMessage(ctx, msgs[0].id); err != nil {
		t.Fatal(err)
	}
	if err := s.ShredMessage(ctx, msgs[0].id); err != nil {
		t.Fatalf("shredding again: %v", err)
	}
	for _, st := range []*datakeys.Store{s, datakeys.New(pool).WithKeyring(ring)} {
		if _, err := st.Open(ctx, msgs[0].id, msgs[0].sealed); !errors.Is(err, datakeys.ErrDestroyed) {
			t.Fatalf("the shredded message: %v", err)
		}
		// The day's and the scope's other messages still open (their keys were rewrapped).
		for i, m := range msgs[1:] {
			if pt, err := st.Open(ctx, m.id, m.sealed); err != nil || string(pt) != string([]byte{'m', byte('1' + i)}) {
				t.Fatalf("message %d after the redaction: %q %v", i+1, pt, err)
			}
		}
	}
	if _, err := old.open(t, ring, msgs[0].id, msgs[0].sealed); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("the backup after the redaction: %v", err)
	}
	// A message posted after the redaction on the same day opens (the cached day key was replaced).
	id, sealed, err := s.Seal(ctx, "acct", "room/r1", day, []byte("later"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := datakeys.New(pool).WithKeyring(ring).Open(ctx, id, sealed); err != nil || string(pt) != "later" {
		t.Fatalf("a later message: %q %v", pt, err)
	}
}

func TestPeriodsAndScopesDestroyedInTheKeyring(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	day := time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
	oldID, oldSealed, _ := s.Seal(ctx, "acct", "room/r1", day, []byte("old news"))
	newID, newSealed, _ := s.Seal(ctx, "acct", "room/r1", day.Add(48*time.Hour), []byte("fresh news"))
	otherID, otherSealed, _ := s.Seal(ctx, "acct", "room/r2", day, []byte("other room"))
	b1, b2 := takeBackup(t, pool, oldID), takeBackup(t, pool, otherID)
	due, err := s.LivePeriods(ctx, "acct", "room", day.Add(24*time.Hour))
	if err != nil || len(due) != 1 || due[0] != datakeys.PeriodKEKID("acct", "room", day) {
		t.Fatalf("due periods: %+v %v", due, err)
	}
	keyring, _ := os.ReadFile(ring.Path())
	if scopes, days, err := s.DestroyPeriods(ctx, []string{due[0]}); err != nil || len(scopes) != 2 || !days[0].Equal(day.Truncate(24*time.Hour)) {
		t.Fatalf("destroy: %v %v %v", scopes, days, err)
	}
	after, _ := os.ReadFile(ring.Path())
	if len(after) >= len(keyring) || bytes.Contains(after, []byte(due[0])) {
		t.Fatal("the period KEK is still in the keyring file")
	}
	for _, m := range []struct {
		id     string
		sealed []byte
	}{{oldID, oldSealed}, {otherID, otherSealed}} {
		if _, err := s.Open(ctx, m.id, m.sealed); !errors.Is(err, datakeys.ErrDestroyed) {
			t.Fatalf("a purged message: %v", err)
		}
	}
	for _, b := range []backup{b1, b2} {
		if _, err := b.open(t, ring, oldID, oldSealed); !errors.Is(err, datakeys.ErrDestroyed) {
			t.Fatalf("a backup of a purged day: %v", err)
		}
	}
	if pt, err := s.Open(ctx, newID, newSealed); err != nil || string(pt) != "fresh news" {
		t.Fatalf("a message of a later day: %q %v", pt, err)
	}
	var left int
	for more := true; more; {
		_, more, err = s.ClearDestroyed(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
	}
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM keys.message_keys`).Scan(&left)
	if left != 1 {
		t.Fatalf("%d message keys left, want the later day's", left)
	}
	// A deleted room: every key of it goes, and it never seals again.
	b3 := takeBackup(t, pool, newID)
	if err := s.DestroyScope(ctx, "acct", "room/r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := datakeys.New(pool).WithKeyring(ring).Open(ctx, newID, newSealed); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("a deleted room's message: %v", err)
	}
	if _, err := b3.open(t, ring, newID, newSealed); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("a backup of a deleted room: %v", err)
	}
	if _, _, err := s.Seal(ctx, "acct", "room/r1", day.Add(72*time.Hour), []byte("x")); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("sealing in a deleted room: %v", err)
	}
}

func TestFileKeyringAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyring")
	a, err := datakeys.OpenFileKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := datakeys.OpenFileKeyring(path) // another process on the same file
	if err := a.Create(ctx, "k1", "k2"); err != nil {
		t.Fatal(err)
	}
	w, err := a.Wrap(ctx, "k1", []byte("data key"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := b.Unwrap(ctx, "k1", w, []byte("aad")); err != nil || string(pt) != "data key" {
		t.Fatalf("the other process unwraps: %q %v", pt, err)
	}
	if _, err := b.Unwrap(ctx, "k1", w, []byte("other aad")); err == nil {
		t.Fatal("the aad is bound")
	}
	if err := b.Destroy(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Unwrap(ctx, "k1", w, []byte("aad")); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("after the other process destroyed it: %v", err)
	}
	// a creates a key after b's destruction: k1 is not resurrected from a's memory.
	if err := a.Create(ctx, "k3"); err != nil {
		t.Fatal(err)
	}
	c, _ := datakeys.OpenFileKeyring(path)
	if _, err := c.Wrap(ctx, "k1", []byte("x"), nil); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("k1 after another process wrote the file: %v", err)
	}
	if _, err := c.Wrap(ctx, "k2", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring mode %v", fi.Mode())
	}
}

func TestWrapLegacyKeys(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	legacy := bytes.Repeat([]byte{7}, 32)
	const id = "acct/room/r1/2026-01-05"
	if _, err := pool.Exec(ctx, `INSERT INTO keys.data_keys (key_id, tenant, scope, day, key) VALUES ($1,'acct','room/r1','2026-01-05',$2)`, id, legacy); err != nil {
		t.Fatal(err)
	}
	blk, _ := aes.NewCipher(legacy)
	g, _ := cipher.NewGCM(blk)
	nonce := make([]byte, g.NonceSize())
	sealed := g.Seal(nonce, nonce, []byte("from the first version"), []byte(id))
	if n, err := s.WrapLegacy(ctx); err != nil || n != 1 {
		t.Fatalf("wrap: %d %v", n, err)
	}
	if n, err := s.WrapLegacy(ctx); err != nil || n != 0 {
		t.Fatalf("wrap again: %d %v", n, err)
	}
	var cols int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_schema = 'keys' AND table_name = 'data_keys' AND column_name = 'key'`).Scan(&cols)
	if cols != 0 {
		t.Fatal("the plaintext column is still there")
	}
	if pt, err := datakeys.New(pool).WithKeyring(ring).Open(ctx, id, sealed); err != nil || string(pt) != "from the first version" {
		t.Fatalf("a legacy message after wrapping: %q %v", pt, err)
	}
	if scopes, _, err := s.DestroyPeriods(ctx, []string{datakeys.PeriodKEKID("acct", "room", time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))}); err != nil || len(scopes) != 1 {
		t.Fatalf("purge the legacy day: %v %v", scopes, err)
	}
	if _, err := s.Open(ctx, id, sealed); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("a purged legacy message: %v", err)
	}
}

// TestScopeDaysBefore: a conversation's retention destroys its days before a cutoff, in every
// tenant that sealed in it, and no older copy of their keys opens; later days and other scopes stay.
func TestScopeDaysBefore(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	day := time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
	type msg struct {
		id     string
		sealed []byte
		text   string
	}
	seal := func(tenant, scope string, at time.Time, text string) msg {
		id, sealed, err := s.Seal(ctx, tenant, scope, at, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return msg{id, sealed, text}
	}
	gone := []msg{seal("a1", "conversation/c1", day, "a1 old"), seal("a2", "conversation/c1", day.Add(24*time.Hour), "a2 old")}
	kept := []msg{seal("a1", "conversation/c1", day.Add(48*time.Hour), "a1 new"), seal("a2", "conversation/c1", day.Add(72*time.Hour), "a2 new"),
		seal("a1", "conversation/c2", day, "other conversation")}
	backups := []backup{takeBackup(t, pool, gone[0].id), takeBackup(t, pool, gone[1].id)}
	cutoff := day.Add(48 * time.Hour).Truncate(24 * time.Hour)
	n, damaged, err := s.DestroyScopeDaysBefore(ctx, []string{"conversation/c1", "conversation/none"}, []time.Time{cutoff, cutoff})
	if err != nil || n != 2 || len(damaged) != 0 {
		t.Fatalf("destroyed %d day keys: %v %v", n, damaged, err)
	}
	if n, _, err := s.DestroyScopeDaysBefore(ctx, []string{"conversation/c1"}, []time.Time{cutoff}); err != nil || n != 0 {
		t.Fatalf("again: %d %v", n, err)
	}
	for i, m := range gone {
		for _, st := range []*datakeys.Store{s, datakeys.New(pool).WithKeyring(ring)} {
			if _, err := st.Open(ctx, m.id, m.sealed); !errors.Is(err, datakeys.ErrDestroyed) {
				t.Fatalf("a destroyed day's message: %v", err)
			}
		}
		if _, err := backups[i].open(t, ring, m.id, m.sealed); !errors.Is(err, datakeys.ErrDestroyed) {
			t.Fatalf("an older copy of a destroyed day's keys: %v", err)
		}
	}
	for _, m := range kept {
		if pt, err := datakeys.New(pool).WithKeyring(ring).Open(ctx, m.id, m.sealed); err != nil || string(pt) != m.text {
			t.Fatalf("a message that stays: %q %v", pt, err)
		}
	}
}

// TestLiveScopes: a scope is live until DestroyScope, whether or not it ever had a key, and only in
// its own tenant; the order given is kept.
func TestLiveScopes(t *testing.T) {
	s, _, _ := storeWithRing(t)
	ctx := context.Background()
	if _, _, err := s.Seal(ctx, "t1", "room/used", time.Now(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	all := []string{"room/used", "room/never", "room/other"}
	if live, err := s.LiveScopes(ctx, "t1", all); err != nil || !slices.Equal(live, all) {
		t.Fatalf("before: %v %v", live, err)
	}
	for _, sc := range []string{"room/used", "room/never"} {
		if err := s.DestroyScope(ctx, "t1", sc); err != nil {
			t.Fatal(err)
		}
	}
	if live, err := s.LiveScopes(ctx, "t1", all); err != nil || !slices.Equal(live, []string{"room/other"}) {
		t.Fatalf("after: %v %v", live, err)
	}
	if live, err := s.LiveScopes(ctx, "t2", all); err != nil || !slices.Equal(live, all) {
		t.Fatalf("another tenant: %v %v", live, err)
	}
}
