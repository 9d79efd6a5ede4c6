package domain

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
)

// NetReason says why a call to a customer's endpoint failed, in words a tenant administrator may read:
// never an address the endpoint's name resolved to, which the network errors of Go (and so of an
// HTTP client) spell out ("dial tcp 10.0.0.7:443: …") and which would tell a tenant what the
// operator's internal names resolve to. An error that tells its own (TenantReason, as infra/egress's
// refusals do) is answered with it; one that is not a network one as it is, at most maxReason bytes.
func NetReason(err error) string {
	var told interface{ TenantReason() string }
	var dns *net.DNSError
	var op *net.OpError
	var cert *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &told):
		return told.TenantReason()
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "its name does not resolve"
		}
		return "its name could not be resolved"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
		return "it did not answer in time"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset"
	case errors.As(err, &unknown) || errors.As(err, &cert) || errors.As(err, &host):
		return "its TLS certificate is not trusted for its name"
	case errors.As(err, &op):
		return "the connection failed"
	}
	msg := err.Error()
	if len(msg) > maxReason {
		msg = strings.ToValidUTF8(msg[:maxReason], "") + "…"
	}
	return msg
}

// maxReason bounds the text of an error NetReason repeats.
const maxReason = 300

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// QuietNet is err told by NetReason (no address an endpoint's name resolved to), still matching with
// errors.Is and errors.As what err matches; nil for nil.
func QuietNet(err error) error {
	if err == nil {
		return nil
	}
	return quietNet{err}
}

type quietNet struct{ err error }

func (q quietNet) Error() string { return NetReason(q.err) }
func (q quietNet) Unwrap() error { return q.err }
