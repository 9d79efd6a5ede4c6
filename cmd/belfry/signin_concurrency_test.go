package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
)

// TestConcurrentWrongPasswordsAreThrottledAlike: guesses of one user's password sent at once are
// throttled as if they came one after the other: at most the limit's 5 are checked against the
// user's hash (403), the others are refused without a check (429), so a burst is no way around the
// back-off.
func TestConcurrentWrongPasswordsAreThrottledAlike(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox })
	a, err := b.client.CreateAccount(context.Background(), &chime.CreateAccountInput{Name: aws.String("Burst")})
	if err != nil {
		t.Fatal(err)
	}
	b.registeredUser(t, outbox, aws.ToString(a.Account.AccountId), "erin@team.example")
	const checks = `belfry_client_signin_password_checks_total{against="user"}`
	before := metricValue(t, b.url, checks)
	const guesses = 16
	codes := make(chan int, guesses)
	var wg sync.WaitGroup
	for range guesses {
		wg.Go(func() {
			resp, err := http.Post(b.url+"/client/v1/sessions", "application/json",
				strings.NewReader(`{"Email":"erin@team.example","Password":"a wrong guess"}`))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	checked := metricValue(t, b.url, checks) - before
	if count[403] > 5 || count[403]+count[429] != guesses || checked > 5 {
		t.Fatalf("%d concurrent wrong guesses: answers %v, %v checked against the user's hash (at most 5 may be)", guesses, count, checked)
	}
}
