package usecase

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"math/big"

	"golang.org/x/crypto/bcrypt"
)

// HashPassword is the stored form of a password (a user's or a guest's, a bot's challenge, the
// data-retention bot's passwords): bcrypt at cost (0: bcrypt.DefaultCost, 10; Belfry's
// BELFRY_PASSWORD_COST) over the base64 SHA-256 of the password (bcrypt reads at most 72 bytes).
// Only this hash is sealed, so that not even the sealed copy holds the password. A hash carries its
// cost: CheckPassword checks any.
func HashPassword(password string, cost int) ([]byte, error) {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	return bcrypt.GenerateFromPassword(prehash(password), cost)
}

// CheckPassword reports whether password is the one hash was made from.
func CheckPassword(hash []byte, password string) bool {
	return bcrypt.CompareHashAndPassword(hash, prehash(password)) == nil
}

func prehash(password string) []byte {
	sum := sha256.Sum256([]byte(password))
	return []byte(base64.StdEncoding.EncodeToString(sum[:]))
}

// passwordAlphabet spells generated passwords: letters and digits.
const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RandomPassword is a random password of n letters and digits (the data-retention bot's initial
// and generated passwords, guide §8.4: e.g. "HuEXAMPLERAW41GgEXAMPLEn", 24 characters).
func RandomPassword(n int) string {
	out := make([]byte, n)
	for i := range out {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordAlphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		out[i] = passwordAlphabet[k.Int64()]
	}
	return string(out)
}
