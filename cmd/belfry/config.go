package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/infra/egress"
	"github.com/belfry/belfry/infra/eventbridge"
	"github.com/belfry/belfry/infra/eventlog"
	"github.com/belfry/belfry/infra/mail"
)

// Config is Belfry's configuration, read from BELFRY_* environment variables.
type Config struct {
	DataDir       string `json:"dataDir"`
	DatabaseURL   string `json:"-"`
	EventStoreURL string `json:"-"`
	EventLogAddr  string `json:"eventLogAddr"`
	// EventLogTLSCert and EventLogTLSKey name the certificate the embedded log serves
	// (BELFRY_EVENTLOG_TLS_CERT, BELFRY_EVENTLOG_TLS_KEY); without them it serves a self-signed one
	// generated into DataDir, and only on loopback.
	EventLogTLSCert string `json:"eventLogTlsCert,omitempty"`
	EventLogTLSKey  string `json:"eventLogTlsKey,omitempty"`
	HTTPAddr        string `json:"httpAddr"`
	// PprofAddr serves net/http/pprof on a separate listener when set (BELFRY_PPROF_ADDR, e.g.
	// 127.0.0.1:6060); off by default.
	PprofAddr string `json:"pprofAddr,omitempty"`
	// PublicURL is the base of URLs handed out to others, such as incoming-webhook URLs
	// (BELFRY_PUBLIC_URL; default http://<HTTP address>).
	PublicURL   string `json:"publicUrl,omitempty"`
	Region      string `json:"region"`
	DNSResolver string `json:"dnsResolver,omitempty"`
	LambdaURL   string `json:"lambdaEndpoint,omitempty"`
	SMTPAddr    string `json:"smtpAddr,omitempty"`
	MailDir     string `json:"mailOutbox,omitempty"`
	MailFrom    string `json:"mailFrom"`
	// SkipReadAudit leaves successful read-only calls (Get*, List*) out of the audit log, like a
	// CloudTrail trail that logs write-only management events (BELFRY_AUDIT_READS=false; by default
	// reads are audited). Write calls and refused calls are always audited.
	SkipReadAudit bool `json:"skipReadAudit,omitempty"`
	// TrustedProxies lists the networks (CIDRs or single addresses, comma-separated) whose
	// X-Forwarded-For names the client (BELFRY_TRUSTED_PROXIES; default none: the peer's address).
	TrustedProxies string `json:"trustedProxies,omitempty"`
	// OutboundAllow lists the special-purpose networks (CIDRs or single addresses, comma-separated:
	// loopback, private, link-local, …) that endpoints a customer chose — bots' outgoing events
	// endpoints, SSO issuers and the endpoints their discovery names — may reach nonetheless
	// (BELFRY_OUTBOUND_ALLOW; default none: public addresses only; package egress).
	OutboundAllow string `json:"outboundAllow,omitempty"`
	// EventBridgeURL receives every meeting and call event in the shape of an Amazon EventBridge
	// event (guide §15.4; infra/eventbridge), best-effort (BELFRY_EVENTBRIDGE_URL: https, or http to a
	// loopback address; off when empty). EventBridgeSecret signs each body (X-Belfry-Signature-256,
	// HMAC-SHA256; BELFRY_EVENTBRIDGE_SECRET).
	EventBridgeURL    string `json:"eventBridgeUrl,omitempty"`
	EventBridgeSecret string `json:"-"`
	// Trail configures the CloudTrail-format trail and the audit trail's retention (trailcmd.go).
	Trail TrailConfig `json:"trail"`
	// Reports says where CDRs and reports are written (callsapp.go).
	Reports ReportsConfig `json:"reports"`
	// Retention configures the keyring and the retention purge (retention.go).
	Retention RetentionConfig `json:"retention"`
	// Media configures the SFU of live meetings (mediaapp.go).
	Media MediaConfig `json:"media"`
	// WickrMaxFileBytes bounds a Wickr message's file (BELFRY_WICKR_MAX_FILE_BYTES; default 100 MiB,
	// at most the guide's 5 GB product limit; 0 in a Config built in code: the default; api/wickr/messaging).
	WickrMaxFileBytes int64 `json:"wickrMaxFileBytes"`
	// PasswordCost is the bcrypt cost of the password hashes Belfry makes: users' and guests' of
	// both clients, bots' challenges, the data-retention bot's (BELFRY_PASSWORD_COST, 4 to 31;
	// default 10, bcrypt's; 0 in a Config built in code: the default). A hash keeps the cost it was
	// made at, so a change applies to new passwords (until then, an account hashed at the old cost
	// signs in in that cost's time, an unknown address in the new one's). Below 10 is for tests
	// only: each step down halves what a guess costs an attacker holding the hashes.
	PasswordCost int `json:"passwordCost"`
	// WickrArchive says where the Wickr data-retention archive goes (wickrarchivecfg.go).
	WickrArchive WickrArchiveConfig `json:"wickrArchive"`

	// Shown instead of the secret-bearing URLs.
	DatabaseDesc   string `json:"database"`
	EventStoreDesc string `json:"eventStore"`
}

