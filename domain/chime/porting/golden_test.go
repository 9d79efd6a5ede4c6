package porting_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[porting.Event]{
	eventtest.Ex[porting.Event](porting.OrderSubmitted{AwsAccountID: "111122223333", At: gAt, Request: porting.Request{
		ProductType: "BusinessCalling", PhoneNumbers: []string{"+12065550100", "+12065550101"}, BillingTelephoneNumber: "+12065550100",
		AuthorizingPerson: "Alice Martin", CurrentCarrier: "Northwind Telecom", ServiceAccountNumber: "NW-00418273",
		ServicePIN: domain.Sealed{KeyID: domain.SubjectKeyID("111122223333", porting.ServicePINSubject("5b0e6c1d-8f3a-4e27-9b1c-2d4e6f8a0b1c")), Data: []byte{0x51, 0xa2, 0x0c, 0x7e}}, ServiceAddress: "410 Terry Ave N, Seattle, WA 98109, US", CustomerName: "Acme Corp",
		PortAt: gAt.Add(14 * 24 * time.Hour), BTNOption: 2,
	}}),
	eventtest.Variant[porting.Event]("legacy", porting.OrderSubmitted{AwsAccountID: "123456789012", At: gAt, Request: porting.Request{
		ProductType: "BusinessCalling", PhoneNumbers: []string{"+12065550100"}, BillingTelephoneNumber: "+12065550100",
		AuthorizingPerson: "Alice Martin", LegacyServicePIN: "7319", ServiceAddress: "410 Terry Ave N, Seattle, WA 98109, US",
		CustomerName: "Acme Corp", PortAt: gAt.Add(14 * 24 * time.Hour)}}),
	eventtest.Ex[porting.Event](porting.StatusChanged{From: porting.Submitted, To: porting.FOC, Note: "FOC confirmed by the losing carrier",
		FOCAt: gAt.Add(10 * 24 * time.Hour), At: gAt}),
	eventtest.Ex[porting.Event](porting.DocumentsRequested{TokenHash: "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
		ExpiresAt: gAt.Add(7 * 24 * time.Hour), At: gAt}),
	eventtest.Ex[porting.Event](porting.DocumentUploaded{Name: "letter-of-authorization.pdf", Size: 184_321,
		SHA256: "e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8", At: gAt}),
}

// TestEventTable checks the port-in order's event table against the package and its golden files (run
// with BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, porting.Events, examples...)
}
