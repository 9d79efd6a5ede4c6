package account_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/belfry/belfry/domain/chime/account"
)

func given(events ...account.Event) account.State {
	s := account.Initial()
	for _, e := range events {
		s = account.Evolve(s, e)
	}
	return s
}

func TestUserCommands(t *testing.T) {
	t.Parallel()
	lwa := created
	lwa.AccountType = account.TypeEnterpriseLWA
	u1 := account.UserAdded{UserID: "u1", Email: "a@example.com", UserType: "PrivateUser", LicenseType: "Pro", PIN: sealedUser("u1", 1), CreatedAt: now}
	u2 := account.UserAdded{UserID: "u2", Email: "b@example.com", UserType: "PrivateUser", LicenseType: "Pro", PIN: sealedUser("u2", 2), CreatedAt: now}
	cases := []struct {
		name      string
		given     []account.Event
		when      account.Command
		want      []account.Event
		wantItems []account.ItemError
		wantErr   error
	}{
		{name: "update licence", given: []account.Event{created, u1}, when: account.UpdateUser{AccountID: "a1", UserChange: account.UserChange{UserID: "u1", LicenseType: ptr("Basic")}},
			want: []account.Event{account.UserUpdated{UserID: "u1", LicenseType: "Basic", UserType: "PrivateUser"}}},
		{name: "update unknown user", given: []account.Event{created}, when: account.UpdateUser{AccountID: "a1", UserChange: account.UserChange{UserID: "nope", LicenseType: ptr("Basic")}},
			wantErr: account.ErrUserNotFound},
		{name: "update to unsupported licence", given: []account.Event{created, u1}, when: account.UpdateUser{AccountID: "a1", UserChange: account.UserChange{UserID: "u1", LicenseType: ptr("Plus")}},
			wantErr: account.ErrInvalidLicense},
		{name: "batch update applies valid items and reports the others", given: []account.Event{created, u1, u2},
			when: account.BatchUpdateUser{AccountID: "a1", Items: []account.UserChange{
				{UserID: "u1", LicenseType: ptr("Basic")}, {UserID: "zz", LicenseType: ptr("Basic")}, {UserID: "u2", UserType: ptr("Robot")}, {UserID: "u1", LicenseType: ptr("Pro")}}},
			want:      []account.Event{account.UserUpdated{UserID: "u1", LicenseType: "Basic", UserType: "PrivateUser"}},
			wantItems: []account.ItemError{{UserID: "zz", Code: "NotFound"}, {UserID: "u2", Code: "BadRequest"}, {UserID: "u1", Code: "BadRequest"}}},
		{name: "batch update over 20", given: []account.Event{created}, when: account.BatchUpdateUser{AccountID: "a1", Items: make([]account.UserChange, 21)}, wantErr: account.ErrBatchTooLong},
		{name: "suspend in Team removes", given: []account.Event{created, u1}, when: account.BatchSuspendUser{AccountID: "a1", UserIDs: []string{"u1", "u9"}},
			want: []account.Event{account.UserRemoved{UserID: "u1"}}, wantItems: []account.ItemError{{UserID: "u9", Code: "NotFound"}}},
		{name: "a removed Team user's number goes back to the inventory", given: []account.Event{created, u1, account.UserNumberAssigned{UserID: "u1", E164: "+12065550100"}},
			when: account.BatchSuspendUser{AccountID: "a1", UserIDs: []string{"u1"}},
			want: []account.Event{account.UserNumberUnassigned{UserID: "u1", E164: "+12065550100"}, account.UserRemoved{UserID: "u1"}}},
		{name: "suspend in EnterpriseLWA suspends", given: []account.Event{lwa, u1}, when: account.BatchSuspendUser{AccountID: "a1", UserIDs: []string{"u1"}},
			want: []account.Event{account.UserSuspended{UserID: "u1"}}},
		{name: "suspend twice", given: []account.Event{lwa, u1, account.UserSuspended{UserID: "u1"}}, when: account.BatchSuspendUser{AccountID: "a1", UserIDs: []string{"u1"}},
			wantItems: []account.ItemError{{UserID: "u1", Code: "Conflict"}}},
		{name: "suspend over 50", given: []account.Event{lwa}, when: account.BatchSuspendUser{AccountID: "a1", UserIDs: make([]string, 51)}, wantErr: account.ErrBatchTooLong},
		{name: "unsuspend in Team refused", given: []account.Event{created, u1}, when: account.BatchUnsuspendUser{AccountID: "a1", UserIDs: []string{"u1"}}, wantErr: account.ErrWrongAccount},
		{name: "unsuspend", given: []account.Event{lwa, u1, account.UserSuspended{UserID: "u1"}}, when: account.BatchUnsuspendUser{AccountID: "a1", UserIDs: []string{"u1", "u2"}},
			want: []account.Event{account.UserUnsuspended{UserID: "u1", Registration: "Unregistered"}}, wantItems: []account.ItemError{{UserID: "u2", Code: "NotFound"}}},
		{name: "unsuspend ignores a user who is not suspended", given: []account.Event{lwa, u1}, when: account.BatchUnsuspendUser{AccountID: "a1", UserIDs: []string{"u1"}}},
		{name: "logout", given: []account.Event{created, u1}, when: account.LogoutUser{AccountID: "a1", UserID: "u1"}, want: []account.Event{account.UserLoggedOut{UserID: "u1", At: now}}},
		{name: "reset PIN", given: []account.Event{created, u1}, when: account.ResetPIN{AccountID: "a1", UserID: "u1", PIN: sealedUser("u1", 9)}, want: []account.Event{account.PersonalPINReset{UserID: "u1", PIN: sealedUser("u1", 9)}}},
		{name: "removed user frees the e-mail", given: []account.Event{created, u1, account.UserRemoved{UserID: "u1"}},
			when: account.AddUser{AccountID: "a1", UserID: "u3", Email: "a@example.com", PIN: sealedUser("u3", 3)},
			want: []account.Event{account.UserAdded{UserID: "u3", Email: "a@example.com", UserType: "PrivateUser", LicenseType: "Pro", PIN: sealedUser("u3", 3), CreatedAt: now}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := given(tc.given...)
			var got []account.Event
			var items []account.ItemError
			var err error
			switch tc.when.(type) {
			case account.BatchUpdateUser, account.BatchSuspendUser, account.BatchUnsuspendUser:
				got, items, err = account.DecideBatch(s, tc.when, now)
			default:
				got, err = account.Decide(s, tc.when, now)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events:\n got %#v\nwant %#v", got, tc.want)
			}
			if len(items) != len(tc.wantItems) {
				t.Fatalf("item errors: got %+v want %+v", items, tc.wantItems)
			}
			for i := range items {
				if items[i].UserID != tc.wantItems[i].UserID || items[i].Code != tc.wantItems[i].Code || items[i].Message == "" {
					t.Fatalf("item %d: got %+v want %+v", i, items[i], tc.wantItems[i])
				}
			}
		})
	}
}

func TestUnsuspendRestoresPriorStatus(t *testing.T) {
	t.Parallel()
	lwa := created
	lwa.AccountType = account.TypeEnterpriseLWA
	s := given(lwa, account.UserAdded{UserID: "u1", Email: "a@example.com"}, account.UserSuspended{UserID: "u1"})
	evs, _, err := account.DecideBatch(s, account.BatchUnsuspendUser{AccountID: "a1", UserIDs: []string{"u1"}}, now)
	if err != nil || len(evs) != 1 {
		t.Fatal(evs, err)
	}
	s = account.Evolve(s, evs[0])
	if u, _ := s.Members.Get("u1"); u.Registration != account.RegistrationUnregistered {
		t.Fatalf("registration after unsuspend: %s", u.Registration)
	}
}
