package conversation_test

import (
	"errors"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

var now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

var (
	alice = conversation.Participant{NetworkID: "11111111", UserID: "1"}
	carol = conversation.Participant{NetworkID: "11111111", UserID: "2"}
	bob   = conversation.Participant{NetworkID: "22222222", UserID: "1"}
	dave  = conversation.Participant{NetworkID: "33333333", UserID: "1"} // another region
	guest = conversation.Participant{GuestHash: wickr.UsernameHash("gus@example.org")}
)

// policy: networks 1 and 2 in us-east-1, 3 in eu-west-2; every group federates fully and enables
// guests unless changed by the test; maxTtl 3600, maxBor 60 for alice's group.
func policy() conversation.Policy {
	fed := sg.Defaults()
	fed.FederationMode, fed.GlobalFederation, fed.EnableGuestFederation = sg.FederationAll, true, true
	strict := fed
	strict.MaxTTL, strict.MaxBor = 3600, 60
	return conversation.Policy{
		Networks: map[string]conversation.NetworkPolicy{
			"11111111": {Region: "us-east-1", ReadReceipts: network.ReadReceiptsEnabled},
			"22222222": {Region: "us-east-1", ReadReceipts: network.ReadReceiptsEnabled},
			"33333333": {Region: "eu-west-2", ReadReceipts: network.ReadReceiptsDisabled},
		},
		Groups: map[string]sg.Settings{alice.Key(): strict, carol.Key(): fed, bob.Key(): fed, dave.Key(): fed},
	}
}

func with(p conversation.Policy, who conversation.Participant, f func(*sg.Settings)) conversation.Policy {
	g := p.Groups[who.Key()]
	f(&g)
	p.Groups[who.Key()] = g
	return p
}

func fold(t *testing.T, s conversation.State, c conversation.Command, at time.Time) conversation.State {
	t.Helper()
	evs, err := conversation.Decide(s, c, at)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		s = conversation.Evolve(s, e)
	}
	return s
}

func post(id string, from conversation.Participant, conv string, ttl, bor int64, p conversation.Policy) conversation.Post {
	return conversation.Post{MessageID: id, Sender: from, KeyID: from.NetworkID + "/" + conversation.KeyScope(conv, id) + "/2026-12-01",
		Sealed: []byte{1, 2, 3}, TTL: ttl, BOR: bor, Policy: p}
}

func dm(t *testing.T, a, b conversation.Participant, p conversation.Policy) conversation.State {
	return fold(t, conversation.Initial(), conversation.Create{ConversationID: conversation.DirectID(a, b), Kind: conversation.KindDirect, By: a,
		Members: []conversation.Participant{b}, Policy: p}, now)
}

func TestDirectMessagesAreOnePerPair(t *testing.T) {
	t.Parallel()
	s := dm(t, alice, carol, policy())
	if conversation.DirectID(alice, carol) != conversation.DirectID(carol, alice) {
		t.Fatal("the pair's id depends on who starts")
	}
	evs, err := conversation.Decide(s, conversation.Create{ConversationID: s.ID, Kind: conversation.KindDirect, By: carol,
		Members: []conversation.Participant{alice}, Policy: policy()}, now)
	if err != nil || len(evs) != 0 {
		t.Fatalf("again: %v %v", evs, err)
	}
	_, err = conversation.Decide(conversation.Initial(), conversation.Create{ConversationID: "x", Kind: conversation.KindDirect, By: alice,
		Members: []conversation.Participant{carol}, Policy: policy()}, now)
	if fieldOf(err) != "ConversationId" {
		t.Fatalf("a DM under another id: %v", err)
	}
}

func fieldOf(err error) string {
	if r := wickr.Reasons(err); len(r) > 0 {
		return r[0].Field
	}
	return ""
}

