package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/migrations"
)

func latestMigration(t *testing.T) int {
	t.Helper()
	all, err := migrations.All()
	if err != nil || len(all) == 0 {
		t.Fatal(err)
	}
	return all[len(all)-1].Version
}

// TestServeEventLogRequiresCredentials: the log of a running `belfry serve` refuses a forged rename
// and a tombstone from a local process without the password (generated into the data directory,
// mode 0600), and the account is unchanged; the server's own clients hold the password.
func TestServeEventLogRequiresCredentials(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	a, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Genuine")})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(b.m.cfg.DataDir, eventlog.CredentialsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	u, err := url.Parse(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	u.User = nil
	forger, err := eventstore.Connect(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Close()
	stream := "chime.account-" + aws.ToString(a.Account.AccountId)
	forged := esdb.EventData{EventID: uuid.New(), EventType: "chime.account.renamed.v1", ContentType: esdb.ContentTypeJson,
		Data: []byte(`{"name":"Forged"}`)}
	_, err = forger.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, forged)
	if !eventstore.IsCode(err, esdb.ErrorCodeUnauthenticated) {
		t.Fatalf("forged append: want Unauthenticated, got %v", err)
	}
	_, err = forger.TombstoneStream(ctx, stream, esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}})
	if !eventstore.IsCode(err, esdb.ErrorCodeUnauthenticated) {
		t.Fatalf("tombstone: want Unauthenticated, got %v", err)
	}
	if _, err := b.client.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: a.Account.AccountId, Name: aws.String("Renamed")}); err != nil {
		t.Fatalf("the account must be untouched and writable: %v", err)
	}
	got, err := b.client.GetAccount(ctx, &chime.GetAccountInput{AccountId: a.Account.AccountId})
	if err != nil || aws.ToString(got.Account.Name) != "Renamed" {
		t.Fatalf("account after the refused calls: %+v %v", got, err)
	}
}

// TestConfigRefusesRemoteEventLogWithoutTLS: a wildcard or remote BELFRY_EVENTLOG_ADDR is refused
// without a certificate, with a message that names the variable; with one it is accepted.
func TestConfigRefusesRemoteEventLogWithoutTLS(t *testing.T) {
	t.Parallel()
	base := Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:8080", Region: "us-east-1"}
	for _, addr := range []string{"0.0.0.0:2113", ":2113", "[::]:2113", "10.1.2.3:2113"} {
		c := base
		c.EventLogAddr = addr
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "BELFRY_EVENTLOG_ADDR") || !strings.Contains(err.Error(), "BELFRY_EVENTLOG_TLS_CERT") ||
			strings.Contains(err.Error(), "wrong host format") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	c := base
	c.EventLogAddr, c.EventLogTLSCert, c.EventLogTLSKey = "0.0.0.0:2113", "/etc/belfry/log.crt", "/etc/belfry/log.key"
	if err := c.Validate(); err != nil {
		t.Errorf("with a certificate: %v", err)
	}
	c.EventLogTLSKey = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "BELFRY_EVENTLOG_TLS_KEY") {
		t.Errorf("a certificate without its key: %v", err)
	}
	c = base
	c.EventLogAddr = "127.0.0.1:2113"
	if err := c.Validate(); err != nil {
		t.Errorf("loopback: %v", err)
	}
}

// TestServeRemoteEventLogOverTLS: `belfry serve` binds the log on the wildcard address with an
// operator's certificate, and works through it (its own client dials localhost over TLS).
func TestServeRemoteEventLogOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "log.crt"), filepath.Join(dir, "log.key")
	writeTestCert(t, cert, key)
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.EventLogAddr, m.cfg.EventLogTLSCert, m.cfg.EventLogTLSKey = "0.0.0.0:0", cert, key
		if err := m.cfg.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := b.client.CreateAccount(context.Background(), &chime.CreateAccountInput{Name: aws.String("Over TLS")}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.m.EmbeddedLogURL(), "tls=true") {
		t.Fatalf("URL %s", b.m.EmbeddedLogURL())
	}
}

// TestCLIRefusesAnotherDatabasesEventLog: a `belfry` subcommand whose database's log is run by
// another process, pointed (by mistake) at the address of another database's log, refuses it
// instead of reading and writing the wrong store; pointed at the right one, it works.
func TestCLIRefusesAnotherDatabasesEventLog(t *testing.T) {
	shared := t.TempDir() // one data directory, hence the same credentials for both servers
	inDir := func(m *Main) { m.cfg.DataDir = shared }
	first := startBelfryWith(t, inDir)
	second := startBelfryWith(t, inDir)
	ctx := context.Background()
	t.Setenv("BELFRY_DATA_DIR", shared)
	t.Setenv("BELFRY_DATABASE_URL", second.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_EVENTLOG_ADDR", first.m.esAddr)
	err := run(ctx, []string{"projections", "status"})
	if !errors.Is(err, eventstore.ErrForeignStore) || !strings.Contains(err.Error(), "BELFRY_EVENTLOG_ADDR") {
		t.Fatalf("want ErrForeignStore naming BELFRY_EVENTLOG_ADDR, got %v", err)
	}
	t.Setenv("BELFRY_EVENTLOG_ADDR", second.m.esAddr)
	out := captureStdout(t, func() error { return run(ctx, []string{"projections", "status"}) })
	if !strings.Contains(out, "chime_accounts") {
		t.Fatalf("status: %s", out)
	}
	// Without the data directory that holds the credentials, the CLI says so.
	t.Setenv("BELFRY_DATA_DIR", t.TempDir())
	if err := run(ctx, []string{"projections", "status"}); !errors.Is(err, eventlog.ErrCredentials) {
		t.Fatalf("want ErrCredentials, got %v", err)
	}
}

func writeTestCert(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "events.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, DNSNames: []string{"localhost", "events.example"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for path, blk := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kb}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
			t.Fatal(fmt.Errorf("write %s: %w", path, err))
		}
	}
}
