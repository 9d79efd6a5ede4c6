package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

func TestUserOperationsThroughSDK(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	c := b.client
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Team with users")})
	if err != nil {
		t.Fatal(err)
	}
	acct := a.Account.AccountId
	pins := map[string]bool{}
	var ids []string
	for i := 0; i < 5; i++ {
		ut := types.UserTypePrivateUser
		if i == 4 {
			ut = types.UserTypeSharedDevice
		}
		u, err := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: acct, Email: aws.String(fmt.Sprintf("user%d@example.com", i)), UserType: ut})
		if err != nil {
			t.Fatal(err)
		}
		pin := aws.ToString(u.User.PersonalPIN)
		if !regexp.MustCompile(`^\d{10}$`).MatchString(pin) || pins[pin] {
			t.Fatalf("personal PIN %q must be 10 digits and unique", pin)
		}
		pins[pin] = true
		ids = append(ids, aws.ToString(u.User.UserId))
	}

	// ListUsers: pagination and filters.
	p := chime.NewListUsersPaginator(c, &chime.ListUsersInput{AccountId: acct, MaxResults: aws.Int32(2)})
	listed := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		listed += len(out.Users)
	}
	if listed != 5 {
		t.Fatalf("listed %d users", listed)
	}
	byEmail, err := c.ListUsers(ctx, &chime.ListUsersInput{AccountId: acct, UserEmail: aws.String("USER3@example.com")})
	if err != nil || len(byEmail.Users) != 1 || aws.ToString(byEmail.Users[0].UserId) != ids[3] {
		t.Fatalf("user-email filter: %+v %v", byEmail, err)
	}
	shared, err := c.ListUsers(ctx, &chime.ListUsersInput{AccountId: acct, UserType: types.UserTypeSharedDevice})
	if err != nil || len(shared.Users) != 1 {
		t.Fatalf("user-type filter: %d %v", len(shared.Users), err)
	}

	// UpdateUser and BatchUpdateUser with per-item errors.
	up, err := c.UpdateUser(ctx, &chime.UpdateUserInput{AccountId: acct, UserId: aws.String(ids[0]), LicenseType: types.LicenseBasic})
	if err != nil || up.User.LicenseType != types.LicenseBasic {
		t.Fatalf("UpdateUser: %+v %v", up, err)
	}
	_, err = c.UpdateUser(ctx, &chime.UpdateUserInput{AccountId: acct, UserId: aws.String(ids[0]), LicenseType: types.LicensePlus})
	apiErr(t, err, "BadRequestException", 400)
	bu, err := c.BatchUpdateUser(ctx, &chime.BatchUpdateUserInput{AccountId: acct, UpdateUserRequestItems: []types.UpdateUserRequestItem{
		{UserId: aws.String(ids[1]), LicenseType: types.LicenseBasic},
		{UserId: aws.String("no-such-user"), LicenseType: types.LicenseBasic},
	}})
	if err != nil || len(bu.UserErrors) != 1 || aws.ToString(bu.UserErrors[0].UserId) != "no-such-user" || bu.UserErrors[0].ErrorCode != types.ErrorCodeNotFound {
		t.Fatalf("BatchUpdateUser: %+v %v", bu, err)
	}
	got, _ := c.GetUser(ctx, &chime.GetUserInput{AccountId: acct, UserId: aws.String(ids[1])})
	if got.User.LicenseType != types.LicenseBasic {
		t.Fatalf("the valid batch item was not applied: %+v", got.User)
	}
	many := make([]types.UpdateUserRequestItem, 21)
	for i := range many {
		many[i] = types.UpdateUserRequestItem{UserId: aws.String(ids[0]), LicenseType: types.LicensePro}
	}
	_, err = c.BatchUpdateUser(ctx, &chime.BatchUpdateUserInput{AccountId: acct, UpdateUserRequestItems: many})
	apiErr(t, err, "BadRequestException", 400)

	// ResetPersonalPIN and LogoutUser.
	old := aws.ToString(got.User.PersonalPIN)
	reset, err := c.ResetPersonalPIN(ctx, &chime.ResetPersonalPINInput{AccountId: acct, UserId: aws.String(ids[1])})
	if err != nil || aws.ToString(reset.User.PersonalPIN) == old || pins[aws.ToString(reset.User.PersonalPIN)] {
		t.Fatalf("ResetPersonalPIN must give a new unused PIN: %+v %v", reset, err)
	}
	if _, err := c.LogoutUser(ctx, &chime.LogoutUserInput{AccountId: acct, UserId: aws.String(ids[2])}); err != nil {
		t.Fatal(err)
	}
	_, err = c.LogoutUser(ctx, &chime.LogoutUserInput{AccountId: acct, UserId: aws.String("ghost")})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("LogoutUser of an unknown user: %v", err)
	}

	// Team accounts: unsuspend is refused, suspend removes (guide §5.3.2), then the account can go.
	_, err = c.BatchUnsuspendUser(ctx, &chime.BatchUnsuspendUserInput{AccountId: acct, UserIdList: ids[:1]})
	apiErr(t, err, "BadRequestException", 400)
	sus, err := c.BatchSuspendUser(ctx, &chime.BatchSuspendUserInput{AccountId: acct, UserIdList: append(append([]string{}, ids...), "ghost")})
	if err != nil || len(sus.UserErrors) != 1 || aws.ToString(sus.UserErrors[0].UserId) != "ghost" {
		t.Fatalf("BatchSuspendUser: %+v %v", sus, err)
	}
	left, err := c.ListUsers(ctx, &chime.ListUsersInput{AccountId: acct})
	if err != nil || len(left.Users) != 0 {
		t.Fatalf("after removal %d users remain (%v)", len(left.Users), err)
	}
	_, err = c.GetUser(ctx, &chime.GetUserInput{AccountId: acct, UserId: aws.String(ids[0])})
	apiErr(t, err, "NotFoundException", 404)
	if _, err := c.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: acct}); err != nil {
		t.Fatalf("a Team account whose users were removed deletes: %v", err)
	}
}
