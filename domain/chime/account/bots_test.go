package account_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/belfry/belfry/domain/chime/account"
)

func TestBots(t *testing.T) {
	t.Parallel()
	ent := []account.Event{created, account.DomainClaimAdded{Domain: "example.com"}, account.DomainVerified{Domain: "example.com"},
		account.AccountTypeChanged{AccountType: "EnterpriseLWA"}}
	full := append([]account.Event{}, ent...)
	for i := 0; i < 10; i++ {
		full = append(full, account.BotCreated{BotID: fmt.Sprint("b", i), Email: fmt.Sprintf("bot%d-chimebot@example.com", i)})
	}
	cases := []struct {
		name    string
		given   []account.Event
		when    account.Command
		wantErr error
		check   func([]account.Event) bool
	}{
		{"create", ent, account.CreateBot{AccountID: "a1", BotID: "b", DisplayName: "exampleBot", SecurityToken: sealedBot("b")}, nil,
			func(e []account.Event) bool {
				return e[0].(account.BotCreated).Email == "exampleBot-chimebot@example.com"
			}},
		{"Team accounts have no bots", []account.Event{created}, account.CreateBot{AccountID: "a1", DisplayName: "x"}, account.ErrWrongAccount, nil},
		{"eleventh bot", full, account.CreateBot{AccountID: "a1", DisplayName: "one-more"}, account.ErrBotLimit, nil},
		{"name of 56", ent, account.CreateBot{AccountID: "a1", DisplayName: strings.Repeat("b", 56)}, account.ErrInvalidBot, nil},
		{"name with a space", ent, account.CreateBot{AccountID: "a1", DisplayName: "my bot"}, account.ErrInvalidBot, nil},
		{"unverified domain", ent, account.CreateBot{AccountID: "a1", DisplayName: "x", Domain: "other.com"}, account.ErrInvalidBot, nil},
		{"disable", full, account.UpdateBot{AccountID: "a1", BotID: "b1", Disabled: true}, nil,
			func(e []account.Event) bool { return e[0].(account.BotUpdated).Disabled }},
		{"unknown bot", ent, account.UpdateBot{AccountID: "a1", BotID: "zz", Disabled: true}, account.ErrBotNotFound, nil},
		{"events need a target", full, account.PutBotEvents{AccountID: "a1", BotID: "b1"}, account.ErrInvalidBot, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := account.Decide(given(tc.given...), tc.when, now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil || !tc.check(got) {
				t.Fatalf("got %#v %v", got, err)
			}
		})
	}
}
