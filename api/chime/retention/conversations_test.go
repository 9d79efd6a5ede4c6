package retention_test

import (
	"testing"
	"time"

	retentionapi "github.com/belfry/belfry/api/chime/retention"
	"github.com/belfry/belfry/domain/chime/retention"
)

// TestConversationCutoff follows the guide's §4.7.1 tables: an Enterprise account's own
// conversations take its setting after the 30-day grace; one across accounts with an Enterprise
// member takes 90 days; one without an Enterprise member takes none.
func TestConversationCutoff(t *testing.T) {
	now := time.Date(2027, 3, 1, 15, 0, 0, 0, time.UTC)
	set := now.Add(-40 * 24 * time.Hour)
	policies := map[string]retention.Policy{"e1": {{At: set, Settings: retention.Settings{ConversationDays: 7}}},
		"e3": {{At: now.Add(-10 * 24 * time.Hour), Settings: retention.Settings{ConversationDays: 7}}}}
	enterprise := map[string]bool{"e1": true, "e2": true, "e3": true}
	day := func(d int) time.Time { return now.Truncate(24 * time.Hour).Add(-time.Duration(d) * 24 * time.Hour) }
	for _, c := range []struct {
		name     string
		accounts []string
		want     time.Time
		ok       bool
	}{
		{"own account, set 40 days ago", []string{"e1"}, day(7), true},
		{"own account, set 10 days ago (grace)", []string{"e3"}, time.Time{}, false},
		{"own account, no setting", []string{"e2"}, time.Time{}, false},
		{"two Enterprise accounts", []string{"e1", "e2"}, day(90), true},
		{"an Enterprise and a Team account", []string{"e2", "team"}, day(90), true},
		{"Team accounts only", []string{"team", "team2"}, time.Time{}, false},
		{"in no account", []string{""}, time.Time{}, false},
	} {
		got, ok := retentionapi.ConversationCutoff(c.accounts, enterprise, policies, now)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("%s: %v %v, want %v %v", c.name, got, ok, c.want, c.ok)
		}
	}
}
