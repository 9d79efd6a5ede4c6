package datakeys_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/infra/datakeys"
)

// TestDamagedContentIsUnreadable: content that does not open under its key, which is there — its
// bytes damaged, or its message key's wrapping — is domain.ErrUnreadable, never ErrShredded, so that
// a long job (an export, the Wickr archive) can tell it from a failure worth retrying and report the
// one item instead of stopping at it; a key that is gone stays ErrShredded.
func TestDamagedContentIsUnreadable(t *testing.T) {
	ctx := context.Background()
	s, pool, ring := storeWithRing(t)
	day := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	id, sealed, err := s.Seal(ctx, "acct", "room/r1", day, []byte("secret plans"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	for name, b := range map[string][]byte{"tampered": tampered, "cut short": sealed[:5]} {
		if _, err := s.Open(ctx, id, b); !errors.Is(err, domain.ErrUnreadable) || errors.Is(err, domain.ErrShredded) {
			t.Fatalf("%s content: %v", name, err)
		}
	}
	other, _, err := s.Seal(ctx, "acct", "room/r1", day.AddDate(0, 0, 1), []byte("other")) // a day of its own
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE keys.message_keys SET wrapped = set_byte(wrapped, 20, get_byte(wrapped, 20) # 1) WHERE key_id = $1`, other); err != nil {
		t.Fatal(err)
	}
	fresh := datakeys.New(pool).WithKeyring(ring) // nothing cached
	if _, err := fresh.Open(ctx, other, sealed); !errors.Is(err, domain.ErrUnreadable) {
		t.Fatalf("a damaged message key: %v", err)
	}
	if pt, err := fresh.Open(ctx, id, sealed); err != nil || string(pt) != "secret plans" {
		t.Fatalf("the intact message beside it: %q %v", pt, err)
	}
	if err := s.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, id, sealed); !errors.Is(err, domain.ErrShredded) || errors.Is(err, domain.ErrUnreadable) {
		t.Fatalf("a destroyed key: %v", err)
	}
}
