package chatbench

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// floorServer is the floor: a plain WebSocket server that writes every frame a client sends to the
// clients of its group, from memory.
type floorServer struct {
	url     string
	srv     *http.Server
	mu      sync.Mutex
	conns   []*websocket.Conn
	n       int
	groupOf []int
	groups  [][]int
}

func startFloor(clients int, groups [][]int) (*floorServer, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &floorServer{url: "ws://" + lis.Addr().String() + "/", conns: make([]*websocket.Conn, clients), groupOf: make([]int, clients), groups: groups}
	for g, members := range groups {
		for _, m := range members {
			f.groupOf[m] = g
		}
	}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(lis) }()
	return f, nil
}

func (f *floorServer) serve(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(r.Header.Get("X-Client"))
	if err != nil || i < 0 || i >= len(f.conns) {
		http.Error(w, "X-Client", http.StatusBadRequest)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	c.SetReadLimit(64 << 10)
	f.mu.Lock()
	f.conns[i] = c
	f.n++
	f.mu.Unlock()
	ctx := r.Context()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		for _, m := range f.groups[f.groupOf[i]] {
			f.mu.Lock()
			peer := f.conns[m]
			f.mu.Unlock()
			if peer != nil {
				_ = peer.Write(ctx, typ, data)
			}
		}
	}
}

// waitConnected waits until n clients are registered.
func (f *floorServer) waitConnected(n int) {
	for {
		f.mu.Lock()
		done := f.n >= n
		f.mu.Unlock()
		if done {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *floorServer) close() { _ = f.srv.Close() }
