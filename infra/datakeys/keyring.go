package datakeys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// Keyring holds key-encryption keys (KEKs) outside Postgres, so that destroying one there makes every
// copy of what it wrapped — in the WAL, backups and replicas of the database — useless. FileKeyring
// is the default; a KMS (CreateKey/Encrypt/Decrypt/ScheduleKeyDeletion) or a Vault transit engine
// (keys, encrypt, decrypt, delete) implements the same four calls.
//
// Contract: Create is idempotent; Wrap and Unwrap bind the KEK id and aad to the ciphertext; Unwrap
// with a KEK that does not exist (destroyed, or never created) is ErrDestroyed; Destroy is idempotent
// and, once it returns, the KEKs are gone from the keyring's storage.
type Keyring interface {
	Create(ctx context.Context, ids ...string) error
	Wrap(ctx context.Context, id string, plaintext, aad []byte) ([]byte, error)
	Unwrap(ctx context.Context, id string, wrapped, aad []byte) ([]byte, error)
	Destroy(ctx context.Context, ids ...string) error
}

const keyringHeader = "belfry-keyring v1"

// FileKeyring is a Keyring in one file (mode 0600): a header line, then one "id base64-key" line per
// KEK. A Create appends its KEKs' lines to the file and fsyncs it (its cost does not grow with the
// KEKs the file holds: a Wickr message has a KEK of its own); a Destroy rewrites the file atomically
// without them (a new file, fsynced, renamed over the old one, the directory fsynced), so a destroyed
// KEK's bytes are in no file the keyring leaves behind. Both run under an exclusive lock on
// "<file>.lock", after re-reading the file if another process changed it — so a CLI run beside a
// running server neither loses nor resurrects a KEK. A last line without its newline is an append a
// crash cut short (its Create never answered): it is ignored, and cut off before the next append.
type FileKeyring struct {
	path string
	mu   sync.Mutex
	keys map[string][]byte
	seen os.FileInfo // the file as last read or written
	// valid is how many bytes of the file are whole lines (less than its size after a crash cut an
	// append short).
	valid int64

	// Creates waiting for the file: whoever takes the lock next writes all of them in one append
	// (group commit), so a burst of first messages in new conversations costs a few fsyncs, not one
	// each.
	pmu     sync.Mutex
	pending []*createReq
}

// createReq is one Create call waiting for an append; done receives its outcome (buffered).
type createReq struct {
	ids  []string
	done chan error
}

