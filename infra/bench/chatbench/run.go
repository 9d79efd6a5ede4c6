package chatbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// drain is how long deliveries are awaited after the last send.
const drain = 2 * time.Second

// frame is what the benchmark reads of a frame (Belfry's and the floor's).
type frame struct {
	Type    string
	Message *struct{ Content string }
}

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

// readAll reads every client's frames until ctx ends, recording the latency of each message.
func readAll(ctx context.Context, conns []*websocket.Conn, rec *recorder) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			for {
				_, data, err := c.Read(ctx)
				if err != nil {
					return
				}
				now := time.Now()
				var f frame
				if json.Unmarshal(data, &f) != nil || f.Message == nil {
					continue
				}
				if sent, ok := parseStamp(f.Message.Content); ok {
					rec.add(now.Sub(sent))
				}
			}
		})
	}
	return &wg
}

// RunBelfry measures delivery through Belfry: posts to the client API, frames from GET /client/v1/stream.
func RunBelfry(ctx context.Context, o Options, t Target) (Result, error) {
	wsURL := "ws" + strings.TrimPrefix(t.BaseURL, "http") + "/client/v1/stream"
	conns, err := connectAll(ctx, wsURL, len(t.Tokens), func(i int) http.Header {
		return http.Header{"Authorization": {"Bearer " + t.Tokens[i]}}
	})
	if err != nil {
		return Result{}, err
	}
	defer closeAll(conns)
	rec := newRecorder(int(o.Rate*o.Duration.Seconds()*1.2) * o.Group)
	rctx, stop := context.WithCancel(ctx)
	readers := readAll(rctx, conns, rec)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Senders,
		DialContext: (&net.Dialer{}).DialContext}}
	posts := newRecorder(int(o.Rate * o.Duration.Seconds() * 1.2))
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
		posts.add(time.Since(start))
		return nil
	}
	sent, failed, elapsed := pace(ctx, o, t.Groups, send)
	time.Sleep(drain)
	stop()
	readers.Wait()
	res := rec.result("belfry", o, sent, failed, elapsed)
	q := posts.quantiles()
	res.PostP50Ms, res.PostP99Ms = q(0.5), q(0.99)
	return res, nil
}

// RunFloor measures the floor: an in-memory WebSocket fan-out server with the same clients, groups
// and rate.
func RunFloor(ctx context.Context, o Options, groups [][]int) (Result, error) {
	srv, err := startFloor(o.Clients, groups)
	if err != nil {
		return Result{}, err
	}
	defer srv.close()
	conns, err := connectAll(ctx, srv.url, o.Clients, func(i int) http.Header { return http.Header{"X-Client": {fmt.Sprint(i)}} })
	if err != nil {
		return Result{}, err
	}
	defer closeAll(conns)
	srv.waitConnected(o.Clients)
	rec := newRecorder(int(o.Rate*o.Duration.Seconds()*1.2) * o.Group)
	rctx, stop := context.WithCancel(ctx)
	readers := readAll(rctx, conns, rec)
	send := func(ctx context.Context, sender, _ int) error {
		data, _ := json.Marshal(map[string]any{"Type": "Send", "Message": map[string]string{"Content": stamp(time.Now())}})
		return conns[sender].Write(ctx, websocket.MessageText, data)
	}
	sent, failed, elapsed := pace(ctx, o, groups, send)
	time.Sleep(drain)
	stop()
	readers.Wait()
	return rec.result("floor: in-memory ws fan-out", o, sent, failed, elapsed), nil
}
