package eventlog_test

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventlog/chain"
)

// exportLine is a line of an export's events file, as VerifyExport reads it.
type exportLine struct {
	Position    int64     `json:"position"`
	Stream      string    `json:"stream"`
	Revision    uint64    `json:"revision"`
	EventID     uuid.UUID `json:"eventId"`
	Type        string    `json:"type"`
	ContentType string    `json:"contentType"`
	Created     int64     `json:"created"`
	Data        []byte    `json:"data"`
	Metadata    []byte    `json:"metadata"`
	Digest      []byte    `json:"digest"`
	Chain       []byte    `json:"chain"`
}

func (l *exportLine) event() chain.Event {
	return chain.Event{Position: uint64(l.Position), Stream: l.Stream, Revision: l.Revision, EventID: l.EventID, Type: l.Type,
		ContentType: l.ContentType, Created: l.Created, Data: l.Data, Metadata: l.Metadata}
}

func (l *exportLine) same(o *exportLine) bool {
	a, b := l.event(), o.event()
	return l.Position == o.Position && chain.Digest(&a) == chain.Digest(&b)
}

var (
	fuzzKey   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	fuzzStore = uuid.MustParse("0b8f1d2e-3c4a-4b5c-8d6e-7f8091a2b3c4")
)

// pristineExport is an export of 12 chained events signed at every 4th position (the last
// included): lines of events.jsonl and checkpoints.jsonl, and store.json.
func pristineExport() (events []exportLine, cps [][]byte, store []byte) {
	var head chain.Hash
	for i := int64(1); i <= 12; i++ {
		l := exportLine{Position: i, Stream: fmt.Sprintf("s-%d", i%3), Revision: uint64(i / 3), EventID: uuid.NewSHA1(fuzzStore, fmt.Append(nil, i)),
			Type: "t.v1", ContentType: "application/json", Created: i * 1e7, Data: fmt.Appendf(nil, `{"i":%d}`, i), Metadata: []byte(`{}`)}
		ev := l.event()
		d := chain.Digest(&ev)
		head = chain.Link(head, d)
		h := head
		l.Digest, l.Chain = d[:], h[:]
		events = append(events, l)
		if i%4 == 0 {
			cp := chain.Sign(fuzzKey, fuzzStore, uint64(i), head)
			b, _ := json.Marshal(map[string]any{"position": cp.Position, "chain": cp.Chain[:], "signature": cp.Signature, "keyId": cp.KeyID})
			cps = append(cps, b)
		}
	}
	store, _ = json.Marshal(map[string]any{"storeId": fuzzStore, "from": 1, "to": 12})
	return events, cps, store
}

// tamperExport applies one change, chosen by op, to an export's files: a line removed, duplicated,
// moved, replaced by payload, a forged event linked to a line inserted after it (its position that
// line's plus delta), a checkpoint line removed or replaced, store.json replaced, the events file cut.
func tamperExport(op, at uint8, delta int8, payload []byte, events [][]byte, cps [][]byte, store []byte) ([][]byte, [][]byte, []byte) {
	i := int(at) % len(events)
	j := (i + int(delta)%len(events) + len(events)) % len(events)
	switch op % 10 {
	case 1:
		events = append(events[:i:i], events[i+1:]...)
	case 2:
		events = append(events[:j:j], append([][]byte{events[i]}, events[j:]...)...)
	case 3:
		events[i], events[j] = events[j], events[i]
	case 4:
		events[i] = payload
	case 5:
		var prev exportLine
		_ = json.Unmarshal(events[i], &prev)
		forged := prev
		forged.Position, forged.Data = prev.Position+int64(delta), payload
		ev := forged.event()
		d := chain.Digest(&ev)
		h := chain.Link(chain.Hash(prev.Chain), d)
		forged.Digest, forged.Chain = d[:], h[:]
		b, _ := json.Marshal(forged)
		events = append(events[:i+1:i+1], append([][]byte{b}, events[i+1:]...)...)
	case 6:
		k := int(at) % len(cps)
		cps = append(cps[:k:k], cps[k+1:]...)
	case 7:
		cps[int(at)%len(cps)] = payload
	case 8:
		store = payload
	case 9:
		all := bytes.Join(events, []byte("\n"))
		events = [][]byte{all[:int(at)*len(all)/256]}
	}
	return events, cps, store
}

