package eventlog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// ServerVersion is the KurrentDB version the server reports to clients.
const ServerVersion = "24.10.0"

// Config configures the gRPC server.
type Config struct {
	// Addr to listen on, e.g. 127.0.0.1:2113; ":0"-style addresses pick a free port.
	Addr string
	// ReadPageSize bounds how many records one storage read fetches (default 2000). Long reads ($all,
	// subscription catch-up) start with 32 and size later pages to about 4 MiB of data, reading the
	// next page while the current one is sent.
	ReadPageSize int
	Log          LogConfig
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:2113"
	}
	if c.ReadPageSize <= 0 {
		c.ReadPageSize = 2000
	}
}

// Validate reports configuration errors.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("eventlog: listen address %q: %w", c.Addr, err)
	}
	return nil
}

// Server is the embedded event store: a Log served over gRPC.
type Server struct {
	Log  *Log
	grpc *grpc.Server
	lis  net.Listener
	done chan error

	closeOnce sync.Once
	closeErr  error
}

// Start opens the log on pool and serves it on cfg.Addr.
func Start(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, err := Open(ctx, pool, cfg.Log)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("eventlog: listen on %s: %w", cfg.Addr, err)
	}
	g := grpc.NewServer(
		grpc.MaxRecvMsgSize(MaxAppendSize+64<<10),
		grpc.ForceServerCodecV2(newWireCodec()),
		grpc.NumStreamWorkers(64), // reused handler goroutines: no new stack to grow per call
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	)
	api.RegisterStreamsServer(g, &streamsServer{log: l, pageSize: cfg.ReadPageSize})
	serverfeatures.RegisterServerFeaturesServer(g, featuresServer{})
	s := &Server{Log: l, grpc: g, lis: lis, done: make(chan error, 1)}
	go func() { s.done <- g.Serve(lis) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// URL is the connection string for EventStore-Client-Go.
func (s *Server) URL() string { return "esdb://" + s.Addr() + "?tls=false" }

// Close stops accepting calls, ends subscriptions, waits for running calls and closes the log.
// It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.Log.Close() // ends subscriptions and fails new writes
		stopped := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			s.grpc.Stop()
		}
		if err := <-s.done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.closeErr = err
		}
	})
	return s.closeErr
}

type featuresServer struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

func (featuresServer) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	m := func(name string) *serverfeatures.SupportedMethod {
		return &serverfeatures.SupportedMethod{MethodName: name, ServiceName: "event_store.client.streams.streams"}
	}
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: ServerVersion,
		Methods:                 []*serverfeatures.SupportedMethod{m("read"), m("append"), m("delete"), m("tombstone")},
	}, nil
}
