package chain_test

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog/chain"
)

var (
	pub, key, _ = ed25519.GenerateKey(nil)
	store       = uuid.MustParse("5f0c6a3e-2b7d-4c1a-9e8f-0a1b2c3d4e5f")
)

// build chains n events and signs a checkpoint at every cpEvery-th position and at the end.
func build(n, cpEvery int, data []byte) ([]chain.Row, []chain.Checkpoint) {
	var rows []chain.Row
	var cps []chain.Checkpoint
	var head chain.Hash
	for i := 1; i <= n; i++ {
		ev := chain.Event{Position: uint64(i), Stream: fmt.Sprintf("s-%d", i%3), Revision: uint64(i / 3),
			EventID: uuid.NewSHA1(store, fmt.Appendf(nil, "%d", i)), Type: "t.v1", ContentType: "application/json",
			Created: int64(i) * 1e7, Data: append(fmt.Appendf(nil, `{"i":%d,"d":"`, i), append(data, `"}`...)...), Metadata: []byte(`{}`)}
		d := chain.Digest(&ev)
		head = chain.Link(head, d)
		h := head
		rows = append(rows, chain.Row{Event: ev, Digest: d[:], Chain: h[:]})
		if i%cpEvery == 0 || i == n {
			cps = append(cps, chain.Sign(key, store, uint64(i), head))
		}
	}
	return rows, cps
}

func verify(rows []chain.Row, cps []chain.Checkpoint) chain.Result {
	v := chain.NewVerifier(pub, store, 0, chain.Hash{}, cps)
	for i := range rows {
		v.Feed(&rows[i])
	}
	return v.Finish(0)
}

func TestVerifierNamesEachProblem(t *testing.T) {
	rows, cps := build(20, 5, []byte("x"))
	if res := verify(rows, cps); !res.OK() || res.SignedUpTo != 20 || res.Unsigned != 0 {
		t.Fatalf("untouched: %+v", res)
	}
	cases := map[string]func([]chain.Row, []chain.Checkpoint) ([]chain.Row, []chain.Checkpoint){
		"altered@4": func(r []chain.Row, c []chain.Checkpoint) ([]chain.Row, []chain.Checkpoint) {
			r[3].Data = []byte(`{"i":4,"d":"y"}`)
			return r, c
		},
		"removed@8": func(r []chain.Row, c []chain.Checkpoint) ([]chain.Row, []chain.Checkpoint) {
			return append(r[:7:7], r[8:]...), c
		},
		"missing-events@20": func(r []chain.Row, c []chain.Checkpoint) ([]chain.Row, []chain.Checkpoint) {
			return r[:18], c
		},
		"unchained@3": func(r []chain.Row, c []chain.Checkpoint) ([]chain.Row, []chain.Checkpoint) {
			r[2].Digest = nil
			return r, c
		},
		"bad-checkpoint@10": func(r []chain.Row, c []chain.Checkpoint) ([]chain.Row, []chain.Checkpoint) {
			c[1].Signature = append([]byte{}, c[1].Signature...)
			c[1].Signature[0] ^= 1
			return r, c
		},
		"inserted@6 chain-rewritten@10 chain-rewritten@15 chain-rewritten@20": func(r []chain.Row, c []chain.Checkpoint) ([]chain.Row, []chain.Checkpoint) {
			// a row swapped for another with a self-consistent digest and a chain that continues from it
			r[5].Data = []byte("forged")
			d := chain.Digest(&r[5].Event)
			h := chain.Link(chain.Hash{}, d)
			first := h
			r[5].Digest, r[5].Chain = d[:], first[:]
			for i := 6; i < len(r); i++ {
				h = chain.Link(h, chain.Hash(r[i].Digest))
				c := h
				r[i].Chain = c[:]
			}
			return r, c
		},
	}
	for want, tamper := range cases {
		rows, cps := build(20, 5, []byte("x"))
		res := verify(tamper(rows, cps))
		got := ""
		for i, p := range res.Problems {
			if i > 0 {
				got += " "
			}
			got += fmt.Sprintf("%s@%d", p.Kind, p.Position)
		}
		if got != want {
			t.Errorf("want %s, got %s", want, got)
		}
	}
}

