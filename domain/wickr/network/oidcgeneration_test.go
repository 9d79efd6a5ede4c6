package network_test

import (
	"testing"

	"github.com/belfry/belfry/domain/wickr/network"
)

// TestOIDCGeneration: every SSO configuration recorded is a new generation of the network's
// configuration (company-id claims are made at the generation a registration read), whatever the
// member that changed; a network without SSO is at generation 0.
func TestOIDCGeneration(t *testing.T) {
	t.Parallel()
	other := oidc
	other.CompanyID = "UE1-Other_net"
	for _, tc := range []struct {
		name  string
		state network.State
		want  int
	}{
		{"no SSO", given(created), 0},
		{"the first configuration", given(created, network.OIDCRegistered{Config: oidc, First: true}), 1},
		{"another company id", given(created, network.OIDCRegistered{Config: oidc, First: true}, network.OIDCRegistered{Config: other}), 2},
		{"the same company id again", given(created, network.OIDCRegistered{Config: oidc, First: true}, network.OIDCRegistered{Config: other},
			network.OIDCRegistered{Config: other}), 3},
	} {
		if got := tc.state.OIDCGeneration; got != tc.want {
			t.Errorf("%s: generation %d, want %d", tc.name, got, tc.want)
		}
	}
}
