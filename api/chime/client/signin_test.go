package client

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The dummy hash an unknown address is checked against costs what a stored hash costs: the
// configured cost, bcrypt's default when none is.
func TestDummyHashHasTheCostOfStoredHashes(t *testing.T) {
	for _, configured := range []int{0, bcrypt.MinCost, bcrypt.MinCost + 1} {
		g := newSignInGuard(SignInLimits{}, cost(configured))
		got, err := bcrypt.Cost(g.dummy())
		if want := cost(configured); err != nil || got != want {
			t.Fatalf("configured %d: dummy hash cost %d %v, stored hashes use %d", configured, got, err, want)
		}
	}
	if cost(0) != bcrypt.DefaultCost {
		t.Fatalf("no cost configured gives %d, want bcrypt's default", cost(0))
	}
}
