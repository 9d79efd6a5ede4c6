package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

// childServeEnv makes the test binary run `belfry serve` (see TestMain), so that a test can kill a
// real server process.
const childServeEnv = "BELFRY_TEST_CHILD_SERVE"

func childServe() int {
	if err := runUntilSignalled([]string{"serve"}); err != nil {
		fmt.Fprintln(os.Stderr, "belfry:", err)
		return 1
	}
	return 0
}

// child is a `belfry serve` process on a test database.
type child struct {
	cmd     *exec.Cmd
	url     string
	logAddr string // the embedded event log's address
	done    chan struct{}
}

// startChild starts `belfry serve` on dbURL and dataDir and waits until it is ready; keys receives the
// first access key if the server prints one.
func startChild(t *testing.T, dbURL, dataDir, logName string, keys chan<- [2]string) *child {
	t.Helper()
	httpAddr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	logAddr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dataDir, logName))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childServeEnv+"=1", "BELFRY_DATABASE_URL="+dbURL, "BELFRY_HTTP_ADDR="+httpAddr,
		"BELFRY_EVENTLOG_ADDR="+logAddr, "BELFRY_DATA_DIR="+dataDir, "BELFRY_REGION=us-east-1")
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, url: "http://" + httpAddr, logAddr: logAddr, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(c.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-c.done })
	go func() {
		var id string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := keyIDLine.FindStringSubmatch(sc.Text()); m != nil {
				id = m[1]
			}
			if m := secretLine.FindStringSubmatch(sc.Text()); m != nil && keys != nil {
				keys <- [2]string{id, m[1]}
			}
		}
	}()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		select {
		case <-c.done:
			t.Fatalf("belfry serve exited; see %s", logFile.Name())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("belfry serve never became ready; see %s", logFile.Name())
		}
		if resp, err := httpGet(c.url + "/readyz"); err == nil && resp == 200 {
			return c
		}
	}
}

// TestAuditSurvivesKill9: CreateUser calls from several clients run against a `belfry serve`
// process that is killed with SIGKILL mid-load, just after its 150th acknowledgement; after a restart on the same data, every call the
// server acknowledged has its audit record.
func TestAuditSurvivesKill9(t *testing.T) {
	t.Parallel()
	dbURL, dataDir := pgtest.NewDatabase(t), t.TempDir()
	keys := make(chan [2]string, 1)
	srv := startChild(t, dbURL, dataDir, "first.log", keys)
	key := <-keys
	sdk := chime.New(chime.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key[0], key[1], "")})
	ctx := context.Background()
	a, err := sdk.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Killed")})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]bool{} // request ids of acknowledged CreateUser calls
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				out, err := sdk.CreateUser(ctx, &chime.CreateUserInput{AccountId: a.Account.AccountId, Email: aws.String(fmt.Sprintf("u%d-%d@kill.example", w, i))})
				if err != nil {
					return // the server is gone
				}
				id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
				mu.Lock()
				acked[id] = true
				mu.Unlock()
				// SIGKILL right after an acknowledgement, mid-load: a record still buffered in memory
				// when its call was answered would be lost.
				if n.Add(1) == 150 {
					_ = srv.cmd.Process.Kill()
				}
			}
		}()
	}
	go func() { wg.Wait(); _ = srv.cmd.Process.Kill() }() // should every client fail first
	<-srv.done
	wg.Wait()
	if n.Load() < 150 {
		t.Fatalf("the load ended after %d calls, before the kill; see %s", n.Load(), filepath.Join(dataDir, "first.log"))
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d CreateUser calls acknowledged before SIGKILL", len(acked))

	startChild(t, dbURL, dataDir, "second.log", nil) // the audit read model catches up on the restarted server
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var missing []string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		rows, err := conn.Query(ctx, "SELECT request_id FROM rm.audit_records WHERE event_name = 'CreateUser' AND error_code IS NULL")
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, id := range ids {
			have[id] = true
		}
		missing = missing[:0]
		for id := range acked {
			if !have[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged CreateUser calls have no audit record, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
		}
	}
}

func httpGet(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
