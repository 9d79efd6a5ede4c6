package dataexports_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/dataexports"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/chime/retention"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// In memory: account "a" has room "live" and room "gone", deleted, whose keys are still there (the
// deletion's key destruction failed; the purge has not run yet). Each room has one attachment.

type accounts struct{}

func (accounts) Get(context.Context, string, string) (chimeaccounts.Account, error) {
	return chimeaccounts.Account{}, nil
}
func (accounts) GetUser(context.Context, string, string, string) (chimeaccounts.User, error) {
	return chimeaccounts.User{}, nil
}

type exports struct {
	e       attachment.Export
	listing bytes.Buffer
}

func (x *exports) StartExport(_ context.Context, e attachment.Export, _ time.Time) (attachment.Export, bool, error) {
	e.ExportID, e.Status = "00000000-0000-4000-8000-000000000001", attachment.ExportRunning
	x.e = e
	return e, true, nil
}
func (x *exports) Exports(context.Context, string, int) ([]attachment.Export, error) {
	return []attachment.Export{x.e}, nil
}
func (x *exports) GetExport(context.Context, string) (attachment.Export, error) { return x.e, nil }
func (x *exports) RunningExports(context.Context) ([]attachment.Export, error) {
	if x.e.Status != attachment.ExportRunning {
		return nil, nil
	}
	return []attachment.Export{x.e}, nil
}
func (x *exports) FinishExport(_ context.Context, e attachment.Export) error { x.e = e; return nil }
func (x *exports) WriteListing(_ string, write func(w io.Writer) error) error {
	x.listing.Reset()
	return write(&x.listing)
}
func (x *exports) OpenListing(string) (io.ReadCloser, int64, error) {
	return io.NopCloser(bytes.NewReader(x.listing.Bytes())), int64(x.listing.Len()), nil
}

var t0 = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

func stored(id, room string) attachment.Stored {
	return attachment.Stored{AttachmentID: id, AccountID: "a", Container: "room", ContainerID: room, MessageID: "m-" + id, UploaderID: "u",
		KeyID: "k-" + id, ContentType: "text/plain", Size: 4, CreatedAt: t0}
}

type blobs struct{ all []attachment.Stored }

func (b blobs) AccountAttachments(_ context.Context, _, _ string, after *attachment.Stored, _ int) ([]attachment.Stored, error) {
	if after != nil {
		return nil, nil
	}
	return b.all, nil
}
func (b blobs) Find(_ context.Context, id string) (attachment.Stored, error) {
	for _, a := range b.all {
		if a.AttachmentID == id {
			return a, nil
		}
	}
	return attachment.Stored{}, attachment.ErrGone
}
func (blobs) Meta(_ context.Context, a attachment.Stored) (attachment.Meta, error) {
	return attachment.Meta{Name: a.AttachmentID + ".txt"}, nil
}
func (blobs) Open(context.Context, attachment.Stored) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("data")), nil
}

// rooms is the rooms read model: RoomAccounts answers deleted rooms too (its contract);
// LiveRoomAccounts only the rooms that are not deleted.
type rooms struct{ owner, deleted map[string]string }

func (r rooms) RoomAccounts(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if a, ok := r.owner[id]; ok {
			out[id] = a
		} else if a, ok := r.deleted[id]; ok {
			out[id] = a
		}
	}
	return out, nil
}
func (r rooms) LiveRoomAccounts(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if a, ok := r.owner[id]; ok {
			out[id] = a
		}
	}
	return out, nil
}

type noConversations struct{}

func (noConversations) MemberAccounts(context.Context, []string) (map[string][]string, error) {
	return nil, nil
}

type noRetention struct{}

func (noRetention) HideBefore(context.Context, string, retention.Class) (time.Time, bool, error) {
	return time.Time{}, false, nil
}
func (noRetention) ConversationHideBefore(context.Context, []string) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

type signer struct{}

func (signer) Sign(p string) string           { return url.QueryEscape(p) }
func (signer) Verify(p string, s string) bool { return url.QueryEscape(p) == s }

// TestExportLeavesOutDeletedRooms: a deleted room's messages are gone for good (guide §4.8), even
// while its keys outlive the deletion (a failed destruction the next purge finishes): its
// attachments are neither listed by an export nor served by a URL of one.
func TestExportLeavesOutDeletedRooms(t *testing.T) {
	ctx := context.Background()
	x := &exports{}
	b := blobs{all: []attachment.Stored{stored("in-live", "live"), stored("in-gone", "gone")}}
	s := dataexports.New(dataexports.Deps{Accounts: accounts{}, Exports: x, Blobs: b, Rooms: rooms{owner: map[string]string{"live": "a"},
		deleted: map[string]string{"gone": "a"}}, Conversations: noConversations{}, Retention: noRetention{}, Signer: signer{},
		PublicURL: func() string { return "https://belfry.example" }, Now: func() time.Time { return t0.Add(time.Hour) }})
	if _, err := s.Start(ctx, "aws", "a", "", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := s.ProduceAll(ctx); err != nil {
		t.Fatal(err)
	}
	if x.e.Attachments != 1 || strings.Contains(x.listing.String(), "in-gone") {
		t.Fatalf("an export lists a deleted room's attachment (%d attachments):\n%s", x.e.Attachments, x.listing.String())
	}
	// A URL of the deleted room's attachment, signed as the export signs them, is refused too.
	expires := strings.TrimSpace(strings.Split(strings.Split(x.listing.String(), "Expires=")[1], "&")[0])
	sig := signer{}.Sign("chime-export-attachment\n" + x.e.ExportID + "\nin-gone\n" + expires)
	_, _, r, err := s.Download(ctx, x.e.ExportID, "in-gone", expires, sig)
	if r != nil {
		r.Close()
	}
	if !errors.Is(err, attachment.ErrGone) {
		t.Fatalf("a deleted room's attachment is served: %v", err)
	}
	if _, _, r, err := s.Download(ctx, x.e.ExportID, "in-live", expires, signer{}.Sign("chime-export-attachment\n"+x.e.ExportID+"\nin-live\n"+expires)); err != nil {
		t.Fatalf("a live room's attachment: %v", err)
	} else {
		r.Close()
	}
}
