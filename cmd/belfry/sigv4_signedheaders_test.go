package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/api/sigv4"
)

// TestSigV4RefusesAnUnsignedDate: a request signed right over host alone — its X-Amz-Date left out of
// SignedHeaders — is refused 403 InvalidSignatureException naming X-Amz-Date, as AWS requires the
// date header to be signed; the same request signed over both is served.
func TestSigV4RefusesAnUnsignedDate(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	sign := func(signed []string) *http.Request {
		req, _ := http.NewRequest("GET", b.url+"/accounts", nil)
		at := time.Now().UTC()
		req.Header.Set("X-Amz-Date", at.Format("20060102T150405Z"))
		empty := sha256.Sum256(nil)
		creq := sigv4.CanonicalRequest(req, signed, hex.EncodeToString(empty[:]))
		scope := at.Format("20060102") + "/us-east-1/chime/aws4_request"
		h := sha256.Sum256([]byte(creq))
		sts := "AWS4-HMAC-SHA256\n" + at.Format("20060102T150405Z") + "\n" + scope + "\n" + hex.EncodeToString(h[:])
		key := []byte("AWS4" + b.secret)
		for _, s := range []string{at.Format("20060102"), "us-east-1", "chime", "aws4_request", sts} {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(s))
			key = m.Sum(nil)
		}
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+b.keyID+"/"+scope+", SignedHeaders="+
			strings.Join(signed, ";")+", Signature="+hex.EncodeToString(key))
		return req
	}
	if status, typ, body := send(t, sign([]string{"host"})); status != 403 || typ != "InvalidSignatureException" ||
		!strings.Contains(body["Message"], "X-Amz-Date") {
		t.Fatalf("date not signed: %d %s %v", status, typ, body)
	}
	if status, _, body := send(t, sign([]string{"host", "x-amz-date"})); status != 200 {
		t.Fatalf("date signed: %d %v", status, body)
	}
}
