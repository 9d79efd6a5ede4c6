// Package usagereports is the slice of Chime's weekly usage reports (guide §1.1.1, §7.3): one CSV
// per Chime account and week, computed from the event log (domain/chime/usage's Tally), written to
// the usage-report bucket of the AWS account's global settings, and recorded.
//
// Two sources give the same bytes (tested). When the usage read model (projections/chimeusage,
// Deps.Activity) has applied the log's head read at the start within Deps.CatchUp, the directories
// and settings are read from the log by stream name (each account stream up to the account's
// cutoff, the settings streams of their AWS accounts: their events only) and the activity from the
// read model: the time depends on the users and directory events, not on the activity events.
// Otherwise — no read model, not caught up in time, or Options.FromLog — one filtered pass over
// $all folds everything, as many events as the log holds. The one difference: the read model also
// holds events appended after that head; they change a week's counts only if they carry an instant
// inside it, which for a week that has ended takes an injected clock or imported events. An activity
// event that does not decode counts for nothing in either (the read model parks it, the pass skips
// and counts it: Stats.Unreadable), so it holds back no report.
//
// Invariants:
//   - A report is written for a week only while reporting is on and was turned on before the week
//     began (the guide: the first report starts the next Sunday), for the accounts that existed
//     before the week ended and were not deleted; the job does it from the Monday after the week,
//     once per account: ReportGenerated is recorded after the object is written, and an account
//     already recorded is not generated again.
//   - A write that fails is retried (Retry); an account whose object cannot be written is not
//     recorded, so a later round writes it, also once the next week is due (Job retries a failed
//     week up to RetryWeeks weeks; past that, `belfry reports generate --week`): nothing is lost.
//   - Regenerating a recorded week reads each account's directory up to the recorded position: the
//     same bytes. Objects already there with the same content are kept (an interrupted run resumes).
//   - An account whose stream (or its AWS account's settings stream) holds an event that does not
//     decode is not written nor recorded — its directory is unknown — and its error, naming the
//     event, is returned; every other account is written and recorded all the same.
package usagereports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/belfry/belfry/api/chime/clientapi"
	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/domain/chime/usage"
)

// Log is the event log as the reports read it (infra/eventstore's Head and Pass).
type Log interface {
	Head(ctx context.Context) (uint64, error)
	// Pass calls fn in $all order with the events of the streams starting with prefixes, up to to.
	Pass(ctx context.Context, prefixes []string, to uint64, fn func(stream, eventType string, position uint64, data []byte) error) error
	// ReadStream calls fn in order with the events of one stream (none when it is missing) up to to.
	ReadStream(ctx context.Context, stream string, to uint64, fn func(eventType string, position uint64, data []byte) error) error
}

// Activity is the usage read model (projections/chimeusage's Store).
type Activity interface {
	// WaitFor returns once the read model has applied position pos, or fails when ctx ends first.
	WaitFor(ctx context.Context, pos uint64) error
	// Accounts lists every account with an event on its stream.
	Accounts(ctx context.Context) ([]string, error)
	// Week is the activity of users in the week starting week (absent: none).
	Week(ctx context.Context, week time.Time, users []string) (map[string]usage.Counts, error)
}

// Objects is where a report is written (infra/objstore's targets implement it).
type Objects interface {
	Same(ctx context.Context, key string, body []byte, meta map[string]string) (bool, error)
	Put(ctx context.Context, key string, body []byte, meta map[string]string) error
}

// Targets gives the objects of a bucket named in the global settings.
type Targets interface {
	For(bucket string) Objects
}

// Logger is the slice's log.
type Logger interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// Deps are the slice's collaborators.
type Deps struct {
	Log Log
	// Activity is the usage read model (nil: every generation passes over the log).
	Activity Activity
	// CatchUp bounds the wait for Activity to reach the log's head (default 5 s); past it the
	// generation passes over the log.
	CatchUp  time.Duration
	Reports  usecase.Repository[usage.State, usage.Command, usage.Event]
	Settings usecase.Repository[settings.State, settings.Command, settings.Event]
	Targets  Targets
	Logger   Logger
	Now      func() time.Time
	// Retry bounds the writes of one object (default 4 tries from 200 ms).
	Retry Retry
}

// Retry is how often a write is tried: Attempts tries, Backoff doubled between them.
type Retry struct {
	Attempts int
	Backoff  time.Duration
}

// Service generates the reports.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Retry.Attempts <= 0 {
		d.Retry.Attempts = 4
	}
	if d.CatchUp <= 0 {
		d.CatchUp = 5 * time.Second
	}
	if d.Retry.Backoff <= 0 {
		d.Retry.Backoff = 200 * time.Millisecond
	}
	return &Service{d: d}
}