// ConfigFromEnv reads the environment with explicit defaults.
func ConfigFromEnv() Config {
	get := func(k, def string) string {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			return v
		}
		return def
	}
	c := Config{
		DataDir:           get("BELFRY_DATA_DIR", "./.belfry"),
		DatabaseURL:       get("BELFRY_DATABASE_URL", ""),
		EventStoreURL:     get("BELFRY_EVENTSTORE_URL", ""),
		EventLogAddr:      get("BELFRY_EVENTLOG_ADDR", "127.0.0.1:2113"),
		EventLogTLSCert:   get("BELFRY_EVENTLOG_TLS_CERT", ""),
		EventLogTLSKey:    get("BELFRY_EVENTLOG_TLS_KEY", ""),
		HTTPAddr:          get("BELFRY_HTTP_ADDR", "127.0.0.1:8080"),
		PprofAddr:         get("BELFRY_PPROF_ADDR", ""),
		PublicURL:         strings.TrimSuffix(get("BELFRY_PUBLIC_URL", ""), "/"),
		Region:            get("BELFRY_REGION", "us-east-1"),
		DNSResolver:       get("BELFRY_DNS_RESOLVER", ""),
		LambdaURL:         get("BELFRY_LAMBDA_ENDPOINT", ""),
		SMTPAddr:          get("BELFRY_SMTP_ADDR", ""),
		MailFrom:          get("BELFRY_MAIL_FROM", "belfry@localhost"),
		SkipReadAudit:     get("BELFRY_AUDIT_READS", "true") == "false",
		TrustedProxies:    get("BELFRY_TRUSTED_PROXIES", ""),
		OutboundAllow:     get("BELFRY_OUTBOUND_ALLOW", ""),
		EventBridgeURL:    get("BELFRY_EVENTBRIDGE_URL", ""),
		EventBridgeSecret: get("BELFRY_EVENTBRIDGE_SECRET", ""),
	}
	c.MailDir = get("BELFRY_MAIL_DIR", filepath.Join(c.DataDir, "outbox"))
	c.Trail = trailConfigFromEnv(get)
	c.Reports = reportsConfigFromEnv(get, c.DataDir, c.Region)
	c.Retention = retentionConfigFromEnv(get)
	c.Media = mediaConfigFromEnv(get, c.DataDir)
	c.WickrArchive = wickrArchiveConfigFromEnv(get, c.DataDir, c.Region)
	c.PasswordCost = -1 // reported by Validate unless it parses
	if n, err := strconv.Atoi(get("BELFRY_PASSWORD_COST", strconv.Itoa(bcrypt.DefaultCost))); err == nil {
		c.PasswordCost = n
	}
	c.WickrMaxFileBytes = -1 // reported by Validate unless it parses
	if n, err := strconv.ParseInt(get("BELFRY_WICKR_MAX_FILE_BYTES", strconv.FormatInt(messaging.DefaultMaxFileBytes, 10)), 10, 64); err == nil && n > 0 {
		c.WickrMaxFileBytes = n
	}
	c.DatabaseDesc = "private PostgreSQL cluster in " + c.DataDir + "/postgres"
	if c.DatabaseURL != "" {
		c.DatabaseDesc = "BELFRY_DATABASE_URL (hidden)"
	}
	c.EventStoreDesc = "embedded event log on " + c.EventLogAddr
	if c.EventStoreURL != "" {
		c.EventStoreDesc = "BELFRY_EVENTSTORE_URL (hidden)"
	}
	return c
}

