package client

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr/roster"
)

func TestShapeCountsEachClass(t *testing.T) {
	got := Shape("Ünïcode-Pass 42!")
	want := roster.PasswordShape{Length: 16, Lowercase: 9, Uppercase: 2, Numbers: 2, Symbols: 2}
	if got != want {
		t.Fatalf("Shape: %+v, want %+v", got, want)
	}
}

func TestPendingSSOIsSingleUseExpiresAndIsBounded(t *testing.T) {
	p := newPendingSSO()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if err := p.put("s1", ssoStart{networkID: "12345678", expires: now.Add(SSOPendingTTL)}, now); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.take("s1", now); !ok {
		t.Fatal("a started sign-in is found")
	}
	if _, ok := p.take("s1", now); ok {
		t.Fatal("a state is used once")
	}
	_ = p.put("s2", ssoStart{expires: now.Add(SSOPendingTTL)}, now)
	if _, ok := p.take("s2", now.Add(SSOPendingTTL)); ok {
		t.Fatal("an expired sign-in is refused")
	}
	for i := range MaxSSOPending {
		if err := p.put(fmt.Sprint(i), ssoStart{expires: now.Add(SSOPendingTTL)}, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.put("one more", ssoStart{expires: now.Add(SSOPendingTTL)}, now); !errors.Is(err, ErrSSOBusy) {
		t.Fatalf("beyond the bound: %v", err)
	}
	if err := p.put("later", ssoStart{expires: now.Add(2 * SSOPendingTTL)}, now.Add(SSOPendingTTL)); err != nil {
		t.Fatalf("expired entries make room: %v", err)
	}
}
