package retention_test

import (
	"errors"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/retention"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// put folds a setting made at t into s.
func put(t *testing.T, s retention.State, at time.Time, room, conv int) retention.State {
	t.Helper()
	evs, err := retention.Decide(s, retention.Put{AccountID: "a", Settings: retention.Settings{RoomDays: room, ConversationDays: conv}}, at)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		s = retention.Evolve(s, e)
	}
	return s
}

func TestPeriodsAreBounded(t *testing.T) {
	for _, d := range []int{-1, 5476, 100000} {
		_, err := retention.Decide(retention.Initial(), retention.Put{Settings: retention.Settings{RoomDays: d}}, t0)
		if !errors.Is(err, retention.ErrInvalid) || domain.KindOf(err) != domain.KindInvalid {
			t.Fatalf("%d days: %v", d, err)
		}
	}
	s := put(t, retention.Initial(), t0, 5475, 1)
	if evs, _ := retention.Decide(s, retention.Put{Settings: retention.Settings{RoomDays: 5475, ConversationDays: 1}}, t0.Add(day)); len(evs) != 0 {
		t.Fatal("the same settings again record nothing")
	}
}

func TestGraceThenRollingDestruction(t *testing.T) {
	s := put(t, retention.Initial(), t0, 7, 0)
	p := s.Policy
	// Hidden at once, older than 7 days; nothing destroyed during the 30-day grace.
	if h, ok := p.HideBefore(retention.Rooms, t0.Add(time.Hour)); !ok || !h.Equal(t0.Add(time.Hour-7*day)) {
		t.Fatalf("hide: %v %v", h, ok)
	}
	if _, ok := p.HideBefore(retention.Conversations, t0); ok {
		t.Fatal("conversations are off")
	}
	if _, ok := p.DestroyBefore(retention.Rooms, t0.Add(29*day)); ok {
		t.Fatal("destroyed within the grace")
	}
	if at, ok := p.InitiateDeletion(); !ok || !at.Equal(t0.Add(30*day)) {
		t.Fatalf("initiate deletion: %v %v", at, ok)
	}
	// After the grace, rolling: older than 7 days.
	now := t0.Add(31 * day)
	if d, ok := p.DestroyBefore(retention.Rooms, now); !ok || !d.Equal(now.Add(-7*day)) {
		t.Fatalf("destroy: %v %v", d, ok)
	}
}

func TestTurningOffOrLengtheningRestores(t *testing.T) {
	s := put(t, retention.Initial(), t0, 7, 0)
	off := put(t, s, t0.Add(10*day), 0, 0)
	if _, ok := off.Policy.HideBefore(retention.Rooms, t0.Add(11*day)); ok {
		t.Fatal("hidden after retention was turned off")
	}
	if _, ok := off.Policy.DestroyBefore(retention.Rooms, t0.Add(100*day)); ok {
		t.Fatal("destroyed after retention was turned off")
	}
	longer := put(t, s, t0.Add(10*day), 60, 0)
	now := t0.Add(45 * day)
	if h, _ := longer.Policy.HideBefore(retention.Rooms, now); !h.Equal(now.Add(-60 * day)) {
		t.Fatalf("hide after lengthening: %v", h)
	}
	if _, ok := longer.Policy.DestroyBefore(retention.Rooms, t0.Add(20*day)); ok {
		t.Fatal("destroyed in the grace")
	}
	// After the grace the longest period in force in the last 30 days wins: never more than hidden.
	if d, ok := longer.Policy.DestroyBefore(retention.Rooms, now); !ok || !d.Equal(now.Add(-60*day)) {
		t.Fatalf("destroy after lengthening: %v %v", d, ok)
	}
}

