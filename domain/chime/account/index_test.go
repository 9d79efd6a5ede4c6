package account

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestIndexBehavesAsAMap: from a frozen start and from nothing, random sets and removes leave an
// Index reading exactly as a map given the same operations (Get, Len, All, Sorted).
func TestIndexBehavesAsAMap(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	key := func() string { return fmt.Sprintf("k%03d", rng.IntN(300)) }
	for _, start := range []int{0, 1, 150} {
		model := map[string]int{}
		for len(model) < start {
			model[key()] = rng.Int()
		}
		keys := slices.Sorted(maps.Keys(model))
		vals := make([]int, len(keys))
		for i, k := range keys {
			vals[i] = model[k]
		}
		x := frozenIndex(keys, vals)
		for op := range 3000 {
			k := key()
			if rng.IntN(3) == 0 {
				delete(model, k)
				x.remove(k)
			} else {
				v := rng.Int()
				model[k] = v
				x.set(k, v)
			}
			probe := key()
			got, ok := x.Get(probe)
			want, wantOK := model[probe]
			if got != want || ok != wantOK || x.Len() != len(model) {
				t.Fatalf("start %d, op %d: Get(%s) = %d, %v, want %d, %v; Len %d, want %d", start, op, probe, got, ok, want, wantOK, x.Len(), len(model))
			}
		}
		if got := maps.Collect(x.All()); !reflect.DeepEqual(got, model) {
			t.Fatalf("start %d: All differs from the map", start)
		}
		sk, sv := x.Sorted()
		if !slices.Equal(sk, slices.Sorted(maps.Keys(model))) {
			t.Fatalf("start %d: Sorted keys %v", start, sk)
		}
		for i, k := range sk {
			if sv[i] != model[k] {
				t.Fatalf("start %d: Sorted value of %s is %d, want %d", start, k, sv[i], model[k])
			}
		}
	}
	var none *Index[int]
	if _, ok := none.Get("x"); ok || none.Len() != 0 || len(maps.Collect(none.All())) != 0 {
		t.Fatal("a nil Index is not an empty map")
	}
}

// busyHistory is a long account history in which users come and go, change and are re-added under
// old e-mail addresses, so that a snapshot taken anywhere in it has frozen entries that the events
// after it change, remove and bring back.
func busyHistory(n int) []Event {
	rng := rand.New(rand.NewPCG(7, 8))
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	h := richHistory()
	id := func() string { return fmt.Sprintf("user-%03d", rng.IntN(120)) }
	for i := range n {
		u := id()
		switch rng.IntN(9) {
		case 0, 1, 2:
			h = append(h, UserAdded{UserID: u, Email: fmt.Sprintf("m%03d@example.com", rng.IntN(150)), UserType: UserTypePrivate,
				LicenseType: LicensePro, CreatedAt: at})
		case 3:
			h = append(h, UserRemoved{UserID: u})
		case 4:
			h = append(h, UserSuspended{UserID: u}, UserUnsuspended{UserID: u, Registration: RegistrationUnregistered})
		case 5:
			h = append(h, UserLoggedOut{UserID: u, At: at.Add(time.Duration(i) * time.Second)})
		case 6:
			h = append(h, UserNumberAssigned{UserID: u, E164: fmt.Sprintf("+1206555%04d", i)})
		case 7:
			h = append(h, UserUpdated{UserID: u, LicenseType: LicenseBasic, UserType: UserTypeSharedDevice, Alexa: &AlexaMetadata{RoomARN: "arn:r"}})
		case 8:
			inv := fmt.Sprintf("inv-%d", i)
			h = append(h, UserInvited{UserID: u, InviteID: inv, Email: "x@example.com", TokenHash: "h", ExpiresAt: at, At: at},
				UserRegistered{UserID: u, InviteID: inv, DisplayName: "N", At: at})
		}
	}
	return h
}

