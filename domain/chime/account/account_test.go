package account_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

var created = account.Created{AccountID: "a1", AwsAccountID: "123456789012", Name: "Acme", AccountType: account.TypeTeam,
	DefaultLicense: account.LicensePro, SupportedLicenses: []string{account.LicenseBasic, account.LicensePro}, CreatedAt: now}

func TestDecide(t *testing.T) {
	t.Parallel()
	alice := account.UserAdded{UserID: "u1", Email: "alice@example.com", UserType: "PrivateUser", LicenseType: "Pro", PIN: sealedUser("u1", 1), CreatedAt: now}
	cases := []struct {
		name     string
		given    []account.Event
		when     account.Command
		want     []account.Event
		wantErr  error
		wantKind domain.Kind
	}{
		{name: "create", when: account.Create{AccountID: "a1", AwsAccountID: "123456789012", Name: "Acme"}, want: []account.Event{created}},
		{name: "create twice", given: []account.Event{created}, when: account.Create{AccountID: "a1", Name: "Acme"}, wantErr: account.ErrAlreadyExists},
		{name: "empty name", when: account.Create{AccountID: "a1", Name: ""}, wantErr: account.ErrInvalidName},
		{name: "blank name", when: account.Create{AccountID: "a1", Name: "   "}, wantErr: account.ErrInvalidName},
		{name: "name of 101", when: account.Create{AccountID: "a1", Name: strings.Repeat("x", 101)}, wantErr: account.ErrInvalidName},
		{name: "name of 100", when: account.Create{AccountID: "a1", AwsAccountID: "123456789012", Name: strings.Repeat("é", 100)},
			want: []account.Event{func() account.Created { c := created; c.Name = strings.Repeat("é", 100); return c }()}},
		{name: "rename", given: []account.Event{created}, when: account.Update{AccountID: "a1", Name: ptr("Acme 2")}, want: []account.Event{account.Renamed{Name: "Acme 2"}}},
		{name: "rename to same is a no-op", given: []account.Event{created}, when: account.Update{AccountID: "a1", Name: ptr("Acme")}},
		{name: "default licence", given: []account.Event{created}, when: account.Update{AccountID: "a1", DefaultLicense: ptr("Basic")},
			want: []account.Event{account.DefaultLicenseChanged{DefaultLicense: "Basic"}}},
		{name: "unknown licence", given: []account.Event{created}, when: account.Update{AccountID: "a1", DefaultLicense: ptr("Gold")}, wantErr: account.ErrInvalidLicense},
		{name: "unsupported licence", given: []account.Event{created}, when: account.Update{AccountID: "a1", DefaultLicense: ptr("Plus")}, wantErr: account.ErrInvalidLicense},
		{name: "update missing", when: account.Update{AccountID: "a9", Name: ptr("x")}, wantErr: account.ErrNotFound},
		{name: "settings", given: []account.Event{created}, when: account.UpdateSettings{AccountID: "a1", EnableDialOut: ptr(true)},
			want: []account.Event{account.SettingsUpdated{EnableDialOut: true}}},
		{name: "settings unchanged", given: []account.Event{created}, when: account.UpdateSettings{AccountID: "a1", DisableRemoteControl: ptr(false)}},
		{name: "delete", given: []account.Event{created}, when: account.Delete{AccountID: "a1"}, want: []account.Event{account.Deleted{DeletedAt: now}}},
		{name: "delete Team with users", given: []account.Event{created, alice}, when: account.Delete{AccountID: "a1"},
			wantErr: account.ErrNotEmpty, wantKind: domain.KindUnprocessable},
		{name: "add user", given: []account.Event{created}, when: account.AddUser{AccountID: "a1", UserID: "u1", Email: "Alice@Example.com", PIN: sealedUser("u1", 1)},
			want: []account.Event{func() account.UserAdded { a := alice; a.Email = "alice@example.com"; return a }()}},
		{name: "add user with a taken e-mail", given: []account.Event{created, alice}, when: account.AddUser{AccountID: "a1", UserID: "u2", Email: "ALICE@example.com"},
			wantErr: account.ErrEmailTaken, wantKind: domain.KindConflict},
		{name: "add user with a bad e-mail", given: []account.Event{created}, when: account.AddUser{AccountID: "a1", UserID: "u2", Email: "not-an-address"}, wantErr: account.ErrInvalidUser},
		{name: "add user with a bad type", given: []account.Event{created}, when: account.AddUser{AccountID: "a1", UserID: "u2", Email: "b@example.com", UserType: "Robot"}, wantErr: account.ErrInvalidUser},
		{name: "add user to deleted account", given: []account.Event{created, account.Deleted{DeletedAt: now}}, when: account.AddUser{AccountID: "a1", UserID: "u2", Email: "b@example.com"}, wantErr: account.ErrNotFound},
		{name: "delete twice", given: []account.Event{created, account.Deleted{DeletedAt: now}}, when: account.Delete{AccountID: "a1"}, wantErr: account.ErrNotFound, wantKind: domain.KindNotFound},
		{name: "rename deleted", given: []account.Event{created, account.Deleted{DeletedAt: now}}, when: account.Update{AccountID: "a1", Name: ptr("x")}, wantErr: account.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := account.Initial()
			for _, e := range tc.given {
				s = account.Evolve(s, e)
			}
			got, err := account.Decide(s, tc.when, now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %v", tc.wantErr, err)
				}
				if tc.wantKind != 0 && domain.KindOf(err) != tc.wantKind {
					t.Fatalf("want kind %v, got %v", tc.wantKind, domain.KindOf(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events:\n got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestEventsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range []account.Event{created, account.Renamed{Name: "x"}, account.DefaultLicenseChanged{DefaultLicense: "Basic"},
		account.SettingsUpdated{EnableDialOut: true}, account.Deleted{DeletedAt: now},
		account.UserAdded{UserID: "u", Email: "e@example.com", UserType: "PrivateUser", LicenseType: "Pro", CreatedAt: now}} {
		b, err := jsonMarshal(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := account.Decode(e.EventType(), b)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("%s: %#v %v", e.EventType(), back, err)
		}
	}
	if _, err := account.Decode("chime.account.unknown.v1", []byte(`{}`)); err == nil {
		t.Fatal("unknown types must fail to decode")
	}
}
