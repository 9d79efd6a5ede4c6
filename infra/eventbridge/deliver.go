package eventbridge

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/meeting"
)

// SignatureHeader carries the HMAC-SHA256 of the body when a secret is configured.
const SignatureHeader = "X-Belfry-Signature-256"

// maxOwners bounds the cache of stream owners (cleared when full).
const maxOwners = 10_000

// FirstEvents reads the first event of a stream (the one that names its owner).
type FirstEvents interface {
	FirstEvent(ctx context.Context, stream string) (eventType string, data []byte, err error)
}

// Config configures delivery.
type Config struct {
	Endpoint string // https://..., or http:// to a loopback address
	Secret   []byte // signs each body when set
	Region   string
	HTTP     *http.Client // default: a client with a 10 s timeout; its redirects are never followed
	Logger   *slog.Logger
	// Registerer gets belfry_eventbridge_events_total{outcome="delivered|refused"} (nil: not registered).
	Registerer prometheus.Registerer
}

// Deliverer posts events to the endpoint.
type Deliverer struct {
	cfg      Config
	log      FirstEvents
	outcomes *prometheus.CounterVec

	mu     sync.Mutex
	owners map[string]string // stream -> AWS account id
}

// ValidateEndpoint accepts an https URL, or an http one whose host is a loopback address.
func ValidateEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("the EventBridge endpoint %q is not an absolute URL", endpoint)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			return nil
		}
	}
	return fmt.Errorf("the EventBridge endpoint %q must be https (http only to a loopback address)", endpoint)
}

// New returns a Deliverer; the endpoint must pass ValidateEndpoint.
func New(cfg Config, log FirstEvents) (*Deliverer, error) {
	if err := ValidateEndpoint(cfg.Endpoint); err != nil {
		return nil, err
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	// Redirects are not followed: a 3xx is an answer of the endpoint (refused, like a 4xx), never a
	// GET elsewhere counted as delivered, nor the body re-sent past ValidateEndpoint.
	c := *cfg.HTTP
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.HTTP = &c
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := &Deliverer{cfg: cfg, log: log, owners: map[string]string{},
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_eventbridge_events_total",
			Help: "Meeting and call events sent to the EventBridge endpoint, by outcome (delivered, refused: dropped on a 4xx)."}, []string{"outcome"})}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(d.outcomes)
	}
	return d, nil
}

// errRetry marks a failure worth retrying.
var errRetry = errors.New("eventbridge: the endpoint failed")

// Deliver posts the event; nil when it was delivered or the endpoint refused it for good (dropped,
// counted and logged), an error when it should be retried.
func (d *Deliverer) Deliver(ctx context.Context, src SourceEvent) error {
	owner, err := d.owner(ctx, src.Stream)
	if err != nil {
		return err
	}
	ev, ok, err := Build(src, owner, d.cfg.Region)
	if err != nil || !ok {
		return err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if len(d.cfg.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(d.cfg.Secret, body))
	}
	resp, err := d.cfg.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", errRetry, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		d.outcomes.WithLabelValues("delivered").Inc()
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("%w: HTTP %d", errRetry, c)
	default:
		d.outcomes.WithLabelValues("refused").Inc()
		d.cfg.Logger.Warn("eventbridge: the endpoint refused an event; dropped", "id", src.EventID, "status", c)
		return nil
	}
}

// Sign is the value of SignatureHeader for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// owner returns the AWS account that owns the stream's meeting or call, from the log.
func (d *Deliverer) owner(ctx context.Context, stream string) (string, error) {
	d.mu.Lock()
	o, ok := d.owners[stream]
	d.mu.Unlock()
	if ok {
		return o, nil
	}
	o, err := d.readOwner(ctx, stream)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	if len(d.owners) >= maxOwners {
		clear(d.owners)
	}
	d.owners[stream] = o
	d.mu.Unlock()
	return o, nil
}

func (d *Deliverer) readOwner(ctx context.Context, stream string) (string, error) {
	typ, data, err := d.log.FirstEvent(ctx, stream)
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(stream, call.StreamPrefix):
		e, err := call.Decode(typ, data)
		if err != nil {
			return "", err
		}
		if p, ok := e.(call.CallPlaced); ok {
			return p.AwsAccountID, nil
		}
	case strings.HasPrefix(stream, meeting.StreamPrefix):
		e, err := meeting.Decode(typ, data)
		if err != nil {
			return "", err
		}
		s, ok := e.(meeting.Scheduled)
		if !ok {
			break
		}
		typ, data, err := d.log.FirstEvent(ctx, account.StreamName(s.AccountID))
		if err != nil {
			return "", err
		}
		a, err := account.Decode(typ, data)
		if err != nil {
			return "", err
		}
		if c, ok := a.(account.Created); ok {
			return c.AwsAccountID, nil
		}
	}
	return "", fmt.Errorf("eventbridge: the first event of %s (%s) names no owner", stream, typ)
}
