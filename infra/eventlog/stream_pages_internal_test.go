package eventlog

import (
	"context"
	"math"
	"runtime"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
)

// firstSendAlloc is a Streams_ReadServer that records how much the process allocated before the
// first event was sent, and ends the read there.
type firstSendAlloc struct {
	recordingRead
	start, atFirst uint64
	cancel         context.CancelFunc
}

func (f *firstSendAlloc) SendMsg(any) error {
	if f.atFirst == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		f.atFirst = ms.TotalAlloc - f.start
		f.cancel()
	}
	return context.Canceled
}

// TestStreamReadPagesAreBoundedInBytes: a stream read (and a stream subscription's catch-up) fetches
// pages sized in bytes, as reads of $all do, not ReadPageSize records at once: 100 events of 512 KiB
// were one 50 MiB page (2,000 events of 1 MiB, which a client may append, would be 2 GiB per read).
func TestStreamReadPagesAreBoundedInBytes(t *testing.T) {
	ctx := context.Background()
	l, _ := openTestLog(t, LogConfig{RingSize: 1})
	data := make([]byte, 512<<10)
	for i := 0; i < 100; i++ {
		p := Proposed{EventID: uuid.New(), Type: "big", ContentType: "application/octet-stream", Data: data, Metadata: []byte{}}
		if _, err := l.Append(ctx, "big", Expect{Kind: ExpectAny}, []Proposed{p}); err != nil {
			t.Fatal(err)
		}
	}
	s := &streamsServer{log: l, pageSize: 2000}
	read := func(name string, run func(srv *firstSendAlloc)) {
		t.Helper()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		srv := &firstSendAlloc{recordingRead: recordingRead{ctx: cctx}, cancel: cancel}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		srv.start = ms.TotalAlloc
		run(srv)
		if srv.atFirst == 0 || srv.atFirst > 40<<20 {
			t.Errorf("%s: %d MiB allocated before the first event was sent; want a page of a few MiB", name, srv.atFirst>>20)
		}
	}
	opts := &api.ReadReq_Options_StreamOptions{StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte("big")},
		RevisionOption: &api.ReadReq_Options_StreamOptions_Start{Start: &shared.Empty{}}}
	read("read stream", func(srv *firstSendAlloc) { _ = s.readStream(opts, true, math.MaxUint64, srv) })
	head, _ := l.Head()
	read("stream catch-up", func(srv *firstSendAlloc) { _ = s.catchUpStream(srv.ctx, srv, "big", 0, head) })
}
