package archivebench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// postPaced posts o.Rate messages/s from o.Senders goroutines for o.Warmup + o.Duration: message k
// is due at start + k/rate, into conversation k mod n, from one of its members in turn. It answers
// the posts made (those due after the warm-up are measured), how many were refused, and when the
// measured window started.
func postPaced(ctx context.Context, t Target, o Options) ([]post, int, time.Time) {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: o.Senders, MaxIdleConnsPerHost: o.Senders}}
	start := time.Now()
	measureFrom := start.Add(o.Warmup)
	total := int(o.Rate * (o.Warmup + o.Duration).Seconds())
	var mu sync.Mutex
	var posts []post
	refused := 0
	var wg sync.WaitGroup
	for s := range o.Senders {
		wg.Go(func() {
			for k := s; k < total && ctx.Err() == nil; k += o.Senders {
				due := start.Add(time.Duration(float64(k) / o.Rate * float64(time.Second)))
				time.Sleep(time.Until(due))
				c := t.Conversations[k%len(t.Conversations)]
				from := c.Members[(k/len(t.Conversations))%len(c.Members)]
				id, err := postOne(ctx, hc, t.BaseURL, t.Tokens[from], c.ID, k)
				mu.Lock()
				if err != nil {
					refused++
					if refused <= 3 {
						fmt.Fprintln(o.Progress, "  post:", err)
					}
				} else {
					posts = append(posts, post{id: id, due: due, acked: time.Now(), measured: !due.Before(measureFrom)})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return posts, refused, measureFrom
}

// postOne posts message k (about 200 bytes of text) and answers its id.
func postOne(ctx context.Context, hc *http.Client, base, token, conv string, k int) (string, error) {
	text := fmt.Sprintf("archive bench message %d %s", k, strings.Repeat("x", 170))
	body, _ := json.Marshal(map[string]string{"Content": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/client/v1/wickr/conversations/"+conv+"/messages", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("%d %s", resp.StatusCode, raw)
	}
	var out struct{ Message struct{ MessageId string } }
	if err := json.Unmarshal(raw, &out); err != nil || out.Message.MessageId == "" {
		return "", fmt.Errorf("an answer without a message id: %s", raw)
	}
	return out.Message.MessageId, nil
}

// sampler reads the network's shipment position every SampleEvery.
type sampler struct {
	pool    *pgxpool.Pool
	network string
	mu      sync.Mutex
	got     []sample
}

func newSampler(pool *pgxpool.Pool, network string) *sampler {
	return &sampler{pool: pool, network: network}
}

func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(SampleEvery)
	defer t.Stop()
	for {
		var shipped int64
		err := s.pool.QueryRow(ctx, `SELECT coalesce(max((state->>'shipped')::bigint), 0) FROM wickrarchive.shipments WHERE network_id = $1`,
			s.network).Scan(&shipped)
		if err == nil {
			s.mu.Lock()
			s.got = append(s.got, sample{at: time.Now(), shipped: shipped})
			s.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *sampler) samples() []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sample(nil), s.got...)
}

func (s *sampler) shipped() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) == 0 {
		return 0
	}
	return s.got[len(s.got)-1].shipped
}

// waitArchived waits, at most limit, until the archive's read model holds every post and the
// shipment passed the last of them, and answers each post's position.
func waitArchived(ctx context.Context, t Target, posts []post, s *sampler, limit time.Duration) (map[string]int64, error) {
	deadline := time.Now().Add(limit)
	for {
		seqs, err := positions(ctx, t.Pool, t.NetworkID)
		if err != nil {
			return nil, err
		}
		var highest int64
		all := true
		for _, p := range posts {
			seq, ok := seqs[p.id]
			all = all && ok
			highest = max(highest, seq)
		}
		if all && s.shipped() >= highest || time.Now().After(deadline) {
			time.Sleep(2 * SampleEvery) // a last sample past it
			return seqs, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// positions answers the log position of every archive item of the network, by message id.
func positions(ctx context.Context, pool *pgxpool.Pool, network string) (map[string]int64, error) {
	rows, err := pool.Query(ctx, `SELECT message_id, seq FROM rm.wickr_archive_items WHERE network_id = $1`, network)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	var id string
	var seq int64
	_, err = pgx.ForEachRow(rows, []any{&id, &seq}, func() error { out[id] = seq; return nil })
	return out, err
}

// floor reads the archive's files back and writes their lines again into files of the same size
// with os.WriteFile, in a directory of its own beside them: lines, bytes, and lines/s.
func floor(dir string) (int, int64, float64, error) {
	var files [][]byte
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".jsonl") {
			return err
		}
		b, err := os.ReadFile(p)
		files = append(files, b)
		return err
	})
	if err != nil {
		return 0, 0, 0, err
	}
	out, err := os.MkdirTemp(filepath.Dir(dir), "archive-floor-")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(out)
	lines, size := 0, int64(0)
	start := time.Now()
	for i, f := range files {
		var body []byte
		for line := range bytes.Lines(f) {
			body = append(body, line...) // line by line, as the archive grows its file
			lines++
		}
		size += int64(len(body))
		if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("%d.jsonl", i)), body, 0o600); err != nil {
			return 0, 0, 0, err
		}
	}
	elapsed := time.Since(start)
	if lines == 0 {
		return 0, 0, 0, errors.New("archivebench: the archive wrote no line")
	}
	return lines, size, float64(lines) / elapsed.Seconds(), nil
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
