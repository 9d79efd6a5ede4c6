package usecase

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// NewToken is a fresh random token (32 bytes, base64url) and its hash, the only form ever stored.
func NewToken() (raw, hash string) {
	raw = RandomToken()
	return raw, HashToken(raw)
}

// RandomToken is a fresh random token (32 bytes, base64url).
func RandomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is the hex SHA-256 of a token, as stored and looked up.
func HashToken(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}
