// Package urlsign signs and checks the payload of pre-signed URLs (the attachment exports of guide
// §5.6): HMAC-SHA256 under a 256-bit key kept in a file of its own under the data directory, created
// once (mode 0600) and never sent anywhere. Deleting the file revokes every URL signed so far.
//
// Invariants: a signature verifies only for the exact payload it was made for, under the key of the
// file; comparison is constant-time.
package urlsign

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the key's length in bytes.
const KeySize = 32

// Signer signs payloads.
type Signer struct{ key []byte }

// Open loads the key at path, creating it (and its directory) the first time.
func Open(path string) (*Signer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = create(path)
	}
	if err != nil {
		return nil, fmt.Errorf("urlsign: %w", err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("urlsign: %s holds %d bytes, want a %d-byte key", path, len(key), KeySize)
	}
	return &Signer{key: key}, nil
}

// create writes a fresh key; if another process wrote one first, that one wins.
func create(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".urlsign-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return os.ReadFile(path)
}

// Sign returns the URL-safe signature of payload.
func (s *Signer) Sign(payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is the signature of payload.
func (s *Signer) Verify(payload, sig string) bool {
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return hmac.Equal(got, m.Sum(nil))
}