// FuzzVerifyExport verifies an export after one change to its files (tamperExport). VerifyExport
// must never panic; the untouched export must verify; and a verification that finds nothing and
// calls every event signed must have read exactly the untouched events.
func FuzzVerifyExport(f *testing.F) {
	for op := range uint8(10) {
		f.Add(op, uint8(11), int8(0), []byte(`{"position":12}`))
		f.Add(op, uint8(5), int8(-1), []byte("not json"))
	}
	f.Add(uint8(5), uint8(11), int8(0), []byte(`{"forged":true}`))
	f.Add(uint8(4), uint8(3), int8(0), []byte(`{"position":-1,"stream":"x"}`))
	f.Add(uint8(8), uint8(0), int8(0), []byte(`{"storeId":"0b8f1d2e-3c4a-4b5c-8d6e-7f8091a2b3c4","to":18446744073709551615}`))
	pub := fuzzKey.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, op, at uint8, delta int8, payload []byte) {
		pristine, cps, store := pristineExport()
		var lines [][]byte
		for i := range pristine {
			b, _ := json.Marshal(&pristine[i])
			lines = append(lines, b)
		}
		lines, cps, store = tamperExport(op, at, delta, payload, lines, cps, store)
		dir := t.TempDir()
		for name, b := range map[string][]byte{eventlog.ExportStoreFile: store, eventlog.ExportCheckpointsFile: bytes.Join(cps, []byte("\n")),
			eventlog.ExportEventsFile: bytes.Join(lines, []byte("\n"))} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		res, err := eventlog.VerifyExport(dir, pub)
		if op%10 == 0 && (err != nil || !res.OK() || res.Unsigned != 0) {
			t.Fatalf("the untouched export: %+v %v", res, err)
		}
		if err != nil || !res.OK() || res.Unsigned != 0 {
			return // refused, or something named
		}
		var got []exportLine
		for _, b := range bytes.Split(bytes.Join(lines, []byte("\n")), []byte("\n")) {
			var l exportLine
			if len(bytes.TrimSpace(b)) > 0 && json.Unmarshal(b, &l) == nil {
				got = append(got, l)
			}
		}
		if len(got) != len(pristine) {
			t.Fatalf("op %d: %d events verified as the signed log of %d: %+v", op%10, len(got), len(pristine), res)
		}
		for i := range got {
			if !got[i].same(&pristine[i]) {
				t.Fatalf("op %d: event %d differs from the signed log's yet verifies: %+v", op%10, i+1, res)
			}
		}
	})
}

// TestVerifyExportShowsProgress verifies an export of 250,000 events offline: progress is reported
// about every 100,000 events, as the database's verification reports it.
func TestVerifyExportShowsProgress(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, eventlog.ExportEventsFile))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	var head chain.Hash
	const n = 2_500
	for i := int64(1); i <= n; i++ {
		l := exportLine{Position: i, Stream: "s", Revision: uint64(i - 1), Type: "t.v1", ContentType: "application/json", Data: []byte(`{}`)}
		ev := l.event()
		d := chain.Digest(&ev)
		head = chain.Link(head, d)
		h := head
		l.Digest, l.Chain = d[:], h[:]
		if err := enc.Encode(&l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	cp := chain.Sign(fuzzKey, fuzzStore, n, head)
	b, _ := json.Marshal(map[string]any{"position": cp.Position, "chain": cp.Chain[:], "signature": cp.Signature, "keyId": cp.KeyID})
	store, _ := json.Marshal(map[string]any{"storeId": fuzzStore, "from": 1, "to": n})
	_ = os.WriteFile(filepath.Join(dir, eventlog.ExportCheckpointsFile), b, 0o644)
	_ = os.WriteFile(filepath.Join(dir, eventlog.ExportStoreFile), store, 0o644)
	var seen []uint64
	res, err := eventlog.VerifyExportProgress(dir, fuzzKey.Public().(ed25519.PublicKey), 1_000, func(rows uint64) { seen = append(seen, rows) })
	if err != nil || !res.OK() || res.Rows != n {
		t.Fatalf("%+v %v", res, err)
	}
	if fmt.Sprint(seen) != "[1000 2000]" {
		t.Fatalf("progress: %v", seen)
	}
}
