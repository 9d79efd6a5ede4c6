package iam_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/belfry/iam"
	"github.com/belfry/belfry/domain/iampolicy"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[iam.Event]{
	eventtest.Ex[iam.Event](iam.PrincipalCreated{Name: "ops", PrincipalID: "AIDAQ3EGUH6K2M4N7P5R", At: gAt, Imported: true}),
	eventtest.Ex[iam.Event](iam.AccessKeyCreated{AccessKeyID: "AKIAZ7XW2LQ4M6N3P5RT", Principal: "ops",
		Secret: domain.Sealed{KeyID: domain.SubjectKeyID(iam.Tenant, iam.KeySubject("AKIAZ7XW2LQ4M6N3P5RT")), Data: []byte{0x9c, 0x41, 0x07, 0xee, 0x5a}},
		At:     gAt, Imported: true}),
	eventtest.Ex[iam.Event](iam.AccessKeyStatusChanged{AccessKeyID: "AKIAZ7XW2LQ4M6N3P5RT", Active: true, At: gAt}),
	eventtest.Ex[iam.Event](iam.AccessKeyDeleted{AccessKeyID: "AKIAZ7XW2LQ4M6N3P5RT", Principal: "ops", At: gAt}),
	eventtest.Ex[iam.Event](iam.PolicyAttached{Principal: "ops", PolicyName: "NoDeletes", Managed: true,
		Document: &iampolicy.Document{Version: "2012-10-17", Statement: []iampolicy.Statement{{Sid: "Deny1", Effect: "Deny",
			Action: iampolicy.StringOrList{"chime:Delete*"}, NotAction: iampolicy.StringOrList{"chime:DeleteAttendee"}, Resource: iampolicy.StringOrList{"*"}}}},
		At: gAt}),
	eventtest.Ex[iam.Event](iam.PolicyDetached{Principal: "ops", PolicyName: "NoDeletes", At: gAt}),
}

// TestEventTable checks the IAM event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, iam.Events, examples...)
}