// TestSnapshotStateEqualsFold: a state decoded from a snapshot taken at any point of a busy history,
// then evolved with the rest of it, equals the state folded from every event, after every event.
func TestSnapshotStateEqualsFold(t *testing.T) {
	t.Parallel()
	h := busyHistory(600)
	for _, at := range []int{1, 60, 200, 400, len(h) - 1} {
		folded := fold(h[:at])
		restored := roundTrip(t, folded)
		if !equal(t, restored, folded) {
			t.Fatalf("snapshot after %d events decodes to another state", at)
		}
		for i := at; i < len(h); i++ {
			folded, restored = Evolve(folded, h[i]), Evolve(restored, h[i])
			if !equal(t, restored, folded) {
				t.Fatalf("snapshot after %d events, then event %d (%T): the states differ:\n got %s\nwant %s", at, i, h[i], dump(restored), dump(folded))
			}
		}
		// And decisions read it the same way: the deterministic member order of domain purges.
		if got, want := restored.sortedMembers(), folded.sortedMembers(); !reflect.DeepEqual(got, want) {
			t.Fatalf("snapshot after %d events: members in another order", at)
		}
	}
}

// TestSnapshotRejectsKeysOutOfOrder: a body whose members or e-mail entries are out of key order
// (checksum resealed) is a bad snapshot, not a state whose look-ups would miss.
func TestSnapshotRejectsKeysOutOfOrder(t *testing.T) {
	t.Parallel()
	swap := func(b []byte, x, y string) []byte {
		i, j := bytes.Index(b, []byte(x)), bytes.Index(b, []byte(y))
		if i < 0 || j < 0 {
			t.Fatalf("%q or %q not in the encoding", x, y)
		}
		b = slices.Clone(b)
		copy(b[i:], y)
		copy(b[j:], x)
		body := b[:len(b)-4]
		return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
	}
	members := EncodeSnapshot(State{Members: indexOf(map[string]*User{"member-a": {ID: "member-a"}, "member-b": {ID: "member-b"}})})
	emails := EncodeSnapshot(State{Emails: indexOf(map[string]string{"mail-a@x": "id-1", "mail-b@x": "id-2"})})
	for name, b := range map[string][]byte{"members": swap(members, "member-a", "member-b"), "emails": swap(emails, "mail-a@x", "mail-b@x")} {
		if _, err := DecodeSnapshot(b); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s out of order: want ErrBadSnapshot, got %v", name, err)
		}
	}
}

// TestSnapshotOfManyChunks: an account of more members than one chunk holds (with e-mail entries no
// member implies, and members removed) decodes, chunks on several goroutines, to the state it encodes;
// keys out of order across a chunk boundary, and damage inside a later chunk, are bad snapshots.
func TestSnapshotOfManyChunks(t *testing.T) {
	t.Parallel()
	s := bigAccount(2*snapChunk + 77)
	for i := 0; i < 500; i++ {
		s.Emails.set(fmt.Sprintf("alias%05d@bench.example.com", i), fmt.Sprintf("%08x-1c2d-4e5f-8a9b-%012x", i, i))
	}
	s = Evolve(s, UserRemoved{UserID: fmt.Sprintf("%08x-1c2d-4e5f-8a9b-%012x", snapChunk+9, snapChunk+9)})
	got := roundTrip(t, s)
	if !equal(t, got, s) || got.Members.Len() != 2*snapChunk+76 {
		t.Fatalf("a state of %d members does not round-trip (%d decoded)", s.Members.Len(), got.Members.Len())
	}
	reseal := func(body []byte) []byte {
		return binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, castagnoli))
	}
	enc := EncodeSnapshot(s)
	body := enc[:len(enc)-4]
	// The first member of the second chunk swapped with the last of the first (same length ids).
	a, b := fmt.Sprintf("%08x-1c2d", snapChunk-1), fmt.Sprintf("%08x-1c2d", snapChunk)
	i, j := bytes.Index(body, []byte(a)), bytes.Index(body, []byte(b))
	swapped := slices.Clone(body)
	copy(swapped[i:], b)
	copy(swapped[j:], a)
	if _, err := DecodeSnapshot(reseal(swapped)); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("keys out of order across chunks: want ErrBadSnapshot, got %v", err)
	}
	for off := len(body) / 2; off < len(body); off += len(body) / 40 {
		damaged := slices.Clone(body)
		damaged[off] ^= 0xff
		_, _ = DecodeSnapshot(reseal(damaged)) // must not panic (nor race)
	}
}
