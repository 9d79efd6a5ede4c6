package porting_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/porting"
)

// TestFreeTextIsBounded: an unbounded carrier, service account number, sealed service PIN or
// operator note let one request's event exceed the event store's append limit (a 500).
func TestFreeTextIsBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("<", porting.MaxText+1)
	carrier, account, pin := req, req, req
	carrier.CurrentCarrier, account.ServiceAccountNumber = long, long
	pin.ServicePIN = domain.Sealed{KeyID: domain.SubjectKeyID("111", porting.ServicePINSubject("o1")), Data: make([]byte, porting.MaxSealedPIN+1)}
	for name, r := range map[string]porting.Request{"CurrentCarrier": carrier, "ServiceAccountNumber": account, "ServicePin": pin} {
		if _, err := porting.Decide(porting.Initial(), porting.Submit{AwsAccountID: "111", Request: r}, now); !errors.Is(err, porting.ErrInvalid) {
			t.Errorf("%s too long: %v", name, err)
		}
	}
	o := order(porting.OrderSubmitted{AwsAccountID: "111", Request: req, At: now})
	note := strings.Repeat("n", porting.MaxNote)
	if _, err := porting.Decide(o, porting.Transition{AwsAccountID: "111", To: porting.Exception, Note: note}, now); err != nil {
		t.Fatalf("a %d-character note: %v", porting.MaxNote, err)
	}
	if _, err := porting.Decide(o, porting.Transition{AwsAccountID: "111", To: porting.Exception, Note: note + "n"}, now); !errors.Is(err, porting.ErrInvalid) {
		t.Fatalf("a note too long: %v", err)
	}
}
