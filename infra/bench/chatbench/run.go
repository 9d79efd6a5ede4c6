package chatbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// drain is how long deliveries are awaited after the last send.
const drain = 2 * time.Second

// connectAll dials every client with at most 32 dials at once; header gives a client's headers.
func connectAll(ctx context.Context, url string, n int, header func(i int) http.Header) ([]*websocket.Conn, error) {
	conns := make([]*websocket.Conn, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPHeader: header(i)})
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			c.SetReadLimit(64 << 10)
			conns[i] = c
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		closeAll(conns)
		return nil, err
	}
	return conns, nil
}

func closeAll(conns []*websocket.Conn) {
	for _, c := range conns {
		if c != nil {
			_ = c.CloseNow()
		}
	}
}

// phases routes each delivery to the recorder of the phase its message was sent in: the warm-up's
// before measureFrom, the measured one's after.
type phases struct {
	warm, main  *recorder
	measureFrom *atomic.Int64 // unix ns; 0 until the measured phase starts
}

func (p *phases) add(sent time.Time, d time.Duration) {
	if from := p.measureFrom.Load(); from != 0 && sent.UnixNano() >= from {
		p.main.add(sent, d)
		return
	}
	p.warm.add(sent, d)
}

// run paces sends for the warm-up, then for the measured phase; it answers the measured phase's
// sends, failures and length, and the warm-up's.
func (p *phases) run(ctx context.Context, o Options, groups [][]int, send func(ctx context.Context, sender, group int) error) (main, warm paced) {
	if o.Warmup > 0 {
		wo := o
		wo.Duration = o.Warmup
		warm.sent, warm.failed, warm.elapsed = pace(ctx, wo, groups, send)
	}
	p.measureFrom.Store(time.Now().UnixNano())
	main.sent, main.failed, main.elapsed = pace(ctx, o, groups, send)
	return main, warm
}

type paced struct {
	sent, failed int64
	elapsed      time.Duration
}

// results are the measured phase's figures and, after a warm-up, the warm-up's.
func results(name string, o Options, main, warm paced, deliveries *phases, posts *phases) []Result {
	res := deliveries.main.result(name, o, main.sent, main.failed, main.elapsed)
	if posts != nil {
		q := posts.main.quantiles()
		res.PostP50Ms, res.PostP99Ms = q(0.5), q(0.99)
	}
	out := []Result{res}
	if o.Warmup > 0 {
		w := deliveries.warm.result(name+" (warm-up)", o, warm.sent, warm.failed, warm.elapsed)
		if posts != nil {
			q := posts.warm.quantiles()
			w.PostP50Ms, w.PostP99Ms = q(0.5), q(0.99)
		}
		out = append(out, w)
	}
	return out
}

// newPhases returns the recorders of a scenario's phases; those given the same from change phase
// together (from == nil: a new one).
func newPhases(o Options, perSend int, from *atomic.Int64) *phases {
	if from == nil {
		from = new(atomic.Int64)
	}
	n := func(d time.Duration) int { return int(o.Rate*d.Seconds()*1.2+1) * perSend }
	p := &phases{warm: newRecorder(n(o.Warmup)), main: newRecorder(n(o.Duration)), measureFrom: from}
	p.main.trace = o.Trace != nil
	return p
}

// readAll reads every client's frames until its connection closes, recording the latency of each
// message; stop closes the connections and waits for the readers. A reader passes a context without a
// Done channel, for which the library arms no timer per frame (that work would share the machine
// with the server being measured), and reuses one buffer.
func readAll(conns []*websocket.Conn, rec *phases) (stop func()) {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			var buf bytes.Buffer
			for {
				_, r, err := c.Reader(context.Background())
				if err != nil {
					return
				}
				buf.Reset()
				if _, err := buf.ReadFrom(r); err != nil {
					return
				}
				now := time.Now()
				if sent, ok := stampOf(buf.Bytes()); ok {
					rec.add(sent, now.Sub(sent))
				}
			}
		})
	}
	return func() {
		closeAll(conns)
		wg.Wait()
	}
}

// RunBelfry measures delivery through Belfry: posts to the client API, frames from GET /client/v1/stream.
func RunBelfry(ctx context.Context, o Options, t Target) ([]Result, error) {
	wsURL := "ws" + strings.TrimPrefix(t.BaseURL, "http") + "/client/v1/stream"
	conns, err := connectAll(ctx, wsURL, len(t.Tokens), func(i int) http.Header {
		return http.Header{"Authorization": {"Bearer " + t.Tokens[i]}}
	})
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	rec := newPhases(o, o.Group, nil)
	stopReaders := readAll(conns, rec)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Senders,
		DialContext: (&net.Dialer{}).DialContext}}
	posts := newPhases(o, 1, rec.measureFrom)
	send := func(ctx context.Context, sender, group int) error {
		start := time.Now()
		body, _ := json.Marshal(map[string]string{"Content": stamp(start)})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.BaseURL+"/client/v1/conversations/"+t.ConversationIDs[group]+"/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+t.Tokens[sender])
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("post: %s", resp.Status)
		}
		posts.add(start, time.Since(start))
		return nil
	}
	main, warm := rec.run(ctx, o, t.Groups, send)
	time.Sleep(drain)
	stopReaders()
	if o.Trace != nil {
		if err := errors.Join(rec.main.writeTrace(o.Trace, "delivery"), posts.main.writeTrace(o.Trace, "send")); err != nil {
			return nil, fmt.Errorf("bench chat: trace: %w", err)
		}
	}
	return results("belfry", o, main, warm, rec, posts), nil
}

// RunFloor measures the floor: an in-memory WebSocket fan-out server with the same clients, groups
// and rate.
func RunFloor(ctx context.Context, o Options, groups [][]int) ([]Result, error) {
	o.Trace = nil // the trace is of the Belfry scenario
	srv, err := startFloor(o.Clients, groups)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	conns, err := connectAll(ctx, srv.url, o.Clients, func(i int) http.Header { return http.Header{"X-Client": {fmt.Sprint(i)}} })
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	srv.waitConnected(o.Clients)
	rec := newPhases(o, o.Group, nil)
	stopReaders := readAll(conns, rec)
	send := func(ctx context.Context, sender, _ int) error {
		data, _ := json.Marshal(map[string]any{"Type": "Send", "Message": map[string]string{"Content": stamp(time.Now())}})
		return conns[sender].Write(ctx, websocket.MessageText, data)
	}
	main, warm := rec.run(ctx, o, groups, send)
	time.Sleep(drain)
	stopReaders()
	return results("floor: in-memory ws fan-out", o, main, warm, rec, nil), nil
}
