package eventlog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// ServerVersion is the KurrentDB version the server reports to clients.
const ServerVersion = "24.10.0"

// Config configures the gRPC server.
type Config struct {
	// Addr to listen on, e.g. 127.0.0.1:2113; ":0"-style addresses pick a free port. An address
	// beyond loopback needs TLSCertFile and TLSKeyFile.
	Addr string
	// Dir keeps the credentials (CredentialsFile, generated on first start), the self-signed
	// certificate (CertFile, KeyFile) when none is configured, and the checkpoint signing key pair
	// (SigningKeyFile, PublicKeyFile). Empty: a private temporary directory, removed by Close, and no
	// signed checkpoints unless Log.SigningKey is set.
	Dir string
	// TLSCertFile and TLSKeyFile name the certificate (PEM) to serve instead of the self-signed one;
	// it must name the host clients dial.
	TLSCertFile, TLSKeyFile string
	// ReadPageSize bounds how many records one storage read fetches (default 2000). Reads of $all and
	// of streams, and subscriptions' catch-up, start with 32 and size later pages to about 4 MiB of
	// data; those of $all read the next page while the current one is sent.
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
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("eventlog: a TLS certificate needs both its certificate and its key file")
	}
	if c.TLSCertFile == "" && !IsLoopback(c.Addr) {
		return fmt.Errorf("eventlog: listen address %q: %w", c.Addr, ErrRemoteWithoutCertificate)
	}
	return nil
}

// The server's HTTP/2 flow-control windows: a stream may have one whole append (MaxAppendSize and
// its framing) in flight, a connection four.
const (
	streamWindow = MaxAppendSize + 64<<10
	connWindow   = 4 * streamWindow
)

// Server is the embedded event store: a Log served over gRPC.
type Server struct {
	Log    *Log
	grpc   *grpc.Server
	lis    net.Listener
	done   chan error
	creds  Credentials
	caFile string
	tmpDir string // removed by Close

	closeOnce sync.Once
	closeErr  error
}

// Start opens the log on pool and serves it on cfg.Addr.
func Start(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log.SigningKey == nil && cfg.Dir != "" {
		key, err := LoadOrCreateSigningKey(cfg.Dir)
		if err != nil {
			return nil, err
		}
		cfg.Log.SigningKey = key
	}
	l, err := Open(ctx, pool, cfg.Log)
	if err != nil {
		return nil, err
	}
	s := &Server{Log: l, done: make(chan error, 1)}
	sec, err := s.secure(cfg)
	if err != nil {
		s.release()
		return nil, err
	}
	s.lis, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		s.release()
		return nil, fmt.Errorf("eventlog: listen on %s: %w", cfg.Addr, err)
	}
	// The wire codec (pre-encoded reads, reflection-free append decoding) inside the lenient one
	// (a message that cannot be decoded fails its own call with InvalidArgument).
	codec := newLenientCodec(newWireCodec())
	auth := newAuthenticator(s.creds, codec)
	s.grpc = grpc.NewServer(
		sec,
		grpc.ForceServerCodecV2(codec),
		grpc.ChainUnaryInterceptor(auth.unary),
		grpc.ChainStreamInterceptor(auth.stream),
		grpc.MaxRecvMsgSize(MaxAppendSize+64<<10),
		grpc.NumStreamWorkers(64), // reused handler goroutines: no new stack to grow per call
		// A connection's calls at once (each a handler goroutine; a subscription holds one for its
		// life): a client past it waits for one to end, instead of growing the server without bound.
		grpc.MaxConcurrentStreams(maxConcurrentStreams),
		// Fixed flow-control windows (a stream's holds the largest append) turn off the transport's
		// bandwidth probing, which otherwise pings the client after each request it receives.
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
		grpc.WriteBufferSize(64<<10),
		grpc.ReadBufferSize(64<<10),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		// A connection that does not finish its TLS handshake in 10 s, or holds no call for 5
		// minutes, is closed: neither holds the server's resources for long (a client reconnects
		// on its next call).
		grpc.ConnectionTimeout(10*time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute}),
	)
	api.RegisterStreamsServer(s.grpc, &streamsServer{log: l, pageSize: cfg.ReadPageSize})
	serverfeatures.RegisterServerFeaturesServer(s.grpc, featuresServer{})
	go func() { s.done <- s.grpc.Serve(s.lis) }()
	return s, nil
}

// secure loads (or generates) the credentials and the certificate, and returns the TLS option.
func (s *Server) secure(cfg Config) (grpc.ServerOption, error) {
	dir := cfg.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "belfry-eventlog-")
		if err != nil {
			return nil, fmt.Errorf("eventlog: %w", err)
		}
		dir, s.tmpDir = tmp, tmp
	}
	var err error
	if s.creds, err = loadOrCreateCredentials(dir); err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(cfg.Addr)
	cert, caFile, err := loadCertificate(dir, cfg.TLSCertFile, cfg.TLSKeyFile, host)
	if err != nil {
		return nil, err
	}
	s.caFile = caFile
	return grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})), nil
}

// release closes the log and removes a temporary directory.
func (s *Server) release() {
	s.Log.Close()
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
	}
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// URL is the connection string for EventStore-Client-Go: the credentials, TLS, and the certificate
// to trust.
func (s *Server) URL() string {
	u, _ := clientURL(s.creds, s.Addr(), s.caFile)
	return u
}

// Credentials are the ones every call must carry.
func (s *Server) Credentials() Credentials { return s.creds }

// CAFile is the PEM file of the certificate clients trust.
func (s *Server) CAFile() string { return s.caFile }

// Close stops accepting calls, ends subscriptions, waits for running calls and closes the log.
// It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.Log.Close() // ends subscriptions and fails new writes
		defer s.release()
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

// maxConcurrentStreams bounds one connection's concurrent calls (Belfry's own client holds a few
// dozen subscriptions and its concurrent appends).
const maxConcurrentStreams = 1024
