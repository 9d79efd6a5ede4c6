package apibench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/eventlog"
)

// Server is the Belfry server a benchmark drives: in the bench's own process (the default), or as a
// `belfry serve` child process, so that the load generator's allocations and garbage collection are
// not the server's. On 2 cores the child process measures worse tails (two Go runtimes and
// PostgreSQL time-sliced by the kernel instead of one runtime's scheduler), hence the default.
type Server struct {
	HTTPAddr string // host:port of the HTTP API
	LogURL   string // connection string of its embedded event log
	// KeyID and Secret are the first admin access key the server printed.
	KeyID, Secret string
	Metrics       prometheus.Gatherer // the server's metrics
	Stop          func() error        // stops the server
}

// Close stops the server.
func (s *Server) Close() error { return s.Stop() }

// ServerConfig is the server a benchmark asks for.
type ServerConfig struct {
	DatabaseURL string // the benchmark's scratch database
	AuditReads  bool   // audit read-only calls (BELFRY_AUDIT_READS)
}

// StartFunc starts a Belfry server in this process on loopback (any free ports) on
// cfg.DatabaseURL, in region us-east-1, and returns it once it serves. cmd/belfry supplies it: the
// harness never imports package main.
type StartFunc func(ctx context.Context, cfg ServerConfig) (*Server, error)

// Harness is what both API benchmarks need from their caller besides their own flags.
type Harness struct {
	Postgres bench.Postgres // where the scratch database is created
	// ServerMode is "inline" (the server runs in this process, started by Inline) or "process" (a
	// child process runs ServeCommand, `belfry serve`, configured through its environment).
	ServerMode   string
	Inline       StartFunc
	ServeCommand []string
	CPUProfile   string    // write a CPU profile of the measured scenarios here ("" for none)
	JSON         string    // the JSON report's path ("" for bench-results/<benchmark>-<time>.json)
	Out          io.Writer // the tables and checks (stdout when nil)
	Progress     io.Writer // progress lines (stderr when nil)
}

func (h *Harness) defaults() {
	if h.Out == nil {
		h.Out = os.Stdout
	}
	if h.Progress == nil {
		h.Progress = os.Stderr
	}
}

// startServer starts the server a benchmark measures on the scratch database dbURL; a child process
// logs to logPath.
func (h *Harness) startServer(ctx context.Context, dbURL string, auditReads bool, logPath string) (*Server, error) {
	switch h.ServerMode {
	case "process":
		return startServerProcess(ctx, h.ServeCommand, dbURL, auditReads, logPath)
	case "inline":
		return h.Inline(ctx, ServerConfig{DatabaseURL: dbURL, AuditReads: auditReads})
	}
	return nil, fmt.Errorf("--server must be process or inline, not %q", h.ServerMode)
}

var (
	keyIDLine  = regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+)`)
	secretLine = regexp.MustCompile(`AWS_SECRET_ACCESS_KEY=(\S+)`)
)

// FirstKey finds the first admin access key in what a starting server printed.
func FirstKey(printed string) (keyID, secret string, err error) {
	id, sec := keyIDLine.FindStringSubmatch(printed), secretLine.FindStringSubmatch(printed)
	if id == nil || sec == nil {
		return "", "", errors.New("bench: the server printed no first access key")
	}
	return id[1], sec[1], nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// childServer is a `belfry serve` child process being started.
type childServer struct {
	httpAddr, logAddr, dataDir, logPath string
	stdout                              io.Reader
	done                                chan error // the process's exit
	stop                                func() error
}

// startServerProcess runs serve (the command line of `belfry serve`) on the scratch database and
// waits for it to be ready; its log goes to logPath.
func startServerProcess(ctx context.Context, serve []string, dbURL string, auditReads bool, logPath string) (*Server, error) {
	if len(serve) == 0 {
		return nil, errors.New("bench: no command line for `belfry serve`")
	}
	c, err := launchChild(serve, dbURL, auditReads, logPath)
	if err != nil {
		return nil, err
	}
	deadline := time.After(startDeadline) // one deadline for the key and readiness together
	key, err := c.waitForKey(ctx, deadline)
	if err != nil {
		return nil, err
	}
	if err := c.waitReady(deadline); err != nil {
		return nil, err
	}
	logURL, err := eventlog.ClientURL(c.dataDir, c.logAddr, "")
	if err != nil {
		_ = c.stop()
		return nil, err
	}
	return &Server{HTTPAddr: c.httpAddr, LogURL: logURL, KeyID: key[0], Secret: key[1],
		Metrics: scrapeGatherer("http://" + c.httpAddr + "/metrics"), Stop: c.stop}, nil
}

// launchChild starts the child process on free loopback ports and a fresh data directory.
func launchChild(serve []string, dbURL string, auditReads bool, logPath string) (*childServer, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp("", "belfry-bench-")
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(serve[0], serve[1:]...)
	cmd.Env = append(os.Environ(), "BELFRY_DATABASE_URL="+dbURL, "BELFRY_HTTP_ADDR="+httpAddr, "BELFRY_EVENTLOG_ADDR="+logAddr,
		"BELFRY_DATA_DIR="+dataDir, "BELFRY_REGION=us-east-1", "BELFRY_AUDIT_READS="+strconv.FormatBool(auditReads))
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() error {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		return os.RemoveAll(dataDir)
	}
	return &childServer{httpAddr: httpAddr, logAddr: logAddr, dataDir: dataDir, logPath: logPath, stdout: stdout, done: done, stop: stop}, nil
}

// startDeadline bounds how long a child process may take to print its key and become ready.
const startDeadline = 2 * time.Minute

// waitForKey reads the first admin access key from the child's standard output.
func (c *childServer) waitForKey(ctx context.Context, deadline <-chan time.Time) ([2]string, error) {
	keys := make(chan [2]string, 1)
	go func() {
		var id string
		sc := bufio.NewScanner(c.stdout)
		for sc.Scan() {
			if m := keyIDLine.FindStringSubmatch(sc.Text()); m != nil {
				id = m[1]
			}
			if m := secretLine.FindStringSubmatch(sc.Text()); m != nil && id != "" {
				keys <- [2]string{id, m[1]}
			}
		}
		_, _ = io.Copy(io.Discard, c.stdout)
	}()
	select {
	case key := <-keys:
		return key, nil
	case err := <-c.done:
		return [2]string{}, fmt.Errorf("bench: belfry serve exited (%v); see %s", err, c.logPath)
	case <-deadline:
		_ = c.stop()
		return [2]string{}, fmt.Errorf("bench: belfry serve printed no access key; see %s", c.logPath)
	case <-ctx.Done():
		_ = c.stop()
		return [2]string{}, ctx.Err()
	}
}

// waitReady polls the child's /readyz until it answers 200.
func (c *childServer) waitReady(deadline <-chan time.Time) error {
	for {
		resp, err := http.Get("http://" + c.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-deadline:
			_ = c.stop()
			return fmt.Errorf("bench: belfry serve never became ready; see %s", c.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// scrapeGatherer gathers a server's metrics from its /metrics endpoint.
func scrapeGatherer(url string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		resp, err := http.Get(url)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		if err != nil {
			return nil, err
		}
		out := make([]*dto.MetricFamily, 0, len(fams))
		for _, f := range fams {
			out = append(out, f)
		}
		return out, nil
	})
}
