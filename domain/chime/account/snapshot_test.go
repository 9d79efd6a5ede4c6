package account

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

var updateSnapshotGolden = flag.Bool("update-snapshot-golden", false,
	"write testdata/snapshot/v<SnapshotVersion>.bin (only together with a new SnapshotVersion)")

// richHistory is a fixed account history that reaches every event type and every field of State.
func richHistory() []Event {
	t := func(min int) time.Time { return time.Date(2026, 11, 22, 10, min, 7, 123456789, time.UTC) }
	return []Event{
		Created{AccountID: "a1", AwsAccountID: "123456789012", Name: "Acme", AccountType: TypeTeam, DefaultLicense: LicensePro,
			SupportedLicenses: []string{LicenseBasic, LicensePro}, CreatedAt: t(0)},
		Renamed{Name: "Acme Corp"},
		DefaultLicenseChanged{DefaultLicense: LicenseBasic},
		SettingsUpdated{DisableRemoteControl: true, EnableDialOut: true},
		UserAdded{UserID: "u1", Email: "alice@example.com", Username: "alice", UserType: UserTypePrivate, LicenseType: LicensePro, CreatedAt: t(1)},
		UserAdded{UserID: "u2", Email: "bob@example.com", UserType: UserTypeSharedDevice, LicenseType: LicenseBasic, CreatedAt: t(1)},
		UserAdded{UserID: "u3", Email: "carol@acme.example", UserType: UserTypePrivate, LicenseType: LicensePro, CreatedAt: t(1)},
		UserAdded{UserID: "u4", Email: "dave@example.com", UserType: UserTypePrivate, LicenseType: LicensePro, CreatedAt: t(1)},
		UserUpdated{UserID: "u2", LicenseType: LicensePro, UserType: UserTypeSharedDevice, Alexa: &AlexaMetadata{Enabled: true, RoomARN: "arn:aws:a4b:room/1"}},
		UserUpdated{UserID: "u4", LicenseType: LicenseBasic, UserType: UserTypePrivate, Alexa: &AlexaMetadata{}},
		UserLoggedOut{UserID: "u1", At: t(2)},
		PersonalPINReset{UserID: "u1"},
		UserSettingsUpdated{UserID: "u1", InboundCalling: true, SMS: true},
		UserSettingsUpdated{UserID: "u2", OutboundCalling: true},
		UserNumberAssigned{UserID: "u1", E164: "+12065550100"},
		UserNumberAssigned{UserID: "u2", E164: "+12065550101"},
		UserNumberUnassigned{UserID: "u2", E164: "+12065550101"},
		UserInvited{UserID: "u5", InviteID: "i1", Email: "eve@example.com", TokenHash: "h1", ExpiresAt: t(30), At: t(3)},
		UserAdded{UserID: "u5", Email: "eve@example.com", UserType: UserTypePrivate, LicenseType: LicensePro, CreatedAt: t(3)},
		UserInvited{UserID: "u5", InviteID: "i2", Email: "eve@example.com", TokenHash: "h2", ExpiresAt: t(31), At: t(4)},
		InviteTokenIssued{InviteID: "i2", TokenHash: "h3"},
		InviteEmailResult{InviteID: "i2", Status: EmailSent},
		UserRegistered{UserID: "u5", InviteID: "i2", DisplayName: "Eve", At: t(5)},
		UserRemoved{UserID: "u4"},
		DomainClaimAdded{Domain: "acme.example", TXTName: "_amazon-chime", TXTValue: "v1", At: t(6)},
		DomainVerified{Domain: "acme.example", At: t(7)},
		AccountTypeChanged{AccountType: TypeEnterpriseLWA},
		DomainClaimAdded{Domain: "old.example", TXTName: "_amazon-chime", TXTValue: "v2", At: t(6)},
		DomainVerified{Domain: "old.example", At: t(8)},
		DomainClaimRemoved{Domain: "old.example", WasVerified: true, At: t(9), DeleteUsersAt: t(59)},
		DomainClaimAdded{Domain: "gone.example", TXTName: "_amazon-chime", TXTValue: "v3", At: t(6)},
		DomainVerified{Domain: "gone.example", At: t(8)},
		DomainClaimRemoved{Domain: "gone.example", WasVerified: true, At: t(9), DeleteUsersAt: t(10)},
		DomainUsersPurged{Domain: "gone.example", At: t(10)},
		DomainClaimAdded{Domain: "pending.example", TXTName: "_amazon-chime", TXTValue: "v4", At: t(11)},
		UserSuspended{UserID: "u3"},
		UserSuspended{UserID: "u1"},
		UserUnsuspended{UserID: "u1", Registration: RegistrationUnregistered},
		BotCreated{BotID: "b1", UserID: "bu1", DisplayName: "Helper", Email: "helper-chimebot@acme.example", At: t(12)},
		BotCreated{BotID: "b2", UserID: "bu2", DisplayName: "Other", Email: "other-chimebot@acme.example", At: t(12)},
		BotUpdated{BotID: "b1", Disabled: true, At: t(13)},
		BotTokenRegenerated{BotID: "b2", At: t(14)},
		BotEventsConfigured{BotID: "b1", LambdaARN: "arn:aws:lambda:us-east-1:123456789012:function:f", HTTPSEndpoint: ""},
		BotEventsConfigured{BotID: "b2", HTTPSEndpoint: "https://bot.example/events"},
		BotEventsConfigurationDeleted{BotID: "b2"},
		DelegateGroupsAssociated{Groups: []string{"g2", "g1", "g3"}},
		DelegateGroupsDisassociated{Groups: []string{"g3"}},
	}
}

