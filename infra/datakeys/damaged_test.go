package datakeys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/infra/datakeys"
)

// sealedMsg is one message sealed for a test, with its text.
type sealedMsg struct {
	id     string
	sealed []byte
	text   string
}

func sealMsg(t *testing.T, s *datakeys.Store, tenant, scope string, at time.Time, text string) sealedMsg {
	t.Helper()
	id, sealed, err := s.Seal(context.Background(), tenant, scope, at, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return sealedMsg{id, sealed, text}
}

// damageMessageKey flips a bit of a message key's wrapping.
func damageMessageKey(t *testing.T, pool *pgxpool.Pool, id string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `UPDATE keys.message_keys SET wrapped = set_byte(wrapped, 20, get_byte(wrapped, 20) # 1) WHERE key_id = $1`, id); err != nil {
		t.Fatal(err)
	}
}

// damageDayKeyOf flips a bit of the wrapping of a message's day key.
func damageDayKeyOf(t *testing.T, pool *pgxpool.Pool, msgID string) string {
	t.Helper()
	var day string
	err := pool.QueryRow(context.Background(), `UPDATE keys.data_keys d SET wrapped = set_byte(d.wrapped, 20, get_byte(d.wrapped, 20) # 1)
		FROM keys.message_keys m WHERE m.key_id = $1 AND d.key_id = m.data_key_id RETURNING d.key_id`, msgID).Scan(&day)
	if err != nil {
		t.Fatal(err)
	}
	return day
}

// damageKEK replaces a KEK's bytes in the keyring file by others (the file rewritten whole, as the
// keyring does): what it wrapped no longer opens, although the KEK is there.
func damageKEK(t *testing.T, ring *datakeys.FileKeyring, id string) {
	t.Helper()
	b, err := os.ReadFile(ring.Path())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	found := false
	for i, l := range lines {
		if strings.HasPrefix(l, id+" ") {
			k := make([]byte, 32)
			_, _ = rand.Read(k)
			lines[i], found = id+" "+base64.StdEncoding.EncodeToString(k), true
		}
	}
	if !found {
		t.Fatalf("no KEK %s in the keyring", id)
	}
	tmp := ring.Path() + ".damaged"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, ring.Path()); err != nil {
		t.Fatal(err)
	}
}

// TestRedactionGoesPastDamagedKeys: a redaction (ShredMessage) meets damaged keys — another message
// key of its day, a day key of its room, the redacted message's own day key. It neither fails nor
// leaves the redacted message readable: the message's key goes, the old scope KEK is erased (no older
// copy of the keys opens it), the damaged keys are left as they were (still domain.ErrUnreadable) and
// named in a warning, and every intact message of the room still opens.
func TestRedactionGoesPastDamagedKeys(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	var logged bytes.Buffer
	s.WithLogger(slog.New(slog.NewTextHandler(&logged, nil)))
	day := time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
	redacted := sealMsg(t, s, "acct", "room/r1", day, "redact me")
	neighbour := sealMsg(t, s, "acct", "room/r1", day.Add(time.Minute), "damaged neighbour")
	intact := []sealedMsg{sealMsg(t, s, "acct", "room/r1", day.Add(time.Hour), "same day"),
		sealMsg(t, s, "acct", "room/r1", day.Add(48*time.Hour), "another day")}
	otherDay := sealMsg(t, s, "acct", "room/r1", day.Add(24*time.Hour), "a damaged day")
	// Room r2: the redacted message's own day key is damaged (copies taken before still hold it whole).
	own := sealMsg(t, s, "acct", "room/r2", day, "its own day is damaged")
	ownLater := sealMsg(t, s, "acct", "room/r2", day.Add(24*time.Hour), "r2 later")
	backups := []backup{takeBackup(t, pool, redacted.id), takeBackup(t, pool, own.id)}
	damageMessageKey(t, pool, neighbour.id)
	damagedDay := damageDayKeyOf(t, pool, otherDay.id)
	damageDayKeyOf(t, pool, own.id)

	for _, m := range []sealedMsg{redacted, own} {
		if err := s.ShredMessage(ctx, m.id); err != nil {
			t.Fatalf("redacting %q past damaged keys: %v", m.text, err)
		}
	}
	fresh := datakeys.New(pool).WithKeyring(ring) // nothing cached
	for i, m := range []sealedMsg{redacted, own} {
		if _, err := fresh.Open(ctx, m.id, m.sealed); !errors.Is(err, domain.ErrShredded) {
			t.Fatalf("redacted %q: %v", m.text, err)
		}
		if _, err := backups[i].open(t, ring, m.id, m.sealed); !errors.Is(err, datakeys.ErrDestroyed) {
			t.Fatalf("an older copy of the keys of redacted %q: %v", m.text, err)
		}
	}
	for _, m := range []sealedMsg{neighbour, otherDay} {
		if _, err := fresh.Open(ctx, m.id, m.sealed); !errors.Is(err, domain.ErrUnreadable) {
			t.Fatalf("damaged %q after the redaction: %v", m.text, err)
		}
	}
	for _, m := range append(intact, ownLater) {
		if pt, err := fresh.Open(ctx, m.id, m.sealed); err != nil || string(pt) != m.text {
			t.Fatalf("intact %q after the redaction: %q %v", m.text, pt, err)
		}
	}
	for _, want := range []string{neighbour.id, damagedDay, "did not open"} {
		if !strings.Contains(logged.String(), want) {
			t.Fatalf("the warning does not name %q:\n%s", want, logged.String())
		}
	}
	if err := s.ShredMessage(ctx, redacted.id); err != nil {
		t.Fatalf("redacting again: %v", err)
	}
}

