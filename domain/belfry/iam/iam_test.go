package iam_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/belfry/iam"
	"github.com/belfry/belfry/domain/iampolicy"
)

var now = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

const (
	key1 = "AKIAABCDEFGHIJKLMNOP"
	key2 = "AKIAQRSTUVWXYZ234567"
	pid1 = "AIDAABCDEFGHIJKLMNOP"
)

func sealed(id string) domain.Sealed {
	return domain.Sealed{KeyID: domain.SubjectKeyID(iam.Tenant, iam.KeySubject(id)), Data: []byte("ciphertext")}
}

// given folds events, when decides c, then the result is compared by the caller.
func given(events ...iam.Event) iam.State {
	s := iam.Initial()
	for _, e := range events {
		s = iam.Evolve(s, e)
	}
	return s
}

func created() []iam.Event {
	return []iam.Event{
		iam.PrincipalCreated{Name: "ops", PrincipalID: pid1, At: now},
		iam.AccessKeyCreated{AccessKeyID: key1, Principal: "ops", Secret: sealed(key1), At: now},
	}
}

func wantKind(t *testing.T, err error, k domain.Kind) {
	t.Helper()
	if domain.KindOf(err) != k {
		t.Fatalf("want %v error, got %v", k, err)
	}
}

func TestCreateAccessKey(t *testing.T) {
	evs, err := iam.Decide(given(), iam.CreateAccessKey{Principal: "ops", PrincipalID: pid1, AccessKeyID: key1, Secret: sealed(key1)}, now)
	if err != nil || len(evs) != 2 {
		t.Fatalf("first key creates the principal and the key: %v %v", evs, err)
	}
	// A second key of the same principal does not create it again.
	evs, err = iam.Decide(given(created()...), iam.CreateAccessKey{Principal: "ops", AccessKeyID: key2, Secret: sealed(key2)}, now)
	if err != nil || len(evs) != 1 || evs[0].(iam.AccessKeyCreated).AccessKeyID != key2 {
		t.Fatalf("second key: %v %v", evs, err)
	}
	// The first key of an installation, with its policy, in one decision; never a second "first" key.
	first := iam.CreateAccessKey{Principal: "admin", PrincipalID: pid1, AccessKeyID: key1, Secret: sealed(key1),
		ManagedPolicies: []string{"AdministratorAccess", "AdministratorAccess"}, OnlyIfFirst: true}
	evs, err = iam.Decide(given(), first, now)
	if err != nil || len(evs) != 3 || evs[2].(iam.PolicyAttached).PolicyName != "AdministratorAccess" {
		t.Fatalf("first key: %v %v", evs, err)
	}
	if evs, err := iam.Decide(given(created()...), first, now); err != nil || len(evs) != 0 {
		t.Fatalf("a first key once keys exist: %v %v", evs, err)
	}
	first.ManagedPolicies, first.OnlyIfFirst = []string{"NoSuchPolicy"}, false
	_, err = iam.Decide(given(), first, now)
	wantKind(t, err, domain.KindInvalid)
	// Refusals: a repeated key id, a secret in clear or under another key, a bad name or id.
	_, err = iam.Decide(given(created()...), iam.CreateAccessKey{Principal: "x", PrincipalID: "AIDAQRSTUVWXYZ234567", AccessKeyID: key1, Secret: sealed(key1)}, now)
	wantKind(t, err, domain.KindConflict)
	_, err = iam.Decide(given(), iam.CreateAccessKey{Principal: "ops", PrincipalID: pid1, AccessKeyID: key1, Secret: domain.Sealed{Data: []byte("plain")}}, now)
	wantKind(t, err, domain.KindInvalid)
	_, err = iam.Decide(given(), iam.CreateAccessKey{Principal: "ops", PrincipalID: pid1, AccessKeyID: key1, Secret: sealed(key2)}, now)
	wantKind(t, err, domain.KindInvalid)
	for _, bad := range []string{"", "a b", "a/b", "x\x00y", string(make([]byte, 65))} {
		_, err = iam.Decide(given(), iam.CreateAccessKey{Principal: bad, PrincipalID: pid1, AccessKeyID: key1, Secret: sealed(key1)}, now)
		wantKind(t, err, domain.KindInvalid)
	}
	_, err = iam.Decide(given(), iam.CreateAccessKey{Principal: "ops", PrincipalID: pid1, AccessKeyID: "AKIAlower", Secret: sealed("AKIAlower")}, now)
	wantKind(t, err, domain.KindInvalid)
}

