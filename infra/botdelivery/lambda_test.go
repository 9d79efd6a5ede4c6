package botdelivery_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/belfry/belfry/infra/botdelivery"
)

// TestLambdaEndpointRedirectIsNotFollowed: an endpoint answering a redirect fails the invocation, and
// the address it names is never called.
func TestLambdaEndpointRedirectIsNotFollowed(t *testing.T) {
	var reached atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Store(true) }))
	defer elsewhere.Close()
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/internal", http.StatusTemporaryRedirect)
	}))
	defer endpoint.Close()
	for _, client := range []*http.Client{nil, {}} {
		err := botdelivery.HTTPLambdaInvoker{Endpoint: endpoint.URL, Client: client}.
			Invoke(context.Background(), "arn:aws:lambda:us-east-1:111122223333:function:bot", []byte(`{}`), "", false)
		if err == nil {
			t.Fatal("an invocation answered by a redirect succeeded")
		}
	}
	if reached.Load() {
		t.Fatal("the invoker followed the endpoint's redirect")
	}
}