func fold(events []Event) State {
	s := Initial()
	for _, e := range events {
		s = Evolve(s, e)
	}
	return s
}

// plainState is a State with its Indexes as maps, for reflect.DeepEqual.
type plainState struct {
	S       State
	Members map[string]*User
	Emails  map[string]string
}

func plain(s State) plainState {
	p := plainState{S: s}
	p.S.Members, p.S.Emails = nil, nil
	if s.Members != nil {
		p.Members = maps.Collect(s.Members.All())
	}
	if s.Emails != nil {
		p.Emails = maps.Collect(s.Emails.All())
	}
	return p
}

// equal reports whether a and b hold the same values, by reflect.DeepEqual (nil and empty apart),
// and checks that SameState agrees.
func equal(t *testing.T, a, b State) bool {
	t.Helper()
	deep := reflect.DeepEqual(plain(a), plain(b))
	if same := SameState(a, b); same != deep {
		t.Errorf("SameState says %v, reflect.DeepEqual %v:\n a %s\n b %s", same, deep, dump(a), dump(b))
	}
	return deep
}

func roundTrip(t *testing.T, s State) State {
	t.Helper()
	var c SnapshotCodec
	b, err := c.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return got
}

// TestSnapshotRoundTripsEveryFoldedState: the state after each prefix of a history that reaches every
// event type decodes deep-equal to itself (nil and empty collections as they were).
func TestSnapshotRoundTripsEveryFoldedState(t *testing.T) {
	t.Parallel()
	h := richHistory()
	for i := range len(h) + 1 {
		s := fold(h[:i])
		if got := roundTrip(t, s); !equal(t, got, s) {
			t.Fatalf("after %d events:\n got %s\nwant %s", i, dump(got), dump(s))
		}
	}
	deleted := fold(append(h, Deleted{DeletedAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}))
	if got := roundTrip(t, deleted); !equal(t, got, deleted) {
		t.Fatalf("deleted account:\n got %s\nwant %s", dump(got), dump(deleted))
	}
	// The decoded state evolves like the folded one (the maps are live, not shared with the bytes).
	s := fold(h)
	more := []Event{UserAdded{UserID: "u9", Email: "zed@example.com", UserType: UserTypePrivate, LicenseType: LicensePro},
		UserRemoved{UserID: "u1"}, UserUnsuspended{UserID: "u3", Registration: RegistrationUnregistered}}
	want, got := fold(append(h, more...)), roundTrip(t, s)
	for _, e := range more {
		got = Evolve(got, e)
	}
	if !equal(t, got, want) {
		t.Fatalf("snapshot + tail differs from the full fold:\n got %s\nwant %s", dump(got), dump(want))
	}
}

