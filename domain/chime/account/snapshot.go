package account

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// SnapshotVersion is the version of the snapshot encoding of State. Bump it whenever the encoding
// changes, State or one of the structs it holds gains or loses a field, or Evolve starts to derive a
// field differently: a snapshot of another version is ignored and the stream is folded from its
// first event (and snapshotted again), so a bump costs one full fold per large account, never a
// wrong state. snapshot_test.go fails when a field is added without the codec knowing it.
const SnapshotVersion = 3

// SnapshotCodec encodes account states for the event store's snapshots (infra/eventstore). It is
// pure: the event store decides when to take a snapshot and where to keep it.
//
// The encoding is compact binary, not JSON: a 100,000-user account must load in well under 50 ms.
// Layout: one version byte, the State's fields in declaration order, then a CRC-32C of everything
// before it. Strings are length-prefixed; collections carry their length plus one, with 0 meaning
// nil (so nil and empty round-trip as themselves); enum-like strings (user type, licence,
// registration, ...) are written once and then referred to by index. Every map and Index is written
// in key order, so equal states encode to equal bytes (SameState). Members and Emails decode into
// frozen Indexes, without one map insert per user, from chunks of snapChunk entries decoded on every
// core at once (each chunk length-prefixed, with enum values of its own); an entry of Emails that a member implies
// (Emails[u.Email] == the user's id, which Evolve maintains) carries the member's position, and the
// address is written there only. Times are written as Unix seconds and nanoseconds and decode in UTC (every time of a State
// comes from an event, stamped in UTC). A decoded State's strings share one copy of the bytes (no
// allocation per string), which stays in memory as long as one of them does.
//
// Snapshots, not a split of this aggregate, make a large account load fast after a start: users
// share the account's consistency boundary (unique e-mail addresses, the deletion guard, domain
// removal suspending and purging them), which a split would turn into sagas; see the README's
// "Snapshots" for the comparison.
type SnapshotCodec struct{}

// Version is SnapshotVersion.
func (SnapshotCodec) Version() int { return SnapshotVersion }

// Encode encodes s. Encode reads the maps of s: call it only while nothing evolves s.
func (SnapshotCodec) Encode(s State) ([]byte, error) { return EncodeSnapshot(s), nil }

// Decode decodes a snapshot written by Encode of the same version; any other input is an error.
func (SnapshotCodec) Decode(b []byte) (State, error) { return DecodeSnapshot(b) }

// ErrBadSnapshot reports a snapshot that is not a valid encoding of this SnapshotVersion.
var ErrBadSnapshot = errors.New("account: bad snapshot")

