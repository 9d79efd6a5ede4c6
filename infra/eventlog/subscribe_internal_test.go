package eventlog

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// recordingRead is a Streams_ReadServer that counts the events sent to it.
type recordingRead struct {
	grpc.ServerStream
	ctx    context.Context
	mu     sync.Mutex
	events int
}

func (r *recordingRead) Context() context.Context     { return r.ctx }
func (r *recordingRead) Send(*api.ReadResp) error     { return nil }
func (r *recordingRead) SetTrailer(metadata.MD)       {}
func (r *recordingRead) SendHeader(metadata.MD) error { return nil }
func (r *recordingRead) SendMsg(m any) error {
	if _, ok := m.(encodedResp); ok {
		r.mu.Lock()
		r.events++
		r.mu.Unlock()
	}
	return nil
}

// TestStreamSubscriptionOnEmptyLogDeliversOnce: a stream subscription that read the head while the log
// was empty (0) and whose catch-up read runs after an append was committed delivers that event once.
// The catch-up bounded its read by the head it was given, except for 0, which ReadStream takes for
// "no bound": the event came in the catch-up and again live.
func TestStreamSubscriptionOnEmptyLogDeliversOnce(t *testing.T) {
	ctx := context.Background()
	l, _ := openTestLog(t, LogConfig{})
	s := &streamsServer{log: l, pageSize: 100}
	head, _ := l.Head() // what subscribe reads before confirming
	if head != 0 {
		t.Fatalf("head %d on an empty log", head)
	}
	// The race: an append commits between the head read and the catch-up read.
	if _, err := l.Append(ctx, "s", Expect{Kind: ExpectAny}, []Proposed{{EventID: uuid.New(), Type: "t", ContentType: "application/json", Data: []byte("{}"), Metadata: []byte{}}}); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	srv := &recordingRead{ctx: tctx}
	if err := s.catchUpStream(tctx, srv, "s", 0, head); err != nil {
		t.Fatal(err)
	}
	f := &filter{re: regexp.MustCompile("^s$")}
	_ = s.tail(tctx, srv, head, f, true) // ends with the context
	if srv.events != 1 {
		t.Fatalf("the subscription delivered the one event %d times", srv.events)
	}
}
