package iamadmin_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/belfry/belfry/api/belfry/iamadmin"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/domain/belfry/iam"
	"github.com/belfry/belfry/domain/iampolicy"
)

type fakeCommands struct{ ran []iam.Command }

func (f *fakeCommands) ExecuteIAM(_ context.Context, c iam.Command) ([]iam.Event, uint64, error) {
	f.ran = append(f.ran, c)
	return nil, 0, nil
}

type fakeSecrets struct{}

func (fakeSecrets) SealFor(context.Context, string, string, []byte) (domain.Sealed, error) {
	return domain.Sealed{}, nil
}
func (fakeSecrets) DestroySubject(context.Context, string, string) error { return nil }

type fakeAudit struct{ recs []audit.APICallRecorded }

func (f *fakeAudit) Record(_ context.Context, r audit.APICallRecorded) error {
	f.recs = append(f.recs, r)
	return nil
}

type noWait struct{}

func (noWait) WaitFor(context.Context, uint64) error { return nil }

// TestPutInlineRefusesStatementsItCannotEnforce: Belfry authorises every call on resource "*", so a
// statement narrowed to other resources is skipped by iampolicy.Evaluate. For a Deny that means the
// call it names is allowed by the principal's other policies: such a policy must be refused (and the
// refusal audited), never stored as if it were enforced.
func TestPutInlineRefusesStatementsItCannotEnforce(t *testing.T) {
	cmds, rec := &fakeCommands{}, &fakeAudit{}
	svc, err := iamadmin.New(iamadmin.Config{Commands: cmds, Secrets: fakeSecrets{}, Audit: rec, ReadModel: noWait{},
		AwsAccountID: "123456789012", Operator: iamadmin.Operator{Name: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:DeleteAccount","Resource":"arn:aws:chime::123456789012:account/protected"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:DeleteAccount","Resource":["arn:aws:chime:*"]}]}`,
	} {
		d, err := iampolicy.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		admin, _ := iampolicy.Managed("AdministratorAccess")
		if got := iampolicy.Evaluate([]iampolicy.Document{admin, d}, "chime:DeleteAccount"); got == iampolicy.ExplicitDeny {
			continue // enforced: nothing to refuse
		}
		before := len(cmds.ran)
		err = svc.PutInline(context.Background(), "ops", "NoDeletes", d)
		if domain.KindOf(err) != domain.KindInvalid || len(cmds.ran) != before {
			t.Fatalf("a Deny the evaluation skips was stored (%v): %s", err, doc)
		}
		if last := rec.recs[len(rec.recs)-1]; last.EventName != "PutUserPolicy" || last.ErrorCode != "ValidationError" {
			t.Fatalf("the refusal is audited: %+v", last)
		}
	}
	// Resource "*" (or none) is what Belfry enforces: accepted.
	d, _ := iampolicy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"chime:Delete*","Resource":"*"},{"Effect":"Allow","Action":"chime:Get*"}]}`))
	if err := svc.PutInline(context.Background(), "ops", "NoDeletes", d); err != nil {
		t.Fatal(err)
	}
}

// TestPutInlineDocumentRefusalsAreAudited: a document as the operator gave it (`belfry admin
// put-user-policy --document FILE`) is parsed inside the audited call, so one the parser refuses — a
// member Belfry does not evaluate (a Condition would make an Allow unconditional), malformed JSON,
// bytes that are not UTF-8 — is refused, stores nothing, and leaves an audit record of the refusal.
func TestPutInlineDocumentRefusalsAreAudited(t *testing.T) {
	cmds, rec := &fakeCommands{}, &fakeAudit{}
	svc, err := iamadmin.New(iamadmin.Config{Commands: cmds, Secrets: fakeSecrets{}, Audit: rec, ReadModel: noWait{},
		AwsAccountID: "123456789012", Operator: iamadmin.Operator{Name: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"condition": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"chime:*","Resource":"*",
			"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
		"notresource": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"chime:*","NotResource":"arn:aws:chime::1:account/x"}]}`,
		"lowercase":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"chime:*","Resource":"*","condition":{}}]}`,
		"malformed":   `{"Version":"2012-10-17","Statement":[`,
		"not utf-8":   "{\"Version\":\"2012-10-17\",\"Id\":\"\xff\",\"Statement\":[]}",
	} {
		err := svc.PutInlineDocument(context.Background(), "ops", "P", []byte(doc))
		if domain.KindOf(err) != domain.KindInvalid || len(cmds.ran) != 0 {
			t.Fatalf("%s: %v (commands run: %d)", name, err, len(cmds.ran))
		}
		last := rec.recs[len(rec.recs)-1]
		if last.EventName != "PutUserPolicy" || last.ErrorCode != "ValidationError" || !json.Valid(last.RequestParameters) {
			t.Fatalf("%s: the refusal is audited: %+v", name, last)
		}
	}
	ok := `{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a","Effect":"Deny","Action":"chime:Delete*","Resource":"*"}]}`
	if err := svc.PutInlineDocument(context.Background(), "ops", "P", []byte(ok)); err != nil || len(cmds.ran) != 1 {
		t.Fatalf("a document Belfry enforces: %v (commands run: %d)", err, len(cmds.ran))
	}
}