// snapshotFields lists, per struct the codec writes, the fields it writes (in declaration order). The test
// compares it with the structs (by reflection): a new field fails it until the codec writes the field
// and SnapshotVersion is bumped.
var snapshotFields = map[string][]string{
	"State": {"Exists", "Deleted", "ID", "AwsAccountID", "Name", "Type", "Status", "DefaultLicense", "SupportedLicenses",
		"CreatedAt", "Settings", "Emails", "Members", "Domains", "Bots", "DelegateGroups", "Invites", "PendingPurges"},
	"Settings":      {"DisableRemoteControl", "EnableDialOut"},
	"User":          {"ID", "Email", "Username", "Type", "License", "Registration", "Alexa", "LoggedOutAt", "Telephony", "PrimaryNumber", "Invitation", "DisplayName", "beforeSuspension"},
	"AlexaMetadata": {"Enabled", "RoomARN"},
	"Telephony":     {"InboundCalling", "OutboundCalling", "SMS"},
	"DomainClaim":   {"Name", "Status", "TXTName", "TXTValue", "ClaimedAt", "VerifiedAt"},
	"Bot":           {"ID", "UserID", "DisplayName", "Email", "Disabled", "CreatedAt", "UpdatedAt", "LambdaARN", "HTTPSEndpoint", "HasEvents"},
	"Invite":        {"ID", "UserID", "Email", "TokenHash", "EmailStatus", "ExpiresAt", "At", "Used"},
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeSnapshot is SnapshotCodec.Encode.
func EncodeSnapshot(s State) []byte {
	w := snapWriter{b: make([]byte, 0, 64+80*s.Members.Len())}
	w.b = append(w.b, SnapshotVersion)
	w.bools(s.Exists, s.Deleted, s.Settings.DisableRemoteControl, s.Settings.EnableDialOut)
	for _, v := range []string{s.ID, s.AwsAccountID, s.Name} {
		w.str(v)
	}
	for _, v := range []string{s.Type, s.Status, s.DefaultLicense} {
		w.enum(v)
	}
	w.strs(s.SupportedLicenses)
	w.time(s.CreatedAt)
	w.members(s.Members, s.Emails)
	w.length(len(s.Domains), s.Domains == nil)
	for _, k := range sortedKeys(s.Domains) {
		d := s.Domains[k]
		w.str(k)
		if w.present(d != nil) {
			w.str(d.Name)
			w.enum(d.Status)
			w.str(d.TXTName)
			w.str(d.TXTValue)
			w.time(d.ClaimedAt)
			w.time(d.VerifiedAt)
		}
	}
	w.length(len(s.Bots), s.Bots == nil)
	for _, k := range sortedKeys(s.Bots) {
		b := s.Bots[k]
		w.str(k)
		if w.present(b != nil) {
			w.bools(b.Disabled, b.HasEvents)
			for _, v := range []string{b.ID, b.UserID, b.DisplayName, b.Email, b.LambdaARN, b.HTTPSEndpoint} {
				w.str(v)
			}
			w.time(b.CreatedAt)
			w.time(b.UpdatedAt)
		}
	}
	w.strs(s.DelegateGroups)
	w.length(len(s.Invites), s.Invites == nil)
	for _, k := range sortedKeys(s.Invites) {
		inv := s.Invites[k]
		w.str(k)
		if w.present(inv != nil) {
			w.bools(inv.Used)
			for _, v := range []string{inv.ID, inv.UserID, inv.Email, inv.TokenHash} {
				w.str(v)
			}
			w.enum(inv.EmailStatus)
			w.time(inv.ExpiresAt)
			w.time(inv.At)
		}
	}
	w.length(len(s.PendingPurges), s.PendingPurges == nil)
	for _, k := range sortedKeys(s.PendingPurges) {
		w.str(k)
		w.time(s.PendingPurges[k])
	}
	return binary.LittleEndian.AppendUint32(w.b, crc32.Checksum(w.b, castagnoli))
}

// SameState reports whether a and b are the same state: every field equal, nil and empty
// collections told apart, times compared as instants, whatever their in-memory form (a state
// decoded from a snapshot holds frozen Indexes where the folded one holds maps). It compares their
// encodings, which cover every field (snapshot_test.go).
func SameState(a, b State) bool { return bytes.Equal(EncodeSnapshot(a), EncodeSnapshot(b)) }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// User flags, one byte per member.
const (
	userNil = 1 << iota
	userKeyIsID
	userAlexa
	userAlexaEnabled
	userInbound
	userOutbound
	userSMS
	userEmailIndexed // the member's Email is written in the e-mail section, by the entry that names it
)

// snapChunk is the number of entries per chunk of the members and e-mail sections. Each chunk is
// length-prefixed and self-contained (its enum values are its own), so a decoder can decode the
// chunks of a 100,000-user account on every core at once.
const snapChunk = 8192

// members writes Members in key order, then Emails in key order, each in chunks of snapChunk
// entries: the section's length, then per chunk its entry count, its byte length and its bytes. An
// entry of Emails that a member implies (Emails[u.Email] == its key, as Evolve keeps it) is written
// as the address and the member's position, and that member's Email is not written again.
func (w *snapWriter) members(members *Index[*User], emails *Index[string]) {
	keys, users := members.Sorted()
	ekeys, ids := emails.Sorted()
	pos := make([]int, len(ekeys)) // the member implying each e-mail entry, or -1
	implied := make([]bool, len(keys))
	for j, e := range ekeys {
		pos[j] = -1
		if p, ok := slices.BinarySearch(keys, ids[j]); ok && users[p] != nil && users[p].Email == e {
			pos[j], implied[p] = p, true
		}
	}
	w.length(len(keys), members == nil)
	w.chunks(len(keys), func(c *snapWriter, i int) { c.member(keys[i], users[i], implied[i]) })
	w.length(len(ekeys), emails == nil)
	w.chunks(len(ekeys), func(c *snapWriter, j int) {
		c.str(ekeys[j])
		c.uvarint(uint64(pos[j] + 1))
		if pos[j] < 0 {
			c.str(ids[j])
		}
	})
}

// chunks writes entries 0..n-1 by entry, snapChunk at a time, each chunk with a writer of its own.
func (w *snapWriter) chunks(n int, entry func(*snapWriter, int)) {
	c := snapWriter{}
	for lo := 0; lo < n; lo += snapChunk {
		hi := min(lo+snapChunk, n)
		c.b, c.enumList, c.enums = c.b[:0], c.enumList[:0], nil
		for i := lo; i < hi; i++ {
			entry(&c, i)
		}
		w.uvarint(uint64(hi - lo))
		w.str(unsafe.String(unsafe.SliceData(c.b), len(c.b)))
	}
}

func (w *snapWriter) member(k string, u *User, emailIndexed bool) {
	if u == nil {
		w.b = append(w.b, userNil)
		w.str(k)
		return
	}
	var f byte
	if k == u.ID {
		f |= userKeyIsID
	}
	if emailIndexed {
		f |= userEmailIndexed
	}
	if u.Alexa != nil {
		f |= userAlexa
		if u.Alexa.Enabled {
			f |= userAlexaEnabled
		}
	}
	for _, b := range []struct {
		on  bool
		bit byte
	}{{u.Telephony.InboundCalling, userInbound}, {u.Telephony.OutboundCalling, userOutbound}, {u.Telephony.SMS, userSMS}} {
		if b.on {
			f |= b.bit
		}
	}
	w.b = append(w.b, f)
	if f&userKeyIsID == 0 {
		w.str(k)
	}
	w.str(u.ID)
	if !emailIndexed {
		w.str(u.Email)
	}
	w.str(u.Username)
	w.enum(u.Type)
	w.enum(u.License)
	w.enum(u.Registration)
	if u.Alexa != nil {
		w.str(u.Alexa.RoomARN)
	}
	w.time(u.LoggedOutAt)
	w.str(u.PrimaryNumber)
	w.enum(u.Invitation)
	w.str(u.DisplayName)
	w.enum(u.beforeSuspension)
}

type snapWriter struct {
	b        []byte
	enumList []string          // the first 16 enum values, by index
	enums    map[string]uint64 // the others
}

func (w *snapWriter) uvarint(n uint64) { w.b = binary.AppendUvarint(w.b, n) }

func (w *snapWriter) str(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// enum writes a string of a small set: 0 and the string the first time, its index+1 afterwards.
// A set of a few values is searched linearly (faster than hashing); the map takes over beyond.
func (w *snapWriter) enum(s string) {
	for i, e := range w.enumList {
		if e == s {
			w.uvarint(uint64(i) + 1)
			return
		}
	}
	if i, ok := w.enums[s]; ok {
		w.uvarint(i + 1)
		return
	}
	if len(w.enumList) < 16 {
		w.enumList = append(w.enumList, s)
	} else {
		if w.enums == nil {
			w.enums = map[string]uint64{}
		}
		w.enums[s] = uint64(len(w.enumList) + len(w.enums))
	}
	w.uvarint(0)
	w.str(s)
}

// length writes a collection's length plus one, or 0 for nil.
func (w *snapWriter) length(n int, isNil bool) {
	if isNil {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(n) + 1)
}

func (w *snapWriter) present(ok bool) bool {
	w.bools(ok)
	return ok
}

func (w *snapWriter) bools(bs ...bool) {
	var f byte
	for i, b := range bs {
		if b {
			f |= 1 << i
		}
	}
	w.b = append(w.b, f)
}

func (w *snapWriter) strs(ss []string) {
	w.length(len(ss), ss == nil)
	for _, s := range ss {
		w.enum(s)
	}
}

// time writes 0 for the zero time, else 1, the Unix seconds (zigzag) and the nanoseconds.
func (w *snapWriter) time(t time.Time) {
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	w.b = append(w.b, 1)
	w.b = binary.AppendVarint(w.b, t.Unix())
	w.uvarint(uint64(t.Nanosecond()))
}

// DecodeSnapshot is SnapshotCodec.Decode. The decoded State's strings share b's memory: the caller
// must not modify b afterwards (the event store decodes a buffer it fetched for that load alone).
func DecodeSnapshot(b []byte) (State, error) {
	if len(b) < 5 {
		return State{}, fmt.Errorf("%w: %d bytes", ErrBadSnapshot, len(b))
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return State{}, fmt.Errorf("%w: checksum mismatch", ErrBadSnapshot)
	}
	if body[0] != SnapshotVersion {
		return State{}, fmt.Errorf("%w: version %d, want %d", ErrBadSnapshot, body[0], SnapshotVersion)
	}
	// The body viewed as a string, without a copy: every decoded string is a slice of b's memory (no
	// allocation each, and no 8 MB copy for a 100k-user account), so b must never change afterwards.
	r := &snapReader{s: unsafe.String(unsafe.SliceData(body), len(body)), off: 1}
	var s State
	f := r.byte()
	s.Exists, s.Deleted, s.Settings.DisableRemoteControl, s.Settings.EnableDialOut = f&1 != 0, f&2 != 0, f&4 != 0, f&8 != 0
	s.ID, s.AwsAccountID, s.Name = r.str(), r.str(), r.str()
	s.Type, s.Status, s.DefaultLicense = r.enum(), r.enum(), r.enum()
	s.SupportedLicenses = r.strs()
	s.CreatedAt = r.time()
	s.Members, s.Emails = r.members()
	s.Domains = r.domains()
	s.Bots = r.bots()
	s.DelegateGroups = r.strs()
	s.Invites = r.invites()
	if n, isNil := r.length(); !isNil {
		s.PendingPurges = make(map[string]time.Time, n)
		for range n {
			k := r.str()
			s.PendingPurges[k] = r.time()
		}
	}
	if r.err == nil && r.off != len(r.s) {
		r.fail("%d bytes left over", len(r.s)-r.off)
	}
	if r.err != nil {
		return State{}, r.err
	}
	return s, nil
}

// members reads Members and Emails into frozen Indexes: the entries come in key order, so no map is
// built (100,000 map inserts would be most of a large account's decoding), and their chunks decode
// on every core at once. Keys out of order, and an e-mail entry naming a member that does not expect
// it (or twice), are errors like any other damage.
func (r *snapReader) members() (*Index[*User], *Index[string]) {
	n, isNil := r.length()
	keys, vals, flags := make([]string, n), make([]*User, n), make([]byte, n)
	r.decodeChunks(n, func(c *snapReader, lo, hi int) {
		users := make([]User, hi-lo) // one allocation per chunk
		for i := lo; i < hi; i++ {
			keys[i], vals[i], flags[i] = c.member(&users[i-lo])
		}
	}, keys)
	var members *Index[*User]
	if !isNil {
		members = frozenIndex(keys, vals)
	}
	indexed := 0 // members whose Email an e-mail entry is still to give
	for _, f := range flags {
		if f&userEmailIndexed != 0 {
			indexed++
		}
	}
	en, eNil := r.length()
	ekeys, ids, pos := make([]string, en), make([]string, en), make([]uint64, en)
	r.decodeChunks(en, func(c *snapReader, lo, hi int) {
		for j := lo; j < hi; j++ {
			ekeys[j] = c.str()
			if pos[j] = c.uvarint(); pos[j] == 0 {
				ids[j] = c.str()
			}
		}
	}, ekeys)
	for j, p := range pos {
		switch {
		case p == 0:
		case p <= uint64(n) && flags[p-1]&userEmailIndexed != 0:
			flags[p-1] &^= userEmailIndexed
			indexed--
			vals[p-1].Email, ids[j] = ekeys[j], keys[p-1]
		default:
			r.fail("e-mail entry %d names member %d", j, p)
		}
	}
	if indexed != 0 {
		r.fail("%d members without their e-mail entry", indexed)
	}
	if eNil {
		return members, nil
	}
	return members, frozenIndex(ekeys, ids)
}

// decodeChunks reads the chunks of a section of n entries (as snapWriter.chunks wrote them) and
// decodes them with decode, on up to GOMAXPROCS goroutines; each chunk has a reader of its own. It
// then checks that keys, which decode filled, are strictly increasing.
func (r *snapReader) decodeChunks(n int, decode func(c *snapReader, lo, hi int), keys []string) {
	type chunk struct {
		lo, hi int
		r      snapReader
	}
	var chunks []chunk
	for lo := 0; lo < n && r.err == nil; {
		cnt, b := r.uvarint(), r.str()
		if cnt == 0 || cnt > uint64(n-lo) || cnt > uint64(len(b)) {
			r.fail("chunk of %d entries at entry %d of %d", cnt, lo, n)
			break
		}
		chunks = append(chunks, chunk{lo: lo, hi: lo + int(cnt), r: snapReader{s: b}})
		lo += int(cnt)
	}
	if r.err != nil {
		return
	}
	var next atomic.Int64
	work := func() {
		for i := int(next.Add(1) - 1); i < len(chunks); i = int(next.Add(1) - 1) {
			c := &chunks[i]
			decode(&c.r, c.lo, c.hi)
			if c.r.err == nil && c.r.off != len(c.r.s) {
				c.r.fail("%d bytes left over", len(c.r.s)-c.r.off)
			}
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(chunks)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	for i := range chunks {
		if err := chunks[i].r.err; err != nil {
			r.fail("chunk %d: %v", i, err)
			return
		}
	}
	for i := 1; i < len(keys); i++ {
		if keys[i] <= keys[i-1] {
			r.fail("entry %d out of order", i)
			return
		}
	}
}

// member reads one member into u; it returns its key, u (nil for a nil member) and its flags.
func (r *snapReader) member(u *User) (string, *User, byte) {
	f := r.byte()
	if f&userNil != 0 {
		return r.str(), nil, 0
	}
	var k string
	if f&userKeyIsID == 0 {
		k = r.str()
	}
	u.ID = r.str()
	if f&userEmailIndexed == 0 {
		u.Email = r.str()
	}
	u.Username = r.str()
	if f&userKeyIsID != 0 {
		k = u.ID
	}
	u.Type, u.License, u.Registration = r.enum(), r.enum(), r.enum()
	if f&userAlexa != 0 {
		u.Alexa = &AlexaMetadata{Enabled: f&userAlexaEnabled != 0, RoomARN: r.str()}
	}
	u.LoggedOutAt = r.time()
	u.Telephony = Telephony{InboundCalling: f&userInbound != 0, OutboundCalling: f&userOutbound != 0, SMS: f&userSMS != 0}
	u.PrimaryNumber, u.Invitation, u.DisplayName, u.beforeSuspension = r.str(), r.enum(), r.str(), r.enum()
	return k, u, f
}

func (r *snapReader) domains() map[string]*DomainClaim {
	n, isNil := r.length()
	if isNil {
		return nil
	}
	out := make(map[string]*DomainClaim, n)
	for range n {
		k := r.str()
		if r.byte() == 0 {
			out[k] = nil
			continue
		}
		out[k] = &DomainClaim{Name: r.str(), Status: r.enum(), TXTName: r.str(), TXTValue: r.str(), ClaimedAt: r.time(), VerifiedAt: r.time()}
	}
	return out
}

func (r *snapReader) bots() map[string]*Bot {
	n, isNil := r.length()
	if isNil {
		return nil
	}
	out := make(map[string]*Bot, n)
	for range n {
		k := r.str()
		if r.byte() == 0 {
			out[k] = nil
			continue
		}
		f := r.byte()
		out[k] = &Bot{Disabled: f&1 != 0, HasEvents: f&2 != 0, ID: r.str(), UserID: r.str(), DisplayName: r.str(), Email: r.str(),
			LambdaARN: r.str(), HTTPSEndpoint: r.str(), CreatedAt: r.time(), UpdatedAt: r.time()}
	}
	return out
}

func (r *snapReader) invites() map[string]*Invite {
	n, isNil := r.length()
	if isNil {
		return nil
	}
	out := make(map[string]*Invite, n)
	for range n {
		k := r.str()
		if r.byte() == 0 {
			out[k] = nil
			continue
		}
		f := r.byte()
		out[k] = &Invite{Used: f&1 != 0, ID: r.str(), UserID: r.str(), Email: r.str(), TokenHash: r.str(),
			EmailStatus: r.enum(), ExpiresAt: r.time(), At: r.time()}
	}
	return out
}

// snapReader reads what snapWriter wrote; the first error sticks and later reads return zero values.
type snapReader struct {
	s     string
	off   int
	enums []string
	err   error
}

func (r *snapReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: at byte %d: %s", ErrBadSnapshot, r.off, fmt.Sprintf(format, args...))
	}
	r.off = len(r.s)
}

func (r *snapReader) byte() byte {
	if r.off >= len(r.s) {
		r.fail("truncated")
		return 0
	}
	r.off++
	return r.s[r.off-1]
}

func (r *snapReader) uvarint() uint64 {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x
		}
	}
	r.fail("varint overflows")
	return 0
}

func (r *snapReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.s)-r.off) {
		r.fail("string of %d bytes", n)
		return ""
	}
	r.off += int(n)
	return r.s[r.off-int(n) : r.off]
}

func (r *snapReader) enum() string {
	i := r.uvarint()
	if i == 0 {
		s := r.str()
		r.enums = append(r.enums, s)
		return s
	}
	if i > uint64(len(r.enums)) {
		r.fail("enum %d of %d", i, len(r.enums))
		return ""
	}
	return r.enums[i-1]
}

// length reads a collection length; every element takes at least one byte, so a length beyond the
// bytes left is corrupt (and never allocated).
func (r *snapReader) length() (int, bool) {
	n := r.uvarint()
	if n == 0 {
		return 0, true
	}
	if n-1 > uint64(len(r.s)-r.off) {
		r.fail("length %d", n-1)
		return 0, false
	}
	return int(n - 1), false
}

func (r *snapReader) strs() []string {
	n, isNil := r.length()
	if isNil {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.enum()
	}
	return out
}

func (r *snapReader) time() time.Time {
	if r.byte() == 0 {
		return time.Time{}
	}
	x := r.uvarint()
	sec := int64(x>>1) ^ -int64(x&1) // zigzag, as binary.AppendVarint writes it
	nsec := r.uvarint()
	if nsec >= 1e9 {
		r.fail("nanoseconds %d", nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
