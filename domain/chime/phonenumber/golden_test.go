package phonenumber_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// examples are one realistic event of every stored type (numbers and orders), every field set in
// one of its files, plus a number the order failed to acquire ("failed") (testdata/golden).
var examples = []eventtest.Example[phonenumber.Event]{
	eventtest.Ex[phonenumber.Event](phonenumber.Acquired{AwsAccountID: "123456789012", OrderID: "c41e7b90-2d5a-4f38-86b1-9e0a3c5d7f24",
		ProductType: phonenumber.ProductBusinessCall, Type: phonenumber.TypeLocal, Country: "US", At: gAt}),
	eventtest.Ex[phonenumber.Event](phonenumber.Updated{ProductType: phonenumber.ProductVoiceConn, CallingName: "Acme Corp",
		CallingNameAt: gAt, At: gAt}),
	eventtest.Ex[phonenumber.Event](phonenumber.Associated{AccountID: "5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93",
		UserID: "8c3e2a71-64b0-4f5d-b1a2-97e0c5d3f468", At: gAt}),
	eventtest.Ex[phonenumber.Event](phonenumber.Disassociated{At: gAt}),
	eventtest.Ex[phonenumber.Event](phonenumber.Deleted{At: gAt}),
	eventtest.Ex[phonenumber.Event](phonenumber.Restored{At: gAt}),
	eventtest.Ex[phonenumber.Event](phonenumber.PortOutPINSet{PINHash: "3f9c1e0b7a5d4c2e8f6a1b3d5c7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e"}),
	eventtest.Variant[phonenumber.Event]("legacy", phonenumber.PortOutPINSet{LegacyPIN: "731942"}),
	eventtest.Ex[phonenumber.Event](phonenumber.PortedOut{At: gAt}),
	eventtest.Ex[phonenumber.Event](phonenumber.OrderCreated{AwsAccountID: "123456789012", ProductType: phonenumber.ProductBusinessCall,
		Numbers: []string{"+12065550100", "+12065550101"}, At: gAt}),
	eventtest.Ex[phonenumber.Event](phonenumber.OrderNumberProcessed{E164: "+12065550101", Acquired: true, At: gAt}),
	eventtest.Variant[phonenumber.Event]("failed", phonenumber.OrderNumberProcessed{E164: "+12065550102",
		Reason: "the number is no longer available", At: gAt}),
	eventtest.Ex[phonenumber.Event](phonenumber.OrderCompleted{Status: phonenumber.OrderPartial, At: gAt}),
}

// TestEventTable checks the phone numbers' event table against the package and its golden files (run
// with BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, phonenumber.Events, examples...)
}