// TestScopeDaysBeforeGoesPastDamagedKeys: a conversation's retention meets damaged keys among the days
// it keeps — a day key whose wrapping is damaged, a day whose period KEK is damaged in the keyring.
// The due days are destroyed all the same (no older copy opens them), in that conversation and the
// others; the damaged days are returned (matching domain.ErrUnreadable, naming their keys) and left as
// they were; the intact day kept still opens.
func TestScopeDaysBeforeGoesPastDamagedKeys(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	day := time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
	at := func(d int) time.Time { return day.Add(time.Duration(d) * 24 * time.Hour) }
	gone := []sealedMsg{sealMsg(t, s, "a1", "conversation/c1", at(0), "c1 old"), sealMsg(t, s, "a1", "conversation/c1", at(1), "c1 older"),
		sealMsg(t, s, "a1", "conversation/c2", at(0), "c2 old")}
	wrappingDamaged := sealMsg(t, s, "a1", "conversation/c1", at(2), "c1 damaged wrapping")
	kekDamaged := sealMsg(t, s, "a1", "conversation/c1", at(3), "c1 damaged period")
	kept := sealMsg(t, s, "a1", "conversation/c1", at(4), "c1 new")
	backup := takeBackup(t, pool, gone[0].id)
	days := []string{damageDayKeyOf(t, pool, wrappingDamaged.id), datakeys.KeyID("a1", "conversation/c1", at(3))}
	damageKEK(t, ring, datakeys.PeriodKEKID("a1", "conversation", at(3)))

	cutoff := at(2).Truncate(24 * time.Hour)
	n, damaged, err := s.DestroyScopeDaysBefore(ctx, []string{"conversation/c1", "conversation/c2"}, []time.Time{cutoff, cutoff})
	if err != nil || n != 3 {
		t.Fatalf("destroyed %d day keys past damaged ones: %v", n, err)
	}
	if len(damaged) != 2 {
		t.Fatalf("damaged: %v", damaged)
	}
	for i, err := range damaged {
		if !errors.Is(err, domain.ErrUnreadable) || !strings.Contains(err.Error(), days[i]) {
			t.Fatalf("damaged %d: %v (want %s)", i, err, days[i])
		}
	}
	fresh := datakeys.New(pool).WithKeyring(ring)
	for _, m := range gone {
		if _, err := fresh.Open(ctx, m.id, m.sealed); !errors.Is(err, domain.ErrShredded) {
			t.Fatalf("a due day's %q: %v", m.text, err)
		}
	}
	if _, err := backup.open(t, ring, gone[0].id, gone[0].sealed); !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("an older copy of a due day's keys: %v", err)
	}
	for _, m := range []sealedMsg{wrappingDamaged, kekDamaged} {
		if _, err := fresh.Open(ctx, m.id, m.sealed); !errors.Is(err, domain.ErrUnreadable) {
			t.Fatalf("damaged %q: %v", m.text, err)
		}
	}
	if pt, err := fresh.Open(ctx, kept.id, kept.sealed); err != nil || string(pt) != kept.text {
		t.Fatalf("the intact day kept: %q %v", pt, err)
	}
}
