package client

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestDummyHashHasTheCostOfStoredHashes(t *testing.T) {
	g := newSignInGuard(SignInLimits{})
	cost, err := bcrypt.Cost(g.dummy())
	if err != nil || cost != passwordCost {
		t.Fatalf("dummy hash cost %d %v, stored hashes use %d", cost, err, passwordCost)
	}
}