func TestFederation(t *testing.T) {
	t.Parallel()
	create := func(a, b conversation.Participant, p conversation.Policy) error {
		_, err := conversation.Decide(conversation.Initial(), conversation.Create{ConversationID: conversation.DirectID(a, b),
			Kind: conversation.KindDirect, By: a, Members: []conversation.Participant{b}, Policy: p}, now)
		return err
	}
	off := func(g *sg.Settings) { g.FederationMode = sg.FederationNone }
	restrictTo := func(id string) func(*sg.Settings) {
		return func(g *sg.Settings) { g.FederationMode, g.PermittedNetworks = sg.FederationRestricted, []string{id} }
	}
	cases := []struct {
		name string
		a, b conversation.Participant
		p    conversation.Policy
		want error
	}{
		{"one network", alice, carol, with(policy(), alice, off), nil},
		{"local federation on both sides", alice, bob, policy(), nil},
		{"local federation off on one side", alice, bob, with(policy(), bob, off), conversation.ErrNotFederated},
		{"restricted to the other network", alice, bob, with(policy(), bob, restrictTo("11111111")), nil},
		{"restricted to a third network", alice, bob, with(policy(), bob, restrictTo("33333333")), conversation.ErrNotFederated},
		{"across regions: global federation on both sides", alice, dave, policy(), nil},
		{"across regions without global federation", alice, dave, with(policy(), dave, func(g *sg.Settings) { g.GlobalFederation = false }), conversation.ErrNotFederated},
		{"restricted global federation, not permitted", alice, dave, with(policy(), alice, func(g *sg.Settings) { g.EnableRestrictedGlobalFederation = true }), conversation.ErrNotFederated},
		{"restricted global federation, permitted", alice, dave, with(policy(), alice, func(g *sg.Settings) {
			g.EnableRestrictedGlobalFederation, g.PermittedWickrAWSNetworks = true, []sg.AWSNetwork{{Region: "eu-west-2", NetworkID: "33333333"}}
		}), nil},
		{"a guest with guest federation", alice, guest, policy(), nil},
		{"a guest without guest federation", guest, alice, with(policy(), alice, func(g *sg.Settings) { g.EnableGuestFederation = false }), conversation.ErrNotFederated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := create(tc.a, tc.b, tc.p); tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}

func TestBlockedGuestIsRefusedBothWays(t *testing.T) {
	t.Parallel()
	s := dm(t, alice, guest, policy())
	p := policy()
	n := p.Networks[alice.NetworkID]
	n.BlockedGuests = map[string]bool{guest.GuestHash: true}
	p.Networks[alice.NetworkID] = n
	for _, from := range []conversation.Participant{alice, guest} {
		if _, err := conversation.Decide(s, post("m-"+from.Key(), from, s.ID, 0, 0, p), now); !errors.Is(err, conversation.ErrBlockedGuest) {
			t.Fatalf("from %s: %v", from.Key(), err)
		}
	}
	if _, err := conversation.Decide(s, post("m", guest, s.ID, 0, 0, policy()), now); err != nil {
		t.Fatalf("unblocked: %v", err)
	}
}

func TestTimers(t *testing.T) {
	t.Parallel()
	s := dm(t, alice, carol, policy())
	if _, err := conversation.Decide(s, post("m1", alice, s.ID, 3601, 0, policy()), now); fieldOf(err) != "Ttl" || !errors.Is(err, conversation.ErrTimer) {
		t.Fatalf("above maxTtl: %v", err)
	}
	if _, err := conversation.Decide(s, post("m1", alice, s.ID, 0, 61, policy()), now); fieldOf(err) != "Bor" {
		t.Fatalf("above maxBor: %v", err)
	}
	evs, err := conversation.Decide(s, post("m1", alice, s.ID, 0, 0, policy()), now)
	if err != nil || evs[0].(conversation.MessagePosted).TTL != 3600 {
		t.Fatalf("no timer takes the group's maxTtl: %v %v", evs, err)
	}
	if _, err := conversation.Decide(s, post("m1", bob, s.ID, 0, 0, policy()), now); !errors.Is(err, conversation.ErrNotMember) {
		t.Fatalf("a non-member: %v", err)
	}
	if _, err := conversation.Decide(s, post("m1", alice, "other", 0, 0, policy()), now); !errors.Is(err, conversation.ErrKey) {
		t.Fatalf("another message's key: %v", err)
	}

	// Expiry: gone at its deadline, destroyed only then.
	s = fold(t, s, post("m1", alice, s.ID, 10, 0, policy()), now)
	if evs, _ := conversation.Decide(s, conversation.Destroy{MessageIDs: []string{"m1"}}, now.Add(9*time.Second)); len(evs) != 0 {
		t.Fatalf("destroyed early: %v", evs)
	}
	evs, _ = conversation.Decide(s, conversation.Destroy{MessageIDs: []string{"m1"}}, now.Add(10*time.Second))
	if len(evs) != 1 || evs[0].(conversation.MessageDestroyed).Reason != conversation.ReasonExpired {
		t.Fatalf("expiry: %v", evs)
	}
	if _, err := conversation.Decide(s, conversation.MarkRead{Reader: carol, MessageIDs: []string{"m1"}, Policy: policy()}, now.Add(10*time.Second)); !errors.Is(err, conversation.ErrMessageNotFound) {
		t.Fatalf("reading an expired message: %v", err)
	}

	// Burn-on-read: the timer starts at the recipient's first read.
	s = fold(t, s, post("m2", alice, s.ID, 3600, 30, policy()), now)
	if evs, _ := conversation.Decide(s, conversation.Destroy{MessageIDs: []string{"m2"}}, now.Add(time.Hour-time.Second)); len(evs) != 0 {
		t.Fatal("burnt unread")
	}
	s = fold(t, s, conversation.MarkRead{Reader: carol, MessageIDs: []string{"m2"}, Policy: policy()}, now.Add(time.Minute))
	evs, _ = conversation.Decide(s, conversation.Destroy{MessageIDs: []string{"m2"}}, now.Add(time.Minute+30*time.Second))
	if len(evs) != 1 || evs[0].(conversation.MessageDestroyed).Reason != conversation.ReasonBurnt {
		t.Fatalf("burn: %v", evs)
	}
}

func TestReadReceipts(t *testing.T) {
	t.Parallel()
	read := func(s conversation.State, p conversation.Policy, wanted bool) []conversation.Event {
		s = fold(t, s, post("m", s.Messages["x"].Sender, s.ID, 0, 0, p), now)
		var reader conversation.Participant
		for _, m := range s.Members {
			if m != s.Messages["m"].Sender {
				reader = m
			}
		}
		evs, err := conversation.Decide(s, conversation.MarkRead{Reader: reader, MessageIDs: []string{"m"}, SendReceipt: wanted, Policy: p}, now)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	seed := func(a, b conversation.Participant) conversation.State {
		s := dm(t, a, b, policy())
		return fold(t, s, post("x", a, s.ID, 0, 0, policy()), now)
	}
	if evs := read(seed(bob, carol), policy(), true); len(evs) != 1 || !evs[0].(conversation.MessageRead).Receipt {
		t.Fatalf("both networks enabled: %v", evs)
	}
	if evs := read(seed(bob, carol), policy(), false); len(evs) != 0 {
		t.Fatalf("the reader's client declined: %v", evs)
	}
	forced := policy()
	forced.Networks["11111111"] = conversation.NetworkPolicy{Region: "us-east-1", ReadReceipts: network.ReadReceiptsForceEnabled}
	if evs := read(seed(bob, carol), forced, false); len(evs) != 1 {
		t.Fatalf("forced on the reader's network: %v", evs)
	}
	if evs := read(seed(dave, carol), policy(), true); len(evs) != 0 {
		t.Fatalf("the sender's network disables them: %v", evs)
	}
}

func TestAFileNamesItsBytesUnderTheMessagesOwnKey(t *testing.T) {
	t.Parallel()
	s := dm(t, alice, carol, policy())
	blob := "3f9a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f90"
	file := func(p conversation.Post, f conversation.Attachment) conversation.Post { p.Attachment = &f; return p }
	ok := conversation.Attachment{AttachmentID: "a1", KeyID: "msg/11111111/" + conversation.KeyScope(s.ID, "m1") + "/2026-12-01/k",
		Blob: blob, ContentType: "application/pdf", Size: 42}
	if _, err := conversation.Decide(s, file(post("m1", alice, s.ID, 0, 0, policy()), ok), now); err != nil {
		t.Fatalf("a complete file: %v", err)
	}
	for name, f := range map[string]conversation.Attachment{
		"metadata only":         {ContentType: "application/pdf", Size: 42},
		"another message's key": {AttachmentID: "a1", KeyID: "msg/11111111/" + conversation.KeyScope(s.ID, "m2") + "/2026-12-01/k", Blob: blob, ContentType: "text/plain", Size: 42},
		"a bad address":         {AttachmentID: "a1", KeyID: ok.KeyID, Blob: "../../etc/passwd", ContentType: "text/plain", Size: 42},
		"empty":                 {AttachmentID: "a1", KeyID: ok.KeyID, Blob: blob, ContentType: "text/plain"},
		"over 5 GB":             {AttachmentID: "a1", KeyID: ok.KeyID, Blob: blob, ContentType: "text/plain", Size: conversation.MaxFileSize + 1},
	} {
		if _, err := conversation.Decide(s, file(post("m1", alice, s.ID, 0, 0, policy()), f), now); len(wickr.Reasons(err)) == 0 {
			t.Errorf("%s: %v, want a field error", name, err)
		}
	}
	noFiles := with(policy(), alice, func(g *sg.Settings) { g.FilesEnabled = false })
	if _, err := conversation.Decide(s, file(post("m1", alice, s.ID, 0, 0, noFiles), ok), now); !errors.Is(err, conversation.ErrFiles) {
		t.Fatalf("files disabled: %v", err)
	}
}
