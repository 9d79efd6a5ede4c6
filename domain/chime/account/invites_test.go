package account_test

import (
	"errors"
	"testing"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
)

// TestInviteRefusesDomainClaimedElsewhere: guide §4.1 (Team account) — "다른 조직에서 요청하지 [않은]
// 모든 이메일 도메인의 사용자를 초대할 수 있습니다": a Team account invites users of any e-mail domain
// not claimed by another organisation.
func TestInviteRefusesDomainClaimedElsewhere(t *testing.T) {
	t.Parallel()
	s := given(created)
	_, err := account.Decide(s, account.InviteUsers{AccountID: "a1", Items: []account.InviteItem{
		{Email: "carol@free.org", UserID: "u1", InviteID: "i1"},
		{Email: "dave@corp.example", UserID: "u2", InviteID: "i2", ClaimedBy: "a2"},
	}}, now)
	if !errors.Is(err, account.ErrDomainClaimed) || domain.KindOf(err) != domain.KindConflict {
		t.Fatalf("inviting an address of a domain another account claimed: %v, want ErrDomainClaimed (Conflict)", err)
	}
	got, err := account.Decide(s, account.InviteUsers{AccountID: "a1", Items: []account.InviteItem{
		{Email: "carol@free.org", UserID: "u1", InviteID: "i1"},
	}}, now)
	if err != nil || len(got) != 2 {
		t.Fatalf("inviting an address of an unclaimed domain: %#v %v", got, err)
	}
}
