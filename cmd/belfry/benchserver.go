package main

import (
	"bufio"
	"bytes"
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

	"github.com/belfry/belfry/infra/eventlog"
)

// benchServer is the Belfry server a benchmark drives: in this process (the default), or as a
// `belfry serve` child process, so that the load generator's allocations and garbage collection are
// not the server's. On 2 cores the child process measures worse tails (two Go runtimes and
// PostgreSQL time-sliced by the kernel instead of one runtime's scheduler), hence the default.
type benchServer struct {
	HTTPAddr, LogURL, KeyID, Secret string
	Metrics                         prometheus.Gatherer
	stop                            func() error
}

func (s *benchServer) Close() error { return s.stop() }

var (
	keyIDLine  = regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+)`)
	secretLine = regexp.MustCompile(`AWS_SECRET_ACCESS_KEY=(\S+)`)
)

// startInlineServer runs Belfry in this process.
func startInlineServer(ctx context.Context, cfg Config) (*benchServer, error) {
	m := NewMain(cfg)
	var keyOut bytes.Buffer
	m.Out = &keyOut
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return nil, err
	}
	id, secret := keyIDLine.FindStringSubmatch(keyOut.String()), secretLine.FindStringSubmatch(keyOut.String())
	if id == nil || secret == nil {
		_ = m.Close()
		return nil, errors.New("bench: the server printed no first access key")
	}
	return &benchServer{HTTPAddr: m.HTTPAddr(), LogURL: m.EmbeddedLogURL(), KeyID: id[1], Secret: secret[1], Metrics: m.reg, stop: m.Close}, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startServerProcess runs `belfry serve` from this binary on the scratch database and waits for it
// to be ready; its log goes to logPath.
func startServerProcess(ctx context.Context, dbURL string, auditReads bool, logPath string) (*benchServer, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
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
	cmd := exec.Command(self, "serve")
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
	keys := make(chan [2]string, 1)
	go func() {
		var id string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := keyIDLine.FindStringSubmatch(sc.Text()); m != nil {
				id = m[1]
			}
			if m := secretLine.FindStringSubmatch(sc.Text()); m != nil && id != "" {
				keys <- [2]string{id, m[1]}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	deadline := time.After(2 * time.Minute)
	var key [2]string
	select {
	case key = <-keys:
	case err := <-done:
		return nil, fmt.Errorf("bench: belfry serve exited (%v); see %s", err, logPath)
	case <-deadline:
		_ = stop()
		return nil, fmt.Errorf("bench: belfry serve printed no access key; see %s", logPath)
	case <-ctx.Done():
		_ = stop()
		return nil, ctx.Err()
	}
	for {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-deadline:
			_ = stop()
			return nil, fmt.Errorf("bench: belfry serve never became ready; see %s", logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
	logURL, err := eventlog.ClientURL(dataDir, logAddr, "")
	if err != nil {
		_ = stop()
		return nil, err
	}
	return &benchServer{HTTPAddr: httpAddr, LogURL: logURL, KeyID: key[0], Secret: key[1],
		Metrics: scrapeGatherer("http://" + httpAddr + "/metrics"), stop: stop}, nil
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
