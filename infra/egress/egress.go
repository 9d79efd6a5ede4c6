// Package egress guards the server's connections to endpoints a customer chose (a bot's outgoing
// events endpoint, an identity provider's issuer and the endpoints its discovery names): a tenant
// administrator must not make the server reach its own machine, the cloud's instance metadata or the
// operator's private network (SSRF).
//
// Invariants: the check is made on the address actually dialled — in the dialer's Control hook, after
// name resolution — so a name that resolves to a public address when it is checked and to a private
// one when it is dialled (DNS rebinding) gains nothing, and every redirect a client follows is dialled
// through the same hook. Loopback, unspecified, link-local (169.254.0.0/16: cloud metadata; fe80::/10),
// private (10/8, 172.16/12, 192.168/16, fc00::/7), shared (100.64/10), multicast, reserved and
// documentation addresses, and IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4,
// Teredo)
// are refused unless an operator setting (Policy.Allow, BELFRY_OUTBOUND_ALLOW) lists them. The
// guarded transport ignores HTTP(S)_PROXY: through a proxy the address dialled would be the proxy's.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrForbidden marks a connection refused because its address is not one customer endpoints may reach.
var ErrForbidden = errors.New("the address is not one a customer endpoint may have (loopback, private, link-local or reserved; the operator allows ranges with BELFRY_OUTBOUND_ALLOW)")

// blocked are the special-purpose ranges refused besides those netip classifies (loopback, private,
// link-local, multicast, unspecified).
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (carrier-grade NAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated): embeds an IPv4 address
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: embeds an IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/32"),       // Teredo: embeds an IPv4 address
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// Policy decides which addresses customer endpoints may reach. Its zero value is the default: public
// unicast addresses only.
type Policy struct {
	// Allow lists ranges reachable even though they are special-purpose (an operator's own
	// network; tests' loopback servers).
	Allow []netip.Prefix
}

// ParseAllow parses a comma-separated list of CIDRs or single addresses (BELFRY_OUTBOUND_ALLOW).
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is neither an address nor a CIDR", part)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", part, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// refused is a connection refused to addr: its text names addr (for the operator's logs), its
// TenantReason (domain.NetReason) does not — a tenant must not learn what a name resolves to.
type refused struct{ addr string }

func (r refused) Error() string        { return r.addr + ": " + ErrForbidden.Error() }
func (r refused) Unwrap() error        { return ErrForbidden }
func (r refused) TenantReason() string { return ErrForbidden.Error() }

// Check returns nil when a may be reached, else an error wrapping ErrForbidden.
func (p Policy) Check(a netip.Addr) error {
	a = a.Unmap()
	for _, allow := range p.Allow {
		if allow.Contains(a) {
			return nil
		}
	}
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || a.Zone() != "" {
		return refused{a.String()}
	}
	for _, b := range blocked {
		if b.Contains(a) {
			return refused{a.String()}
		}
	}
	return nil
}

// Control is a net.Dialer Control hook: it refuses a connection to an address Check refuses. address
// is the resolved "ip:port" about to be dialled.
func (p Policy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refused{address}
	}
	return p.Check(ap.Addr())
}

// Transport is an HTTP transport whose every connection passes Control (no proxy; see the package
// comment).
func (p Policy) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: p.Control}).DialContext
	return t
}

// Client is an HTTP client with timeout over Transport.
func (p Policy) Client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: p.Transport()}
}
