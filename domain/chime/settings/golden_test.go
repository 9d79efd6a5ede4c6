package settings_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[settings.Event]{
	eventtest.Ex[settings.Event](settings.GlobalSettingsUpdated{BusinessCallingCdrBucket: "acme-chime-cdr-business",
		VoiceConnectorCdrBucket: "acme-chime-cdr-voice"}),
	eventtest.Ex[settings.Event](settings.CallingNameUpdated{CallingName: "Acme Corp",
		At: time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)}),
	eventtest.Ex[settings.Event](settings.UsageReportingUpdated{Bucket: "acme-chime-usage-reports",
		Since: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), At: time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)}),
}

// TestEventTable checks the settings' event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, settings.Events, examples...)
}
