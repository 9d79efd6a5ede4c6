package apibench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// WickrAdmin calls the Wickr Admin API of a Belfry server with SigV4 (signing name "wickr",
// us-east-1): the official Go Wickr client is not available here.
type WickrAdmin struct {
	base        string
	creds       aws.Credentials
	signer      *v4.Signer
	http        *http.Client
	region, svc string
}

// NewWickrAdmin calls the server at addr (host:port) with the access key keyID/secret through hc.
func NewWickrAdmin(addr, keyID, secret string, hc *http.Client) *WickrAdmin {
	return &WickrAdmin{base: "http://" + addr, creds: aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		signer: v4.NewSigner(), http: hc, region: "us-east-1", svc: "wickr"}
}

// Call signs and sends one request and decodes its JSON answer into out (nil: ignored); an answer
// other than 200 is an error holding its body.
func (a *WickrAdmin) Call(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	u := a.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(payload)
	if err := a.signer.SignHTTP(ctx, a.creds, req, hex.EncodeToString(sum[:]), a.svc, a.region, time.Now()); err != nil {
		return err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
