package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

func waitOrder(t *testing.T, c *chime.Client, id *string) *types.PhoneNumberOrder {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		o, err := c.GetPhoneNumberOrder(context.Background(), &chime.GetPhoneNumberOrderInput{PhoneNumberOrderId: id})
		if err != nil {
			t.Fatal(err)
		}
		if o.PhoneNumberOrder.Status != types.PhoneNumberOrderStatusProcessing || time.Now().After(deadline) {
			return o.PhoneNumberOrder
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPhoneNumbersThroughSDK(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) { m.Now = clk.Now })
	ctx := context.Background()
	c := b.client

	countries, err := c.ListSupportedPhoneNumberCountries(ctx, &chime.ListSupportedPhoneNumberCountriesInput{ProductType: types.PhoneNumberProductTypeBusinessCalling})
	if err != nil || len(countries.PhoneNumberCountries) != 2 {
		t.Fatalf("countries: %+v %v", countries, err)
	}
	found, err := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(3)})
	if err != nil || len(found.E164PhoneNumbers) != 3 || found.NextToken == nil {
		t.Fatalf("search: %+v %v", found, err)
	}
	tollFree, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{TollFreePrefix: aws.String("800"), MaxResults: aws.Int32(2)})
	if len(tollFree.E164PhoneNumbers) != 2 || tollFree.E164PhoneNumbers[0][:5] != "+1800" {
		t.Fatalf("toll-free search: %+v", tollFree.E164PhoneNumbers)
	}
	byCity, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{City: aws.String("toronto"), State: aws.String("ON"), Country: aws.String("CA"), MaxResults: aws.Int32(5)})
	if len(byCity.E164PhoneNumbers) != 5 || byCity.E164PhoneNumbers[0][:5] != "+1416" {
		t.Fatalf("search by city and state: %+v", byCity.E164PhoneNumbers)
	}
	if none, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{City: aws.String("Seattle"), State: aws.String("ON")}); len(none.E164PhoneNumbers) != 0 {
		t.Fatalf("Seattle is not in Ontario: %+v", none.E164PhoneNumbers)
	}
	_, err = c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{Country: aws.String("FR")})
	apiErr(t, err, "BadRequestException", 400)
	n1, n2 := found.E164PhoneNumbers[0], found.E164PhoneNumbers[1]

	// An order is processed asynchronously: numbers outside the pool fail, the order is Partial.
	order, err := c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling,
		E164PhoneNumbers: []string{n1, n2, "+19995550100"}})
	if err != nil {
		t.Fatal(err)
	}
	done := waitOrder(t, c, order.PhoneNumberOrder.PhoneNumberOrderId)
	if done.Status != types.PhoneNumberOrderStatusPartial || len(done.OrderedPhoneNumbers) != 3 {
		t.Fatalf("order: %+v", done)
	}
	again, _ := c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling, E164PhoneNumbers: []string{n1}})
	if o := waitOrder(t, c, again.PhoneNumberOrder.PhoneNumberOrderId); o.Status != types.PhoneNumberOrderStatusFailed {
		t.Fatalf("ordering a held number: %s", o.Status)
	}
	_, err = c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling, E164PhoneNumbers: []string{"555-0100"}})
	apiErr(t, err, "BadRequestException", 400)
	after, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(3)})
	for _, n := range after.E164PhoneNumbers {
		if n == n1 || n == n2 {
			t.Fatalf("acquired number %s still searchable", n)
		}
	}
	orders, _ := c.ListPhoneNumberOrders(ctx, &chime.ListPhoneNumberOrdersInput{})
	if len(orders.PhoneNumberOrders) != 2 {
		t.Fatalf("orders: %d", len(orders.PhoneNumberOrders))
	}

	inv, err := c.ListPhoneNumbers(ctx, &chime.ListPhoneNumbersInput{})
	if err != nil || len(inv.PhoneNumbers) != 2 || inv.PhoneNumbers[0].Status != types.PhoneNumberStatusUnassigned {
		t.Fatalf("inventory: %+v %v", inv, err)
	}
	pn, err := c.GetPhoneNumber(ctx, &chime.GetPhoneNumberInput{PhoneNumberId: aws.String(n1)})
	if err != nil || aws.ToString(pn.PhoneNumber.E164PhoneNumber) != n1 || pn.PhoneNumber.Type != types.PhoneNumberTypeLocal {
		t.Fatalf("GetPhoneNumber (+ escaped in the path): %+v %v", pn, err)
	}

	// Calling name: 15 characters, UpdateInProgress for 72 hours, once every 7 days.
	up, err := c.UpdatePhoneNumber(ctx, &chime.UpdatePhoneNumberInput{PhoneNumberId: aws.String(n1), CallingName: aws.String("Front Desk")})
	if err != nil || up.PhoneNumber.CallingNameStatus != types.CallingNameStatusUpdateInProgress {
		t.Fatalf("calling name: %+v %v", up, err)
	}
	clk.Add(73 * time.Hour)
	pn, _ = c.GetPhoneNumber(ctx, &chime.GetPhoneNumberInput{PhoneNumberId: aws.String(n1)})
	if pn.PhoneNumber.CallingNameStatus != types.CallingNameStatusUpdateSucceeded {
		t.Fatalf("after 73 h: %s", pn.PhoneNumber.CallingNameStatus)
	}
	_, err = c.UpdatePhoneNumber(ctx, &chime.UpdatePhoneNumberInput{PhoneNumberId: aws.String(n1), CallingName: aws.String("Reception")})
	apiErr(t, err, "BadRequestException", 400)
	// The model's CallingName pattern (^$|…) takes an empty name: it clears the calling name.
	clk.Add(7 * 24 * time.Hour)
	up, err = c.UpdatePhoneNumber(ctx, &chime.UpdatePhoneNumberInput{PhoneNumberId: aws.String(n1), CallingName: aws.String("")})
	if err != nil || up.PhoneNumber.CallingName != nil || up.PhoneNumber.CallingNameStatus != types.CallingNameStatusUnassigned {
		t.Fatalf("clearing the calling name: %+v %v", up, err)
	}
	bu, err := c.BatchUpdatePhoneNumber(ctx, &chime.BatchUpdatePhoneNumberInput{UpdatePhoneNumberRequestItems: []types.UpdatePhoneNumberRequestItem{
		{PhoneNumberId: aws.String(n2), ProductType: types.PhoneNumberProductTypeVoiceConnector},
		{PhoneNumberId: aws.String("+12065559999"), CallingName: aws.String("x")}}})
	if err != nil || len(bu.PhoneNumberErrors) != 1 || bu.PhoneNumberErrors[0].ErrorCode != types.ErrorCodeNotFound {
		t.Fatalf("batch update: %+v %v", bu, err)
	}

	// Assignment: one number per user, one user per number; assigned numbers cannot be deleted.
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Callers")})
	u1, _ := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: a.Account.AccountId, Email: aws.String("one@example.com")})
	u2, _ := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: a.Account.AccountId, Email: aws.String("two@example.com")})
	if _, err := c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: a.Account.AccountId, UserId: u1.User.UserId, E164PhoneNumber: aws.String(n1)}); err != nil {
		t.Fatal(err)
	}
	gu, _ := c.GetUser(ctx, &chime.GetUserInput{AccountId: a.Account.AccountId, UserId: u1.User.UserId})
	if aws.ToString(gu.User.PrimaryProvisionedNumber) != n1 {
		t.Fatalf("primary number: %+v", gu.User)
	}
	byUser, _ := c.ListPhoneNumbers(ctx, &chime.ListPhoneNumbersInput{FilterName: types.PhoneNumberAssociationNameUserId, FilterValue: u1.User.UserId})
	if len(byUser.PhoneNumbers) != 1 || byUser.PhoneNumbers[0].Status != types.PhoneNumberStatusAssigned || len(byUser.PhoneNumbers[0].Associations) != 2 {
		t.Fatalf("numbers of user: %+v", byUser.PhoneNumbers)
	}
	_, err = c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: a.Account.AccountId, UserId: u2.User.UserId, E164PhoneNumber: aws.String(n1)})
	apiErr(t, err, "BadRequestException", 400)
	gu, _ = c.GetUser(ctx, &chime.GetUserInput{AccountId: a.Account.AccountId, UserId: u2.User.UserId})
	if gu.User.PrimaryProvisionedNumber != nil {
		t.Fatal("a refused assignment must leave the user without a number")
	}
	_, err = c.DeletePhoneNumber(ctx, &chime.DeletePhoneNumberInput{PhoneNumberId: aws.String(n1)})
	apiErr(t, err, "BadRequestException", 400)
	if _, err := c.DisassociatePhoneNumberFromUser(ctx, &chime.DisassociatePhoneNumberFromUserInput{AccountId: a.Account.AccountId, UserId: u1.User.UserId}); err != nil {
		t.Fatal(err)
	}
	// A Team account removes the users it "suspends" (guide §5.3.2): a removed user's number goes back
	// to the inventory, unassigned (it was left assigned to a user no call could name).
	if _, err := c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: a.Account.AccountId, UserId: u2.User.UserId, E164PhoneNumber: aws.String(n1)}); err != nil {
		t.Fatal(err)
	}
	if bs, err := c.BatchSuspendUser(ctx, &chime.BatchSuspendUserInput{AccountId: a.Account.AccountId, UserIdList: []string{aws.ToString(u2.User.UserId)}}); err != nil || len(bs.UserErrors) != 0 {
		t.Fatalf("removing the Team user: %+v %v", bs, err)
	}
	if pn, err := c.GetPhoneNumber(ctx, &chime.GetPhoneNumberInput{PhoneNumberId: aws.String(n1)}); err != nil || pn.PhoneNumber.Status != types.PhoneNumberStatusUnassigned ||
		len(pn.PhoneNumber.Associations) != 0 {
		t.Fatalf("the removed user's number: %+v %v", pn, err)
	}

	// Deletion queue: restorable for 7 days, then released to the pool.
	if _, err := c.DeletePhoneNumber(ctx, &chime.DeletePhoneNumberInput{PhoneNumberId: aws.String(n1)}); err != nil {
		t.Fatal(err)
	}
	pn, _ = c.GetPhoneNumber(ctx, &chime.GetPhoneNumberInput{PhoneNumberId: aws.String(n1)})
	if pn.PhoneNumber.Status != types.PhoneNumberStatusDeleteInProgress || pn.PhoneNumber.DeletionTimestamp == nil {
		t.Fatalf("queued: %+v", pn.PhoneNumber)
	}
	if r, err := c.RestorePhoneNumber(ctx, &chime.RestorePhoneNumberInput{PhoneNumberId: aws.String(n1)}); err != nil || r.PhoneNumber.Status != types.PhoneNumberStatusUnassigned {
		t.Fatalf("restore: %+v %v", r, err)
	}
	bd, err := c.BatchDeletePhoneNumber(ctx, &chime.BatchDeletePhoneNumberInput{PhoneNumberIds: []string{n1, "+12065559999"}})
	if err != nil || len(bd.PhoneNumberErrors) != 1 {
		t.Fatalf("batch delete: %+v %v", bd, err)
	}
	clk.Add(8 * 24 * time.Hour)
	_, err = c.GetPhoneNumber(ctx, &chime.GetPhoneNumberInput{PhoneNumberId: aws.String(n1)})
	apiErr(t, err, "NotFoundException", 404)
	_, err = c.RestorePhoneNumber(ctx, &chime.RestorePhoneNumberInput{PhoneNumberId: aws.String(n1)})
	apiErr(t, err, "NotFoundException", 404)
	back, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(1)})
	if len(back.E164PhoneNumbers) != 1 || back.E164PhoneNumbers[0] != n1 {
		t.Fatalf("released number back in the pool: %v", back.E164PhoneNumbers)
	}
}