// ErrWeek is a week that is not a Sunday or has not ended.
var ErrWeek = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid report week"}

// Options of one generation.
type Options struct {
	// Out receives every report instead of the configured buckets; nothing is recorded then.
	Out Objects
	// SkipRecorded leaves the accounts already recorded for the week alone (the weekly job).
	SkipRecorded bool
	// Progress receives a line about every second and one per account (nil: none).
	Progress io.Writer
	// FromLog passes over the log even when the read model has caught up.
	FromLog bool
}

// Stats count what a generation did.
type Stats struct {
	// FromReadModel: the activity came from the read model (else from a pass over the log).
	FromReadModel bool
	// Events counts the events read from the log (the directories' only, from the read model).
	Events                          int
	Written, Kept, Skipped, Records int
	Failed                          int
	Rows                            int // rows of the reports written or kept
	// Unreadable counts the activity events that do not decode: they count for nothing, as the
	// usage read model parks them, and hold back no report.
	Unreadable int
}

// Generate writes the reports of the week starting weekStart (a Sunday that has ended) and records
// those written to configured buckets. The error joins every account that failed; the others are
// written and recorded.
func (s *Service) Generate(ctx context.Context, weekStart time.Time, o Options) (Stats, error) {
	var st Stats
	week := usage.WeekStart(weekStart)
	switch {
	case !week.Equal(weekStart):
		return st, domain.Wrapf(ErrWeek, "week %s is not a Sunday 00:00 UTC", weekStart.Format(time.RFC3339))
	case week.Add(usage.Week).After(s.d.Now()):
		return st, domain.Wrapf(ErrWeek, "the week of %s has not ended", week.Format("2006-01-02"))
	}
	recs, _, err := s.d.Reports.Load(ctx, usage.ReportsStream(week))
	if err != nil {
		return st, err
	}
	head, err := s.d.Log.Head(ctx)
	if err != nil {
		return st, err
	}
	tally := usage.NewTally(week)
	tally.Cutoff = func(id string) uint64 {
		if r, ok := recs.Reports[id]; ok {
			return r.AsOf
		}
		return head
	}
	p := progress{w: o.Progress, start: time.Now(), last: time.Now()}
	bad := newUnreadable(&st, &p, s.d.Logger)
	counts, err := s.read(ctx, tally, week, head, o, &st, &p, bad)
	if err != nil {
		return st, err
	}
	p.line("read %d events up to position %d (%.2f s)", st.Events, head, time.Since(p.start).Seconds())
	g := gen{s: s, tally: tally, counts: counts, week: week, recs: recs.Reports, o: o, st: &st, p: &p, bad: bad}
	return st, g.all(ctx)
}

// read folds the log up to head into tally: the directories from the log and the activity from the
// read model when it has caught up (counts then gives it), else everything from one pass (counts
// nil). An event that does not decode goes to bad, and the reading goes on.
func (s *Service) read(ctx context.Context, tally *usage.Tally, week time.Time, head uint64, o Options, st *Stats, p *progress,
	bad *unreadable) (counts func(context.Context, []string) (map[string]usage.Counts, error), err error) {
	if st.FromReadModel, err = s.caughtUp(ctx, head, o, p); err != nil {
		return nil, err
	}
	if !st.FromReadModel {
		return nil, s.d.Log.Pass(ctx, usage.StreamPrefixes, head, func(stream, typ string, pos uint64, data []byte) error {
			st.Events++
			p.tick("… %d events read", st.Events)
			return bad.apply(tally, stream, typ, pos, data)
		})
	}
	counts = func(ctx context.Context, users []string) (map[string]usage.Counts, error) {
		return s.d.Activity.Week(ctx, week, users)
	}
	return counts, s.directories(ctx, tally, head, st, p, bad)
}

// gen is one generation after its pass over the log.
type gen struct {
	s     *Service
	tally *usage.Tally
	// counts gives the activity of users from the read model (nil: the tally's own).
	counts func(ctx context.Context, users []string) (map[string]usage.Counts, error)
	week   time.Time
	recs   map[string]usage.ReportGenerated
	o      Options
	st     *Stats
	p      *progress
	bad    *unreadable
}

