package bots

import (
	"context"
	"strings"
	"testing"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

type oneBot struct{}

func (oneBot) GetBot(_ context.Context, _, accountID, botID string) (chimeaccounts.Bot, error) {
	return chimeaccounts.Bot{BotID: botID, AccountID: accountID}, nil
}

func (oneBot) ListBots(context.Context, string, string, string, int) ([]chimeaccounts.Bot, string, error) {
	return nil, "", nil
}

type noTargets struct{}

func (noTargets) DryRunLambda(context.Context, string) error { return nil }
func (noTargets) Challenge(context.Context, string) error    { return nil }

// TestRefusedEndpointIsNotRepeated: OutboundEventsHTTPSEndpoint is a sensitive member (hidden in the
// audit record: it often embeds a credential); refusing a malformed one must not repeat it in the
// error message, which the answer and the audit record's errorMessage carry.
func TestRefusedEndpointIsNotRepeated(t *testing.T) {
	s := New(Deps{Store: oneBot{}, Targets: noTargets{}})
	for _, endpoint := range []string{"http://bot.example.com/hook?token=SECRETTOKEN", "https:///SECRETTOKEN", "ftp://u:SECRETTOKEN@x/"} {
		_, err := s.PutEventsConfiguration(context.Background(), "111122223333", "acc", "bot", "", endpoint)
		if err == nil {
			t.Fatalf("%s: accepted", endpoint)
		}
		if strings.Contains(err.Error(), "SECRETTOKEN") {
			t.Errorf("%s: the error repeats the endpoint: %v", endpoint, err)
		}
	}
}

type countingTargets struct{ calls int }

func (c *countingTargets) DryRunLambda(context.Context, string) error { c.calls++; return nil }
func (c *countingTargets) Challenge(context.Context, string) error    { c.calls++; return nil }

// TestOversizedEventsTargetIsRefused: an events target had no bound; a 1 MB endpoint on a server
// that echoes the challenge (any public host the caller runs) made an event beyond the event store's
// append limit (JSON escapes a '<' as six bytes), and the call failed with a 500. It is refused with
// a 400 before it is challenged.
func TestOversizedEventsTargetIsRefused(t *testing.T) {
	targets := &countingTargets{}
	s := New(Deps{Store: oneBot{}, Targets: targets})
	huge := strings.Repeat("<", 1_000_000)
	for _, tc := range []struct{ lambda, endpoint string }{
		{endpoint: "https://bot.example.com/" + huge},
		{lambda: "arn:aws:lambda:us-east-1:111122223333:function:bot:" + strings.Repeat("$", 1_000_000)},
	} {
		_, err := s.PutEventsConfiguration(context.Background(), "111122223333", "acc", "bot", tc.lambda, tc.endpoint)
		if domain.KindOf(err) != domain.KindInvalid {
			t.Fatalf("a %d-byte target: %v", len(tc.lambda)+len(tc.endpoint), err)
		}
	}
	if targets.calls != 0 {
		t.Fatalf("an oversized target was verified %d times", targets.calls)
	}
}
