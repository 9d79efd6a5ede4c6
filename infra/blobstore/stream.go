package blobstore

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/belfry/belfry/domain"
)

// The stored form of a blob: magic, then the plaintext in chunks of ChunkSize bytes, each sealed with
// AES-256-GCM under the attachment's own key (used for this one blob only, so the nonce can be the
// chunk's number; its last byte marks the final chunk, so a truncated file does not open). The key
// id is the additional data.
const (
	magic     = "BFB1"
	ChunkSize = 64 << 10
	tagSize   = 16
)

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func nonce(n uint64, last bool) []byte {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], n)
	if last {
		b[11] = 1
	}
	return b[:]
}

// encrypt copies in to out sealed, chunk by chunk, reading at most max+1 plaintext bytes; it returns
// the plaintext size, or ErrTooLarge (after reading max+1 bytes) when in holds more than max.
func encrypt(out io.Writer, in io.Reader, key, aad []byte, max int64, plain io.Writer) (int64, error) {
	g, err := gcm(key)
	if err != nil {
		return 0, err
	}
	if _, err := io.WriteString(out, magic); err != nil {
		return 0, err
	}
	in = io.LimitReader(in, max+1)
	cur, next := make([]byte, ChunkSize), make([]byte, ChunkSize)
	n, err := io.ReadFull(in, cur)
	var size int64
	sealed := make([]byte, 0, ChunkSize+tagSize)
	for i := uint64(0); ; i++ {
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return 0, err
		}
		last := err != nil
		var m int
		var nerr error
		if !last {
			m, nerr = io.ReadFull(in, next)
			last = m == 0 && errors.Is(nerr, io.EOF)
		}
		size += int64(n)
		if size > max {
			return size, ErrTooLarge
		}
		plain.Write(cur[:n])
		sealed = g.Seal(sealed[:0], nonce(i, last), cur[:n], aad)
		if _, err := out.Write(sealed); err != nil {
			return 0, err
		}
		if last {
			return size, nil
		}
		cur, next, n, err = next, cur, m, nerr
	}
}

// decrypter streams the plaintext of a stored blob.
type decrypter struct {
	src  *bufio.Reader
	g    cipher.AEAD
	aad  []byte
	i    uint64
	buf  []byte // plaintext not yet read
	in   []byte
	done bool
}

func newDecrypter(r io.Reader, key, aad []byte) (*decrypter, error) {
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	src := bufio.NewReaderSize(r, ChunkSize+tagSize)
	var m [len(magic)]byte
	if _, err := io.ReadFull(src, m[:]); err != nil || string(m[:]) != magic {
		return nil, fmt.Errorf("blobstore: %w: not a blob (%v)", domain.ErrUnreadable, err)
	}
	return &decrypter{src: src, g: g, aad: aad, in: make([]byte, ChunkSize+tagSize)}, nil
}

func (d *decrypter) Read(p []byte) (int, error) {
	for len(d.buf) == 0 {
		if d.done {
			return 0, io.EOF
		}
		n, err := io.ReadFull(d.src, d.in)
		if errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("blobstore: %w: truncated blob: %w", domain.ErrUnreadable, err)
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("blobstore: read: %w", err) // the disk's: worth another try
		}
		last := err != nil
		if !last {
			if _, perr := d.src.Peek(1); errors.Is(perr, io.EOF) {
				last = true
			}
		}
		pt, oerr := d.g.Open(d.in[:0:0], nonce(d.i, last), d.in[:n], d.aad)
		if oerr != nil {
			return 0, fmt.Errorf("blobstore: %w: chunk %d does not open: %w", domain.ErrUnreadable, d.i, oerr)
		}
		d.i++
		d.buf, d.done = pt, last
	}
	n := copy(p, d.buf)
	d.buf = d.buf[n:]
	return n, nil
}
