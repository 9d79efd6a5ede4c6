package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
	"github.com/miekg/dns"
)

// txtServer is a local DNS server answering TXT questions from a map.
type txtServer struct {
	mu      sync.Mutex
	records map[string][]string
	addr    string
}

func startDNS(t *testing.T) *txtServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &txtServer{records: map[string][]string{}, addr: pc.LocalAddr().String()}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		s.mu.Lock()
		for _, q := range r.Question {
			for _, v := range s.records[strings.ToLower(q.Name)] {
				if q.Qtype == dns.TypeTXT {
					m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: []string{v}})
				}
			}
		}
		if len(m.Answer) == 0 {
			m.Rcode = dns.RcodeNameError
		}
		s.mu.Unlock()
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return s
}

func (s *txtServer) publish(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[strings.ToLower(name)+"."] = append(s.records[strings.ToLower(name)+"."], value)
}

type domainResp struct {
	Domain struct {
		DomainName, Status, TxtRecordName, TxtRecordValue string
	}
}

func (r *running) console(t *testing.T, method, path, body string) (int, string, domainResp) {
	t.Helper()
	resp := r.signedRaw(t, method, path, body, "chime")
	b, _ := io.ReadAll(resp.Body)
	var d domainResp
	_ = json.Unmarshal(b, &d)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), d
}

// claimDomain claims and verifies a domain for an account through the console API (publishing its TXT
// record on the test DNS server), which makes a Team account Enterprise.
func (r *running) claimDomain(t *testing.T, dnsSrv *txtServer, acct, name string) {
	t.Helper()
	_, _, d := r.console(t, "POST", "/console/accounts/"+acct+"/domains", `{"DomainName":"`+name+`"}`)
	dnsSrv.publish(d.Domain.TxtRecordName, d.Domain.TxtRecordValue)
	if st, typ, _ := r.console(t, "POST", "/console/accounts/"+acct+"/domains/"+name+"?operation=verify", ``); st != 200 {
		t.Fatalf("verify %s: %d %s", name, st, typ)
	}
}

