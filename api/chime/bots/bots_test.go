package bots

import (
	"context"
	"strings"
	"testing"

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
