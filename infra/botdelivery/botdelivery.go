// Package botdelivery is the transport to chat bots (guide §11.2): the HTTPS endpoint challenge, the
// Lambda dry run, and the signed delivery of bot events to an HTTPS endpoint or a Lambda function with
// the guide's retries. It is an adapter: the bots and rooms slices declare the ports it implements and
// decide what is sent.
//
// Invariants: every attempt is signed with the bot's current security token and a fresh timestamp
// (Chime-Signature = base64(HMAC-SHA256(token, timestamp|body))); a timeout, a connection error or a
// 5xx is retried twice (200 ms, then 400 ms); an event that still fails is dropped, as the guide says,
// and counted in belfry_bot_events_dropped_total. Redirects are never followed (only a 200 from the
// endpoint itself delivers or verifies), and no error or log repeats an endpoint's path or query (the
// URL is a sensitive member: it often embeds a credential). The default client reaches public
// addresses only (package egress: the address dialled is checked, so neither a name that resolves to
// a private address nor a redirect gets past it); an endpoint refused so fails at once, unretried.
package botdelivery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/infra/egress"
)

// retryDelays are the waits before the two retries of guide §11.2.4 (200 ms, then 400 ms).
var retryDelays = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}

// Timestamp is the Chime-Request-Timestamp format: ISO 8601 UTC with milliseconds.
const Timestamp = "2006-01-02T15:04:05.000Z"

// BotSignature is the Chime-Signature of a bot event: base64(HMAC-SHA256(securityToken, timestamp|body)).
func BotSignature(securityToken, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(securityToken))
	mac.Write([]byte(timestamp + "|"))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Config configures a Transport.
type Config struct {
	// HTTP sends the endpoint challenge and bot events (default: egress.Policy{}.Client with a 2 s
	// timeout: public addresses only). Its redirect policy is replaced: redirects are never followed.
	HTTP *http.Client
	// Lambda invokes Lambda functions (default: HTTPLambdaInvoker without endpoint).
	Lambda     LambdaInvoker
	Now        func() time.Time
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Transport delivers to bots.
type Transport struct {
	http    *http.Client
	lambda  LambdaInvoker
	now     func() time.Time
	dropped prometheus.Counter
	log     *slog.Logger
}

// New returns a Transport and registers belfry_bot_events_dropped_total with cfg.Registerer.
func New(cfg Config) *Transport {
	if cfg.HTTP == nil {
		cfg.HTTP = egress.Policy{}.Client(2 * time.Second)
	}
	c := *cfg.HTTP // a copy: the caller's client may follow redirects elsewhere
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.HTTP = &c
	if cfg.Lambda == nil {
		cfg.Lambda = HTTPLambdaInvoker{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	t := &Transport{http: cfg.HTTP, lambda: cfg.Lambda, now: cfg.Now, log: cfg.Logger,
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_bot_events_dropped_total",
			Help: "Bot events dropped after their retries failed (guide §11.2.4)."})}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(t.dropped)
	}
	return t
}

// DryRunLambda checks that a Lambda function may be invoked (a DryRun invocation).
func (t *Transport) DryRunLambda(ctx context.Context, arn string) error {
	return t.lambda.Invoke(ctx, arn, []byte(`{}`), "", true)
}

// Challenge sends the HTTPS endpoint verification of guide §11.2.2: the endpoint must echo the
// Challenge within 2 s.
func (t *Transport) Challenge(ctx context.Context, endpoint string) error {
	n, _ := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(20), nil))
	challenge := fmt.Sprintf("%020s", n.String())
	body, _ := json.Marshal(map[string]string{"Challenge": challenge, "EventType": "HTTPSEndpointVerification"})
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the endpoint verification request to %s failed: %w", site(endpoint), bare(err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.http.Do(req)
	if err != nil {
		return fmt.Errorf("the endpoint verification request to %s failed: %w", site(endpoint), domain.QuietNet(bare(err)))
	}
	defer resp.Body.Close()
	var echo struct{ Challenge string }
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &echo) != nil || echo.Challenge != challenge {
		return fmt.Errorf("the endpoint %s did not echo the verification challenge (status %d)", site(endpoint), resp.StatusCode)
	}
	return nil
}

// site names an endpoint in errors and logs by its scheme and host only: its path and query (and
// user information) may hold a credential.
func site(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "(the configured endpoint)"
	}
	return u.Scheme + "://" + u.Host
}

// bare is err without the request URL a *url.Error names (see site).
func bare(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Target is where one bot event goes and what signs it.
type Target struct {
	BotID, RoomID, EventType string // for the log of a dropped event
	LambdaARN, HTTPSEndpoint string // the Lambda function when set, else the endpoint
	SecurityToken            string
}

// errRetryable marks a failed attempt the guide retries (timeout, connection error, 5xx).
var errRetryable = errors.New("retryable")

// Deliver sends body to the target, signed, with the guide's retries; an event that still fails is
// dropped and counted. Only the end of ctx is returned.
func (t *Transport) Deliver(ctx context.Context, to Target, body []byte) error {
	attempt := func() error {
		ts := t.now().UTC().Format(Timestamp)
		sig := BotSignature(to.SecurityToken, ts, body)
		if to.LambdaARN != "" {
			cc, _ := json.Marshal(map[string]string{"Chime-Signature": sig, "Chime-Request-Timestamp": ts})
			if err := t.lambda.Invoke(ctx, to.LambdaARN, body, base64.StdEncoding.EncodeToString(cc), false); err != nil {
				return fmt.Errorf("%w: %v", errRetryable, err)
			}
			return nil
		}
		return t.post(ctx, to.HTTPSEndpoint, ts, sig, body)
	}
	err := attempt()
	for i := 0; err != nil && errors.Is(err, errRetryable) && i < len(retryDelays); i++ {
		select {
		case <-time.After(retryDelays[i]):
		case <-ctx.Done():
			return ctx.Err()
		}
		err = attempt()
	}
	if err != nil {
		t.dropped.Inc()
		t.log.Warn("bot event dropped", "bot", to.BotID, "room", to.RoomID, "event", to.EventType, "err", err)
	}
	return nil
}

func (t *Transport) post(ctx context.Context, endpoint, ts, sig string, body []byte) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", site(endpoint), bare(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Chime-Signature", sig)
	req.Header.Set("Chime-Request-Timestamp", ts)
	resp, err := t.http.Do(req)
	if errors.Is(err, egress.ErrForbidden) { // it will not become reachable in 600 ms
		return fmt.Errorf("%s: %w", site(endpoint), bare(err))
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errRetryable, site(endpoint), bare(err))
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: the endpoint answered %d", errRetryable, resp.StatusCode)
	}
	return fmt.Errorf("the endpoint answered %d", resp.StatusCode)
}
