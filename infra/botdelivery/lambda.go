package botdelivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// LambdaInvoker invokes a Lambda function (or a compatible endpoint) asynchronously; clientContext
// is the base64 JSON the function reads from its ClientContext; dryRun checks permission only.
type LambdaInvoker interface {
	Invoke(ctx context.Context, functionARN string, payload []byte, clientContext string, dryRun bool) error
}

// HTTPLambdaInvoker calls the Lambda Invoke API shape (POST {Endpoint}/2015-03-31/functions/{arn}/invocations,
// X-Amz-Invocation-Type DryRun or Event) of a Lambda-compatible endpoint. With no Endpoint every call fails.
// Redirects are never followed (whatever Client says): a 3xx is a failed invocation, so the endpoint
// cannot send the payload, or Belfry, on to an address the operator did not configure.
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
	client := &http.Client{Timeout: 5 * time.Second}
	if h.Client != nil {
		c := *h.Client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
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
