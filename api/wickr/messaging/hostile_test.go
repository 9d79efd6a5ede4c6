package messaging_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// TestARefusedPostSealsAndStoresNothing: a post its sender's group refuses (a timer above maxTtl or
// maxBor, a file where files are off) or that reaches a blocked guest is refused before a key is
// made (each key writes the data-key tables and the keyring, and a refused post's key was only
// destroyed after) and, for a file, before a byte of the body is read and stored.
func TestARefusedPostSealsAndStoresNothing(t *testing.T) {
	ctx := context.Background()
	g := sg.Defaults()
	g.MaxTTL, g.MaxBor, g.FilesEnabled, g.EnableFileDownload, g.MaxAutoDownloadSize = 3600, 60, false, true, sg.DownloadHighQuality
	g.FederationMode, g.EnableGuestFederation = sg.FederationAll, true
	gus := guestOf("gus@example.org")
	w := newWorld(t, g, []string{"1", "2"}, []string{gus.GuestHash})
	alice, carol := user("1"), user("2")
	dm, err := w.svc.Create(ctx, alice, conversation.KindDirect, "", []conversation.Participant{carol.Participant()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		d     messaging.Draft
		field string
	}{
		{"Ttl above maxTtl", messaging.Draft{Text: "x", TTL: 3601}, "Ttl"},
		{"Bor above maxBor", messaging.Draft{Text: "x", BOR: 61}, "Bor"},
		{"Ttl past the server's bound", messaging.Draft{Text: "x", TTL: 1 << 62}, "Ttl"},
	} {
		if _, err := w.svc.Post(ctx, alice, dm.ID, c.d); !errors.Is(err, conversation.ErrTimer) {
			t.Errorf("%s: %v, want ErrTimer", c.name, err)
		}
		if made, _ := w.keys.count(); made != 0 {
			t.Errorf("%s: %d keys made for a refused post", c.name, made)
		}
	}
	body := strings.NewReader(strings.Repeat("%PDF", 1000))
	if _, err := w.svc.Files().PostFile(ctx, alice, dm.ID, messaging.Draft{}, messaging.Upload{Name: "a.pdf", ContentType: "application/pdf"}, body); !errors.Is(err, conversation.ErrFiles) {
		t.Fatalf("a file where files are off: %v, want ErrFiles", err)
	}
	if _, err := w.svc.Files().PostFile(ctx, alice, dm.ID, messaging.Draft{TTL: 3601}, messaging.Upload{Name: "a.pdf", ContentType: "application/pdf"}, body); !errors.Is(err, conversation.ErrTimer) {
		t.Fatalf("a file with a timer above maxTtl: %v, want ErrTimer", err)
	}
	if puts, read := w.blobs.count(); puts != 0 || read != 0 {
		t.Fatalf("refused files were stored: %d uploads, %d bytes read", puts, read)
	}

	// A guest its network blocked: refused before a key is made.
	gdm, err := w.svc.Create(ctx, gus, conversation.KindDirect, "", []conversation.Participant{alice.Participant()})
	if err != nil {
		t.Fatal(err)
	}
	st := w.networks.State(network.StreamName(nid))
	st.BlockedGuests[gus.GuestHash] = network.BlockedGuest{}
	if _, err := w.svc.Post(ctx, gus, gdm.ID, messaging.Draft{Text: "hi"}); !errors.Is(err, conversation.ErrBlockedGuest) {
		t.Fatalf("a blocked guest posts: %v", err)
	}
	if made, _ := w.keys.count(); made != 0 {
		t.Fatalf("%d keys made for refused posts", made)
	}

	// A good post seals its one key.
	if _, err := w.svc.Post(ctx, alice, dm.ID, messaging.Draft{Text: "hello", TTL: 60}); err != nil {
		t.Fatal(err)
	}
	if made, destroyed := w.keys.count(); made != 1 || destroyed != 0 {
		t.Fatalf("a good post: %d keys made, %d destroyed", made, destroyed)
	}
}

// TestToANonMemberAConversationDoesNotExist: a direct message's id derives from its pair, so anyone
// can name the one of any two users; every call of a user that is not a member — read, list
// messages, post, post a file, mark read, add members, leave, moderate — answers what it answers for
// a conversation never created (404, the same words but for the id), never 403, a 204 or a rule of
// the conversation's kind, which would tell who talks with whom.
func TestToANonMemberAConversationDoesNotExist(t *testing.T) {
	ctx := context.Background()
	g := sg.Defaults()
	g.FilesEnabled = true
	w := newWorld(t, g, []string{"1", "2", "3", "4"}, nil)
	alice, carol, eve := user("1"), user("2"), user("3")
	dm, err := w.svc.Create(ctx, alice, conversation.KindDirect, "", []conversation.Participant{carol.Participant()})
	if err != nil {
		t.Fatal(err)
	}
	posted, err := w.svc.Post(ctx, alice, dm.ID, messaging.Draft{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	madeUp := conversation.DirectID(carol.Participant(), user("4").Participant())
	calls := map[string]func(id string) error{
		"get":      func(id string) error { _, err := w.svc.Get(ctx, eve, id); return err },
		"messages": func(id string) error { _, _, err := w.svc.Messages(ctx, eve, id, 0, 10); return err },
		"post":     func(id string) error { _, err := w.svc.Post(ctx, eve, id, messaging.Draft{Text: "hello?"}); return err },
		"file": func(id string) error {
			_, err := w.svc.Files().PostFile(ctx, eve, id, messaging.Draft{}, messaging.Upload{Name: "a.txt", ContentType: "text/plain"}, strings.NewReader("x"))
			return err
		},
		"read": func(id string) error { return w.svc.MarkRead(ctx, eve, id, []string{posted.MessageID}, true) },
		"add": func(id string) error {
			_, err := w.svc.AddMembers(ctx, eve, id, []conversation.Participant{eve.Participant()})
			return err
		},
		"leave": func(id string) error { return w.svc.Leave(ctx, eve, id) },
		"promote": func(id string) error {
			_, err := messaging.Moderate(w.svc).Promote(ctx, eve, id, alice.Participant())
			return err
		},
		"remove": func(id string) error {
			_, err := messaging.Moderate(w.svc).Remove(ctx, eve, id, alice.Participant())
			return err
		},
	}
	for name, call := range calls {
		got, none := call(dm.ID), call(madeUp)
		if got == nil || none == nil || domain.KindOf(got) != domain.KindNotFound ||
			strings.ReplaceAll(got.Error(), dm.ID, "<id>") != strings.ReplaceAll(none.Error(), madeUp, "<id>") {
			t.Errorf("%s by a non-member: %v, want what a made-up conversation gets: %v", name, got, none)
		}
	}
	if made, _ := w.keys.count(); made != 1 {
		t.Fatalf("%d keys made: the non-member's posts sealed something", made)
	}
}
