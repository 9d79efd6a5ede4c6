package dataexports_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/dataexports"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
)

// damagedBlobs is blobs where the metadata of attachment "damaged" does not open under its key.
type damagedBlobs struct{ blobs }

func (b damagedBlobs) Meta(ctx context.Context, a attachment.Stored) (attachment.Meta, error) {
	if a.AttachmentID == "damaged" {
		return attachment.Meta{}, fmt.Errorf("blobstore: metadata of %s: %w", a.AttachmentID, domain.ErrUnreadable)
	}
	return b.blobs.Meta(ctx, a)
}

// TestExportGoesPastADamagedAttachment: an attachment whose metadata does not open under its key (its
// bytes damaged: the same on every try) is left out of the listing, and the export is Ready with the
// others at once, instead of failing on it every minute for 24 hours and then failing whole.
func TestExportGoesPastADamagedAttachment(t *testing.T) {
	ctx := context.Background()
	x := &exports{}
	b := damagedBlobs{blobs{all: []attachment.Stored{stored("before", "live"), stored("damaged", "live"), stored("after", "live")}}}
	s := dataexports.New(dataexports.Deps{Accounts: accounts{}, Exports: x, Blobs: b, Rooms: rooms{owner: map[string]string{"live": "a"}},
		Conversations: noConversations{}, Retention: noRetention{}, Signer: signer{},
		PublicURL: func() string { return "https://belfry.example" }, Now: func() time.Time { return t0.Add(time.Hour) }})
	if _, err := s.Start(ctx, "aws", "a", "", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := s.ProduceAll(ctx); err != nil {
		t.Fatalf("an export with a damaged attachment: %v", err)
	}
	l := x.listing.String()
	if x.e.Status != attachment.ExportReady || x.e.Attachments != 2 || !strings.Contains(l, "/before?") || !strings.Contains(l, "/after?") ||
		strings.Contains(l, "damaged") {
		t.Fatalf("export %s with %d attachments:\n%s", x.e.Status, x.e.Attachments, l)
	}
}