// OpenFileKeyring opens (creating if needed) the keyring file at path.
func OpenFileKeyring(path string) (*FileKeyring, error) {
	k := &FileKeyring{path: path, keys: map[string][]byte{}}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	err := k.locked(func() error {
		if err := k.reload(); err != nil {
			return err
		}
		if k.seen == nil {
			return k.write(k.keys)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Path is the keyring file.
func (k *FileKeyring) Path() string { return k.path }

// locked runs f holding the in-process mutex and the file lock.
func (k *FileKeyring) locked(f func() error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	lf, err := os.OpenFile(k.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("keyring: lock: %w", err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("keyring: lock: %w", err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN) //nolint:errcheck
	return f()
}

// fresh reports whether the file is the one last read or written (k.mu held).
func (k *FileKeyring) fresh() bool {
	fi, err := os.Stat(k.path)
	return err == nil && k.seen != nil && os.SameFile(fi, k.seen) && fi.ModTime().Equal(k.seen.ModTime()) && fi.Size() == k.seen.Size()
}

// reload reads the file if it changed since it was last seen (k.mu and the file lock held).
func (k *FileKeyring) reload() error {
	if k.fresh() {
		return nil
	}
	f, err := os.Open(k.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	keys, valid, err := parseKeyring(k.path, data)
	if err != nil {
		return err
	}
	k.keys, k.seen, k.valid = keys, fi, valid
	return nil
}

// parseKeyring reads a keyring file's KEKs, and how many of its bytes are whole lines: a last line
// without its newline (an append cut short) is left out.
func parseKeyring(path string, data []byte) (map[string][]byte, int64, error) {
	valid := int64(len(data))
	if i := bytes.LastIndexByte(data, '\n'); i < len(data)-1 {
		valid = int64(i + 1)
	}
	lines := strings.Split(string(data[:valid]), "\n")
	if len(lines) < 2 || lines[0] != keyringHeader {
		return nil, 0, fmt.Errorf("keyring: %s is not a Belfry keyring", path)
	}
	keys := make(map[string][]byte, len(lines))
	for _, line := range lines[1 : len(lines)-1] {
		id, enc, ok := strings.Cut(line, " ")
		key, err := base64.StdEncoding.DecodeString(enc)
		if !ok || err != nil || len(key) != 32 || validKEKID(id) != nil {
			return nil, 0, fmt.Errorf("keyring: %s: a malformed line", path)
		}
		keys[id] = key
	}
	return keys, valid, nil
}

// write replaces the file with keys atomically (k.mu and the file lock held).
func (k *FileKeyring) write(keys map[string][]byte) error {
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b bytes.Buffer
	b.Grow(64 * (len(ids) + 1))
	b.WriteString(keyringHeader + "\n")
	for _, id := range ids {
		b.WriteString(id + " " + base64.StdEncoding.EncodeToString(keys[id]) + "\n")
	}
	tmp, err := os.CreateTemp(filepath.Dir(k.path), filepath.Base(k.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(b.Bytes())
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), k.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(k.path))
	}
	if err != nil {
		return fmt.Errorf("keyring: write: %w", err)
	}
	fi, err := os.Stat(k.path)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	k.keys, k.seen, k.valid = keys, fi, int64(b.Len())
	return nil
}

// appendKeys appends new KEKs' lines to the file and fsyncs it, cutting off first a line a crash left
// half written (k.mu and the file lock held, the file read); a file that is gone is written whole
// (added then holds every KEK).
func (k *FileKeyring) appendKeys(added map[string][]byte) error {
	if k.seen == nil {
		for id, key := range k.keys {
			added[id] = key
		}
		return k.write(added)
	}
	ids := make([]string, 0, len(added))
	for id := range added {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b bytes.Buffer
	for _, id := range ids {
		b.WriteString(id + " " + base64.StdEncoding.EncodeToString(added[id]) + "\n")
	}
	f, err := os.OpenFile(k.path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("keyring: append: %w", err)
	}
	defer f.Close()
	if k.seen.Size() != k.valid {
		err = f.Truncate(k.valid)
	}
	if err == nil {
		_, err = f.WriteAt(b.Bytes(), k.valid)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return fmt.Errorf("keyring: append: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	for id, key := range added { // in place: the readers of k.keys hold k.mu
		k.keys[id] = key
	}
	k.seen, k.valid = fi, k.valid+int64(b.Len())
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func validKEKID(id string) error {
	if id == "" || len(id) > 512 || strings.ContainsAny(id, " \t\r\n") {
		return fmt.Errorf("keyring: invalid KEK id %q", id)
	}
	return nil
}

// Create adds the KEKs that do not exist yet. Concurrent calls share appends: the caller that takes
// the lock writes every id queued so far and answers each of their callers before it lets go, so a
// caller whose ids another one wrote finds its answer waiting.
func (k *FileKeyring) Create(_ context.Context, ids ...string) error {
	for _, id := range ids {
		if err := validKEKID(id); err != nil {
			return err
		}
	}
	if k.holds(ids) {
		return nil
	}
	req := &createReq{ids: ids, done: make(chan error, 1)}
	k.pmu.Lock()
	k.pending = append(k.pending, req)
	k.pmu.Unlock()
	err := k.locked(func() error {
		k.pmu.Lock()
		group := k.pending
		k.pending = nil
		k.pmu.Unlock()
		if len(group) > 0 {
			err := k.createLocked(group)
			for _, r := range group {
				r.done <- err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return <-req.done
}

// holds reports whether the file, unchanged since it was last read or written, holds every one of
// ids: a Create of KEKs that exist (a period's, asked for by every first message of a scope in it)
// then costs a stat, not the file lock.
func (k *FileKeyring) holds(ids []string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, id := range ids {
		if _, ok := k.keys[id]; !ok {
			return false
		}
	}
	return k.fresh()
}

// createLocked adds the KEKs of a group of Create calls that do not exist yet, with one append
// (k.mu and the file lock held).
func (k *FileKeyring) createLocked(group []*createReq) error {
	if err := k.reload(); err != nil {
		return err
	}
	next := map[string][]byte{}
	for _, r := range group {
		for _, id := range r.ids {
			if _, ok := k.keys[id]; ok {
				continue
			}
			if _, ok := next[id]; ok {
				continue
			}
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return err
			}
			next[id] = key
		}
	}
	if len(next) == 0 {
		return nil
	}
	return k.appendKeys(next)
}

// kek returns a KEK, re-reading the file when another process changed it.
func (k *FileKeyring) kek(id string) ([]byte, error) {
	k.mu.Lock()
	fresh := k.fresh()
	key, ok := k.keys[id]
	k.mu.Unlock()
	if !fresh {
		if err := k.locked(k.reload); err != nil {
			return nil, err
		}
		k.mu.Lock()
		key, ok = k.keys[id]
		k.mu.Unlock()
	}
	if !ok {
		return nil, ErrDestroyed
	}
	return key, nil
}

func kekAAD(id string, aad []byte) []byte { return append(append([]byte(id), 0), aad...) }

// Wrap encrypts plaintext under the KEK id (AES-256-GCM, id and aad bound to it).
func (k *FileKeyring) Wrap(_ context.Context, id string, plaintext, aad []byte) ([]byte, error) {
	key, err := k.kek(id)
	if err != nil {
		return nil, err
	}
	return sealAAD(key, plaintext, kekAAD(id, aad))
}

// Unwrap decrypts what Wrap returned; a KEK that is gone is ErrDestroyed.
func (k *FileKeyring) Unwrap(_ context.Context, id string, wrapped, aad []byte) ([]byte, error) {
	key, err := k.kek(id)
	if err != nil {
		return nil, err
	}
	return openAAD(key, wrapped, kekAAD(id, aad))
}

// Destroy erases KEKs from the file (one rewrite for all of them).
func (k *FileKeyring) Destroy(_ context.Context, ids ...string) error {
	return k.locked(func() error {
		if err := k.reload(); err != nil {
			return err
		}
		next := make(map[string][]byte, len(k.keys))
		for id, key := range k.keys {
			next[id] = key
		}
		n := len(next)
		for _, id := range ids {
			delete(next, id)
		}
		if len(next) == n {
			return nil
		}
		return k.write(next)
	})
}
