package porting_test

import (
	"errors"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/porting"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

var req = porting.Request{ProductType: "BusinessCalling", PhoneNumbers: []string{"+14255550100"}, BillingTelephoneNumber: "+14255550100",
	AuthorizingPerson: "Mary Major", ServiceAddress: "1 Main St, Seattle WA", CustomerName: "Example Corp", PortAt: now.Add(72 * time.Hour)}

func order(events ...porting.Event) porting.Order {
	o := porting.Initial()
	for _, e := range events {
		o = porting.Evolve(o, e)
	}
	return o
}

func TestPortIn(t *testing.T) {
	t.Parallel()
	sub := porting.OrderSubmitted{AwsAccountID: "111", Request: req, At: now}
	foc := porting.StatusChanged{From: "SUBMITTED", To: "FOC", FOCAt: now.Add(48 * time.Hour), At: now}
	intl := req
	intl.PhoneNumbers = []string{"+442079460000"}
	cases := []struct {
		name    string
		given   []porting.Event
		when    porting.Command
		at      time.Time
		wantErr error
	}{
		{"submit", nil, porting.Submit{AwsAccountID: "111", Request: req}, now, nil},
		{"international needs SIP media app", nil, porting.Submit{AwsAccountID: "111", Request: intl}, now, porting.ErrInvalid},
		{"FOC without date", []porting.Event{sub}, porting.Transition{AwsAccountID: "111", To: "FOC"}, now, porting.ErrInvalid},
		{"SUBMITTED cannot complete", []porting.Event{sub}, porting.Transition{AwsAccountID: "111", To: "COMPLETED"}, now, porting.ErrTransition},
		{"complete before the FOC date", []porting.Event{sub, foc}, porting.Transition{AwsAccountID: "111", To: "COMPLETED"}, now, porting.ErrTransition},
		{"complete on the FOC date", []porting.Event{sub, foc}, porting.Transition{AwsAccountID: "111", To: "COMPLETED"}, now.Add(48 * time.Hour), nil},
		{"cancelled is final", []porting.Event{sub, porting.StatusChanged{To: "CANCEL_REQUESTED"}, porting.StatusChanged{To: "CANCELLED"}},
			porting.Transition{AwsAccountID: "111", To: "SUBMITTED"}, now, porting.ErrTransition},
		{"another tenant", []porting.Event{sub}, porting.Transition{AwsAccountID: "222", To: "EXCEPTION"}, now, porting.ErrNotFound},
		{"upload with an expired link", []porting.Event{sub, porting.DocumentsRequested{TokenHash: "h", ExpiresAt: now.Add(-time.Minute)}},
			porting.UploadDocument{AwsAccountID: "111", TokenHash: "h", Name: "loa.pdf"}, now, porting.ErrLink},
		{"upload with a wrong token", []porting.Event{sub, porting.DocumentsRequested{TokenHash: "h", ExpiresAt: now.Add(time.Hour)}},
			porting.UploadDocument{AwsAccountID: "111", TokenHash: "x", Name: "loa.pdf"}, now, porting.ErrLink},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := porting.Decide(order(tc.given...), tc.when, tc.at)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v, got %v", tc.wantErr, err)
			}
		})
	}
}
