package eventlog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// AdminUser is the user name of the generated credentials.
const AdminUser = "admin"

// CredentialsFile is the name, inside the log's directory, of the file holding "user:password".
const CredentialsFile = "eventlog-credentials"

// Credentials are what every call must present, as HTTP basic authentication in the "authorization"
// gRPC metadata (the client sends them for esdb://user:password@host connection strings).
type Credentials struct {
	User, Password string
}

// ErrCredentials reports a credentials file that is missing, malformed or readable by others.
var ErrCredentials = errors.New("eventlog: credentials")

// LoadCredentials reads the credentials kept in dir.
func LoadCredentials(dir string) (Credentials, error) {
	path := filepath.Join(dir, CredentialsFile)
	fi, err := os.Stat(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return Credentials{}, fmt.Errorf("%w: %s is accessible to other users (mode %v); chmod 600 it", ErrCredentials, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	user, pass, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !ok || user == "" || pass == "" {
		return Credentials{}, fmt.Errorf("%w: %s must hold one line user:password", ErrCredentials, path)
	}
	return Credentials{User: user, Password: pass}, nil
}

// loadOrCreateCredentials reads the credentials kept in dir, generating a random admin password
// (256 bits, file mode 0600) the first time.
func loadOrCreateCredentials(dir string) (Credentials, error) {
	c, err := LoadCredentials(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		return c, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return Credentials{}, err
	}
	c = Credentials{User: AdminUser, Password: base64.RawURLEncoding.EncodeToString(secret)}
	tmp, err := os.CreateTemp(dir, CredentialsFile+".*")
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(c.User + ":" + c.Password + "\n"); err != nil {
		tmp.Close()
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	if err := tmp.Close(); err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	// CreateTemp made the file 0600; a link never replaces a file another process created meanwhile.
	if err := os.Link(tmp.Name(), filepath.Join(dir, CredentialsFile)); err != nil && !errors.Is(err, fs.ErrExist) {
		return Credentials{}, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	return LoadCredentials(dir)
}

// authenticator admits calls that carry the credentials. The server-features call stays open: the
// client makes it, without credentials, when it connects.
type authenticator struct {
	want  [sha256.Size]byte // of "user:password"
	codec *lenientCodec
}

const openMethod = "/event_store.client.server_features.ServerFeatures/GetSupportedMethods"

func newAuthenticator(c Credentials, codec *lenientCodec) *authenticator {
	return &authenticator{want: sha256.Sum256([]byte(c.User + ":" + c.Password)), codec: codec}
}

// check returns nil when ctx carries the credentials, else an Unauthenticated status.
func (a *authenticator) check(ctx context.Context, method string) error {
	if method == openMethod {
		return nil
	}
	vals := metadata.ValueFromIncomingContext(ctx, "authorization") // no copy of the whole metadata
	if len(vals) == 0 {
		return status.Error(codes.Unauthenticated, "authentication required: connect with esdb://user:password@host?tls=true")
	}
	scheme, enc, _ := strings.Cut(vals[0], " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if !strings.EqualFold(scheme, "Basic") || err != nil {
		return status.Error(codes.Unauthenticated, "the authorization metadata must be HTTP basic authentication")
	}
	got := sha256.Sum256(raw)
	if subtle.ConstantTimeCompare(got[:], a.want[:]) != 1 {
		return status.Error(codes.Unauthenticated, "invalid user name or password")
	}
	return nil
}

func (a *authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	malformed := a.codec.failure(req)
	if err := a.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	if malformed != nil {
		return nil, malformed
	}
	return h(ctx, req)
}

func (a *authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	checked := decodeChecked{ServerStream: ss, codec: a.codec}
	if err := a.check(ss.Context(), info.FullMethod); err != nil {
		if info.IsClientStream {
			drainFor(checked, drainTime)
		}
		return err
	}
	return h(srv, checked)
}

// drainTime bounds how long a refused client stream is drained: a client that sends nothing, or
// trickles bytes, holds no handler longer than this.
const drainTime = time.Second

// drainFor drains ss (drain) for at most d: the handler then returns, which ends the stream and the
// receive still waiting in the drain.
func drainFor(ss grpc.ServerStream, d time.Duration) {
	done := make(chan struct{})
	go func() { drain(ss); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// drain reads and discards what a refused client is still sending, up to the size of the largest
// append: the official client reports the error of its last send, which is a bare EOF when the
// server answered before reading, instead of the status the server sent.
func drain(ss grpc.ServerStream) {
	for n := 0; n < MaxAppendSize+64<<10; {
		m := new(emptypb.Empty)
		if err := ss.RecvMsg(m); err != nil && status.Code(err) != codes.InvalidArgument {
			return
		}
		n += 16 + proto.Size(m)
	}
}