func TestKeyStatusAndDelete(t *testing.T) {
	s := given(created()...)
	evs, err := iam.Decide(s, iam.SetKeyStatus{AccessKeyID: key1, Active: true}, now)
	if err != nil || len(evs) != 0 {
		t.Fatalf("activating an active key changes nothing: %v %v", evs, err)
	}
	evs, err = iam.Decide(s, iam.SetKeyStatus{AccessKeyID: key1}, now)
	if err != nil || len(evs) != 1 || evs[0].(iam.AccessKeyStatusChanged).Active {
		t.Fatalf("deactivate: %v %v", evs, err)
	}
	_, err = iam.Decide(s, iam.SetKeyStatus{AccessKeyID: key2}, now)
	if !errors.Is(err, iam.ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	s = given(append(created(), iam.AccessKeyDeleted{AccessKeyID: key1, Principal: "ops", At: now})...)
	_, err = iam.Decide(s, iam.SetKeyStatus{AccessKeyID: key1, Active: true}, now)
	if !errors.Is(err, iam.ErrUnknownKey) {
		t.Fatalf("a deleted key cannot be activated: %v", err)
	}
	_, err = iam.Decide(s, iam.CreateAccessKey{Principal: "ops", AccessKeyID: key1, Secret: sealed(key1)}, now)
	wantKind(t, err, domain.KindConflict) // a deleted key's id is never reused
}

func TestPolicies(t *testing.T) {
	s := given(created()...)
	evs, err := iam.Decide(s, iam.AttachManagedPolicy{Principal: "ops", PolicyName: "AmazonChimeReadOnly"}, now)
	if err != nil || len(evs) != 1 || !evs[0].(iam.PolicyAttached).Managed {
		t.Fatalf("attach: %v %v", evs, err)
	}
	s = iam.Evolve(s, evs[0])
	if evs, _ := iam.Decide(s, iam.AttachManagedPolicy{Principal: "ops", PolicyName: "AmazonChimeReadOnly"}, now); len(evs) != 0 {
		t.Fatal("attaching twice changes nothing")
	}
	_, err = iam.Decide(s, iam.AttachManagedPolicy{Principal: "ops", PolicyName: "NoSuchPolicy"}, now)
	wantKind(t, err, domain.KindInvalid)
	_, err = iam.Decide(s, iam.AttachManagedPolicy{Principal: "ghost", PolicyName: "AmazonChimeReadOnly"}, now)
	if !errors.Is(err, iam.ErrNoPrincipal) {
		t.Fatalf("ghost: %v", err)
	}
	doc, _ := iampolicy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:Delete*","Resource":"*"}]}`))
	evs, err = iam.Decide(s, iam.PutInlinePolicy{Principal: "ops", PolicyName: "NoDeletes", Document: doc}, now)
	if err != nil || len(evs) != 1 || evs[0].(iam.PolicyAttached).Document == nil {
		t.Fatalf("put inline: %v %v", evs, err)
	}
	_, err = iam.Decide(s, iam.PutInlinePolicy{Principal: "ops", PolicyName: "AdministratorAccess", Document: doc}, now)
	wantKind(t, err, domain.KindInvalid)
	_, err = iam.Decide(s, iam.PutInlinePolicy{Principal: "ops", PolicyName: "Bad", Document: iampolicy.Document{}}, now)
	wantKind(t, err, domain.KindInvalid)
	evs, err = iam.Decide(s, iam.DetachPolicy{Principal: "ops", PolicyName: "AmazonChimeReadOnly"}, now)
	if err != nil || len(evs) != 1 {
		t.Fatalf("detach: %v %v", evs, err)
	}
	_, err = iam.Decide(iam.Evolve(s, evs[0]), iam.DetachPolicy{Principal: "ops", PolicyName: "AmazonChimeReadOnly"}, now)
	wantKind(t, err, domain.KindNotFound)
}

func TestImportOnlyIntoAnEmptyStream(t *testing.T) {
	imp := iam.Import{Principals: []iam.ImportedPrincipal{{Name: "admin", PrincipalID: pid1, CreatedAt: now,
		Keys:     []iam.ImportedKey{{AccessKeyID: key1, Secret: sealed(key1), Active: true, CreatedAt: now}, {AccessKeyID: key2, Secret: sealed(key2), CreatedAt: now}},
		Policies: []iam.PolicyAttached{{PolicyName: "AdministratorAccess", Managed: true, At: now}}}}}
	evs, err := iam.Decide(given(), imp, now)
	if err != nil || len(evs) != 5 {
		t.Fatalf("import: %v %v", evs, err)
	}
	s := given(evs...)
	if !s.Keys[key1].Active || s.Keys[key2].Active || !s.Principals["admin"].Policies["AdministratorAccess"].Managed {
		t.Fatalf("imported state: %+v", s)
	}
	if evs, err := iam.Decide(s, imp, now); err != nil || len(evs) != 0 {
		t.Fatalf("a second import does nothing: %v %v", evs, err)
	}
	bad := imp
	bad.Principals = []iam.ImportedPrincipal{{Name: "admin", PrincipalID: pid1, Keys: []iam.ImportedKey{{AccessKeyID: key1, Secret: domain.Sealed{Data: []byte("clear")}}}}}
	_, err = iam.Decide(given(), bad, now)
	wantKind(t, err, domain.KindInvalid)
}

// TestInlinePoliciesShareOneSizeLimit: as in IAM, a principal's inline policies together hold at most
// iampolicy.MaxDocumentChars characters (white space outside strings not counted): a policy that would
// take them past it is refused, while replacing one by a document of the same size is not.
func TestInlinePoliciesShareOneSizeLimit(t *testing.T) {
	// A document of n characters once compacted.
	doc := func(n int) iampolicy.Document {
		d := iampolicy.Document{Version: "2012-10-17", Statement: []iampolicy.Statement{{Effect: "Allow", Action: iampolicy.StringOrList{"chime:GetAccount"}, Resource: iampolicy.StringOrList{"*"}}}}
		d.Statement[0].Sid = strings.Repeat("a", n-iam.InlineChars(d)-len(`"Sid":"",`))
		if got := iam.InlineChars(d); got != n {
			t.Fatalf("doc(%d) has %d characters", n, got)
		}
		return d
	}
	s := given(created()...)
	put := func(name string, d iampolicy.Document) error {
		evs, err := iam.Decide(s, iam.PutInlinePolicy{Principal: "ops", PolicyName: name, Document: d}, now)
		for _, e := range evs {
			s = iam.Evolve(s, e)
		}
		return err
	}
	if err := put("first", doc(1200)); err != nil {
		t.Fatal(err)
	}
	if err := put("second", doc(900)); domain.KindOf(err) != domain.KindInvalid {
		t.Fatalf("2,100 characters of inline policies: %v", err)
	}
	if err := put("second", doc(800)); err != nil {
		t.Fatalf("2,000 characters of inline policies: %v", err)
	}
	if err := put("first", doc(1248)); err != nil {
		t.Fatalf("replacing a policy within the limit: %v", err)
	}
	if err := put("third", doc(150)); domain.KindOf(err) != domain.KindInvalid {
		t.Fatalf("a third policy past the limit: %v", err)
	}
}

// TestALoneParsedPolicyFitsTheAggregate: a document iampolicy.Parse accepts (at most
// MaxDocumentChars as written) fits a principal without other inline policies: the aggregate counts
// the same characters the document's own bound counts — not a re-encoding that wraps a lone Action
// in a list, a lone statement in an array, or escapes '&' and '<' as \u0026 and \u003c.
func TestALoneParsedPolicyFitsTheAggregate(t *testing.T) {
	var stmts []string
	for i := 0; ; i++ {
		st := `{"Effect":"Allow","Action":"chime:Get&<>` + strings.Repeat("x", 20) + `"}`
		if len(`{"Version":"2012-10-17","Statement":[`+strings.Join(append(stmts, st), ",")+`]}`) > iampolicy.MaxDocumentChars {
			break
		}
		stmts = append(stmts, st)
	}
	raw := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	d, err := iampolicy.Parse([]byte(raw))
	if err != nil {
		t.Fatalf("Parse of %d characters: %v", len(raw), err)
	}
	_, err = iam.Decide(given(created()...), iam.PutInlinePolicy{Principal: "ops", PolicyName: "only", Document: d}, now)
	if err != nil {
		t.Fatalf("a lone policy of %d characters, within the bound: %v", len(raw), err)
	}
}
