package iam

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/belfry/iam"
	iamrm "github.com/belfry/belfry/projections/iam"
)

// fakeRead is the IAM read model with one active key; it counts its reads and can stall them.
type fakeRead struct {
	reads atomic.Int64
	delay time.Duration
	// started is when the last read began.
	started atomic.Pointer[time.Time]
}

func (f *fakeRead) ActiveKey(_ context.Context, id string) (iamrm.Key, error) {
	now := time.Now()
	f.started.Store(&now)
	f.reads.Add(1)
	time.Sleep(f.delay)
	if id != "AKIAKNOWNKNOWNKNOWN" {
		return iamrm.Key{}, domain.Wrapf(iam.ErrUnknownKey, "unknown access key %s", id)
	}
	return iamrm.Key{AccessKeyID: id, Principal: "alice", PrincipalID: "AIDA", AwsAccountID: "111122223333",
		Secret: domain.Sealed{KeyID: "k", Data: []byte("secret")}}, nil
}

func (f *fakeRead) Policies(context.Context, string) ([]iamrm.PolicyRef, error) { return nil, nil }

type clearOpener struct{}

func (clearOpener) OpenSealed(_ context.Context, s domain.Sealed) ([]byte, error) { return s.Data, nil }

// TestUnknownKeyIsCachedLikeAKnownOne: a key id that is not active is remembered as unknown for the
// cache's time, as an active key is remembered: a repeated probe of a deleted or invented key id is
// answered without reading the database, as fast as a key in use, so its timing does not tell the
// two apart (and a flood of invented ids does not read the database once per request).
func TestUnknownKeyIsCachedLikeAKnownOne(t *testing.T) {
	t.Parallel()
	read := &fakeRead{}
	k := NewKeys(read, clearOpener{})
	ctx := context.Background()
	for _, id := range []string{"AKIAKNOWNKNOWNKNOWN", "AKIAUNKNOWNUNKNOWN"} {
		before := read.reads.Load()
		_, _, err1 := k.LookupAccessKey(ctx, id)
		_, _, err2 := k.LookupAccessKey(ctx, id)
		if (err1 == nil) != (err2 == nil) || (err1 != nil && domain.KindOf(err2) != domain.KindNotFound) {
			t.Fatalf("%s: the two lookups disagree: %v, %v", id, err1, err2)
		}
		if n := read.reads.Load() - before; n != 1 {
			t.Errorf("%s: two lookups read the database %d times, want 1", id, n)
		}
	}
}

// TestCachedKeyAgeCountsFromTheRead: a cache entry's age counts from when its read began, so that a
// key deactivated while it was being read is refused within keyCacheTTL of the deactivation, not of
// the end of a slow read.
func TestCachedKeyAgeCountsFromTheRead(t *testing.T) {
	t.Parallel()
	read := &fakeRead{delay: 50 * time.Millisecond}
	k := NewKeys(read, clearOpener{})
	if _, _, err := k.LookupAccessKey(context.Background(), "AKIAKNOWNKNOWNKNOWN"); err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	at := k.cache["AKIAKNOWNKNOWNKNOWN"].at
	k.mu.Unlock()
	if started := *read.started.Load(); at.After(started) {
		t.Fatalf("the entry is dated %s, %s after its read began", at.Format(time.StampMicro), at.Sub(started))
	}
}
