package wickr_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

func TestFieldError(t *testing.T) {
	t.Parallel()
	err := wickr.Invalid("networkName", "must be 1 to 20 characters")
	if domain.KindOf(err) != domain.KindInvalid || !errors.Is(err, wickr.ErrValidation) {
		t.Fatalf("kind %v, is %v", domain.KindOf(err), errors.Is(err, wickr.ErrValidation))
	}
	if err.Error() != "networkName: must be 1 to 20 characters" {
		t.Fatal(err.Error())
	}
	joined := errors.Join(wickr.Prefix("users[1]", wickr.Invalid("username", "is required")), wickr.Invalid("x", "y"))
	want := []wickr.Reason{{"users[1].username", "is required"}, {"x", "y"}}
	if got := wickr.Reasons(joined); !reflect.DeepEqual(got, want) {
		t.Fatalf("%v", got)
	}
	if domain.KindOf(joined) != domain.KindInvalid {
		t.Fatal("a joined validation error is invalid")
	}
	lim := wickr.FieldErr(&domain.Error{Kind: domain.KindLimitExceeded, Msg: "cap"}, "users", "too many")
	if domain.KindOf(lim) != domain.KindLimitExceeded {
		t.Fatal(domain.KindOf(lim))
	}
	if wickr.Reasons(errors.New("plain")) != nil || wickr.Prefix("p", nil) != nil {
		t.Fatal("no reasons in a plain error")
	}
}

func TestIdentifiers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		ok   bool
		name string
	}{
		{wickr.ValidNetworkID("networkId", "12345678"), true, "8 digits"},
		{wickr.ValidNetworkID("networkId", "1234567"), false, "7 digits"},
		{wickr.ValidNetworkID("networkId", "1234567a"), false, "a letter"},
		{wickr.ValidNumericID("userId", "1"), true, "1 digit"},
		{wickr.ValidNumericID("userId", "12345678901"), false, "11 digits"},
		{wickr.ValidNumericID("userId", ""), false, "empty"},
		{wickr.ValidRegion("region", "eu-west-2"), true, "London"},
		{wickr.ValidRegion("region", "us-west-2"), false, "Oregon has no Wickr"},
	} {
		if (tc.err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
	for in, want := range map[string]string{" Alice.B-c_d@Example.COM ": "alice.b-c_d@example.com"} {
		if got, err := wickr.NormalizeUsername("username", in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "alice", "alice@example", "al+ice@example.com", "al ice@example.com", "a@b@example.com"} {
		if _, err := wickr.NormalizeUsername("username", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if wickr.UsernameHash("Alice@Example.com") != wickr.UsernameHash("alice@example.com") || len(wickr.UsernameHash("a@b.c")) != 64 {
		t.Fatal("the uname is the hash of the lower-cased username")
	}
	if s := wickr.DirectoryShard("alice@example.com"); s < 0 || s >= wickr.DirectoryShards {
		t.Fatal(s)
	}
	if wickr.RosterBlock("999") != "0" || wickr.RosterBlock("1000") != "1" || wickr.RosterBlock("1234567") != "1234" {
		t.Fatal("roster blocks of 1,000 ids")
	}
}

func TestCheckSealed(t *testing.T) {
	t.Parallel()
	ok := domain.Sealed{KeyID: domain.SubjectKeyID("12345678", wickr.BotSubject("7")), Data: []byte{1}}
	if err := wickr.CheckSealed("12345678", wickr.BotSubject("7"), "challenge", ok); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []domain.Sealed{{}, {KeyID: ok.KeyID}, {KeyID: "other", Data: []byte{1}}} {
		err := wickr.CheckSealed("12345678", wickr.BotSubject("7"), "challenge", bad)
		if !errors.Is(err, wickr.ErrUnsealed) || wickr.Reasons(err)[0].Field != "challenge" {
			t.Fatalf("%#v: %v", bad, err)
		}
	}
}
