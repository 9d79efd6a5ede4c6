package guest_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/guest"
)

var now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func given(events ...guest.Event) guest.State {
	s := guest.Initial()
	for _, e := range events {
		s = guest.Evolve(s, e)
	}
	return s
}

func TestDecide(t *testing.T) {
	t.Parallel()
	hash := wickr.UsernameHash("pat@example.org")
	pw := domain.Sealed{KeyID: domain.SubjectKeyID(wickr.GuestTenant, wickr.GuestSubject(hash)), Data: []byte{1}}
	reg := guest.Registered{Username: "pat@example.org", UsernameHash: hash, Password: pw, At: now}
	cases := []struct {
		name    string
		state   guest.State
		when    guest.Command
		want    []guest.Event
		wantErr error
	}{
		{"self-registration creates a guest", given(), guest.SelfRegister{Username: "Pat@Example.org", Password: pw}, []guest.Event{reg}, nil},
		{"once", given(reg), guest.SelfRegister{Username: "pat@example.org", Password: pw}, nil, guest.ErrExists},
		{"an e-mail address", given(), guest.SelfRegister{Username: "pat", Password: pw}, nil, wickr.ErrValidation},
		{"a sealed password", given(), guest.SelfRegister{Username: "pat@example.org"}, nil, wickr.ErrUnsealed},
		{"delete", given(reg), guest.Delete{Username: "pat@example.org"}, []guest.Event{guest.Deleted{At: now}}, nil},
		{"delete nothing", given(), guest.Delete{Username: "pat@example.org"}, nil, guest.ErrNotFound},
		{"register again after deletion", given(reg, guest.Deleted{}), guest.SelfRegister{Username: "pat@example.org", Password: pw}, []guest.Event{reg}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := guest.Decide(tc.state, tc.when, now)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v, got %v", tc.wantErr, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("want %#v, got %#v", tc.want, got)
			}
		})
	}
	if guest.StreamName("PAT@example.org") != "wickr.guest-"+hash {
		t.Fatal("a guest's stream is keyed by its username hash")
	}
}
