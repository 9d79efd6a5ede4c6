package messaging_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/belfry/belfry/api/wickr/messaging"
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
