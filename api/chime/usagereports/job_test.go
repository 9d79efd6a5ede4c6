package usagereports_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/belfry/belfry/domain/chime/usage"
	"github.com/belfry/belfry/infra/objstore"
)

// TestJobRetriesAFailedWeekAfterTheNextIsDue: the bucket refuses every write from the Monday after
// the week of 8-14 March until the next Monday is past; once it takes writes again, the job writes
// and records that week's report as well as the week now due: a failed account is not lost when the
// next week falls due before the bucket recovers.
func TestJobRetriesAFailedWeekAfterTheNextIsDue(t *testing.T) {
	w := newWorld(t)
	bucket := &flaky{DirTarget: objstore.DirTarget{Name: t.TempDir()}}
	svc := w.service(targets{bucket})
	w.seedWeek(t, "acme-usage")
	job := svc.Job()

	bucket.fails.Store(1 << 30)
	for _, h := range []int{1, 2, 3} { // Monday 16th: every round fails
		w.set(at(16, h, 0))
		if st, err := job.Round(w.ctx); err == nil || st.Records != 0 {
			t.Fatalf("round against a bucket refusing writes: %+v, %v", st, err)
		}
	}
	// Monday 23rd: the bucket takes writes again; the week of the 15th is now the one due.
	bucket.fails.Store(0)
	w.set(at(23, 1, 0))
	if _, err := job.Round(w.ctx); err != nil {
		t.Fatalf("round once the bucket recovered: %v", err)
	}
	week := at(8, 0, 0)
	recs, _, err := w.reports.Load(w.ctx, usage.ReportsStream(week))
	if err != nil || recs.Reports[acc].Key != weekKey {
		t.Fatalf("the week of the 8th is not recorded: %+v, %v", recs.Reports, err)
	}
	got, err := os.ReadFile(filepath.Join(bucket.Name, "acme-usage", filepath.FromSlash(weekKey)))
	if err != nil || string(got) != weekCSV {
		t.Fatalf("report of the week of the 8th (%v):\n%s", err, got)
	}
	if recs, _, _ := w.reports.Load(w.ctx, usage.ReportsStream(at(15, 0, 0))); recs.Reports[acc].Key == "" {
		t.Fatalf("the week of the 15th is not recorded: %+v", recs.Reports)
	}
	// Both done: a later round reads nothing.
	w.set(at(23, 2, 0))
	if st, err := job.Round(w.ctx); err != nil || st.Events != 0 || st.Records != 0 {
		t.Errorf("a round after both weeks were written: %+v, %v", st, err)
	}
}
