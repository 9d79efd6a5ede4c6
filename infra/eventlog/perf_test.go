package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
	_ "github.com/belfry/belfry/infra/wirecodec" // the codec the belfry binary reads with
)

// cpuMeter reports the CPU time (user + system) of this process and of the Postgres backends
// serving one database, so that a benchmark can report CPU per event: a steadier figure than
// throughput on a shared machine.
type cpuMeter struct {
	db       string
	self, pg time.Duration
}

func newCPUMeter(dbURL string) *cpuMeter {
	u, _ := url.Parse(dbURL)
	m := &cpuMeter{db: strings.TrimPrefix(u.Path, "/")}
	m.self, m.pg = m.read()
	return m
}

func (m *cpuMeter) read() (self, pg time.Duration) {
	self = procCPU("self")
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !strings.HasPrefix(string(cmd), "postgres: ") || !strings.Contains(string(cmd), " "+m.db+" ") {
			continue
		}
		pg += procCPU(d.Name())
	}
	return self, pg
}

func procCPU(pid string) time.Duration {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
}

func (m *cpuMeter) report(b *testing.B, events int) {
	self, pg := m.read()
	b.ReportMetric(float64((self-m.self).Microseconds())/float64(events), "go-cpu-us/event")
	b.ReportMetric(float64((pg-m.pg).Microseconds())/float64(events), "pg-cpu-us/event")
}

// benchEnv is a log over a fresh database with seeded events (streams of 10, ~100-byte JSON), written
// by SQL before the log opens, and the official client connected to it.
type benchEnv struct {
	url    string
	pool   *pgxpool.Pool
	client *esdb.Client
}

func benchLog(b *testing.B, seeded int) *benchEnv {
	b.Helper()
	ctx := context.Background()
	e := &benchEnv{url: pgtest.NewDatabase(b)}
	pc, err := pgxpool.ParseConfig(e.url)
	if err != nil {
		b.Fatal(err)
	}
	pc.MaxConns = 64
	if e.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.pool.Close)
	if _, err := migrations.Apply(ctx, e.pool); err != nil {
		b.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO eventlog.events
		SELECT g, 'chime.account-' || (g / 10), g % 10, gen_random_uuid(), 'chime.account.renamed.v1', 'application/json',
		       17000000000000000, convert_to('{"name":"Bench account ' || g || ' renamed to something longer"}', 'UTF8'), ''::bytea
		FROM generate_series(1, $1::bigint) AS g`, seeded); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{`VACUUM ANALYZE eventlog.events`, `CREATE TABLE plain (LIKE eventlog.events INCLUDING ALL)`} {
		if _, err := e.pool.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	srv, err := eventlog.Start(ctx, e.pool, eventlog.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	if e.client, err = eventstore.Connect(srv.URL()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.client.Close() })
	return e
}

// BenchmarkReadAll reads every stored event of $all forwards through the official client.
func BenchmarkReadAll(b *testing.B) {
	const seeded = 200_000
	e := benchLog(b, seeded)
	m := newCPUMeter(e.url)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs, err := e.client.ReadAll(context.Background(), esdb.ReadAllOptions{From: esdb.Start{}}, ^uint64(0))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		rs.Close()
		if n != seeded {
			b.Fatalf("read %d events, want %d", n, seeded)
		}
	}
	b.ReportMetric(float64(seeded*b.N)/b.Elapsed().Seconds(), "events/s")
	m.report(b, seeded*b.N)
}

// BenchmarkPlainScan is ReadAll's baseline: one pgx query over the same rows.
func BenchmarkPlainScan(b *testing.B) {
	const seeded = 200_000
	e := benchLog(b, seeded)
	m := newCPUMeter(e.url)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := e.pool.Query(context.Background(), `SELECT position, stream, revision, event_id, event_type, content_type, created, data, metadata
			FROM eventlog.events ORDER BY position`)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var pos, rev, created int64
			var id [16]byte
			var stream, typ, ct string
			var data, meta []byte
			if err := rows.Scan(&pos, &stream, &rev, &id, &typ, &ct, &created, &data, &meta); err != nil {
				b.Fatal(err)
			}
		}
		if rows.Err() != nil {
			b.Fatal(rows.Err())
		}
	}
	b.ReportMetric(float64(seeded*b.N)/b.Elapsed().Seconds(), "events/s")
	m.report(b, seeded*b.N)
}

// BenchmarkAppend32 appends single events from 32 concurrent writers, each on its own stream with
// an exact expected revision; BenchmarkAppend1 from one writer; BenchmarkAppendBatch100 appends
// 100-event batches from 4 writers. The Plain benchmarks are their baselines.
func BenchmarkAppend32(b *testing.B)       { benchAppends(b, 32, 1, false) }
func BenchmarkAppend1(b *testing.B)        { benchAppends(b, 1, 1, false) }
func BenchmarkAppendBatch100(b *testing.B) { benchAppends(b, 4, 100, false) }
func BenchmarkPlainInsert32(b *testing.B)  { benchAppends(b, 32, 1, true) }
func BenchmarkPlainInsert1(b *testing.B)   { benchAppends(b, 1, 1, true) }
func BenchmarkPlainCopy100(b *testing.B)   { benchAppends(b, 4, 100, true) }

func benchAppends(b *testing.B, writers, perAppend int, plain bool) {
	e := benchLog(b, 0)
	data := []byte(fmt.Sprintf(`{"p":"%0248d"}`, 0))
	run := uuid.NewString()[:8]
	per := (b.N + writers - 1) / writers
	m := newCPUMeter(e.url)
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			stream := fmt.Sprintf("bench-%s-%d", run, w)
			for i := 0; i < per; i++ {
				var err error
				if plain {
					err = plainWrite(e.pool, stream, w, i, perAppend, data)
				} else {
					var expect esdb.ExpectedRevision = esdb.NoStream{}
					if i > 0 {
						expect = esdb.Revision(uint64(i*perAppend - 1))
					}
					evs := make([]esdb.EventData, perAppend)
					for j := range evs {
						evs[j] = esdb.EventData{EventID: uuid.New(), EventType: "bench.v1", ContentType: esdb.ContentTypeJson, Data: data}
					}
					_, err = e.client.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{ExpectedRevision: expect}, evs...)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	b.ReportMetric(float64(per*writers*perAppend)/b.Elapsed().Seconds(), "events/s")
	m.report(b, per*writers*perAppend)
}

var plainPos atomic.Int64

// plainWrite is the baseline write: one INSERT (autocommit) for a single event, one COPY otherwise.
func plainWrite(pool *pgxpool.Pool, stream string, w, i, n int, data []byte) error {
	ctx := context.Background()
	if n == 1 {
		_, err := pool.Exec(ctx, `INSERT INTO plain (position, stream, revision, event_id, event_type, content_type, created, data, metadata)
			VALUES ($1, $2, $3, $4, 'bench.v1', 'application/json', 0, $5, '')`, plainPos.Add(1), stream, i, uuid.New(), data)
		return err
	}
	rows := make([][]any, n)
	for j := range rows {
		rows[j] = []any{plainPos.Add(1), stream, int64(i*n + j), uuid.New(), "bench.v1", "application/json", int64(0), data, []byte{}}
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"plain"},
		[]string{"position", "stream", "revision", "event_id", "event_type", "content_type", "created", "data", "metadata"}, pgx.CopyFromRows(rows))
	return err
}
