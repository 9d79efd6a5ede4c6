package usage_test

import (
	"testing"
	"time"

	"github.com/belfry/belfry/domain/chime/usage"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

var at = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// examples are one realistic event of every stored type, every field set (testdata/golden).
var examples = []eventtest.Example[usage.Event]{
	eventtest.Ex[usage.Event](usage.SignedIn{AccountID: "12a3456b-7c89-4012-8456-78901e23fa45",
		UserID: "1ab2345c-67de-4901-8f23-45b678901c2d", At: at}),
	eventtest.Ex[usage.Event](usage.ReportGenerated{AwsAccountID: "111122223333", AccountID: "12a3456b-7c89-4012-8456-78901e23fa45",
		WeekStart: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), Bucket: "acme-usage-reports",
		Key:  "Amazon-Chime-User-Activity-Reports/csv/111122223333/2026/03/08/Example+Sales_12a3456b-7c89-4012-8456-78901e23fa45_20260308.csv",
		Rows: 11, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", AsOf: 4242, At: at.Add(24 * time.Hour)}),
}

// TestEventTable checks the event table against the package and its golden files (run with
// BELFRY_UPDATE_GOLDEN=1 to write the file of a new event type).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, usage.Events, examples...)
}
