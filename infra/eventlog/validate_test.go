package eventlog_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/belfry/belfry/infra/eventlog"
)

// rawCodec sends pre-encoded bytes, so that a test can put what protobuf's marshaller refuses
// (invalid UTF-8 in a string field) on the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return proto.Marshal(v.(proto.Message))
}
func (rawCodec) Unmarshal(b []byte, v any) error { return proto.Unmarshal(b, v.(proto.Message)) }
func (rawCodec) Name() string                    { return "proto" }

// rawAppend sends one append of one event whose fields are given as they go on the wire; "@@" in
// the event type is replaced by the two bytes 0xff 0xfe (invalid UTF-8) after marshalling.
func rawAppend(ctx context.Context, conn *grpc.ClientConn, stream []byte, typ, contentType string) error {
	opts, err := proto.Marshal(&api.AppendReq{Content: &api.AppendReq_Options_{Options: &api.AppendReq_Options{
		StreamIdentifier:       &shared.StreamIdentifier{StreamName: stream},
		ExpectedStreamRevision: &api.AppendReq_Options_Any{Any: &shared.Empty{}}}}})
	if err != nil {
		return err
	}
	msg, err := proto.Marshal(&api.AppendReq{Content: &api.AppendReq_ProposedMessage_{ProposedMessage: &api.AppendReq_ProposedMessage{
		Id:       &shared.UUID{Value: &shared.UUID_String_{String_: uuid.NewString()}},
		Metadata: map[string]string{"type": typ, "content-type": contentType}, Data: []byte(`{}`)}}})
	if err != nil {
		return err
	}
	msg = bytes.Replace(msg, []byte("@@"), []byte{0xff, 0xfe}, 1)
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/event_store.client.streams.Streams/Append", grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return err
	}
	if err := s.SendMsg(opts); err != nil {
		return err
	}
	if err := s.SendMsg(msg); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	return s.RecvMsg(new(api.AppendResp))
}

// TestBadAppendsHarmNoOtherWriter: 8 writers append through EventStore-Client-Go while another
// client sends appends that cannot be stored (NUL and invalid UTF-8 in the stream name, the event
// type and the content type; an over-long stream name). Every good append succeeds, every bad one
// gets InvalidArgument naming the field, and nothing of the bad ones is stored.
func TestBadAppendsHarmNoOtherWriter(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	conn := rawConn(t, e.srv, e.srv.Credentials())
	const writers, perWriter = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				var expect esdb.ExpectedRevision = esdb.NoStream{}
				if i > 0 {
					expect = esdb.Revision(uint64(i - 1))
				}
				_, err := e.client.AppendToStream(ctx, fmt.Sprintf("good-%d", w), esdb.AppendToStreamOptions{ExpectedRevision: expect},
					ev("good", fmt.Sprintf(`{"i":%d}`, i)))
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
				}
			}
		}()
	}
	type bad struct {
		name, field string
		send        func() error
	}
	viaClient := func(stream, typ string) func() error {
		return func() error {
			_, err := e.client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, ev(typ, `{}`))
			return err
		}
	}
	bads := []bad{
		{"NUL in stream name (client)", "stream name", viaClient("bad\x00stream", "t")},
		{"invalid UTF-8 in stream name (client)", "stream name", viaClient("bad\xffstream", "t")},
		{"NUL in event type (client)", "type", viaClient("bad-type", "chime.account\x00.renamed.v1")},
		{"over-long stream name (client)", "stream name", viaClient(strings.Repeat("s", 3000), "t")},
		{"NUL in stream name (raw)", "stream name", func() error { return rawAppend(ctx, conn, []byte("raw\x00"), "t", "application/json") }},
		{"invalid UTF-8 in stream name (raw)", "stream name", func() error { return rawAppend(ctx, conn, []byte{'r', 0xc3, 0x28}, "t", "application/json") }},
		{"NUL in content type (raw)", "content type", func() error { return rawAppend(ctx, conn, []byte("raw-ct"), "t", "application/\x00json") }},
		{"invalid UTF-8 in event type (raw)", "UTF-8", func() error { return rawAppend(ctx, conn, []byte("raw-type"), "x@@", "application/json") }},
	}
	var badWG sync.WaitGroup
	badWG.Add(1)
	go func() {
		defer badWG.Done()
		for {
			for _, b := range bads {
				err := b.send()
				if grpcCode(err) != codes.InvalidArgument || !strings.Contains(err.Error(), b.field) {
					t.Errorf("%s: want InvalidArgument naming %q, got %v", b.name, b.field, err)
				}
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	wg.Wait()
	close(stop)
	badWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Start{}}, 10_000)
	for i, x := range all {
		if x.Event.EventType != "good" || x.Event.Position.Commit != uint64(i+1) {
			t.Fatalf("event %d: %s in %q at %d", i, x.Event.EventType, x.Event.StreamID, x.Event.Position.Commit)
		}
	}
	if len(all) != writers*perWriter {
		t.Fatalf("stored %d events, want %d", len(all), writers*perWriter)
	}
}