// FuzzTamperIsFound flips one bit of one field of one event of a signed chain: verification must
// report a problem; with no flip it must report none.
func FuzzTamperIsFound(f *testing.F) {
	f.Add([]byte("hello"), uint8(0), uint8(3), uint16(0), uint8(0))
	f.Add([]byte(""), uint8(1), uint8(7), uint16(1), uint8(7))
	f.Add([]byte("\x00\xff"), uint8(2), uint8(11), uint16(5), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, field, row uint8, at uint16, bit uint8) {
		rows, cps := build(12, 4, data)
		if !verify(rows, cps).OK() {
			t.Fatal("an untouched chain must verify")
		}
		r := &rows[int(row)%len(rows)]
		flip := func(b []byte) []byte {
			if len(b) == 0 {
				return []byte{1 << (bit % 8)}
			}
			b = append([]byte{}, b...)
			b[int(at)%len(b)] ^= 1 << (bit % 8)
			return b
		}
		switch field % 6 {
		case 0:
			r.Data = flip(r.Data)
		case 1:
			r.Metadata = flip(r.Metadata)
		case 2:
			r.Stream = string(flip([]byte(r.Stream)))
		case 3:
			r.Digest = flip(r.Digest)
		case 4:
			r.Chain = flip(r.Chain)
		case 5:
			r.Created ^= 1 << (bit % 63)
		}
		if verify(rows, cps).OK() {
			t.Fatalf("a flipped bit in field %d of row %d went unnoticed", field%6, r.Position)
		}
	})
}

// TestDigestFormat pins the digest and link of one event: stored chains must verify with every later
// version, so the encoding never changes without a new domain string.
func TestDigestFormat(t *testing.T) {
	e := chain.Event{Position: 42, Stream: "chime.account-1", Revision: 7, EventID: uuid.MustParse("5f0c6a3e-2b7d-4c1a-9e8f-0a1b2c3d4e5f"),
		Type: "t.v1", ContentType: "application/json", Created: 638000000000000000, Data: []byte(`{"a":1}`), Metadata: []byte(`{}`)}
	d := chain.Digest(&e)
	l := chain.Link(chain.Hash{}, d)
	if got := fmt.Sprintf("%x %x", d, l); got != "81e434ca613007877a34e6de1993708a00385d84508ae7f33696620c9494c34d 1534138effd1b2157443609819ad1607ce8dd339e03c81f7235eda79f18bc962" {
		t.Fatalf("digest and link changed: %s", got)
	}
}

// TestVerifierNamesARowOutOfPlace feeds, after a signed chain, rows whose positions do not follow
// the last one but which link to it (an export file is only lines: anyone can append one): a row at
// the last position again, one further back, and a row moved before the one it follows. Each is
// named; none may pass for part of the signed log.
func TestVerifierNamesARowOutOfPlace(t *testing.T) {
	forge := func(after chain.Row, pos uint64) chain.Row {
		ev := after.Event
		ev.Position, ev.Data = pos, []byte(`{"forged":true}`)
		d := chain.Digest(&ev)
		h := chain.Link(chain.Hash(after.Chain), d)
		return chain.Row{Event: ev, Digest: d[:], Chain: h[:]}
	}
	cases := map[string]func([]chain.Row) []chain.Row{
		"inserted@20": func(r []chain.Row) []chain.Row { return append(r, forge(r[19], 20)) },
		"inserted@12": func(r []chain.Row) []chain.Row { return append(r, forge(r[19], 12)) },
		"inserted@20 inserted@20": func(r []chain.Row) []chain.Row {
			r = append(r, forge(r[19], 20))
			return append(r, forge(r[20], 20))
		},
		"removed@7 inserted@7": func(r []chain.Row) []chain.Row { // rows 7 and 8 swapped
			r[6], r[7] = r[7], r[6]
			return r
		},
	}
	for want, tamper := range cases {
		rows, cps := build(20, 5, []byte("x"))
		res := verify(tamper(rows), cps)
		got := ""
		for i, p := range res.Problems {
			if i > 0 {
				got += " "
			}
			got += fmt.Sprintf("%s@%d", p.Kind, p.Position)
		}
		if got != want {
			t.Errorf("want %s, got %q (%+v)", want, got, res)
		}
	}
}
