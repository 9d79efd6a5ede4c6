package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/eventstore"
)

// streamLength is the number of events in a stream of the embedded log.
func (r *running) streamLength(t *testing.T, stream string) int {
	t.Helper()
	client, err := eventstore.Connect(r.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	rs, err := client.ReadStream(context.Background(), stream, esdb.ReadStreamOptions{From: esdb.Start{}}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	n := 0
	for {
		if _, err := rs.Recv(); errors.Is(err, io.EOF) {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

// orderNumbers orders n numbers of area code 206 and waits until the order is processed.
func orderNumbers(t *testing.T, c *chime.Client, n int32) []string {
	t.Helper()
	ctx := context.Background()
	found, err := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(n)})
	if err != nil {
		t.Fatal(err)
	}
	order, err := c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling,
		E164PhoneNumbers: found.E164PhoneNumbers})
	if err != nil {
		t.Fatal(err)
	}
	if o := waitOrder(t, c, order.PhoneNumberOrder.PhoneNumberOrderId); o.Status != types.PhoneNumberOrderStatusSuccessful {
		t.Fatalf("order: %s", o.Status)
	}
	return found.E164PhoneNumbers
}

// TestOversizedMembersAreRefused: members with no bound let a request's event exceed the event
// store's append limit (1 MiB bodies of '<', six bytes each once JSON-escaped): the calls failed
// with a 500 (ServiceFailure, which the SDK retries) instead of a 400 naming the member.
func TestOversizedMembersAreRefused(t *testing.T) {
	t.Parallel()
	b, dnsSrv, acct := belfryWithAccount(t)
	ctx := context.Background()
	c := b.client
	u, err := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: &acct, Email: aws.String("alice@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("<", 1_000_000)
	_, err = c.UpdateUser(ctx, &chime.UpdateUserInput{AccountId: &acct, UserId: u.User.UserId, AlexaForBusinessMetadata: &types.AlexaForBusinessMetadata{
		IsAlexaForBusinessEnabled: aws.Bool(true), AlexaForBusinessRoomArn: aws.String("arn:" + huge)}})
	apiErr(t, err, "BadRequestException", 400)

	b.claimDomain(t, dnsSrv, acct, "example.com")
	groups := make([]types.SigninDelegateGroup, 3500)
	for i := range groups {
		groups[i].GroupName = aws.String(fmt.Sprintf("%s%d", strings.Repeat("<", 250), i))
	}
	_, err = c.AssociateSigninDelegateGroupsWithAccount(ctx, &chime.AssociateSigninDelegateGroupsWithAccountInput{AccountId: &acct, SigninDelegateGroups: groups})
	apiErr(t, err, "BadRequestException", 400)

	const req = `"ProductType":"BusinessCalling","PhoneNumbers":["+14255550100"],"BillingTelephoneNumber":"+14255550100",
		"AuthorizingPerson":"Mary Major","ServiceAddress":"1 Main St","CustomerName":"Example Corp","PortDate":"2026-12-01T15:00:00Z"`
	for _, extra := range []string{`"CurrentCarrier":"` + huge + `"`, `"ServiceAccountNumber":"` + huge + `"`, `"ServicePin":"` + strings.Repeat("9", 900_000) + `"`} {
		if st, typ, out := b.consoleJSON(t, "POST", "/console/port-in-orders", `{`+req+`,`+extra+`}`); st != 400 || typ != "BadRequestException" {
			t.Fatalf("port-in order with %.30s…: %d %s %v", extra, st, typ, out)
		}
	}
	st, _, out := b.consoleJSON(t, "POST", "/console/port-in-orders", `{`+req+`}`)
	if st != 201 {
		t.Fatalf("submit: %d %v", st, out)
	}
	id := out["PortInOrder"].(map[string]any)["PortInOrderId"].(string)
	if st, typ, out := b.consoleJSON(t, "POST", "/console/port-in-orders/"+id+"?operation=update-status", `{"Status":"EXCEPTION","Note":"`+huge+`"}`); st != 400 || typ != "BadRequestException" {
		t.Fatalf("transition with a 1 MB note: %d %s %v", st, typ, out)
	}
}

// TestPortInDocumentsMayBeBinary: a document is a file (a PDF is binary, rarely valid UTF-8, and may
// hold NULs); the edge refused such an upload as "the request body is not valid UTF-8", as if it
// were a JSON body. Its bytes are stored, and the audit record does not copy the document.
func TestPortInDocumentsMayBeBinary(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	pool := pgxPool(t, b)
	st, _, out := b.consoleJSON(t, "POST", "/console/port-in-orders", `{"ProductType":"BusinessCalling","PhoneNumbers":["+14255550100"],
		"BillingTelephoneNumber":"+14255550100","AuthorizingPerson":"Mary Major","ServiceAddress":"1 Main St","CustomerName":"Example Corp","PortDate":"2026-12-01T15:00:00Z"}`)
	if st != 201 {
		t.Fatalf("submit: %d %v", st, out)
	}
	id := out["PortInOrder"].(map[string]any)["PortInOrderId"].(string)
	_, _, out = b.consoleJSON(t, "POST", "/console/port-in-orders/"+id+"?operation=request-documents", ``)
	token := out["UploadToken"].(string)
	for name, doc := range map[string]string{"loa.pdf": "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x01\xff", "loa.json": `{"Name":"a\u0000b"}`} {
		if st, typ, out := b.consoleJSON(t, "PUT", "/console/port-in-orders/"+id+"/documents/"+name+"?token="+token, doc); st != 204 {
			t.Fatalf("upload %s: %d %s %v", name, st, typ, out)
		}
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM porting.document_blobs WHERE sha256 = $1`, sha256Hex(doc)).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s stored %d times: %v", name, n, err)
		}
	}
	for _, rec := range b.audit(t, "UploadPortInDocument", 2) {
		if p := string(rec.RequestParameters); strings.Contains(p, "PDF") || strings.Contains(strings.ToLower(p), `"name":"a`) {
			t.Fatalf("the audit record copies the document: %s", p)
		}
	}
}

// TestRefusedAssociationChangesNothing: associating a number that is assigned to another user is
// refused, and the account's stream gains nothing (the account recorded the assignment, then its
// undo, and the user showed the other user's number in between).
func TestRefusedAssociationChangesNothing(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	c := b.client
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Example Corp")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)
	alice, _ := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: &acct, Email: aws.String("alice@example.com")})
	bob, _ := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: &acct, Email: aws.String("bob@example.com")})
	n := orderNumbers(t, c, 1)[0]
	if _, err := c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: &acct, UserId: alice.User.UserId, E164PhoneNumber: &n}); err != nil {
		t.Fatal(err)
	}
	before := b.streamLength(t, account.StreamName(acct))
	_, err = c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: &acct, UserId: bob.User.UserId, E164PhoneNumber: &n})
	apiErr(t, err, "BadRequestException", 400)
	if after := b.streamLength(t, account.StreamName(acct)); after != before {
		t.Fatalf("a refused association appended %d events to the account", after-before)
	}
	got, err := c.GetUser(ctx, &chime.GetUserInput{AccountId: &acct, UserId: bob.User.UserId})
	if err != nil || got.User.PrimaryProvisionedNumber != nil {
		t.Fatalf("bob: %+v %v", got, err)
	}
}

