package main

import (
	"strings"
	"testing"
)

// validBase is a configuration Validate accepts, built in code like the tests' servers.
func validBase(t *testing.T) Config {
	t.Helper()
	c := Config{DataDir: t.TempDir(), EventLogAddr: "127.0.0.1:2113", HTTPAddr: "127.0.0.1:8080", Region: "us-east-1"}
	if err := c.Validate(); err != nil {
		t.Fatalf("the base configuration: %v", err)
	}
	return c
}

// TestConfigValidateRefusesBadIntervals: BELFRY_RETENTION_PURGE_INTERVAL and
// BELFRY_USAGE_REPORT_INTERVAL are refused by Validate, naming the variable, rather than accepted and
// failing only once serve has started the database, the log and the read models (or never, for the
// other commands).
func TestConfigValidateRefusesBadIntervals(t *testing.T) {
	t.Parallel()
	base := validBase(t)
	for _, c := range []struct {
		name string
		set  func(*Config)
	}{
		{"BELFRY_RETENTION_PURGE_INTERVAL", func(c *Config) { c.Retention.PurgeEvery = "hourly" }},
		{"BELFRY_RETENTION_PURGE_INTERVAL", func(c *Config) { c.Retention.PurgeEvery = "-1h" }},
		{"BELFRY_USAGE_REPORT_INTERVAL", func(c *Config) { c.Reports.UsageEvery = "weekly" }},
		{"BELFRY_USAGE_REPORT_INTERVAL", func(c *Config) { c.Reports.UsageEvery = "10ms" }},
	} {
		cfg := base
		c.set(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: Validate said %v, want an error naming it", c.name, err)
		}
	}
	cfg := base
	cfg.Retention.PurgeEvery, cfg.Reports.UsageEvery = "off", "30m"
	if err := cfg.Validate(); err != nil {
		t.Errorf("off and 30m: %v", err)
	}
}

// TestConfigValidateRefusesUnusableAddresses: an address whose port is out of range or not a port
// (BELFRY_HTTP_ADDR, BELFRY_EVENTLOG_ADDR, BELFRY_DNS_RESOLVER), a BELFRY_PPROF_ADDR or
// BELFRY_SMTP_ADDR that is not host:port, and a BELFRY_PUBLIC_URL that is not an absolute http(s)
// URL are refused at start, naming the variable, not when the listener, the first mail or the first
// handed-out URL fails.
func TestConfigValidateRefusesUnusableAddresses(t *testing.T) {
	t.Parallel()
	base := validBase(t)
	for _, c := range []struct {
		name string
		set  func(*Config)
	}{
		{"BELFRY_HTTP_ADDR", func(c *Config) { c.HTTPAddr = "127.0.0.1:70000" }},
		{"BELFRY_HTTP_ADDR", func(c *Config) { c.HTTPAddr = "127.0.0.1:-1" }},
		{"BELFRY_HTTP_ADDR", func(c *Config) { c.HTTPAddr = "127.0.0.1:notaport" }},
		{"BELFRY_EVENTLOG_ADDR", func(c *Config) { c.EventLogAddr = "127.0.0.1:99999" }},
		{"BELFRY_DNS_RESOLVER", func(c *Config) { c.DNSResolver = "127.0.0.1:65536" }},
		{"BELFRY_PPROF_ADDR", func(c *Config) { c.PprofAddr = "6060" }},
		{"BELFRY_PPROF_ADDR", func(c *Config) { c.PprofAddr = "127.0.0.1:123456" }},
		{"BELFRY_SMTP_ADDR", func(c *Config) { c.SMTPAddr = "mail.example.com" }},
		{"BELFRY_PUBLIC_URL", func(c *Config) { c.PublicURL = "belfry.example.com" }},
		{"BELFRY_PUBLIC_URL", func(c *Config) { c.PublicURL = "ftp://belfry.example.com" }},
	} {
		cfg := base
		c.set(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: Validate said %v, want an error naming it", c.name, err)
		}
	}
	cfg := base
	cfg.HTTPAddr, cfg.EventLogAddr, cfg.PprofAddr, cfg.SMTPAddr = "127.0.0.1:0", "127.0.0.1:65535", "127.0.0.1:6060", "mail.example.com:25"
	cfg.DNSResolver, cfg.PublicURL = "[::1]:53", "https://belfry.example.com/base"
	if err := cfg.Validate(); err != nil {
		t.Errorf("usable addresses: %v", err)
	}
}

// TestConfigValidateRefusesBadTrailTimings: a negative BELFRY_TRAIL_SETTLE (windows delivered before
// they end, every later record a late one) and a zero BELFRY_TRAIL_INTERVAL or BELFRY_TRAIL_SETTLE
// (silently the 5-minute and 1-minute defaults) are refused, naming the variable.
func TestConfigValidateRefusesBadTrailTimings(t *testing.T) {
	t.Parallel()
	base := validBase(t)
	for name, val := range map[string]string{"BELFRY_TRAIL_SETTLE": "-1m", "BELFRY_TRAIL_INTERVAL": "0s"} {
		cfg := base
		cfg.Trail = trailConfigFromEnv(envOf(map[string]string{name: val, "BELFRY_TRAIL_DIR": t.TempDir()}))
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: Validate said %v, want an error naming it", name, val, err)
		}
	}
	cfg := base
	cfg.Trail = trailConfigFromEnv(envOf(map[string]string{"BELFRY_TRAIL_SETTLE": "0s"}))
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "BELFRY_TRAIL_SETTLE") {
		t.Errorf("BELFRY_TRAIL_SETTLE=0s: Validate said %v, want an error naming it", err)
	}
	cfg.Trail = trailConfigFromEnv(envOf(map[string]string{"BELFRY_TRAIL_SETTLE": "30s", "BELFRY_TRAIL_INTERVAL": "1m"}))
	if err := cfg.Validate(); err != nil {
		t.Errorf("30s and 1m: %v", err)
	}
	cfg.Trail = trailConfigFromEnv(envOf(nil))
	if err := cfg.Validate(); err != nil || cfg.Trail.Interval != 5*60e9 || cfg.Trail.Settle != 60e9 {
		t.Errorf("the defaults: %v %+v", err, cfg.Trail)
	}
}

// TestConfigPasswordCost: BELFRY_PASSWORD_COST defaults to bcrypt's cost and is refused, naming it,
// outside bcrypt's range or when it is not a number.
func TestConfigPasswordCost(t *testing.T) {
	t.Setenv("BELFRY_DATA_DIR", t.TempDir())
	if c := ConfigFromEnv(); c.PasswordCost != 10 || c.Validate() != nil {
		t.Fatalf("default: cost %d, %v", c.PasswordCost, c.Validate())
	}
	for _, v := range []string{"3", "32", "ten", "-1"} {
		t.Setenv("BELFRY_PASSWORD_COST", v)
		if err := ConfigFromEnv().Validate(); err == nil || !strings.Contains(err.Error(), "BELFRY_PASSWORD_COST") {
			t.Errorf("%q: Validate said %v, want an error naming BELFRY_PASSWORD_COST", v, err)
		}
	}
	t.Setenv("BELFRY_PASSWORD_COST", "12")
	if c := ConfigFromEnv(); c.PasswordCost != 12 || c.Validate() != nil {
		t.Fatalf("12: cost %d, %v", c.PasswordCost, c.Validate())
	}
}