// all writes (and records) every account's report, and joins the errors of those that failed: an
// account none of whose events decoded is among them.
func (g gen) all(ctx context.Context) error {
	var errs []error
	seen := map[string]bool{}
	for _, a := range g.tally.Accounts() {
		seen[a.ID] = true
		if err := g.one(ctx, a); err != nil {
			g.st.Failed++
			errs = append(errs, err)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(g.bad.accounts)) {
		if _, recorded := g.recs[id]; !seen[id] && !(recorded && g.o.SkipRecorded) {
			g.st.Failed++
			errs = append(errs, g.bad.check(usage.Account{ID: id}))
		}
	}
	return errors.Join(errs...)
}

// one writes (and records) one account's report.
func (g gen) one(ctx context.Context, a usage.Account) error {
	s, t, week, o, st := g.s, g.tally, g.week, g.o, g.st
	rec, recorded := g.recs[a.ID]
	if recorded && o.SkipRecorded {
		st.Skipped++
		return nil
	}
	if err := g.bad.check(a); err != nil {
		return err // before the checks below: the directory that would answer them is unknown
	}
	if !a.Live || !a.Created.Before(week.Add(usage.Week)) {
		st.Skipped++
		return nil
	}
	out, bucket := o.Out, rec.Bucket
	if out == nil {
		if !recorded {
			set := t.Settings(a.AwsAccountID)
			if set.UsageReportBucket == "" || set.UsageReportingSince.After(week) {
				st.Skipped++
				return nil
			}
			bucket = set.UsageReportBucket
		}
		out = s.d.Targets.For(bucket)
	}
	rows, err := g.rows(ctx, a.ID)
	if err != nil {
		return err
	}
	body, err := Render(a.Name, week, rows)
	if err != nil {
		return err
	}
	key := usage.Key(a.AwsAccountID, a.Name, a.ID, week)
	wrote, err := s.put(ctx, out, key, body)
	if err != nil {
		return fmt.Errorf("usage report of account %s for %s: %w", a.ID, week.Format("2006-01-02"), err)
	}
	st.Rows += len(rows)
	if wrote {
		st.Written++
	} else {
		st.Kept++
	}
	g.p.line("%s: %d users (%s; %.2f s)", key, len(rows), map[bool]string{true: "written", false: "already present"}[wrote], time.Since(g.p.start).Seconds())
	if o.Out != nil || recorded {
		return nil
	}
	sum := sha256.Sum256(body)
	_, err = s.d.Reports.Execute(ctx, usage.ReportsStream(week), usage.Record{Report: usage.ReportGenerated{AwsAccountID: a.AwsAccountID,
		AccountID: a.ID, WeekStart: week, Bucket: bucket, Key: key, Rows: len(rows), SHA256: hex.EncodeToString(sum[:]), AsOf: t.Cutoff(a.ID)}})
	if err == nil {
		st.Records++
	}
	return err
}

// rows are an account's report rows, with the read model's activity when it is the source.
func (g gen) rows(ctx context.Context, accountID string) ([]usage.Row, error) {
	if g.counts == nil {
		return g.tally.Rows(accountID), nil
	}
	counts, err := g.counts(ctx, g.tally.Users(accountID))
	if err != nil {
		return nil, err
	}
	return g.tally.RowsWith(accountID, func(id string) usage.Counts { return counts[id] }), nil
}

// put writes an object unless it already holds body, retrying a failed write; it reports whether it
// wrote.
func (s *Service) put(ctx context.Context, out Objects, key string, body []byte) (bool, error) {
	if same, err := out.Same(ctx, key, body, nil); err == nil && same {
		return false, nil
	}
	var err error
	wait := s.d.Retry.Backoff
	for i := range s.d.Retry.Attempts {
		if i > 0 {
			select {
			case <-time.After(wait):
				wait *= 2
			case <-ctx.Done():
				return false, errors.Join(err, ctx.Err())
			}
		}
		if err = out.Put(ctx, key, body, map[string]string{}); err == nil {
			return true, nil
		}
	}
	return false, err
}

// Render is a report's CSV: the header, then one row per user; cells a spreadsheet would evaluate
// start with an apostrophe (clientapi.Defuse).
func Render(accountName string, week time.Time, rows []usage.Row) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(usage.Header); err != nil {
		return nil, err
	}
	for _, r := range rows {
		cells := r.Cells(accountName, week)
		for i, c := range cells {
			cells[i] = clientapi.Defuse(c)
		}
		if err := w.Write(cells); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

type progress struct {
	w           io.Writer
	start, last time.Time
}

func (p *progress) tick(format string, args ...any) {
	if p.w != nil && time.Since(p.last) >= time.Second {
		p.last = time.Now()
		fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *progress) line(format string, args ...any) {
	if p.w != nil {
		fmt.Fprintf(p.w, format+"\n", args...)
	}
}