// TestSnapshotCoversEveryField fills every field of State and of every struct it holds with non-zero
// values (by reflection, unexported fields too) and requires a deep-equal round trip: a field the codec
// does not write fails here. The field lists must also match snapshotFields, which names what the
// codec writes: adding a field means writing it, listing it and bumping SnapshotVersion.
func TestSnapshotCoversEveryField(t *testing.T) {
	t.Parallel()
	seen := map[string][]string{}
	collectFields(t, reflect.TypeFor[State](), seen)
	for name, fields := range seen {
		if want := snapshotFields[name]; !slices.Equal(fields, want) {
			t.Errorf("%s has fields %v, the snapshot codec writes %v: teach EncodeSnapshot/DecodeSnapshot the change, "+
				"update snapshotFields and bump SnapshotVersion (and its golden file)", name, fields, want)
		}
	}
	for name := range snapshotFields {
		if _, ok := seen[name]; !ok {
			t.Errorf("snapshotFields lists %s, which State no longer holds", name)
		}
	}
	for seed := range 3 {
		var s State
		fill(reflect.ValueOf(&s).Elem(), &filler{n: seed * 1000})
		if got := roundTrip(t, s); !equal(t, got, s) {
			t.Fatalf("seed %d: a filled state does not round-trip:\n got %s\nwant %s", seed, dump(got), dump(s))
		}
		// The same with Emails the index of Members that Evolve keeps.
		emails := map[string]string{}
		for k, u := range s.Members.All() {
			emails[u.Email] = k
		}
		s.Emails = indexOf(emails)
		if got := roundTrip(t, s); !equal(t, got, s) {
			t.Fatalf("seed %d, indexed e-mails: no round trip:\n got %s\nwant %s", seed, dump(got), dump(s))
		}
	}
	// Nil and empty collections, nil pointers in maps.
	for _, s := range []State{{}, {Members: indexOf(map[string]*User{}), Emails: indexOf(map[string]string{}), Domains: map[string]*DomainClaim{},
		Bots: map[string]*Bot{}, Invites: map[string]*Invite{}, PendingPurges: map[string]time.Time{}, SupportedLicenses: []string{}, DelegateGroups: []string{}},
		{Members: indexOf(map[string]*User{"x": nil}), Domains: map[string]*DomainClaim{"d": nil}, Bots: map[string]*Bot{"b": nil}, Invites: map[string]*Invite{"i": nil}},
		{Emails: indexOf(map[string]string{"a@b.c": "nobody"})}, {Members: indexOf(map[string]*User{"u": {ID: "v", Email: "e"}}), Emails: indexOf(map[string]string{"e": "u"})},
		{Members: indexOf(map[string]*User{"u": {ID: "u", Email: "e"}, "v": {ID: "v", Email: "e"}}), Emails: indexOf(map[string]string{"e": "v", "f": "u"})},
	} {
		if got := roundTrip(t, s); !equal(t, got, s) {
			t.Fatalf("no round trip:\n got %s\nwant %s", dump(got), dump(s))
		}
	}
}

// collectFields records the field names of t and of every struct type of this package it reaches.
func collectFields(t *testing.T, typ reflect.Type, seen map[string][]string) {
	switch typ.Kind() {
	case reflect.Pointer, reflect.Slice:
		collectFields(t, typ.Elem(), seen)
	case reflect.Map:
		collectFields(t, typ.Key(), seen)
		collectFields(t, typ.Elem(), seen)
	case reflect.Struct:
		if typ == reflect.TypeFor[time.Time]() {
			return
		}
		if isIndex(typ) { // a map from strings: what matters is its values
			f, _ := typ.FieldByName("vals")
			collectFields(t, f.Type, seen)
			return
		}
		if typ.PkgPath() != reflect.TypeFor[State]().PkgPath() {
			t.Errorf("State holds %s: the snapshot codec knows only this package's structs and time.Time", typ)
			return
		}
		if _, ok := seen[typ.Name()]; ok {
			return
		}
		seen[typ.Name()] = nil
		for i := range typ.NumField() {
			f := typ.Field(i)
			seen[typ.Name()] = append(seen[typ.Name()], f.Name)
			collectFields(t, f.Type, seen)
		}
	case reflect.String, reflect.Bool:
	default:
		t.Errorf("State holds a %s: the snapshot codec writes only strings, bools, times, structs, pointers, slices and maps", typ)
	}
}

// isIndex reports whether typ is an Index[V].
func isIndex(typ reflect.Type) bool {
	return typ.PkgPath() == reflect.TypeFor[State]().PkgPath() && strings.HasPrefix(typ.Name(), "Index[")
}

type filler struct{ n int }

