package egress

import (
	"errors"
	"net/netip"
	"testing"
)

// FuzzCheck: whatever the operator's list and the address dialled, Check neither panics nor lets
// through, by default, an address that is not global unicast or that falls in a refused range; an
// address the parsed list names always passes.
func FuzzCheck(f *testing.F) {
	for _, seed := range [][2]string{{"", "127.0.0.1"}, {"10.0.0.0/8", "10.1.2.3"}, {"::1", "::ffff:127.0.0.1"},
		{"", "169.254.169.254"}, {"", "64:ff9b::a9fe:a9fe"}, {"", "93.184.216.34"}, {"0.0.0.0/0", "fe80::1%eth0"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, allow, addr string) {
		prefixes, err := ParseAllow(allow)
		if err != nil {
			prefixes = nil
		}
		for _, p := range prefixes {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("ParseAllow(%q) gave %v, not a valid masked prefix", allow, p)
			}
		}
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return
		}
		if err := (Policy{}).Check(a); err == nil {
			u := a.Unmap()
			if !u.IsGlobalUnicast() || u.IsPrivate() || u.Zone() != "" {
				t.Fatalf("%s passes by default", a)
			}
			for _, b := range blocked {
				if b.Contains(u) {
					t.Fatalf("%s passes by default though %s is refused", a, b)
				}
			}
		} else if !errors.Is(err, ErrForbidden) {
			t.Fatalf("%s: %v does not wrap ErrForbidden", a, err)
		}
		for _, p := range prefixes {
			if u := a.Unmap(); p.Contains(u) {
				if err := (Policy{Allow: prefixes}).Check(a); err != nil {
					t.Fatalf("%s is in the allowed %s but refused: %v", a, p, err)
				}
			}
		}
	})
}
