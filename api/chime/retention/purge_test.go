package retention_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	retentionapi "github.com/belfry/belfry/api/chime/retention"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/retention"
)

// The purge's collaborators, in memory: one account "a" with room "r", whose messages and chat-feed
// rows are times, and one period key per day.

type policies map[string]retention.Policy

func (p policies) Policies(_ context.Context, id string) (map[string]retention.Policy, error) {
	if id == "" {
		return p, nil
	}
	return map[string]retention.Policy{id: p[id]}, nil
}

type keys struct{ live map[string]time.Time } // period id → its day

func (k *keys) LivePeriods(_ context.Context, _, _ string, before time.Time) ([]string, error) {
	var out []string
	for id, day := range k.live {
		if day.Before(before) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (k *keys) DestroyPeriods(_ context.Context, ids []string) ([]string, []time.Time, error) {
	var scopes []string
	var days []time.Time
	for _, id := range ids {
		scopes, days = append(scopes, "room/r"), append(days, k.live[id])
		delete(k.live, id)
	}
	return scopes, days, nil
}

func (*keys) DestroyScope(context.Context, string, string) error             { return nil }
func (*keys) LiveScopes(context.Context, string, []string) ([]string, error) { return nil, nil }
func (*keys) DestroyScopeDaysBefore(context.Context, []string, []time.Time) (int, []error, error) {
	return 0, nil, nil
}
func (*keys) ClearDestroyed(context.Context, int) (int64, bool, error) { return 0, false, nil }
func (*keys) Sweep(context.Context) error                              { return nil }

// deleteBefore deletes up to limit of the times before before.
func deleteBefore(list *[]time.Time, before time.Time, limit int) int64 {
	var keep []time.Time
	n := int64(0)
	for _, t := range *list {
		if t.Before(before) && n < int64(limit) {
			n++
			continue
		}
		keep = append(keep, t)
	}
	*list = keep
	return n
}

type messages struct{ rows []time.Time }

func (m *messages) CountMessagesBefore(_ context.Context, _ string, before time.Time) (int64, error) {
	n := int64(0)
	for _, t := range m.rows {
		if t.Before(before) {
			n++
		}
	}
	return n, nil
}

func (m *messages) DeleteMessagesBefore(_ context.Context, _ string, before time.Time, limit int) (int64, error) {
	return deleteBefore(&m.rows, before, limit), nil
}

func (m *messages) DeleteRoomDays(_ context.Context, _ []string, days []time.Time, limit int) (int64, error) {
	n := int64(0)
	for _, d := range days {
		var keep []time.Time
		for _, t := range m.rows {
			if !t.Before(d) && t.Before(d.Add(24*time.Hour)) && n < int64(limit) {
				n++
				continue
			}
			keep = append(keep, t)
		}
		m.rows = keep
	}
	return n, nil
}

func (*messages) DeletedRooms(context.Context) (map[string][]string, error) { return nil, nil }
func (*messages) AccountRoomIDs(context.Context, string) ([]string, error) {
	return []string{"r"}, nil
}

// feed is the conversations read model's chat feed of room "r"; fail makes its next deletion fail.
type feed struct {
	rows []time.Time
	fail error
}

func (*feed) ConversationAccounts(context.Context, string, int) ([]string, [][]string, error) {
	return nil, nil, nil
}
func (*feed) CountMessagesBefore(context.Context, []string, []time.Time) (int64, int, error) {
	return 0, 0, nil
}
func (*feed) DeleteMessagesBefore(context.Context, []string, []time.Time, int) (int64, error) {
	return 0, nil
}

func (f *feed) DeleteFeedBefore(_ context.Context, _ string, before time.Time, limit int) (int64, error) {
	if err := f.fail; err != nil {
		f.fail = nil
		return 0, err
	}
	return deleteBefore(&f.rows, before, limit), nil
}

type noEnterprise struct{}

func (noEnterprise) EnterpriseAccounts(context.Context) (map[string]bool, error) { return nil, nil }

// purgeFixture is account "a" with one-day room retention set 40 days before now, and three messages
// (with their feed rows) ten days old: due, past the grace.
func purgeFixture(now time.Time) (policies, *keys, *messages, *feed) {
	old := now.Add(-10 * 24 * time.Hour)
	day := old.Truncate(24 * time.Hour)
	p := policies{"a": {{At: now.Add(-40 * 24 * time.Hour), Settings: retention.Settings{RoomDays: 1}}}}
	rows := []time.Time{old, old.Add(time.Minute), old.Add(2 * time.Minute)}
	return p, &keys{live: map[string]time.Time{"p1": day}}, &messages{rows: rows}, &feed{rows: append([]time.Time(nil), rows...)}
}

// TestPurgeResumesTheRoomFeed: a purge interrupted while it deletes the chat-feed rows about a
// room's purged messages (after their keys and rows went) finishes them on the next run, as every
// other step; the feed rows would otherwise tell forever who posted when.
func TestPurgeResumesTheRoomFeed(t *testing.T) {
	now := time.Date(2027, 3, 1, 15, 0, 0, 0, time.UTC)
	p, k, m, f := purgeFixture(now)
	f.fail = context.Canceled
	purger := retentionapi.NewPurger(retentionapi.PurgeDeps{Policies: p, Keys: k, Messages: m, Conversations: f, Enterprise: noEnterprise{},
		Now: func() time.Time { return now }})
	if _, err := purger.Run(context.Background(), false, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("the interrupted run: %v", err)
	}
	if len(k.live) != 0 || len(m.rows) != 0 || len(f.rows) != 3 {
		t.Fatalf("after the interrupted run: %d keys, %d rows, %d feed rows", len(k.live), len(m.rows), len(f.rows))
	}
	if _, err := purger.Run(context.Background(), false, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.rows) != 0 {
		t.Fatalf("the rerun left %d feed rows about purged messages", len(f.rows))
	}
}

// TestPurgeWithoutConversations: Conversations is optional (PurgeDeps): a purge without it purges
// the rooms all the same.
func TestPurgeWithoutConversations(t *testing.T) {
	now := time.Date(2027, 3, 1, 15, 0, 0, 0, time.UTC)
	p, k, m, _ := purgeFixture(now)
	purger := retentionapi.NewPurger(retentionapi.PurgeDeps{Policies: p, Keys: k, Messages: m, Now: func() time.Time { return now }})
	r, err := purger.Run(context.Background(), false, nil)
	if err != nil || r.Purged != 3 || len(k.live) != 0 || len(m.rows) != 0 {
		t.Fatalf("a purge without the conversations read model: %+v %v", r, err)
	}
}

// convKeys destroys conversations' day keys, except those of conversation "bad" (a day key that does
// not unwrap, say): a call that names it fails, and destroys nothing.
type convKeys struct {
	keys
	destroyed map[string]bool
	damagedC3 bool // conversation c3 has a kept day key that does not open: it is named, and destroyed past
}

func (k *convKeys) DestroyScopeDaysBefore(_ context.Context, scopes []string, _ []time.Time) (int, []error, error) {
	for _, sc := range scopes {
		if sc == "conversation/bad" {
			return 0, nil, errors.New("datakeys: the day key of conversation/bad does not open")
		}
	}
	var damaged []error
	for _, sc := range scopes {
		k.destroyed[sc] = true
		if sc == "conversation/c3" && k.damagedC3 {
			damaged = append(damaged, fmt.Errorf("day key day/e/conversation/c3/2027-02-27: %w", domain.ErrUnreadable))
		}
	}
	return len(scopes), damaged, nil
}

// convRows are the conversations' messages (one old one each), all of account "e"'s members.
type convRows struct {
	feed
	rows map[string]time.Time
}

func (c *convRows) ConversationAccounts(_ context.Context, after string, limit int) ([]string, [][]string, error) {
	var ids []string
	var accounts [][]string
	for _, id := range []string{"c1", "bad", "c3"} {
		if id > after && len(ids) < limit {
			ids, accounts = append(ids, id), append(accounts, []string{"e"})
		}
	}
	return ids, accounts, nil
}

func (c *convRows) CountMessagesBefore(_ context.Context, ids []string, befores []time.Time) (int64, int, error) {
	n := 0
	for i, id := range ids {
		if t, ok := c.rows[id]; ok && t.Before(befores[i]) {
			n++
		}
	}
	return int64(n), n, nil
}

func (c *convRows) DeleteMessagesBefore(_ context.Context, ids []string, befores []time.Time, _ int) (int64, error) {
	n := int64(0)
	for i, id := range ids {
		if t, ok := c.rows[id]; ok && t.Before(befores[i]) {
			delete(c.rows, id)
			n++
		}
	}
	return n, nil
}

type enterprise struct{}

func (enterprise) EnterpriseAccounts(context.Context) (map[string]bool, error) {
	return map[string]bool{"e": true}, nil
}

// TestPurgeConversationsPastOneThatFails: a conversation whose keys cannot be destroyed does not hold
// back the others (in its page or after it): they are purged, its error is reported, and its rows,
// whose keys live, stay until a run destroys them.
func TestPurgeConversationsPastOneThatFails(t *testing.T) {
	now := time.Date(2027, 3, 1, 15, 0, 0, 0, time.UTC)
	old := now.Add(-10 * 24 * time.Hour)
	p := policies{"e": {{At: now.Add(-40 * 24 * time.Hour), Settings: retention.Settings{ConversationDays: 1}}}}
	k := &convKeys{destroyed: map[string]bool{}}
	c := &convRows{rows: map[string]time.Time{"c1": old, "bad": old, "c3": old}}
	purger := retentionapi.NewPurger(retentionapi.PurgeDeps{Policies: p, Keys: k, Messages: &messages{}, Conversations: c, Enterprise: enterprise{},
		Now: func() time.Time { return now }})
	r, err := purger.Run(context.Background(), false, nil)
	if err == nil || len(r.Errors) == 0 {
		t.Fatalf("the failing conversation is not reported: %+v", r)
	}
	if !k.destroyed["conversation/c1"] || !k.destroyed["conversation/c3"] || len(c.rows) != 1 || c.rows["bad"].IsZero() || r.Purged != 2 {
		t.Fatalf("one conversation held back the others: keys destroyed %v, rows left %v, purged %d", k.destroyed, c.rows, r.Purged)
	}
}

// TestPurgeConversationsPastADamagedKey: a conversation with a kept day key that does not open (the
// key store went past it, destroying its due days) is purged like the others — its rows go, the run
// has no error — and the damaged key is named once in the report, though the page met it twice (it
// was retried one conversation at a time after "bad" failed).
func TestPurgeConversationsPastADamagedKey(t *testing.T) {
	now := time.Date(2027, 3, 1, 15, 0, 0, 0, time.UTC)
	old := now.Add(-10 * 24 * time.Hour)
	p := policies{"e": {{At: now.Add(-40 * 24 * time.Hour), Settings: retention.Settings{ConversationDays: 1}}}}
	k := &convKeys{destroyed: map[string]bool{}, damagedC3: true}
	c := &convRows{rows: map[string]time.Time{"c1": old, "c3": old}}
	purger := retentionapi.NewPurger(retentionapi.PurgeDeps{Policies: p, Keys: k, Messages: &messages{}, Conversations: c, Enterprise: enterprise{},
		Now: func() time.Time { return now }})
	r, err := purger.Run(context.Background(), false, nil)
	if len(r.DamagedKeys) != 1 || !strings.Contains(r.DamagedKeys[0], "day/e/conversation/c3/") {
		t.Fatalf("the damaged key is not reported once: %q", r.DamagedKeys)
	}
	if !k.destroyed["conversation/c3"] || c.rows["c3"] != (time.Time{}) || c.rows["c1"] != (time.Time{}) {
		t.Fatalf("the conversation with a damaged key, or another, was held back: keys %v, rows left %v", k.destroyed, c.rows)
	}
	if err == nil || len(r.Errors) == 0 || strings.Contains(strings.Join(r.Errors, "\n"), "c3") {
		t.Fatalf("only conversation bad is an error: %v %q", err, r.Errors)
	}
}

// chunkKeys records the size of each DestroyPeriods call.
type chunkKeys struct {
	keys
	calls []int
}

func (k *chunkKeys) DestroyPeriods(ctx context.Context, ids []string) ([]string, []time.Time, error) {
	k.calls = append(k.calls, len(ids))
	return k.keys.DestroyPeriods(ctx, ids)
}

// TestAFirstPurgeDestroysItsPeriodsInChunks: a first purge over a long history destroys its periods a
// chunk at a time (what it holds is bounded by a chunk's rooms and days), and destroys them all.
func TestAFirstPurgeDestroysItsPeriodsInChunks(t *testing.T) {
	now := time.Date(2027, 3, 1, 15, 0, 0, 0, time.UTC)
	p, _, m, _ := purgeFixture(now)
	k := &chunkKeys{keys: keys{live: map[string]time.Time{}}}
	for d := range 400 {
		k.live[fmt.Sprintf("p%d", d)] = now.Add(-time.Duration(d+2) * 24 * time.Hour).Truncate(24 * time.Hour)
	}
	purger := retentionapi.NewPurger(retentionapi.PurgeDeps{Policies: p, Keys: k, Messages: m, Now: func() time.Time { return now }})
	r, err := purger.Run(context.Background(), false, nil)
	if err != nil || r.PeriodsDestroyed != 400 || len(k.live) != 0 || len(m.rows) != 0 {
		t.Fatalf("purge: %+v %v; %d periods left", r, err, len(k.live))
	}
	if len(k.calls) < 400/31 || slices.Max(k.calls) > 31 {
		t.Fatalf("DestroyPeriods calls of %v periods, want chunks of at most 31", k.calls)
	}
}
