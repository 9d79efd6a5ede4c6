package cloudtrail

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Files of the digest signing key pair in the data directory.
const (
	SigningKeyFile = "trail-signing-key.pem" // PKCS #1 RSA private key, mode 0600
	PublicKeyFile  = "trail-signing-key.pub" // PKCS #1 RSA public key (PEM "RSA PUBLIC KEY")
)

// Signer signs digests.
type Signer struct{ key *rsa.PrivateKey }

// LoadOrCreateSigner reads the key pair from dir, creating a 2048-bit RSA key (0600) and its public
// key beside it on first use. Two processes creating it at once agree on one key (the first link wins).
func LoadOrCreateSigner(dir string) (*Signer, error) {
	path := filepath.Join(dir, SigningKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKey(dir, path); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("cloudtrail: signing key %s: not PEM", path)
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: signing key %s: %w", path, err)
	}
	s := &Signer{key: k}
	pub := filepath.Join(dir, PublicKeyFile)
	if _, err := os.Stat(pub); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(pub, s.PublicKeyPEM(), 0o644); err != nil {
			return nil, fmt.Errorf("cloudtrail: public key: %w", err)
		}
	}
	return s, nil
}

func createKey(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cloudtrail: signing key: %w", err)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("cloudtrail: signing key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".trail-key-*")
	if err != nil {
		return fmt.Errorf("cloudtrail: signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		if err = os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
			err = nil // another process created it first: use that one
		}
	}
	if err != nil {
		return fmt.Errorf("cloudtrail: signing key: %w", err)
	}
	return nil
}

// Public is the signer's public key.
func (s *Signer) Public() *rsa.PublicKey { return &s.key.PublicKey }

// PublicKeyPEM is the public key as PublicKeyFile holds it.
func (s *Signer) PublicKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(s.Public())})
}

// Fingerprint is the digestPublicKeyFingerprint of the key: the hex MD5 of its DER PKCS #1 encoding
// (the encoding CloudTrail's ListPublicKeys returns as Value; 32 hex digits like CloudTrail's).
func Fingerprint(pub *rsa.PublicKey) string {
	s := md5.Sum(x509.MarshalPKCS1PublicKey(pub))
	return hex.EncodeToString(s[:])
}

// ParsePublicKey reads a PEM RSA public key (PKCS #1 "RSA PUBLIC KEY" or PKIX "PUBLIC KEY").
func ParsePublicKey(b []byte) (*rsa.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("cloudtrail: public key: not PEM")
	}
	if k, err := x509.ParsePKCS1PublicKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("cloudtrail: public key: not RSA")
	}
	return rk, nil
}

// stringToSign is CloudTrail's data-to-sign string: the digest's end time, its bucket/key, the hex
// SHA-256 of its uncompressed content and the previous digest's hex signature ("null" for a starting
// digest).
func stringToSign(end time.Time, bucket, key string, content []byte, prevSig string) []byte {
	if prevSig == "" {
		prevSig = "null"
	}
	return fmt.Appendf(nil, "%s\n%s/%s\n%s\n%s", end.UTC().Format(timeFormat), bucket, key, sha256Hex(content), prevSig)
}

// sign returns the hex SHA256withRSA (PKCS #1 v1.5) signature of msg.
func (s *Signer) sign(msg []byte) (string, error) {
	h := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, h[:])
	if err != nil {
		return "", fmt.Errorf("cloudtrail: sign digest: %w", err)
	}
	return hex.EncodeToString(sig), nil
}

// verifySignature checks a hex SHA256withRSA signature of msg.
func verifySignature(pub *rsa.PublicKey, msg []byte, sigHex string) error {
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return fmt.Errorf("signature is not hex: %w", err)
	}
	h := sha256.Sum256(msg)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
}
