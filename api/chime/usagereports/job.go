package usagereports

import (
	"context"
	"time"

	"github.com/belfry/belfry/domain/chime/usage"
)

// Job is the weekly job: from the Monday after a week (guide §7.3), it writes and records the
// reports of the latest due week (usage.LatestDue) that are not recorded yet.
type Job struct {
	s *Service
	// done is the latest week generated here without a failure: it is not read again until the
	// next week is due.
	done time.Time
}

// Job returns the weekly job of the service.
func (s *Service) Job() *Job { return &Job{s: s} }

// Round generates the due week's missing reports, unless this job already did so without a
// failure. It is safe to run from several processes: each report is recorded once.
func (j *Job) Round(ctx context.Context) (Stats, error) {
	week := usage.LatestDue(j.s.d.Now())
	if week.Equal(j.done) {
		return Stats{}, nil
	}
	st, err := j.s.Generate(ctx, week, Options{SkipRecorded: true})
	if err == nil {
		j.done = week
	}
	return st, err
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
