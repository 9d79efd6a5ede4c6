package legalhold_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/legalhold"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/projections/chimeconversations"
	"github.com/belfry/belfry/projections/chimerooms"
)

// The read models' ordering contract, over slices: this test is about the merge of the two.
type key struct {
	at        time.Time
	container string
	message   string
	text      string
	isRoom    bool
}

func after(k key, at time.Time, c, m string) bool {
	if !k.at.Equal(at) {
		return k.at.After(at)
	}
	if k.container != c {
		return k.container > c
	}
	return k.message > m
}

type source struct{ all []key }

func (s source) pick(room bool, from, to, at time.Time, c, m string, limit int) []key {
	var out []key
	for _, k := range s.all {
		if k.isRoom == room && !k.at.Before(from) && k.at.Before(to) && after(k, at, c, m) && len(out) < limit {
			out = append(out, k)
		}
	}
	return out
}

type rooms struct{ source }

func (rooms) AccountRoomIDs(context.Context, string) ([]string, error) { return []string{"r"}, nil }
func (r rooms) MessagesBetween(_ context.Context, _ []string, from, to, at time.Time, c, m string, limit int) ([]chimerooms.Message, error) {
	var out []chimerooms.Message
	for _, k := range r.pick(true, from, to, at, c, m, limit) {
		out = append(out, chimerooms.Message{RoomID: k.container, MessageID: k.message, KeyID: "k", Sealed: []byte(k.text), CreatedAt: k.at})
	}
	return out, nil
}

type convs struct{ source }

func (convs) AccountConversationIDs(context.Context, string) ([]string, error) {
	return []string{"c"}, nil
}
func (convs) UserContainerIDs(context.Context, string) ([]string, error) { return nil, nil }
func (cv convs) MessagesBetween(_ context.Context, _ []string, from, to, at time.Time, c, m string, limit int) ([]chimeconversations.Message, error) {
	var out []chimeconversations.Message
	for _, k := range cv.pick(false, from, to, at, c, m, limit) {
		out = append(out, chimeconversations.Message{ConversationID: k.container, MessageID: k.message, KeyID: "k", Sealed: []byte(k.text), CreatedAt: k.at})
	}
	return out, nil
}

type plain struct{}

func (plain) Open(_ context.Context, _ string, sealed []byte) ([]byte, error) { return sealed, nil }
func (plain) AccountKnown(context.Context, string) (bool, error)              { return true, nil }
func (plain) UserKnown(context.Context, string, string) (bool, error)         { return true, nil }
func (plain) ForMessages(context.Context, []string) (map[string][]attachment.Stored, error) {
	return nil, nil
}
func (plain) Meta(context.Context, attachment.Stored) (attachment.Meta, error) {
	return attachment.Meta{}, nil
}

// TestMergeOrder: whatever the page size, the lines come out in (createdAt, containerId, messageId)
// order, each once, ties across the two read models included.
func TestMergeOrder(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var all []key
	for i := range 40 {
		at := t0.Add(time.Duration(i/3) * time.Second) // three messages share each instant
		room := i%2 == 0
		c := "c"
		if room {
			c = "r"
		}
		all = append(all, key{at: at, container: c, message: fmt.Sprintf("m%02d", i), text: fmt.Sprint(i), isRoom: room})
	}
	var want []string
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b key) int {
		if a.at.Equal(b.at) {
			return strings.Compare(a.container+a.message, b.container+b.message)
		}
		return a.at.Compare(b.at)
	})
	for _, k := range sorted {
		if k.at.Before(t0.Add(12 * time.Second)) {
			want = append(want, k.message)
		}
	}
	src := source{all: all}
	for _, page := range []int{1, 2, 3, 7, 500} {
		x := legalhold.New(legalhold.Deps{Rooms: rooms{src}, Conversations: convs{src}, Accounts: plain{}, Keys: plain{}, Attachments: plain{}, Page: page})
		var buf bytes.Buffer
		q := legalhold.Query{AccountID: "a", From: t0, To: t0.Add(12 * time.Second)}
		if _, err := x.Run(context.Background(), q, legalhold.Cursor{}, &buf, nil); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m legalhold.Message
			_ = json.Unmarshal([]byte(l), &m)
			got = append(got, m.MessageID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("page %d:\n got %v\nwant %v", page, got, want)
		}
	}
}
