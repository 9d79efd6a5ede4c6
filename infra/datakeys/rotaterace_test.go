package datakeys_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/datakeys"
)

// hookRing is a keyring that runs hook once, right after the first Wrap under a KEK whose id starts
// with prefix: what another process (a redaction, the retention purge, a room's deletion) can do
// between a first message of the day reading its scope's KEK and storing the day key wrapped under it.
type hookRing struct {
	*datakeys.FileKeyring
	prefix string
	hook   func()
}

func (r *hookRing) Wrap(ctx context.Context, id string, plaintext, aad []byte) ([]byte, error) {
	w, err := r.FileKeyring.Wrap(ctx, id, plaintext, aad)
	if h := r.hook; err == nil && h != nil && strings.HasPrefix(id, r.prefix) {
		r.hook = nil
		h()
	}
	return w, err
}

// TestFirstMessageOfADayRacesARotation: the first message of a day in a conversation is sealed while
// a redaction of another message of the conversation (or the purge) replaces the scope's KEK. The new
// day key must not be stored wrapped under the KEK the rotation erases: the message, and every later
// one of that day, must open from a fresh store.
func TestFirstMessageOfADayRacesARotation(t *testing.T) {
	ctx := context.Background()
	_, pool, file := storeWithRing(t)
	ring := &hookRing{FileKeyring: file, prefix: "scope/t1/conversation/c1/"}
	s := datakeys.New(pool).WithKeyring(ring)
	day := time.Date(2027, 6, 1, 23, 0, 0, 0, time.UTC)
	victim, _, err := s.Seal(ctx, "t1", "conversation/c1", day, []byte("to redact"))
	if err != nil {
		t.Fatal(err)
	}
	ring.hook = func() {
		if err := s.ShredMessage(ctx, victim); err != nil {
			t.Error(err)
		}
	}
	next := day.Add(2 * time.Hour) // the next UTC day: its day key is created now
	id, sealed, err := s.Seal(ctx, "t1", "conversation/c1", next, []byte("first of the day"))
	if err != nil {
		t.Fatal(err)
	}
	if ring.hook != nil {
		t.Fatal("the rotation did not run")
	}
	id2, sealed2, err := s.Seal(ctx, "t1", "conversation/c1", next, []byte("second of the day"))
	if err != nil {
		t.Fatal(err)
	}
	fresh := datakeys.New(pool).WithKeyring(file)
	if pt, err := fresh.Open(ctx, id, sealed); err != nil || string(pt) != "first of the day" {
		t.Fatalf("the first message of the day: %q %v", pt, err)
	}
	if pt, err := fresh.Open(ctx, id2, sealed2); err != nil || string(pt) != "second of the day" {
		t.Fatalf("the second message of the day: %q %v", pt, err)
	}
	if _, _, err := datakeys.New(pool).WithKeyring(file).Seal(ctx, "t1", "conversation/c1", next, []byte("later")); err != nil {
		t.Fatalf("a later message of the day: %v", err)
	}
}

// TestFirstMessageOfADayRacesAScopeDestruction: the first message of a day in a room is sealed while
// the room is deleted (DestroyScope). It must not be stored under a day key that looks live (wrapped)
// in a destroyed scope: the seal is ErrDestroyed, and no live day key is left in the scope — else the
// purge's sweeps (ClearDestroyed, the blob sweep) never see it as destroyed.
func TestFirstMessageOfADayRacesAScopeDestruction(t *testing.T) {
	ctx := context.Background()
	_, pool, file := storeWithRing(t)
	ring := &hookRing{FileKeyring: file, prefix: "scope/acct/room/r1/"}
	s := datakeys.New(pool).WithKeyring(ring)
	day := time.Date(2027, 6, 1, 23, 0, 0, 0, time.UTC)
	if _, _, err := s.Seal(ctx, "acct", "room/r1", day, []byte("before")); err != nil {
		t.Fatal(err)
	}
	ring.hook = func() {
		if err := s.DestroyScope(ctx, "acct", "room/r1"); err != nil {
			t.Error(err)
		}
	}
	_, _, err := s.Seal(ctx, "acct", "room/r1", day.Add(2*time.Hour), []byte("during the deletion"))
	if ring.hook != nil {
		t.Fatal("the destruction did not run")
	}
	if !errors.Is(err, datakeys.ErrDestroyed) {
		t.Fatalf("sealing while the room is deleted: %v, want ErrDestroyed", err)
	}
	var live int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM keys.data_keys WHERE scope = 'room/r1' AND wrapped IS NOT NULL`).Scan(&live); err != nil || live != 0 {
		t.Fatalf("%d live day keys left in the deleted room (%v)", live, err)
	}
}
