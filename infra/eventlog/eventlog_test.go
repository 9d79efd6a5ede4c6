package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type env struct {
	t      *testing.T
	dbURL  string
	dir    string // the log's credentials and certificate
	pool   *pgxpool.Pool
	srv    *eventlog.Server
	client *esdb.Client
}

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func startEnv(t *testing.T, cfg eventlog.Config) *env {
	t.Helper()
	e := &env{t: t, dbURL: pgtest.NewDatabase(t), dir: t.TempDir()}
	e.pool = newPool(t, e.dbURL)
	e.start(cfg)
	return e
}

func (e *env) start(cfg eventlog.Config) {
	e.t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Dir == "" {
		cfg.Dir = e.dir
	}
	srv, err := eventlog.Start(context.Background(), e.pool, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	e.client = newClient(e.t, srv.URL())
	e.t.Cleanup(func() { _ = srv.Close() })
}

func newClient(t *testing.T, url string) *esdb.Client {
	t.Helper()
	conf, err := esdb.ParseConnectionString(url)
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = func(esdb.LogLevel, string, ...interface{}) {}
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ev(typ string, data string) esdb.EventData {
	return esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson, Data: []byte(data)}
}

func esdbCode(err error) esdb.ErrorCode {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return -1
}

func readAllStream(t *testing.T, c *esdb.Client, stream string, opts esdb.ReadStreamOptions, count uint64) ([]*esdb.ResolvedEvent, error) {
	t.Helper()
	rs, err := c.ReadStream(context.Background(), stream, opts, count)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdb.ResolvedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func readAll(t *testing.T, c *esdb.Client, opts esdb.ReadAllOptions, count uint64) []*esdb.ResolvedEvent {
	t.Helper()
	rs, err := c.ReadAll(context.Background(), opts, count)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []*esdb.ResolvedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

func TestExpectedRevisionKinds(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	c := e.client

	res, err := c.AppendToStream(ctx, "acc-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev("a", `{}`), ev("b", `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.NextExpectedVersion != 1 || res.CommitPosition != 2 {
		t.Fatalf("after two events: revision %d position %d", res.NextExpectedVersion, res.CommitPosition)
	}
	cases := []struct {
		name   string
		expect esdb.ExpectedRevision
		ok     bool
	}{
		{"no stream on existing", esdb.NoStream{}, false},
		{"stale exact", esdb.Revision(0), false},
		{"ahead exact", esdb.Revision(5), false},
		{"exact", esdb.Revision(1), true},
		{"stream exists", esdb.StreamExists{}, true},
		{"any", esdb.Any{}, true},
	}
	for _, tc := range cases {
		_, err := c.AppendToStream(ctx, "acc-1", esdb.AppendToStreamOptions{ExpectedRevision: tc.expect}, ev("c", `{}`))
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && esdbCode(err) != esdb.ErrorCodeWrongExpectedVersion {
			t.Errorf("%s: want WrongExpectedVersion, got %v", tc.name, err)
		}
	}
	_, err = c.AppendToStream(ctx, "missing", esdb.AppendToStreamOptions{ExpectedRevision: esdb.StreamExists{}}, ev("c", `{}`))
	if esdbCode(err) != esdb.ErrorCodeWrongExpectedVersion {
		t.Fatalf("StreamExists on a missing stream: %v", err)
	}
	evs, err := readAllStream(t, c, "acc-1", esdb.ReadStreamOptions{}, 100)
	if err != nil || len(evs) != 5 {
		t.Fatalf("want 5 events, got %d (%v)", len(evs), err)
	}
	for i, x := range evs {
		if x.Event.EventNumber != uint64(i) || x.Event.StreamID != "acc-1" || x.Event.CreatedDate.IsZero() {
			t.Fatalf("event %d: %+v", i, x.Event)
		}
	}
}

func TestIdempotentRetry(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	a, b := ev("a", `{"n":1}`), ev("b", `{"n":2}`)
	r1, err := e.client.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, a, b)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.client.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, a, b)
	if err != nil {
		t.Fatalf("retry with the same ids must succeed: %v", err)
	}
	if r1.NextExpectedVersion != r2.NextExpectedVersion || r1.CommitPosition != r2.CommitPosition {
		t.Fatalf("retry result differs: %+v vs %+v", r1, r2)
	}
	c := ev("c", `{}`)
	if _, err := e.client.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(1)}, c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(1)}, c); err != nil {
		t.Fatalf("exact retry: %v", err)
	}
	// Different ids at the same revision are a real conflict.
	if _, err := e.client.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(1)}, ev("d", `{}`)); esdbCode(err) != esdb.ErrorCodeWrongExpectedVersion {
		t.Fatalf("want conflict, got %v", err)
	}
	evs, _ := readAllStream(t, e.client, "s", esdb.ReadStreamOptions{}, 100)
	if len(evs) != 3 {
		t.Fatalf("retries must not duplicate: %d events", len(evs))
	}
}