// Validate reports every configuration error at once.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("BELFRY_DATA_DIR must be set when BELFRY_DATABASE_URL is not"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("BELFRY_DATABASE_URL must be a postgres:// URL"))
	}
	if c.EventStoreURL != "" && !strings.HasPrefix(c.EventStoreURL, "esdb://") && !strings.HasPrefix(c.EventStoreURL, "esdb+discover://") &&
		!strings.HasPrefix(c.EventStoreURL, "kurrentdb://") {
		errs = append(errs, errors.New("BELFRY_EVENTSTORE_URL must be an esdb:// connection string"))
	}
	if v := os.Getenv("BELFRY_AUDIT_READS"); v != "" && v != "true" && v != "false" {
		errs = append(errs, fmt.Errorf("BELFRY_AUDIT_READS must be true or false, not %q", v))
	}
	errs = append(errs, c.validateAddrs()...)
	if _, err := c.outbound(); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateEventLog(); err != nil {
		errs = append(errs, err)
	}
	// The servers' periods are parsed when serve starts them: refuse a bad one here, before anything starts.
	if _, err := c.purgeEvery(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.usageEvery(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.trustedProxies(); err != nil {
		errs = append(errs, err)
	}
	if c.EventBridgeURL != "" {
		if err := eventbridge.ValidateEndpoint(c.EventBridgeURL); err != nil {
			errs = append(errs, fmt.Errorf("BELFRY_EVENTBRIDGE_URL: %w", err))
		}
	}
	if c.Region == "" {
		errs = append(errs, errors.New("BELFRY_REGION must not be empty"))
	}
	if err := c.Media.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Trail.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.WickrArchive.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.PasswordCost != 0 && (c.PasswordCost < bcrypt.MinCost || c.PasswordCost > bcrypt.MaxCost) { // 0: the default
		errs = append(errs, fmt.Errorf("BELFRY_PASSWORD_COST must be a bcrypt cost from %d to %d (default %d)", bcrypt.MinCost, bcrypt.MaxCost, bcrypt.DefaultCost))
	}
	if c.WickrMaxFileBytes < 0 || c.WickrMaxFileBytes > conversation.MaxFileSize { // 0: the default
		errs = append(errs, fmt.Errorf("BELFRY_WICKR_MAX_FILE_BYTES must be a number of bytes from 1 to %d (5 GB)", conversation.MaxFileSize))
	}
	return errors.Join(errs...)
}

// validateAddrs checks every listen, dial and public address: a port out of range or unknown, or a
// URL that cannot be handed out, is refused at start rather than when it is first used.
func (c Config) validateAddrs() []error {
	var errs []error
	for _, a := range []struct{ name, addr, network string }{
		{"BELFRY_EVENTLOG_ADDR", c.EventLogAddr, "tcp"}, {"BELFRY_HTTP_ADDR", c.HTTPAddr, "tcp"},
		{"BELFRY_PPROF_ADDR", c.PprofAddr, "tcp"}, {"BELFRY_DNS_RESOLVER", c.DNSResolver, "udp"}, {"BELFRY_SMTP_ADDR", c.SMTPAddr, "tcp"},
	} {
		if a.addr == "" && a.name != "BELFRY_EVENTLOG_ADDR" && a.name != "BELFRY_HTTP_ADDR" {
			continue // optional, off
		}
		if err := checkHostPort(a.network, a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q must be host:port: %w", a.name, a.addr, err))
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("BELFRY_PUBLIC_URL=%q must be an absolute http:// or https:// URL (the base of the URLs handed out)", c.PublicURL))
		}
	}
	return errs
}

// checkHostPort checks a host:port address: the port a number from 0 to 65535 or a service name.
func checkHostPort(network, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := net.LookupPort(network, port); err != nil {
		return fmt.Errorf("port %q: %w", port, err)
	}
	return nil
}

// validateEventLog checks the embedded log's listen address and certificate: beyond loopback the
// log is served only with a certificate the operator provides.
func (c Config) validateEventLog() error {
	if c.EventStoreURL != "" {
		return nil
	}
	if (c.EventLogTLSCert == "") != (c.EventLogTLSKey == "") {
		return errors.New("BELFRY_EVENTLOG_TLS_CERT and BELFRY_EVENTLOG_TLS_KEY must be set together")
	}
	if _, _, err := net.SplitHostPort(c.EventLogAddr); err == nil && c.EventLogTLSCert == "" && !eventlog.IsLoopback(c.EventLogAddr) {
		return fmt.Errorf("BELFRY_EVENTLOG_ADDR=%q is not a loopback address: the event log is served beyond this machine only "+
			"with BELFRY_EVENTLOG_TLS_CERT and BELFRY_EVENTLOG_TLS_KEY (a certificate naming the host its clients dial)", c.EventLogAddr)
	}
	return nil
}

// String prints the effective configuration with secrets hidden.
func (c Config) String() string {
	b, _ := json.MarshalIndent(c, "", "  ")
	return string(b)
}

// outbound is the policy of connections to endpoints a customer chose (BELFRY_OUTBOUND_ALLOW).
func (c Config) outbound() (egress.Policy, error) {
	allow, err := egress.ParseAllow(c.OutboundAllow)
	if err != nil {
		return egress.Policy{}, fmt.Errorf("BELFRY_OUTBOUND_ALLOW: %w", err)
	}
	return egress.Policy{Allow: allow}, nil
}

// outboundPolicy is outbound's policy; a value Validate would refuse gives the default (public
// addresses only): the guard fails closed.
func (c Config) outboundPolicy() egress.Policy {
	p, _ := c.outbound()
	return p
}

// trustedProxies parses BELFRY_TRUSTED_PROXIES.
func (c Config) trustedProxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(c.TrustedProxies, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			ip := net.ParseIP(part)
			if ip == nil {
				return nil, fmt.Errorf("BELFRY_TRUSTED_PROXIES: %q is neither an address nor a CIDR", part)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("BELFRY_TRUSTED_PROXIES: %q: %w", part, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// resolver returns the DNS resolver for domain-claim TXT lookups: BELFRY_DNS_RESOLVER when set, else the system's.
func (c Config) resolver() *net.Resolver {
	if c.DNSResolver == "" {
		return net.DefaultResolver
	}
	addr := c.DNSResolver
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// mailer returns the invitation mail sender: SMTP when BELFRY_SMTP_ADDR is set, else the outbox directory.
func (c Config) mailer() mail.Sender {
	if c.SMTPAddr != "" {
		return mail.SMTP{Addr: c.SMTPAddr, From: c.MailFrom}
	}
	dir := c.MailDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "belfry-outbox")
	}
	return mail.FileSink{Dir: dir, From: c.MailFrom}
}
