package eventlog

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// The self-signed certificate generated into the log's directory when no certificate is configured.
const (
	CertFile = "eventlog-tls.crt"
	KeyFile  = "eventlog-tls.key"
)

// ErrRemoteWithoutCertificate reports a listen address beyond loopback with no configured certificate.
var ErrRemoteWithoutCertificate = errors.New("the address is not a loopback address: serving the event log beyond this " +
	"machine needs a TLS certificate that names the host clients dial")

// IsLoopback reports whether addr (host:port) listens on loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dialHost is the host a client on this machine dials to reach a log listening on host: the
// wildcard and IPv6 loopback become "localhost" (the client's connection strings take no IPv6 literal).
func dialHost(host string) string {
	ip := net.ParseIP(host)
	if host == "" || (ip != nil && (ip.IsUnspecified() || (ip.To4() == nil && ip.IsLoopback()))) {
		return "localhost"
	}
	return host
}

// ClientURL is the connection string, for EventStore-Client-Go, of a log listening on addr whose
// credentials are kept in dir; caFile is the certificate clients trust ("" for the one generated in dir).
func ClientURL(dir, addr, caFile string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("%w: no directory holds the event log's credentials", ErrCredentials)
	}
	c, err := LoadCredentials(dir)
	if err != nil {
		return "", err
	}
	if caFile == "" {
		caFile = filepath.Join(dir, CertFile)
	}
	return clientURL(c, addr, caFile)
}

func clientURL(c Credentials, addr, caFile string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("eventlog: address %q: %w", addr, err)
	}
	abs, err := filepath.Abs(caFile)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "esdb", User: url.UserPassword(c.User, c.Password), Host: dialHost(host) + ":" + port,
		RawQuery: "tls=true&tlsCAFile=" + url.QueryEscape(abs)}
	return u.String(), nil
}

// loadCertificate returns the certificate to serve and the file clients trust: certFile/keyFile
// when given, else a self-signed certificate for localhost and the loopback addresses kept in dir
// (generated on first use, and again when it does not name host or expires within 30 days).
func loadCertificate(dir, certFile, keyFile, host string) (tls.Certificate, string, error) {
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return tls.Certificate{}, "", fmt.Errorf("eventlog: TLS certificate: %w", err)
		}
		return cert, certFile, nil
	}
	certFile, keyFile = filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if cert, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && usable(cert, host) {
		return cert, certFile, nil
	}
	if err := generateCertificate(certFile, keyFile, host); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("eventlog: generate a TLS certificate: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	return cert, certFile, err
}

func usable(cert tls.Certificate, host string) bool {
	if len(cert.Certificate) == 0 {
		return false
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil || time.Until(leaf.NotAfter) < 30*24*time.Hour {
		return false
	}
	return leaf.VerifyHostname(dialHost(host)) == nil
}

func generateCertificate(certFile, keyFile, host string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Belfry event log"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if h := dialHost(host); h != "localhost" {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return err
	}
	if err := writeAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