// TestDeletingAnAssignedNumberNamesItsAssociation: a number must be unassigned before it is deleted;
// the refusal's ErrorCode is PhoneNumberAssociationsExist (guide §6.7, the ErrorCode enum), in
// BatchDeletePhoneNumber's items and in DeletePhoneNumber's BadRequestException alike (both said
// BadRequest).
func TestDeletingAnAssignedNumberNamesItsAssociation(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	c := b.client
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Example Corp")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)
	alice, _ := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: &acct, Email: aws.String("alice@example.com")})
	n := orderNumbers(t, c, 1)[0]
	if _, err := c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: &acct, UserId: alice.User.UserId, E164PhoneNumber: &n}); err != nil {
		t.Fatal(err)
	}
	out, err := c.BatchDeletePhoneNumber(ctx, &chime.BatchDeletePhoneNumberInput{PhoneNumberIds: []string{n}})
	if err != nil || len(out.PhoneNumberErrors) != 1 || out.PhoneNumberErrors[0].ErrorCode != types.ErrorCodePhoneNumberAssociationsExist {
		t.Fatalf("batch delete of an assigned number: %+v %v", out, err)
	}
	_, err = c.DeletePhoneNumber(ctx, &chime.DeletePhoneNumberInput{PhoneNumberId: &n})
	var br *types.BadRequestException
	if !errors.As(err, &br) || br.Code != types.ErrorCodePhoneNumberAssociationsExist {
		t.Fatalf("delete of an assigned number: %v", err)
	}
}