// fill sets every field reachable from v to a distinct non-zero value.
func fill(v reflect.Value, f *filler) {
	if !v.CanSet() { // an unexported field: write it through its address
		v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	f.n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", f.n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		if isIndex(v.Type().Elem()) { // an Index of two entries, in its overlay map
			fill(v.Elem().FieldByName("over"), f)
			return
		}
		fill(v.Elem(), f)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), f)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, f)
			fill(e, f)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(int64(f.n)*86_401-5_000_000, int64(f.n)).UTC()))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), f)
		}
	default:
		panic("fill: " + v.Kind().String())
	}
}

// TestSnapshotGolden: the committed snapshot of the current version decodes to the rich history's
// state. Changing the encoding breaks this test: bump SnapshotVersion and write the new version's
// golden file (go test -run TestSnapshotGolden -update-snapshot-golden); never rewrite an old one.
func TestSnapshotGolden(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "snapshot", fmt.Sprintf("v%d.bin", SnapshotVersion))
	s := fold(richHistory())
	if *updateSnapshotGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, EncodeSnapshot(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: every SnapshotVersion has a golden file", err)
	}
	got, err := DecodeSnapshot(b)
	if err != nil {
		t.Fatalf("the golden snapshot of version %d no longer decodes (bump SnapshotVersion): %v", SnapshotVersion, err)
	}
	if !equal(t, got, s) {
		t.Fatalf("the golden snapshot of version %d decodes differently (bump SnapshotVersion):\n got %s\nwant %s", SnapshotVersion, dump(got), dump(s))
	}
}

// TestSnapshotRejectsDamage: truncated, bit-flipped, foreign-version and trailing-garbage inputs are
// errors (ErrBadSnapshot), never panics; with the checksum recomputed, damaged bodies still never panic.
func TestSnapshotRejectsDamage(t *testing.T) {
	t.Parallel()
	good := EncodeSnapshot(fold(richHistory()))
	reseal := func(body []byte) []byte {
		return binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, castagnoli))
	}
	body := good[:len(good)-4]
	cases := map[string][]byte{"empty": nil, "short": good[:3], "other version": reseal(append([]byte{SnapshotVersion + 1}, body[1:]...)),
		"trailing bytes": reseal(append(slices.Clone(body), 0)), "bad checksum": append(slices.Clone(body), 1, 2, 3, 4)}
	for i := 5; i < len(good); i += 7 {
		cases[fmt.Sprintf("truncated to %d", i)] = good[:i]
		cases[fmt.Sprintf("resealed truncation to %d", i)] = reseal(body[:i-4])
	}
	for name, b := range cases {
		if _, err := DecodeSnapshot(b); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: want ErrBadSnapshot, got %v", name, err)
		}
	}
	for i := 1; i < len(body); i++ {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			b := slices.Clone(body)
			b[i] ^= x
			_, _ = DecodeSnapshot(reseal(b)) // must not panic
		}
	}
}

func dump(s State) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// bigAccount is a Team account with n users, as `belfry bench api` seeds it.
func bigAccount(n int) State {
	s := fold(richHistory()[:1])
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := range n {
		s = Evolve(s, UserAdded{UserID: fmt.Sprintf("%08x-1c2d-4e5f-8a9b-%012x", i, i), Email: fmt.Sprintf("user%07d@bench.example.com", i),
			UserType: UserTypePrivate, LicenseType: LicensePro, CreatedAt: at})
	}
	return s
}

// BenchmarkSnapshot100kUsers measures the codec on a 100,000-user account, beside encoding/json of the
// same state (the alternative it replaces) and the in-memory fold it saves.
func BenchmarkSnapshot100kUsers(b *testing.B) {
	s := bigAccount(100_000)
	enc := EncodeSnapshot(s)
	js, _ := json.Marshal(s)
	b.Run("encode", func(b *testing.B) {
		b.ReportMetric(float64(len(enc)), "bytes")
		for b.Loop() {
			EncodeSnapshot(s)
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeSnapshot(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-encode", func(b *testing.B) {
		b.ReportMetric(float64(len(js)), "bytes")
		for b.Loop() {
			_, _ = json.Marshal(s)
		}
	})
	b.Run("json-decode", func(b *testing.B) {
		for b.Loop() {
			var out State
			if err := json.Unmarshal(js, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("evolve-only", func(b *testing.B) {
		for b.Loop() {
			bigAccount(100_000)
		}
	})
}