func TestReadDirectionsAndPositions(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := e.client.AppendToStream(ctx, fmt.Sprintf("s-%d", i%2), esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, ev("t", fmt.Sprintf(`{"i":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	fw := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Start{}}, 100)
	if len(fw) != 10 {
		t.Fatalf("forwards: %d", len(fw))
	}
	bw := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.End{}, Direction: esdb.Backwards}, 3)
	if len(bw) != 3 || bw[0].Event.Position.Commit != 10 || bw[2].Event.Position.Commit != 8 {
		t.Fatalf("backwards from end: %v", positions(bw))
	}
	from := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Position{Commit: 4, Prepare: 4}}, 2)
	if len(from) != 2 || from[0].Event.Position.Commit != 4 {
		t.Fatalf("forwards from position 4: %v", positions(from))
	}
	back := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Position{Commit: 4, Prepare: 4}, Direction: esdb.Backwards}, 10)
	if len(back) != 3 || back[0].Event.Position.Commit != 3 {
		t.Fatalf("backwards from position 4: %v", positions(back))
	}
	s, err := readAllStream(t, e.client, "s-0", esdb.ReadStreamOptions{From: esdb.Revision(2)}, 2)
	if err != nil || len(s) != 2 || s[0].Event.EventNumber != 2 {
		t.Fatalf("stream from revision 2: %d %v", len(s), err)
	}
	s, err = readAllStream(t, e.client, "s-0", esdb.ReadStreamOptions{From: esdb.End{}, Direction: esdb.Backwards}, 2)
	if err != nil || len(s) != 2 || s[0].Event.EventNumber != 4 || s[1].Event.EventNumber != 3 {
		t.Fatalf("stream backwards from end: %v", err)
	}
	_, err = readAllStream(t, e.client, "nope", esdb.ReadStreamOptions{}, 10)
	if esdbCode(err) != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("missing stream: want ResourceNotFound, got %v", err)
	}
}

func positions(evs []*esdb.ResolvedEvent) []uint64 {
	var out []uint64
	for _, e := range evs {
		out = append(out, e.Event.Position.Commit)
	}
	return out
}

func TestDeleteAndTombstone(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	c := e.client
	if _, err := c.AppendToStream(ctx, "soft", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev("a", `{}`), ev("b", `{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteStream(ctx, "soft", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(0)}); err == nil {
		t.Fatal("delete with a stale revision must fail")
	}
	dr, err := c.DeleteStream(ctx, "soft", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(1)})
	if err != nil || dr.Position.Commit == 0 {
		t.Fatalf("soft delete: %v", err)
	}
	if _, err := readAllStream(t, c, "soft", esdb.ReadStreamOptions{}, 10); esdbCode(err) != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("read after soft delete: want not found, got %v", err)
	}
	// Appending again continues the revisions; only the new events are visible.
	res, err := c.AppendToStream(ctx, "soft", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev("c", `{}`))
	if err != nil || res.NextExpectedVersion != 2 {
		t.Fatalf("append after soft delete: %+v %v", res, err)
	}
	evs, err := readAllStream(t, c, "soft", esdb.ReadStreamOptions{}, 10)
	if err != nil || len(evs) != 1 || evs[0].Event.EventNumber != 2 {
		t.Fatalf("recreated stream: %d events, %v", len(evs), err)
	}

	if _, err := c.AppendToStream(ctx, "hard", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev("a", `{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TombstoneStream(ctx, "hard", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Revision(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := readAllStream(t, c, "hard", esdb.ReadStreamOptions{}, 10); esdbCode(err) != esdb.ErrorCodeStreamDeleted {
		t.Fatalf("read tombstoned: want StreamDeleted, got %v", err)
	}
	if _, err := c.AppendToStream(ctx, "hard", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, ev("b", `{}`)); esdbCode(err) != esdb.ErrorCodeStreamDeleted {
		t.Fatalf("append to tombstoned: want StreamDeleted, got %v", err)
	}
	if _, err := c.DeleteStream(ctx, "hard", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Any{}}); esdbCode(err) != esdb.ErrorCodeStreamDeleted {
		t.Fatalf("delete tombstoned: want StreamDeleted, got %v", err)
	}
	if _, err := c.TombstoneStream(ctx, "hard", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); esdbCode(err) != esdb.ErrorCodeStreamDeleted {
		t.Fatalf("tombstone twice: want StreamDeleted, got %v", err)
	}
	// $all still holds the history, tombstone included.
	all := readAll(t, c, esdb.ReadAllOptions{From: esdb.Start{}}, 100)
	var sawTomb bool
	for _, x := range all {
		if x.Event.StreamID == "hard" && x.Event.EventType == "$streamDeleted" {
			sawTomb = true
		}
	}
	if !sawTomb {
		t.Fatal("$all must show the tombstone")
	}
}

func TestStreamMetadata(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	clock := &now
	e := startEnv(t, eventlog.Config{Log: eventlog.LogConfig{Now: func() time.Time { return *clock }}})
	ctx := context.Background()
	c := e.client
	for i := 0; i < 5; i++ {
		if _, err := c.AppendToStream(ctx, "m", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, ev("x", `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		evs, err := readAllStream(t, c, "m", esdb.ReadStreamOptions{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	md := esdb.StreamMetadata{}
	md.SetTruncateBefore(2)
	if _, err := c.SetStreamMetadata(ctx, "m", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, md); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Fatalf("$tb=2: want 3 events, got %d", n)
	}
	md = esdb.StreamMetadata{}
	md.SetMaxCount(2)
	if _, err := c.SetStreamMetadata(ctx, "m", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, md); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("$maxCount=2: want 2, got %d", n)
	}
	got, err := c.GetStreamMetadata(ctx, "m", esdb.ReadStreamOptions{})
	if err != nil || got.MaxCount() == nil || *got.MaxCount() != 2 {
		t.Fatalf("GetStreamMetadata: %+v %v", got, err)
	}
	md = esdb.StreamMetadata{}
	md.SetMaxAge(time.Hour)
	if _, err := c.SetStreamMetadata(ctx, "m", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(1)}, md); err != nil {
		t.Fatal(err)
	}
	later := now.Add(2 * time.Hour)
	clock = &later
	if _, err := c.AppendToStream(ctx, "m", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, ev("fresh", `{}`)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("$maxAge=1h two hours later: want only the fresh event, got %d", n)
	}
}

func TestBadInput(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	big := esdb.EventData{EventType: "big", ContentType: esdb.ContentTypeBinary, Data: make([]byte, eventlog.MaxAppendSize+1)}
	if _, err := e.client.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{}, big); err == nil {
		t.Fatal("an append over 1 MiB must fail")
	}
	if _, err := e.client.AppendToStream(ctx, "", esdb.AppendToStreamOptions{}, ev("a", `{}`)); err == nil {
		t.Fatal("an empty stream name must fail")
	}
	if _, err := e.client.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{}, esdb.EventData{Data: []byte("x")}); err == nil {
		t.Fatal("an event without a type must fail")
	}
	if all := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Start{}}, 100); len(all) != 0 {
		t.Fatalf("rejected appends stored %d events", len(all))
	}
}

func TestSecondWriterRefused(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	pool2 := newPool(t, e.dbURL)
	_, err := eventlog.Open(context.Background(), pool2, eventlog.LogConfig{})
	if !errors.Is(err, eventlog.ErrLocked) {
		t.Fatalf("want ErrLocked, got %v", err)
	}
}