// TestPortInOrderIDsThatNameNoOrder: an order id too long for a stream name reached the event store,
// whose refusal came back as a 400 carrying the store's internal error text; an id that is not an
// order's (a UUID) is NotFound, as any unknown order is.
func TestPortInOrderIDsThatNameNoOrder(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	long := strings.Repeat("x", 3000)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/console/port-in-orders/" + long + "?operation=update-status", `{"Status":"EXCEPTION"}`},
		{"POST", "/console/port-in-orders/" + long + "?operation=request-documents", ``},
		{"PUT", "/console/port-in-orders/" + long + "/documents/loa.pdf?token=t", `%PDF`},
	} {
		if st, typ, out := b.consoleJSON(t, c.method, c.path, c.body); st != 404 || typ != "NotFoundException" {
			t.Fatalf("%s %.60s…: %d %s %v", c.method, c.path, st, typ, out)
		}
	}
}

// TestDeletingAnAccountReleasesItsUsersNumbers: an Enterprise account is deleted once its domains are
// removed, users and all; a user outside the removed domains kept its primary number, and the
// deletion left that number Assigned to a user of a deleted account: it could no longer be
// disassociated (the account is gone) nor deleted (PhoneNumberAssociationsExist). The deletion gives
// the number back to the inventory, as a domain's removal does (guide §1.1.4).
func TestDeletingAnAccountReleasesItsUsersNumbers(t *testing.T) {
	t.Parallel()
	b, dnsSrv, acct := belfryWithAccount(t)
	ctx := context.Background()
	c := b.client
	bob, err := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: &acct, Email: aws.String("bob@other.org")})
	if err != nil {
		t.Fatal(err)
	}
	b.claimDomain(t, dnsSrv, acct, "example.com")
	n := orderNumbers(t, c, 1)[0]
	if _, err := c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: &acct, UserId: bob.User.UserId, E164PhoneNumber: &n}); err != nil {
		t.Fatal(err)
	}
	if st, typ, _ := b.console(t, "DELETE", "/console/accounts/"+acct+"/domains/example.com", ``); st != 204 {
		t.Fatalf("remove domain: %d %s", st, typ)
	}
	if _, err := c.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: &acct}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetPhoneNumber(ctx, &chime.GetPhoneNumberInput{PhoneNumberId: &n})
	if err != nil || got.PhoneNumber.Status != types.PhoneNumberStatusUnassigned || len(got.PhoneNumber.Associations) != 0 {
		t.Fatalf("the number of a deleted account's user: %+v %v", got.PhoneNumber, err)
	}
	if _, err := c.DeletePhoneNumber(ctx, &chime.DeletePhoneNumberInput{PhoneNumberId: &n}); err != nil {
		t.Fatalf("delete the released number: %v", err)
	}
}

// TestCreateUserHonoursAnotherAccountsDomain: guide §4.1, a Team account takes users of domains no
// other organisation claimed, and an Enterprise account's claimed domain is its own. InviteUsers
// refused an address of a domain another account verified (409), but CreateUser took it: any
// account (of any AWS account) could hold a user with the claiming organisation's address, which
// then made the organisation's own user ambiguous to everyone adding it as a contact by e-mail.
func TestCreateUserHonoursAnotherAccountsDomain(t *testing.T) {
	t.Parallel()
	b, dnsSrv, owner := belfryWithAccount(t)
	ctx := context.Background()
	c := b.client
	b.claimDomain(t, dnsSrv, owner, "example.com")
	other, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Squatter")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateUser(ctx, &chime.CreateUserInput{AccountId: other.Account.AccountId, Email: aws.String("alice@Example.com")})
	apiErr(t, err, "ConflictException", 409)
	if _, err := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: other.Account.AccountId, Email: aws.String("carol@other.org")}); err != nil {
		t.Fatalf("an address of an unclaimed domain: %v", err)
	}
	if _, err := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: &owner, Email: aws.String("alice@example.com")}); err != nil {
		t.Fatalf("the claiming account's own address: %v", err)
	}
}

// belfryWithAccount starts Belfry with a DNS server for domain claims and creates one account,
// "Example Corp", through the SDK.
func belfryWithAccount(t *testing.T) (*running, *txtServer, string) {
	t.Helper()
	dnsSrv := startDNS(t)
	b := startBelfryWith(t, func(m *Main) { m.cfg.DNSResolver = dnsSrv.addr })
	a, err := b.client.CreateAccount(context.Background(), &chime.CreateAccountInput{Name: aws.String("Example Corp")})
	if err != nil {
		t.Fatal(err)
	}
	return b, dnsSrv, aws.ToString(a.Account.AccountId)
}
