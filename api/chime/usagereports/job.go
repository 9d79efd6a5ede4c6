package usagereports

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/belfry/belfry/domain/chime/usage"
)

// Job is the weekly job: from the Monday after a week (guide §7.3), it writes and records the
// reports of the latest due week (usage.LatestDue) that are not recorded yet, and retries each
// earlier week whose round failed here (up to RetryWeeks weeks before the due one) until a round of
// it succeeds, so an account a bucket refused is written once the bucket takes writes again, even
// after the next week fell due. A week given up on, or whose whole due window passed while no
// process ran the job, is written by `belfry reports generate --week`.
type Job struct {
	s *Service
	// done is the latest week generated here without a failure: it is not read again until the
	// next week is due.
	done time.Time
	// failed are the weeks whose latest round here failed; each round retries them.
	failed map[time.Time]bool
}

// RetryWeeks bounds how many weeks before the due one a failed week is retried (each retry reads the
// week's directories again).
const RetryWeeks = 4

// Job returns the weekly job of the service.
func (s *Service) Job() *Job { return &Job{s: s, failed: map[time.Time]bool{}} }

// Round generates the missing reports of the due week, unless this job already did so without a
// failure, and of the earlier weeks that failed here. It is safe to run from several processes:
// each report is recorded once.
func (j *Job) Round(ctx context.Context) (Stats, error) {
	due := usage.LatestDue(j.s.d.Now())
	weeks := make([]time.Time, 0, len(j.failed)+1)
	for w := range j.failed {
		switch {
		case w.Before(due.Add(-RetryWeeks * usage.Week)):
			delete(j.failed, w)
			j.s.d.Logger.Warn("weekly usage reports: giving up retrying a week; write it with belfry reports generate --week", "week", w.Format("2006-01-02"))
		case !w.Equal(due):
			weeks = append(weeks, w)
		}
	}
	slices.SortFunc(weeks, func(a, b time.Time) int { return a.Compare(b) })
	if !due.Equal(j.done) {
		weeks = append(weeks, due)
	}
	var sum Stats
	var errs []error
	for _, w := range weeks {
		st, err := j.s.Generate(ctx, w, Options{SkipRecorded: true})
		sum.add(st)
		if err != nil {
			j.failed[w] = true
			errs = append(errs, err)
			continue
		}
		delete(j.failed, w)
		if w.Equal(due) {
			j.done = due
		}
	}
	return sum, errors.Join(errs...)
}

// add adds the counts of another generation.
func (s *Stats) add(o Stats) {
	s.FromReadModel = s.FromReadModel || o.FromReadModel
	s.Events += o.Events
	s.Written += o.Written
	s.Kept += o.Kept
	s.Skipped += o.Skipped
	s.Records += o.Records
	s.Failed += o.Failed
	s.Rows += o.Rows
	s.Unreadable += o.Unreadable
}

// Run runs a round at once and then every interval until ctx ends; failures are logged and the
// next round retries them.
func (j *Job) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		st, err := j.Round(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			j.s.d.Logger.Warn("weekly usage reports: some were not written; the next round retries them", "err", err, "written", st.Written)
		case st.Records > 0:
			j.s.d.Logger.Info("weekly usage reports written", "reports", st.Records, "events", st.Events)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