func TestDomainClaimsAndEnterpriseTransition(t *testing.T) {
	t.Parallel()
	dnsSrv := startDNS(t)
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) { m.cfg.DNSResolver = dnsSrv.addr; m.Now = clk.Now; m.SweepEvery = 50 * time.Millisecond })
	ctx := context.Background()
	c := b.client
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Example Corp")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)
	alice, _ := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: &acct, Email: aws.String("alice@example.com")})
	bob, _ := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: &acct, Email: aws.String("bob@other.org")})
	other, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Squatter")})

	status, typ, d := b.console(t, "POST", "/console/accounts/"+acct+"/domains", `{"DomainName":"Example.COM"}`)
	if status != 201 || d.Domain.Status != "PendingVerification" || d.Domain.TxtRecordName != "_amazonchime.example.com" || d.Domain.TxtRecordValue == "" {
		t.Fatalf("AddDomain: %d %s %+v", status, typ, d)
	}
	if status, typ, _ := b.console(t, "POST", "/console/accounts/"+aws.ToString(other.Account.AccountId)+"/domains", `{"DomainName":"example.com"}`); status != 409 || typ != "ConflictException" {
		t.Fatalf("claim by another account: %d %s", status, typ)
	}
	if status, typ, _ := b.console(t, "POST", "/console/accounts/"+acct+"/domains", `{"DomainName":"not a domain"}`); status != 400 || typ != "BadRequestException" {
		t.Fatalf("bad domain: %d %s", status, typ)
	}
	if status, typ, _ := b.console(t, "POST", "/console/accounts/"+acct+"/domains/example.com?operation=verify", ``); status != 422 {
		t.Fatalf("verify before publishing: %d %s", status, typ)
	}
	dnsSrv.publish(d.Domain.TxtRecordName, d.Domain.TxtRecordValue)
	status, typ, v := b.console(t, "POST", "/console/accounts/"+acct+"/domains/example.com?operation=verify", ``)
	if status != 200 || v.Domain.Status != "Verified" {
		t.Fatalf("verify: %d %s %+v", status, typ, v)
	}
	if st, _, one := b.console(t, "GET", "/console/accounts/"+acct+"/domains/example.com", ``); st != 200 || one.Domain.Status != "Verified" {
		t.Fatalf("GetDomain: %d %+v", st, one)
	}
	if st, _, _ := b.console(t, "GET", "/console/accounts/"+acct+"/domains/other.org", ``); st != 404 {
		t.Fatalf("GetDomain of an unclaimed domain: %d", st)
	}
	listResp := b.signedRaw(t, "GET", "/console/accounts/"+acct+"/domains", "", "chime")
	var listed struct {
		Domains []struct{ DomainName, Status string }
	}
	_ = json.NewDecoder(listResp.Body).Decode(&listed)
	if len(listed.Domains) != 1 || listed.Domains[0].DomainName != "example.com" {
		t.Fatalf("ListDomains: %+v", listed)
	}
	got, _ := c.GetAccount(ctx, &chime.GetAccountInput{AccountId: &acct})
	if got.Account.AccountType != types.AccountTypeEnterpriseLWA {
		t.Fatalf("a verified domain makes the account Enterprise: %s", got.Account.AccountType)
	}
	_, err = c.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: &acct})
	apiErr(t, err, "UnprocessableEntityException", 422)
	// Guide §4.1: a Team account invites users of domains no other organisation claimed.
	_, err = c.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: other.Account.AccountId, UserEmailList: []string{"carol@other.org", "dave@Example.com"}})
	apiErr(t, err, "ConflictException", 409)
	if inv, err := c.InviteUsers(ctx, &chime.InviteUsersInput{AccountId: other.Account.AccountId, UserEmailList: []string{"carol@other.org"}}); err != nil || len(inv.Invites) != 1 {
		t.Fatalf("inviting an address of an unclaimed domain: %+v %v", inv, err)
	}

	// Enterprise LWA: suspension suspends (it no longer removes), and can be lifted.
	sus, err := c.BatchSuspendUser(ctx, &chime.BatchSuspendUserInput{AccountId: &acct, UserIdList: []string{aws.ToString(bob.User.UserId)}})
	if err != nil || len(sus.UserErrors) != 0 {
		t.Fatalf("suspend: %+v %v", sus, err)
	}
	u, _ := c.GetUser(ctx, &chime.GetUserInput{AccountId: &acct, UserId: bob.User.UserId})
	if u.User.UserRegistrationStatus != types.RegistrationStatusSuspended {
		t.Fatalf("bob: %s", u.User.UserRegistrationStatus)
	}
	if _, err := c.BatchUnsuspendUser(ctx, &chime.BatchUnsuspendUserInput{AccountId: &acct, UserIdList: []string{aws.ToString(bob.User.UserId)}}); err != nil {
		t.Fatal(err)
	}
	// "Users who are not previously suspended are ignored" (the API reference): no UserErrors for them.
	again, err := c.BatchUnsuspendUser(ctx, &chime.BatchUnsuspendUserInput{AccountId: &acct, UserIdList: []string{aws.ToString(bob.User.UserId)}})
	if err != nil || len(again.UserErrors) != 0 {
		t.Fatalf("unsuspending a user who is not suspended: %+v %v", again, err)
	}

	// Give alice a number: removing her domain must unassign it.
	found, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("312"), MaxResults: aws.Int32(1)})
	order, _ := c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling, E164PhoneNumbers: found.E164PhoneNumbers})
	waitOrder(t, c, order.PhoneNumberOrder.PhoneNumberOrderId)
	if _, err := c.AssociatePhoneNumberWithUser(ctx, &chime.AssociatePhoneNumberWithUserInput{AccountId: &acct, UserId: alice.User.UserId, E164PhoneNumber: aws.String(found.E164PhoneNumbers[0])}); err != nil {
		t.Fatal(err)
	}

	// Removing the domain suspends its users (and signs them out); the domain is free again.
	if status, typ, _ := b.console(t, "DELETE", "/console/accounts/"+acct+"/domains/example.com", ``); status != 204 {
		t.Fatalf("remove: %d %s", status, typ)
	}
	u, _ = c.GetUser(ctx, &chime.GetUserInput{AccountId: &acct, UserId: alice.User.UserId})
	if u.User.UserRegistrationStatus != types.RegistrationStatusSuspended {
		t.Fatalf("alice after domain removal: %s", u.User.UserRegistrationStatus)
	}
	if u.User.PrimaryProvisionedNumber != nil {
		t.Fatalf("alice keeps %s after her domain's removal", aws.ToString(u.User.PrimaryProvisionedNumber))
	}
	pn, _ := c.GetPhoneNumber(ctx, &chime.GetPhoneNumberInput{PhoneNumberId: aws.String(found.E164PhoneNumbers[0])})
	if pn.PhoneNumber.Status != types.PhoneNumberStatusUnassigned {
		t.Fatalf("the number of a removed domain's user: %s", pn.PhoneNumber.Status)
	}
	u, _ = c.GetUser(ctx, &chime.GetUserInput{AccountId: &acct, UserId: bob.User.UserId})
	if u.User.UserRegistrationStatus == types.RegistrationStatusSuspended {
		t.Fatal("bob's domain was not removed")
	}
	// 90 days later the domain's users are deleted.
	clk.Add(91 * 24 * time.Hour)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := c.GetUser(ctx, &chime.GetUserInput{AccountId: &acct, UserId: alice.User.UserId})
		if err != nil {
			apiErr(t, err, "NotFoundException", 404)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("alice was not deleted 90 days after her domain's removal")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := c.GetUser(ctx, &chime.GetUserInput{AccountId: &acct, UserId: bob.User.UserId}); err != nil {
		t.Fatalf("bob (another domain) must stay: %v", err)
	}
	if status, typ, _ := b.console(t, "POST", "/console/accounts/"+aws.ToString(other.Account.AccountId)+"/domains", `{"DomainName":"example.com"}`); status != 201 {
		t.Fatalf("claim after removal: %d %s", status, typ)
	}
	if _, err := c.DeleteAccount(ctx, &chime.DeleteAccountInput{AccountId: &acct}); err != nil {
		t.Fatalf("an Enterprise account without domains deletes: %v", err)
	}
}
