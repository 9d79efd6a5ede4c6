package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/belfry/belfry/domain/iampolicy"
)

// TestPolicyDocumentMembersBelfryDoesNotEvaluateAreRefused: a statement's Condition (or NotResource,
// Principal) is dropped by the policy parser, so an Allow limited by a condition would allow
// unconditionally. `belfry admin put-user-policy` must refuse such a document rather than store a
// broader policy than the one given.
func TestPolicyDocumentMembersBelfryDoesNotEvaluateAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, doc := range map[string]string{
		"condition": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"chime:*","Resource":"*",
			"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
		"notresource": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"chime:*","NotResource":"arn:aws:chime::1:account/x"}]}`,
		"lowercase":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"chime:*","Resource":"*","condition":{}}]}`,
	} {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := readPolicyDocument(path)
		if err == nil {
			t.Fatalf("%s: accepted, and evaluated as %v for chime:DeleteAccount whatever the condition", name,
				iampolicy.Evaluate([]iampolicy.Document{d}, "chime:DeleteAccount"))
		}
	}
	ok := filepath.Join(dir, "ok.json")
	if err := os.WriteFile(ok, []byte(`{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a","Effect":"Deny","Action":"chime:Delete*","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readPolicyDocument(ok); err != nil {
		t.Fatal(err)
	}
}
