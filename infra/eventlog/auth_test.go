package eventlog_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/belfry/belfry/infra/eventlog"
)

// basicAuth sends HTTP basic credentials with every call, as the official client does.
type basicAuth struct{ header string }

func (b basicAuth) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if b.header == "" {
		return nil, nil
	}
	return map[string]string{"authorization": b.header}, nil
}
func (basicAuth) RequireTransportSecurity() bool { return true }

// rawConn dials srv over TLS with the generated stubs, presenting c (none when c is zero).
func rawConn(t *testing.T, srv *eventlog.Server, c eventlog.Credentials) *grpc.ClientConn {
	t.Helper()
	tc, err := credentials.NewClientTLSFromFile(srv.CAFile(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	var auth basicAuth
	if c.User != "" {
		auth.header = "Basic " + base64.StdEncoding.EncodeToString([]byte(c.User+":"+c.Password))
	}
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(tc), grpc.WithPerRPCCredentials(auth))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// grpcCode is the gRPC status code under an error of the official client or the stubs.
func grpcCode(err error) codes.Code {
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	var w interface{ GRPCStatus() *status.Status }
	if errors.As(err, &w) {
		return w.GRPCStatus().Code()
	}
	return codes.Unknown
}

// withUser rewrites the credentials of a connection string (no user: none at all).
func withUser(t *testing.T, raw string, user *url.Userinfo) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = user
	return u.String()
}

// TestForgedWritesWithoutCredentialsAreRefused: a local process that does not know the password
// can neither append a forged event nor tombstone a stream, nor read; nothing stored changes. With
// the credentials both work.
func TestForgedWritesWithoutCredentialsAreRefused(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	ctx := context.Background()
	if _, err := e.client.AppendToStream(ctx, "chime.account-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}},
		ev("chime.account.created.v1", `{"name":"Acme"}`)); err != nil {
		t.Fatal(err)
	}
	creds := e.srv.Credentials()
	clients := map[string]*esdb.Client{
		"no credentials":  newClient(t, withUser(t, e.srv.URL(), nil)),
		"wrong password":  newClient(t, withUser(t, e.srv.URL(), url.UserPassword(creds.User, creds.Password+"x"))),
		"another user":    newClient(t, withUser(t, e.srv.URL(), url.UserPassword("ops", creds.Password))),
		"empty password":  newClient(t, withUser(t, e.srv.URL(), url.UserPassword(creds.User, ""))),
		"per-call forged": newClient(t, withUser(t, e.srv.URL(), nil)),
	}
	for name, c := range clients {
		opts := esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}
		if name == "per-call forged" {
			opts.Authenticated = &esdb.Credentials{Login: creds.User, Password: "guess"}
		}
		_, err := c.AppendToStream(ctx, "chime.account-1", opts, ev("chime.account.renamed.v1", `{"name":"Forged"}`))
		if esdbCode(err) != esdb.ErrorCodeUnauthenticated {
			t.Errorf("%s: forged append: want Unauthenticated, got %v", name, err)
		}
		_, err = c.TombstoneStream(ctx, "chime.account-1", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}})
		if esdbCode(err) != esdb.ErrorCodeUnauthenticated {
			t.Errorf("%s: tombstone: want Unauthenticated, got %v", name, err)
		}
		if _, err := readAllStream(t, c, "chime.account-1", esdb.ReadStreamOptions{From: esdb.Start{}}, 10); esdbCode(err) != esdb.ErrorCodeUnauthenticated {
			t.Errorf("%s: read: want Unauthenticated, got %v", name, err)
		}
	}
	// The stubs without any authorization metadata, and with a malformed one.
	raw := api.NewStreamsClient(rawConn(t, e.srv, eventlog.Credentials{}))
	_, err := raw.Tombstone(ctx, &api.TombstoneReq{Options: &api.TombstoneReq_Options{
		StreamIdentifier:       &shared.StreamIdentifier{StreamName: []byte("chime.account-1")},
		ExpectedStreamRevision: &api.TombstoneReq_Options_Any{Any: &shared.Empty{}}}})
	if grpcCode(err) != codes.Unauthenticated {
		t.Errorf("raw tombstone without credentials: %v", err)
	}

	all := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Start{}}, 100)
	if len(all) != 1 || all[0].Event.EventType != "chime.account.created.v1" {
		t.Fatalf("refused calls changed the log: %d events", len(all))
	}

	// With the credentials: the same calls work.
	if _, err := e.client.AppendToStream(ctx, "chime.account-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)},
		ev("chime.account.renamed.v1", `{"name":"Renamed"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.TombstoneStream(ctx, "chime.account-1", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Revision(1)}); err != nil {
		t.Fatal(err)
	}
}

// TestCredentialsFile: the password is generated once into the directory, mode 0600, kept across
// restarts, and a file readable by others is refused.
func TestCredentialsFile(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	path := filepath.Join(e.dir, eventlog.CredentialsFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	first := e.srv.Credentials()
	if first.User != eventlog.AdminUser || len(first.Password) < 40 {
		t.Fatalf("generated credentials %q / %d chars", first.User, len(first.Password))
	}
	if got, err := eventlog.LoadCredentials(e.dir); err != nil || got != first {
		t.Fatalf("LoadCredentials: %v", err)
	}
	addr := e.srv.Addr()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv, err := eventlog.Start(context.Background(), e.pool, eventlog.Config{Addr: addr, Dir: e.dir})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Credentials() != first {
		t.Fatal("a restart must keep the password")
	}
	// The connection string handed out before the restart still works.
	if _, err := newClient(t, e.srv.URL()).AppendToStream(context.Background(), "s", esdb.AppendToStreamOptions{}, ev("t", `{}`)); err != nil {
		t.Fatal(err)
	}
	_ = srv.Close()

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := eventlog.Start(context.Background(), e.pool, eventlog.Config{Addr: "127.0.0.1:0", Dir: e.dir}); !errors.Is(err, eventlog.ErrCredentials) {
		t.Fatalf("a world-readable credentials file must be refused, got %v", err)
	}
}

// TestRemoteBindNeedsCertificate: a wildcard address without a certificate is refused; with one it
// serves TLS, and EventStore-Client-Go connects with tls=true and the certificate as CA.
func TestRemoteBindNeedsCertificate(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:2113", ":2113", "[::]:2113", "192.0.2.7:2113"} {
		err := eventlog.Config{Addr: addr}.Validate()
		if !errors.Is(err, eventlog.ErrRemoteWithoutCertificate) {
			t.Errorf("%s: want ErrRemoteWithoutCertificate, got %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:2113", "localhost:2113", "[::1]:2113", "127.0.0.5:0"} {
		if err := (eventlog.Config{Addr: addr}).Validate(); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	writeCert(t, certFile, keyFile)
	e := startEnv(t, eventlog.Config{Addr: "0.0.0.0:0", TLSCertFile: certFile, TLSKeyFile: keyFile})
	if e.srv.CAFile() != certFile {
		t.Fatalf("CA file %q", e.srv.CAFile())
	}
	if _, err := e.client.AppendToStream(context.Background(), "remote", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev("t", `{}`)); err != nil {
		t.Fatalf("append over TLS to a wildcard bind: %v", err)
	}
	// A client that does not trust the certificate does not connect.
	untrusting := newClient(t, "esdb://localhost:"+port(t, e.srv.Addr())+"?tls=true&maxDiscoverAttempts=1")
	if _, err := untrusting.AppendToStream(context.Background(), "remote", esdb.AppendToStreamOptions{}, ev("t", `{}`)); err == nil {
		t.Fatal("a client that does not trust the certificate must not get through")
	}
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeCert writes an operator's certificate for localhost and 127.0.0.1, as one would bring for a
// deliberate remote bind.
func writeCert(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "events.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
		DNSNames: []string{"localhost", "events.example"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedStreamIsNotHeldOpen: a client without credentials that opens an append and then sends
// nothing is refused (Unauthenticated) without sending anything more; the server does not wait for
// its messages (a handler held per such stream, without end, let anyone hold the server's goroutines).
func TestRefusedStreamIsNotHeldOpen(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	raw := api.NewStreamsClient(rawConn(t, e.srv, eventlog.Credentials{}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		stream, err := raw.Append(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.CloseAndRecv(); grpcCode(err) != codes.Unauthenticated {
			t.Fatalf("a refused append that sends nothing: %v", err)
		}
		silent, err := raw.Append(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m api.AppendResp
		if err := silent.RecvMsg(&m); grpcCode(err) != codes.Unauthenticated {
			t.Fatalf("a refused append that stays open: %v, want Unauthenticated at once", err)
		}
	}
}
