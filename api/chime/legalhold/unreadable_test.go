package legalhold_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/legalhold"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
)

// damaged opens every sealed content but "garbled" (its bytes are damaged: datakeys answers
// domain.ErrUnreadable), and has one attachment per message whose metadata does not open either.
type damaged struct{ plain }

func (damaged) Open(_ context.Context, _ string, sealed []byte) ([]byte, error) {
	if string(sealed) == "garbled" {
		return nil, fmt.Errorf("datakeys: open: %w: cipher: message authentication failed", domain.ErrUnreadable)
	}
	return sealed, nil
}

func (damaged) ForMessages(_ context.Context, ids []string) (map[string][]attachment.Stored, error) {
	out := map[string][]attachment.Stored{}
	for _, id := range ids {
		out[id] = []attachment.Stored{{AttachmentID: "att-" + id, Blob: "blob-" + id, KeyID: "k", Size: 4}}
	}
	return out, nil
}

func (damaged) Meta(_ context.Context, a attachment.Stored) (attachment.Meta, error) {
	if a.AttachmentID == "att-m2" {
		return attachment.Meta{}, fmt.Errorf("blobstore: metadata of %s: %w", a.AttachmentID, domain.ErrUnreadable)
	}
	return attachment.Meta{Name: a.AttachmentID + ".txt", SHA256: "00"}, nil
}

// TestExportGoesPastUnreadableContent: a message whose content does not open under its live key (its
// bytes are damaged), or whose attachment's metadata does not, is written as "unreadable" with why,
// and the export goes on with the messages after it, instead of failing there on every run.
func TestExportGoesPastUnreadableContent(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	src := source{all: []key{
		{at: t0, container: "r", message: "m1", text: "before", isRoom: true},
		{at: t0.Add(time.Second), container: "r", message: "m2", text: "with a damaged attachment", isRoom: true},
		{at: t0.Add(2 * time.Second), container: "c", message: "m3", text: "garbled"},
		{at: t0.Add(3 * time.Second), container: "r", message: "m4", text: "after", isRoom: true},
	}}
	x := legalhold.New(legalhold.Deps{Rooms: rooms{src}, Conversations: convs{src}, Accounts: plain{}, Keys: damaged{}, Attachments: damaged{}})
	var buf bytes.Buffer
	q := legalhold.Query{AccountID: "a", From: t0, To: t0.Add(time.Minute)}
	p, err := x.Run(context.Background(), q, legalhold.Cursor{}, &buf, nil)
	if err != nil || p.Messages != 4 {
		t.Fatalf("export past damaged content: %d messages, %v", p.Messages, err)
	}
	var got []legalhold.Message
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m legalhold.Message
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if m := got[2]; m.MessageID != "m3" || m.State != "unreadable" || m.Content != nil || !strings.Contains(m.Unreadable, "authentication") {
		t.Fatalf("the garbled message: %+v", m)
	}
	if a := got[1].Attachments; got[1].State != "live" || len(a) != 1 || a[0].State != "unreadable" || a[0].Name != "" {
		t.Fatalf("the message with a damaged attachment: %+v", got[1])
	}
	if got[3].Content == nil || *got[3].Content != "after" || got[3].State != "live" {
		t.Fatalf("the message after them: %+v", got[3])
	}
}
