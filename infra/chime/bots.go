package chime

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// LambdaInvoker invokes a Lambda function (or a compatible endpoint) asynchronously; clientContext
// is the base64 JSON the function reads from its ClientContext; dryRun checks permission only.
type LambdaInvoker interface {
	Invoke(ctx context.Context, functionARN string, payload []byte, clientContext string, dryRun bool) error
}

// HTTPLambdaInvoker calls the Lambda Invoke API shape (POST {Endpoint}/2015-03-31/functions/{arn}/invocations,
// X-Amz-Invocation-Type DryRun or Event) of a Lambda-compatible endpoint. With no Endpoint every call fails.
type HTTPLambdaInvoker struct {
	Endpoint string
	Client   *http.Client
}

// Invoke implements LambdaInvoker.
func (h HTTPLambdaInvoker) Invoke(ctx context.Context, arn string, payload []byte, clientContext string, dryRun bool) error {
	if h.Endpoint == "" {
		return fmt.Errorf("no Lambda endpoint is configured (set BELFRY_LAMBDA_ENDPOINT)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimSuffix(h.Endpoint, "/")+"/2015-03-31/functions/"+url.PathEscape(arn)+"/invocations", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	typ := "Event"
	if dryRun {
		typ = "DryRun"
	}
	req.Header.Set("X-Amz-Invocation-Type", typ)
	if clientContext != "" {
		req.Header.Set("X-Amz-Client-Context", clientContext)
	}
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("lambda endpoint answered %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// ErrEventsVerification is returned when an events target fails its check (HTTP 4xx on the wire).
var ErrEventsVerification = &domain.Error{Kind: domain.KindInvalid, Msg: "events configuration could not be verified"}

var lambdaARN = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$`)

// securityToken is a fresh random token (32 bytes, base64url).
func securityToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sealToken makes a new security token (the HMAC key of the bot's events) sealed under the bot's key:
// the log holds only the sealed token, and the account's deletion destroys the key.
func (s *Service) sealToken(ctx context.Context, accountID, botID string) (domain.Sealed, error) {
	return s.keys.SealFor(ctx, accountID, account.BotKeySubject(botID), []byte(securityToken()))
}

// CreateBot registers a bot in an Enterprise account.
func (s *Service) CreateBot(ctx context.Context, awsAccountID, accountID, displayName, domainName string) (chimeaccounts.Bot, error) {
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return chimeaccounts.Bot{}, err
	}
	botID := uuid.NewString()
	token, err := s.sealToken(ctx, accountID, botID)
	if err != nil {
		return chimeaccounts.Bot{}, err
	}
	res, err := s.accounts.Execute(ctx, account.StreamName(accountID), account.CreateBot{AccountID: accountID, BotID: botID,
		UserID: uuid.NewString(), DisplayName: displayName, Domain: domainName, SecurityToken: token})
	if err != nil {
		return chimeaccounts.Bot{}, err
	}
	s.waitRM(ctx, s.accountsRM, res.Position)
	return s.store.GetBot(ctx, awsAccountID, accountID, botID)
}

// GetBot returns a bot.
func (s *Service) GetBot(ctx context.Context, awsAccountID, accountID, botID string) (chimeaccounts.Bot, error) {
	return s.store.GetBot(ctx, awsAccountID, accountID, botID)
}

// ListBots returns a page of bots.
func (s *Service) ListBots(ctx context.Context, awsAccountID, accountID, token string, limit int) ([]chimeaccounts.Bot, string, error) {
	return s.store.ListBots(ctx, awsAccountID, accountID, token, limit)
}

func (s *Service) execBot(ctx context.Context, awsAccountID, accountID, botID string, cmd account.Command) (chimeaccounts.Bot, error) {
	if err := s.ownAccount(ctx, awsAccountID, accountID); err != nil {
		return chimeaccounts.Bot{}, err
	}
	res, err := s.accounts.Execute(ctx, account.StreamName(accountID), cmd)
	if err != nil {
		return chimeaccounts.Bot{}, err
	}
	s.waitRM(ctx, s.accountsRM, res.Position)
	return s.store.GetBot(ctx, awsAccountID, accountID, botID)
}

// UpdateBot enables or disables a bot.
func (s *Service) UpdateBot(ctx context.Context, awsAccountID, accountID, botID string, disabled bool) (chimeaccounts.Bot, error) {
	return s.execBot(ctx, awsAccountID, accountID, botID, account.UpdateBot{AccountID: accountID, BotID: botID, Disabled: disabled})
}

// RegenerateSecurityToken gives the bot a new HMAC key.
func (s *Service) RegenerateSecurityToken(ctx context.Context, awsAccountID, accountID, botID string) (chimeaccounts.Bot, error) {
	if _, err := s.store.GetBot(ctx, awsAccountID, accountID, botID); err != nil {
		return chimeaccounts.Bot{}, err
	}
	token, err := s.sealToken(ctx, accountID, botID)
	if err != nil {
		return chimeaccounts.Bot{}, err
	}
	return s.execBot(ctx, awsAccountID, accountID, botID, account.RegenerateBotToken{AccountID: accountID, BotID: botID, SecurityToken: token})
}

// PutEventsConfiguration verifies the target first — the HTTPS challenge of guide §11.2.2 (the
// endpoint must echo the Challenge within 2 s) or a Lambda dry run — and stores it only then.
func (s *Service) PutEventsConfiguration(ctx context.Context, awsAccountID, accountID, botID, lambda, endpoint string) (chimeaccounts.Bot, error) {
	if _, err := s.store.GetBot(ctx, awsAccountID, accountID, botID); err != nil {
		return chimeaccounts.Bot{}, err
	}
	if lambda != "" {
		if !lambdaARN.MatchString(lambda) {
			return chimeaccounts.Bot{}, domain.Wrapf(ErrEventsVerification, "LambdaFunctionArn %q is not a Lambda function ARN", lambda)
		}
		if err := s.lambda.Invoke(ctx, lambda, []byte(`{}`), "", true); err != nil {
			return chimeaccounts.Bot{}, domain.Wrapf(ErrEventsVerification, "the dry-run invocation of %s failed: %v", lambda, err)
		}
	}
	if endpoint != "" {
		if err := s.challenge(ctx, endpoint); err != nil {
			return chimeaccounts.Bot{}, err
		}
	}
	return s.execBot(ctx, awsAccountID, accountID, botID, account.PutBotEvents{AccountID: accountID, BotID: botID, LambdaARN: lambda, HTTPSEndpoint: endpoint})
}

func (s *Service) challenge(ctx context.Context, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return domain.Wrapf(ErrEventsVerification, "OutboundEventsHTTPSEndpoint %q must be an https:// URL", endpoint)
	}
	n, _ := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(20), nil))
	challenge := fmt.Sprintf("%020s", n.String())
	body, _ := json.Marshal(map[string]string{"Challenge": challenge, "EventType": "HTTPSEndpointVerification"})
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, http.MethodPost, endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.botHTTP.Do(req)
	if err != nil {
		return domain.Wrapf(ErrEventsVerification, "the endpoint verification request to %s failed: %v", endpoint, err)
	}
	defer resp.Body.Close()
	var echo struct{ Challenge string }
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &echo) != nil || echo.Challenge != challenge {
		return domain.Wrapf(ErrEventsVerification, "the endpoint %s did not echo the verification challenge (status %d)", endpoint, resp.StatusCode)
	}
	return nil
}

// DeleteEventsConfiguration removes the bot's events configuration.
func (s *Service) DeleteEventsConfiguration(ctx context.Context, awsAccountID, accountID, botID string) error {
	_, err := s.execBot(ctx, awsAccountID, accountID, botID, account.DeleteBotEvents{AccountID: accountID, BotID: botID})
	return err
}
