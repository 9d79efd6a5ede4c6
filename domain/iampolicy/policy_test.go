package iampolicy_test

import (
	"testing"

	"github.com/belfry/belfry/domain/iampolicy"
)

func must(name string) iampolicy.Document {
	d, ok := iampolicy.Managed(name)
	if !ok {
		panic(name)
	}
	return d
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	denyDelete, err := iampolicy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:Delete*","Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	notUsers, err := iampolicy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["chime:*User*"],"Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	narrow := func(effect string) iampolicy.Document {
		return iampolicy.Document{Version: "2012-10-17", Statement: []iampolicy.Statement{{Effect: effect, Action: iampolicy.StringOrList{"chime:DeleteAccount"},
			Resource: iampolicy.StringOrList{"arn:aws:chime::111122223333:account/protected"}}}}
	}
	cases := []struct {
		name   string
		given  []iampolicy.Document
		action string
		want   iampolicy.Decision
	}{
		{"a Deny narrowed to a resource fails closed", []iampolicy.Document{must("AdministratorAccess"), narrow("Deny")}, "chime:DeleteAccount", iampolicy.ExplicitDeny},
		{"an Allow narrowed to a resource grants nothing", []iampolicy.Document{narrow("Allow")}, "chime:DeleteAccount", iampolicy.ImplicitDeny},
		{"no policy: implicit deny", nil, "chime:GetAccount", iampolicy.ImplicitDeny},
		{"full access", []iampolicy.Document{must("AmazonChimeFullAccess")}, "chime:DeleteAccount", iampolicy.Allow},
		{"read only allows Get*", []iampolicy.Document{must("AmazonChimeReadOnly")}, "chime:GetAccountSettings", iampolicy.Allow},
		{"read only allows List*", []iampolicy.Document{must("AmazonChimeReadOnly")}, "chime:ListAccounts", iampolicy.Allow},
		{"read only denies writes", []iampolicy.Document{must("AmazonChimeReadOnly")}, "chime:CreateAccount", iampolicy.ImplicitDeny},
		{"user management allows CreateUser", []iampolicy.Document{must("AmazonChimeUserManagement")}, "chime:CreateUser", iampolicy.Allow},
		{"user management denies CreateAccount", []iampolicy.Document{must("AmazonChimeUserManagement")}, "chime:CreateAccount", iampolicy.ImplicitDeny},
		{"explicit deny wins", []iampolicy.Document{must("AmazonChimeFullAccess"), denyDelete}, "chime:DeleteAccount", iampolicy.ExplicitDeny},
		{"deny leaves the rest", []iampolicy.Document{must("AmazonChimeFullAccess"), denyDelete}, "chime:CreateAccount", iampolicy.Allow},
		{"case-insensitive", []iampolicy.Document{must("AmazonChimeReadOnly")}, "CHIME:getaccount", iampolicy.Allow},
		{"NotAction", []iampolicy.Document{notUsers}, "chime:CreateUser", iampolicy.ImplicitDeny},
		{"NotAction allows others", []iampolicy.Document{notUsers}, "chime:CreateAccount", iampolicy.Allow},
		{"chime policy does not grant belfry", []iampolicy.Document{must("AmazonChimeFullAccess")}, "belfry:LookupAuditRecords", iampolicy.ImplicitDeny},
		{"administrator", []iampolicy.Document{must("AdministratorAccess")}, "belfry:LookupAuditRecords", iampolicy.Allow},
		{"Wickr full access", []iampolicy.Document{must("AWSWickrFullAccess")}, "wickr:DeleteNetwork", iampolicy.Allow},
		{"Wickr full access grants no Chime", []iampolicy.Document{must("AWSWickrFullAccess")}, "chime:ListAccounts", iampolicy.ImplicitDeny},
		{"Chime full access grants no Wickr", []iampolicy.Document{must("AmazonChimeFullAccess")}, "wickr:ListNetworks", iampolicy.ImplicitDeny},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := iampolicy.Evaluate(tc.given, tc.action); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{}`,
		`{"Version":"2012-10-17","Statement":[]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"chime:*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetAccount"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":7}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"chime:*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:*","notresource":"*"}]}`,
	} {
		if _, err := iampolicy.Parse([]byte(doc)); err == nil {
			t.Errorf("accepted %s", doc)
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		p, v string
		ok   bool
	}{{"chime:*", "chime:X", true}, {"chime:Get*", "chime:GetUser", true}, {"chime:Get*", "chime:ListUsers", false},
		{"chime:?etUser", "chime:GetUser", true}, {"*", "anything:At", true}, {"chime:*User*", "chime:BatchSuspendUser", true},
		{"chime:Get", "chime:GetUser", false}} {
		if iampolicy.Match(c.p, c.v) != c.ok {
			t.Errorf("Match(%q, %q) != %v", c.p, c.v, c.ok)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("chime:*User*", "chime:BatchSuspendUser")
	f.Fuzz(func(t *testing.T, p, v string) {
		_ = iampolicy.Match(p, v)
		if !iampolicy.Match("*", v) {
			t.Fatal("* must match everything")
		}
	})
}