func TestShorteningKeepsTheLongerPeriodForAGrace(t *testing.T) {
	s := put(t, retention.Initial(), t0, 60, 0)
	s = put(t, s, t0.Add(40*day), 7, 0)
	now := t0.Add(50 * day)
	h, _ := s.Policy.HideBefore(retention.Rooms, now)
	d, ok := s.Policy.DestroyBefore(retention.Rooms, now)
	if !h.Equal(now.Add(-7*day)) || !ok || !d.Equal(now.Add(-60*day)) {
		t.Fatalf("after shortening: hide %v destroy %v %v", h, d, ok)
	}
	later := t0.Add(71 * day)
	if d, _ := s.Policy.DestroyBefore(retention.Rooms, later); !d.Equal(later.Add(-7 * day)) {
		t.Fatalf("30 days after shortening: %v", d)
	}
	if at, _ := s.Policy.InitiateDeletion(); !at.Equal(t0.Add(70 * day)) {
		t.Fatalf("initiate deletion after shortening: %v", at)
	}
	// Many changes: the state stays bounded and right.
	for i := range 3000 {
		s = put(t, s, t0.Add(80*day+time.Duration(i)*time.Hour), 7+i%2, 0)
	}
	if len(s.Policy) > 1000 {
		t.Fatalf("%d changes kept", len(s.Policy))
	}
}

func TestConversationRule(t *testing.T) {
	e1 := retention.Member{AccountID: "e1", Enterprise: true}
	e2 := retention.Member{AccountID: "e2", Enterprise: true}
	team := retention.Member{AccountID: "t", Enterprise: false}
	none := retention.Member{}
	cases := []struct {
		members []retention.Member
		want    retention.Rule
	}{
		{[]retention.Member{e1, e1}, retention.Rule{Applies: true, AccountID: "e1"}},
		{[]retention.Member{e1, e2}, retention.Rule{Applies: true, FixedDays: 90}},
		{[]retention.Member{team, e1}, retention.Rule{Applies: true, FixedDays: 90}},
		{[]retention.Member{e1, none}, retention.Rule{Applies: true, FixedDays: 90}},
		{[]retention.Member{team, none}, retention.Rule{}},
	}
	for _, c := range cases {
		if got := retention.Conversation(c.members); got != c.want {
			t.Errorf("%+v: %+v, want %+v", c.members, got, c.want)
		}
	}
}

func TestConversationRuleHides(t *testing.T) {
	p := put(t, retention.Initial(), t0, 0, 7).Policy
	now := t0.Add(3 * day)
	if got, ok := (retention.Rule{Applies: true, AccountID: "a"}).HideBefore(p, now); !ok || !got.Equal(now.Add(-7*day)) {
		t.Fatalf("the account's setting: %v %v", got, ok)
	}
	if got, ok := (retention.Rule{Applies: true, FixedDays: 90}).HideBefore(nil, now); !ok || !got.Equal(now.Add(-90*day)) {
		t.Fatalf("across accounts: %v %v", got, ok)
	}
	if _, ok := (retention.Rule{Applies: true, AccountID: "a"}).HideBefore(nil, now); ok {
		t.Fatal("an account without retention hides")
	}
	if _, ok := (retention.Rule{}).HideBefore(p, now); ok {
		t.Fatal("no rule hides")
	}
}

// TestInitiateDeletionRemembersWhatFoldingForgets: a class turned on and then only lengthened, over
// more than Grace, starts destruction Grace after it was turned on; the state's folding of old
// changes does not move that instant. Shortening moves it; turning off forgets it.
func TestInitiateDeletionRemembersWhatFoldingForgets(t *testing.T) {
	s := put(t, retention.Initial(), t0, 7, 0)
	s = put(t, s, t0.Add(100*day), 8, 0)
	s = put(t, s, t0.Add(200*day), 9, 0)
	if len(s.Policy) != 2 {
		t.Fatalf("the state keeps %d changes, want the 2 of the last Grace", len(s.Policy))
	}
	if at, ok := s.InitiateDeletion(); !ok || !at.Equal(t0.Add(30*day)) {
		t.Fatalf("initiate deletion %v %v, want %v", at, ok, t0.Add(30*day))
	}
	s = put(t, s, t0.Add(300*day), 9, 400)
	if at, _ := s.InitiateDeletion(); !at.Equal(t0.Add(330 * day)) {
		t.Fatalf("after turning conversations on: %v", at)
	}
	s = put(t, s, t0.Add(400*day), 5, 0)
	if at, _ := s.InitiateDeletion(); !at.Equal(t0.Add(430 * day)) {
		t.Fatalf("after shortening rooms, conversations off: %v", at)
	}
	s = put(t, s, t0.Add(500*day), 0, 0)
	if at, ok := s.InitiateDeletion(); ok {
		t.Fatalf("retention off still initiates deletion at %v", at)
	}
}
