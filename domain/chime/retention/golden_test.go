package retention_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/retention"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

var examples = []eventtest.Example[retention.Event]{
	eventtest.Ex[retention.Event](retention.SettingsPut{AccountID: "5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93",
		Settings: retention.Settings{RoomDays: 365, ConversationDays: 30}, By: "arn:aws:iam::123456789012:user/compliance",
		At: time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)}),
}

// TestEventTable checks the retention event table against its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, retention.Events, examples...)
}
