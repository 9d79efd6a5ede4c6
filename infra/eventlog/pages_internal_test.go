package eventlog

import "testing"

// TestPageSizerBoundsBytes: a long read starts with a small page, then sizes pages to about
// pageBytes: 16 records of 1 MiB events, the configured maximum of small ones.
func TestPageSizerBoundsBytes(t *testing.T) {
	p := newPageSizer(2000)
	if p.next != 32 {
		t.Fatalf("first page %d, want 32", p.next)
	}
	p.observe(make([]Record, 32)) // empty events: ~100 bytes each by the estimate
	if p.next != 2000 {
		t.Fatalf("after small events %d, want 2000", p.next)
	}
	big := make([]Record, 16)
	for i := range big {
		big[i].Data = make([]byte, MaxAppendSize)
	}
	q := newPageSizer(2000)
	q.observe(big)
	if q.next != 16 {
		t.Fatalf("after 1 MiB events %d, want 16", q.next)
	}
	if r := newPageSizer(7); r.next != 7 {
		t.Fatalf("a maximum below 32 is the first page: %d", r.next)
	}
}