// TestClientRefusesInvalidUTF8EventType: EventStore-Client-Go itself refuses an event type that is
// not UTF-8 (protobuf strings), so only a raw sender can put one on the wire (see above).
func TestClientRefusesInvalidUTF8EventType(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	_, err := e.client.AppendToStream(context.Background(), "s", esdb.AppendToStreamOptions{}, ev("bad\xfftype", `{}`))
	if err == nil {
		t.Fatal("the client sent an invalid UTF-8 event type")
	}
	if n := len(readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Start{}}, 10)); n != 0 {
		t.Fatalf("stored %d events", n)
	}
}

// TestRefusedGroupIsRetriedOneByOne: when PostgreSQL refuses a group's INSERT for one request's rows
// (here a CHECK constraint the test adds, standing in for any value validation missed), the
// members are re-run one by one: only the culprit fails (InvalidArgument), the others commit, and
// positions stay gapless.
func TestRefusedGroupIsRetriedOneByOne(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `ALTER TABLE eventlog.events ADD CONSTRAINT no_poison CHECK (event_type <> 'poison')`); err != nil {
		t.Fatal(err)
	}
	// Hold the table so that the writer's next INSERT waits and the appends below queue up behind it
	// and are committed as one group with the poisoned one.
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE eventlog.events IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	const n = 16
	results := make(chan error, n)
	for i := range n {
		go func() {
			typ := "fine"
			if i == n/2 {
				typ = "poison"
			}
			_, err := e.client.AppendToStream(ctx, fmt.Sprintf("g-%d", i), esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev(typ, `{}`))
			if typ == "poison" {
				if grpcCode(err) != codes.InvalidArgument {
					err = fmt.Errorf("poisoned append: want InvalidArgument, got %v", err)
				} else {
					err = nil
				}
			}
			results <- err
		}()
	}
	waitForLockWaiter(t, e)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
	all := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Start{}}, 100)
	if len(all) != n-1 {
		t.Fatalf("stored %d events, want %d", len(all), n-1)
	}
	for i, x := range all {
		if x.Event.Position.Commit != uint64(i+1) || x.Event.EventType != "fine" {
			t.Fatalf("event %d at position %d: %s", i, x.Event.Position.Commit, x.Event.EventType)
		}
	}
}

// waitForLockWaiter returns once the writer's INSERT (one row) or COPY (a larger group) waits for the
// test's table lock.
func waitForLockWaiter(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("the writer never waited for the table lock")
		}
		var waiting bool
		err := e.pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND (query LIKE 'INSERT INTO eventlog.events%' OR query LIKE 'COPY%eventlog%events%'))`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			// Let the other appends reach the writer's queue (this only makes a larger group likely;
			// the outcome asserted holds either way).
			time.Sleep(100 * time.Millisecond)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
