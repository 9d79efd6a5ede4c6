package iampolicy_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/belfry/belfry/domain"
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

// TestParseRefusesWhatItWouldNotEvaluate: a member IAM's grammar does not have (a typo such as
// "Condtion" or "Resources", a member in the wrong case), or one given twice, is refused naming the
// member, rather than dropped or overwritten: an Allow whose misspelt condition were dropped would
// apply unconditionally, and of {"Effect":"Deny","effect":"Allow"} the decoder keeps the Allow.
func TestParseRefusesWhatItWouldNotEvaluate(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ doc, field string }{
		"misspelt condition": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"chime:*","Resource":"*",
			"Condtion":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`, "Statement[0].Condtion"},
		"Resources": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"chime:*","Resources":"*"}]}`, "Statement[0].Resources"},
		"lower-case effect overriding": {`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:*","Resource":"*","effect":"Allow"}]}`,
			"Statement[0].effect"},
		"repeated member": {`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:*","Resource":"*","Effect":"Allow"}]}`,
			"Statement[0].Effect"},
		"unknown top-level member": {`{"Version":"2012-10-17","Statements":[],"Statement":[{"Effect":"Allow","Action":"chime:*"}]}`, "Statements"},
		"action not a string":      {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":7}]}`, "Statement[0].Action"},
		"second action not a string": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"chime:*"},
			{"Effect":"Deny","Action":["chime:Get*",1]}]}`, "Statement[1].Action"},
	} {
		d, err := iampolicy.Parse([]byte(c.doc))
		if err == nil {
			t.Errorf("%s: accepted, evaluated as %v for chime:DeleteAccount", name, iampolicy.Evaluate([]iampolicy.Document{d}, "chime:DeleteAccount"))
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: the error does not name %s: %v", name, c.field, err)
		}
		if domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%s: kind %v, want invalid", name, domain.KindOf(err))
		}
	}
	// What IAM's grammar allows still parses: Id, Sid, a single statement object.
	for _, ok := range []string{
		`{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a","Effect":"Deny","Action":"chime:Delete*","Resource":["*"]}]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"chime:Delete*"}}`,
	} {
		if _, err := iampolicy.Parse([]byte(ok)); err != nil {
			t.Errorf("refused %s: %v", ok, err)
		}
	}
}

// TestParseBoundsTheDocument: a document longer than IAM's 2,048 characters for a user's policy
// (white space not counted, as IAM counts) is refused, naming the limit.
func TestParseBoundsTheDocument(t *testing.T) {
	t.Parallel()
	actions := make([]string, 0, 200)
	for i := range 200 {
		actions = append(actions, fmt.Sprintf(`"chime:Action%03d"`, i))
	}
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[` + strings.Join(actions, ",") + `]}]}`
	if _, err := iampolicy.Parse([]byte(big)); err == nil || !strings.Contains(err.Error(), "2048") {
		t.Fatalf("a %d-byte document: %v", len(big), err)
	}
	spaced := `{"Version":"2012-10-17",` + strings.Repeat(" ", 4000) + `"Statement":[{"Effect":"Allow","Action":"chime:*"}]}`
	if _, err := iampolicy.Parse([]byte(spaced)); err != nil {
		t.Fatalf("white space counted: %v", err)
	}
}

// TestEvaluateFailsClosedOnAnUnknownEffect: a statement whose Effect is neither Allow nor Deny (one
// taken over from an older store without validation, "deny" in lower case) never allows; it denies.
func TestEvaluateFailsClosedOnAnUnknownEffect(t *testing.T) {
	t.Parallel()
	odd := iampolicy.Document{Version: "2012-10-17", Statement: []iampolicy.Statement{{Effect: "deny", Action: iampolicy.StringOrList{"chime:Delete*"}}}}
	if got := iampolicy.Evaluate([]iampolicy.Document{odd}, "chime:DeleteAccount"); got == iampolicy.Allow {
		t.Fatal(`Effect "deny" allowed the action`)
	}
	if got := iampolicy.Evaluate([]iampolicy.Document{must("AdministratorAccess"), odd}, "chime:DeleteAccount"); got != iampolicy.ExplicitDeny {
		t.Fatalf(`Effect "deny" beside AdministratorAccess: %v, want an explicit deny (fail closed)`, got)
	}
}

// FuzzParse: Parse never panics, and a document it accepts is valid and survives its own encoding
// (what the IAM stream stores and the read model decodes) unchanged in its decisions.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Deny","Action":"chime:Delete*","Resource":"*"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := iampolicy.Parse(b)
		if err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted an invalid document: %v", err)
		}
		enc, _ := json.Marshal(d)
		var back iampolicy.Document
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("its encoding does not decode: %v", err)
		}
		for _, a := range []string{"chime:DeleteAccount", "chime:GetUser", "belfry:X", "wickr:ListNetworks"} {
			if x, y := iampolicy.Evaluate([]iampolicy.Document{d}, a), iampolicy.Evaluate([]iampolicy.Document{back}, a); x != y {
				t.Fatalf("%s: %v before encoding, %v after", a, x, y)
			}
		}
	})
}
