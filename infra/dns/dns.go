// Package dns looks up the TXT records that prove a domain claim. It is an adapter: the domains slice
// (api/chime/domains) declares the port it implements.
//
// Invariant: a name that does not exist, and a temporary failure of the resolver, both read as "no
// record" (the claim stays pending and can be verified again); any other resolver error is returned.
package dns

import (
	"context"
	"errors"
	"net"
)

// Resolver looks up TXT records; *net.Resolver implements it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// TXT answers TXT look-ups through a resolver (default: the system resolver).
type TXT struct{ Resolver Resolver }

// Records returns the TXT records of name; none when it does not exist or the look-up failed
// temporarily.
func (t TXT) Records(ctx context.Context, name string) ([]string, error) {
	r := t.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	records, err := r.LookupTXT(ctx, name)
	var dnsErr *net.DNSError
	if err != nil {
		if errors.As(err, &dnsErr) && (dnsErr.IsNotFound || dnsErr.IsTemporary) {
			return nil, nil
		}
		return nil, err
	}
	return records, nil
}
