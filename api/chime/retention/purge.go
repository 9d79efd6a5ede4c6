package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/domain/chime/retention"
)

// Keys destroys data keys (infra/datakeys implements it): period KEKs per (tenant, class, day),
// scopes (a deleted room), and the message keys of destroyed day keys. DestroyScopeDaysBefore goes
// past a kept day key that does not open (damaged): it destroys the due days all the same and returns
// each such key in damaged (an error naming it, matching domain.ErrUnreadable), left as it was.
type Keys interface {
	LivePeriods(ctx context.Context, tenant, class string, before time.Time) ([]string, error)
	DestroyPeriods(ctx context.Context, ids []string) (scopes []string, days []time.Time, err error)
	DestroyScope(ctx context.Context, tenant, scope string) error
	LiveScopes(ctx context.Context, tenant string, scopes []string) ([]string, error)
	DestroyScopeDaysBefore(ctx context.Context, scopes []string, befores []time.Time) (days int, damaged []error, err error)
	ClearDestroyed(ctx context.Context, limit int) (int64, bool, error)
	Sweep(ctx context.Context) error
}

// Messages is what the purge deletes from the rooms read model (chimerooms.Store implements it).
type Messages interface {
	CountMessagesBefore(ctx context.Context, accountID string, before time.Time) (int64, error)
	DeleteMessagesBefore(ctx context.Context, accountID string, before time.Time, limit int) (int64, error)
	DeleteRoomDays(ctx context.Context, roomIDs []string, days []time.Time, limit int) (int64, error)
	DeletedRooms(ctx context.Context) (map[string][]string, error) // account → deleted room ids
	AccountRoomIDs(ctx context.Context, accountID string) ([]string, error)
}

// Conversations is what the purge deletes from the conversations read model
// (chimeconversations.Store implements it): conversation ids[i] has members in accounts[i].
type Conversations interface {
	ConversationAccounts(ctx context.Context, after string, limit int) (ids []string, accounts [][]string, err error)
	CountMessagesBefore(ctx context.Context, ids []string, befores []time.Time) (messages int64, conversations int, err error)
	DeleteMessagesBefore(ctx context.Context, ids []string, befores []time.Time, limit int) (int64, error)
	// DeleteFeedBefore deletes up to limit chat-feed rows of a container about messages posted before
	// before (a feed row keeps a message's sender and time).
	DeleteFeedBefore(ctx context.Context, containerID string, before time.Time, limit int) (int64, error)
}

// Enterprise lists the Enterprise accounts (chimeaccounts.Store implements it).
type Enterprise interface {
	EnterpriseAccounts(ctx context.Context) (map[string]bool, error)
}

// Blobs deletes the files of attachments whose keys are gone (infra/blobstore.Store implements it).
type Blobs interface {
	Sweep(ctx context.Context, batch int) (int64, error)
}

// AuditSink stores an audit record (infra/auditlog.Writer implements it).
type AuditSink interface {
	Record(ctx context.Context, r audit.APICallRecorded) error
}

// PurgeDeps are the purge's collaborators.
type PurgeDeps struct {
	Policies Policies
	Keys     Keys
	Messages Messages
	// Conversations and Enterprise, when set, purge the conversations under their own retention
	// (guide §4.7.1): their account's conversation setting, or 90 days when they span accounts.
	Conversations Conversations
	Enterprise    Enterprise
	// Blobs, when set, deletes the attachment files whose keys the run destroyed (after the keys).
	Blobs   Blobs
	Audit   AuditSink
	Metrics *Metrics
	// Now is the clock retention is measured with (default time.Now).
	Now func() time.Time
	// Batch bounds every delete (default 10,000 rows); Pause is slept between batches, leaving the
	// database to the API (default 0).
	Batch int
	Pause time.Duration
	// Region, AWSAccountID and Operator fill in the audit record of a run.
	Region, AWSAccountID string
	Operator             audit.UserIdentity
	Via, Host            string
}

// Purger destroys what fell out of retention (architecture §7): per account, the period KEKs of
// the days older than Policy.DestroyBefore (erased from the keyring), then the read-model rows and
// the message keys of those days in bounded batches; per conversation, the day keys of the days older
// than its own retention allows (ConversationCutoff), then its rows; every key of deleted rooms; then
// the files of the attachments whose keys are gone. Each step is
// idempotent and picks up what a previous, interrupted run left, so a run resumes by running again.
type Purger struct{ d PurgeDeps }

// NewPurger returns a purger.
func NewPurger(d PurgeDeps) *Purger {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Batch <= 0 {
		d.Batch = 10_000
	}
	return &Purger{d: d}
}

// AccountDue is what one account has due.
type AccountDue struct {
	AccountID string    `json:"accountId"`
	Before    time.Time `json:"before"`   // rooms' messages sent before it go
	Periods   int       `json:"periods"`  // day KEKs destroyed (or to destroy)
	Messages  int64     `json:"messages"` // read-model messages due
}

// Report is what a run did (or, dry, would do).
type Report struct {
	DryRun             bool         `json:"dryRun"`
	At                 time.Time    `json:"at"`
	Accounts           []AccountDue `json:"accounts"`
	Due                int64        `json:"due"`
	Purged             int64        `json:"purged"`
	PeriodsDestroyed   int          `json:"periodsDestroyed"`
	DayKeysDestroyed   int64        `json:"dayKeysDestroyed"`
	MessageKeysCleared int64        `json:"messageKeysCleared"`
	RoomsDestroyed     int          `json:"deletedRoomsDestroyed"`
	// Conversations is how many conversations had messages due.
	Conversations      int   `json:"conversations"`
	AttachmentsDeleted int64 `json:"attachmentsDeleted"`
	// DamagedKeys names the keys the run found damaged — a conversation's day key, kept by its
	// retention, that does not open (its wrapping or a KEK damaged) — and why. Each was left as it was
	// (it opened for no one before and opens for no one after) and held back nothing: the due days
	// beside it were destroyed all the same. They are not errors: the run is complete.
	DamagedKeys     []string `json:"damagedKeys,omitempty"`
	Errors          []string `json:"errors,omitempty"`
	DurationSeconds float64  `json:"durationSeconds"`
	// The phases' durations: destroying keys, deleting read-model rows, deleting message keys.
	KeysSeconds        float64 `json:"keysSeconds"`
	RowsSeconds        float64 `json:"rowsSeconds"`
	MessageKeysSeconds float64 `json:"messageKeysSeconds"`
}

// Progress receives the report as a run advances.
type Progress func(Report)

// Run purges once (dry: only says what is due). Errors of one account are recorded and the others
// purged; the run's error joins them. Every run, dry or not, writes an audit record.
func (p *Purger) Run(ctx context.Context, dry bool, progress Progress) (Report, error) {
	start := time.Now()
	r := Report{DryRun: dry, At: p.d.Now().UTC()}
	if progress == nil {
		progress = func(Report) {}
	}
	err := p.run(ctx, &r, progress)
	r.DurationSeconds = time.Since(start).Seconds()
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
	}
	p.d.Metrics.observe(r)
	progress(r)
	if aerr := p.record(ctx, r); aerr != nil {
		err = errors.Join(err, fmt.Errorf("retention: audit record of the purge: %w", aerr))
	}
	return r, err
}

func (p *Purger) run(ctx context.Context, r *Report, progress Progress) error {
	if !r.DryRun {
		if err := p.d.Keys.Sweep(ctx); err != nil {
			return err
		}
	}
	policies, err := p.d.Policies.Policies(ctx, "")
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(policies))
	for id := range policies {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var errs []error
	for _, id := range ids {
		cutoff, ok := policies[id].DestroyBefore(retention.Rooms, r.At)
		if !ok {
			continue
		}
		if err := p.account(ctx, r, id, dayStart(cutoff), progress); err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", id, err))
		}
	}
	if err := p.conversations(ctx, r, policies, progress); err != nil {
		errs = append(errs, fmt.Errorf("conversations: %w", err))
	}
	if !r.DryRun {
		errs = append(errs, p.deletedRooms(ctx, r), p.clearKeys(ctx, r, progress), p.sweepBlobs(ctx, r))
	}
	return errors.Join(errs...)
}

// dayStart is the start of t's UTC day: the days before it are whole days past the cutoff.
func dayStart(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// account purges one account's rooms of the days before before.
func (p *Purger) account(ctx context.Context, r *Report, id string, before time.Time, progress Progress) error {
	periods, err := p.d.Keys.LivePeriods(ctx, id, string(retention.Rooms), before)
	if err != nil {
		return err
	}
	due, err := p.d.Messages.CountMessagesBefore(ctx, id, before)
	if err != nil {
		return err
	}
	if len(periods) > 0 || due > 0 {
		r.Accounts = append(r.Accounts, AccountDue{AccountID: id, Before: before, Periods: len(periods), Messages: due})
		r.Due += due
		progress(*r)
	}
	if r.DryRun {
		return nil
	}
	if len(periods) > 0 || due > 0 {
		if err := p.accountRows(ctx, r, id, before, periods, progress); err != nil {
			return err
		}
	}
	// The feed rows last, and on every run: those a run interrupted here left (or that a rebuild of
	// the conversations read model brought back) are due though no key or row says so any more.
	return p.roomFeeds(ctx, id, before)
}

// accountRows destroys the account's period keys, then deletes its rooms' rows of the days before
// before.
func (p *Purger) accountRows(ctx context.Context, r *Report, id string, before time.Time, periods []string, progress Progress) error {
	// A chunk of periods (days) at a time: the keys first — from here on the content is gone,
	// whatever happens to the rows — then the rows of each room and day whose key went; what one
	// holds in memory is bounded by a chunk's rooms and days, not by the whole history a first purge
	// covers. An interrupted run leaves rows whose keys are gone: the last pass below takes them.
	for lo := 0; lo < len(periods); lo += periodsPerChunk {
		if err := p.periodChunk(ctx, r, periods[lo:min(lo+periodsPerChunk, len(periods))], progress); err != nil {
			return err
		}
	}
	t := time.Now()
	defer func() { r.RowsSeconds += time.Since(t).Seconds() }()
	// Whatever else is due (rows a rebuild brought back, or that an interrupted run left).
	return p.batches(ctx, r, progress, func(limit int) (int64, error) {
		return p.d.Messages.DeleteMessagesBefore(ctx, id, before, limit)
	})
}

// periodsPerChunk bounds the periods (an account's class on one day) a purge destroys at once.
const periodsPerChunk = 31

// periodChunk destroys a chunk of period KEKs, then deletes the rows of the rooms' days they covered.
func (p *Purger) periodChunk(ctx context.Context, r *Report, periods []string, progress Progress) error {
	t := time.Now()
	scopes, days, err := p.d.Keys.DestroyPeriods(ctx, periods)
	if err != nil {
		return err
	}
	r.KeysSeconds += time.Since(t).Seconds()
	r.PeriodsDestroyed += len(periods)
	r.DayKeysDestroyed += int64(len(scopes))
	t = time.Now()
	defer func() { r.RowsSeconds += time.Since(t).Seconds() }()
	var rooms []string
	var roomDays []time.Time
	for i, sc := range scopes {
		if roomID, ok := strings.CutPrefix(sc, string(retention.Rooms)+"/"); ok {
			rooms, roomDays = append(rooms, roomID), append(roomDays, dayStart(days[i]))
		}
	}
	// A few rooms and days at a time: a batch's scan then never walks past the rows that the batches
	// before it deleted in hundreds of other rooms and days (dead until vacuumed).
	for lo := 0; lo < len(rooms); lo += roomDaysPerBatch {
		hi := min(lo+roomDaysPerBatch, len(rooms))
		if err := p.batches(ctx, r, progress, func(limit int) (int64, error) {
			return p.d.Messages.DeleteRoomDays(ctx, rooms[lo:hi], roomDays[lo:hi], limit)
		}); err != nil {
			return err
		}
	}
	return nil
}

// roomFeeds deletes, room by room, the live stream's rows about the account's room messages posted
// before before: the messages are gone, and a feed row would still tell who posted when (the stream
// withholds them while retention is on, and would replay them if it were switched off).
func (p *Purger) roomFeeds(ctx context.Context, accountID string, before time.Time) error {
	if p.d.Conversations == nil {
		return nil // no conversations read model: no feed
	}
	rooms, err := p.d.Messages.AccountRoomIDs(ctx, accountID)
	if err != nil {
		return err
	}
	for _, room := range rooms {
		for {
			n, err := p.d.Conversations.DeleteFeedBefore(ctx, room, before, p.d.Batch)
			if err != nil {
				return err
			}
			if n < int64(p.d.Batch) {
				break
			}
			if err := p.pause(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// roomDaysPerBatch bounds the rooms and days one batch of the purge deletes from.
const roomDaysPerBatch = 16

// batches runs del until it deletes less than a batch, counting what it deletes as purged.
func (p *Purger) batches(ctx context.Context, r *Report, progress Progress, del func(limit int) (int64, error)) error {
	for {
		n, err := del(p.d.Batch)
		if err != nil {
			return err
		}
		r.Purged += n
		p.d.Metrics.purged(n)
		progress(*r)
		if n < int64(p.d.Batch) {
			return nil
		}
		if err := p.pause(ctx); err != nil {
			return err
		}
	}
}

// deletedRooms destroys the keys of deleted rooms whose scope is not destroyed yet (a deletion whose
// key destruction failed or was interrupted); RoomsDestroyed counts those, so a room is counted by
// the one run that destroyed it, not by every run after.
func (p *Purger) deletedRooms(ctx context.Context, r *Report) error {
	rooms, err := p.d.Messages.DeletedRooms(ctx)
	if err != nil {
		return err
	}
	for account, ids := range rooms {
		scopes := make([]string, len(ids))
		for i, id := range ids {
			scopes[i] = "room/" + id
		}
		live, err := p.d.Keys.LiveScopes(ctx, account, scopes)
		if err != nil {
			return err
		}
		for _, scope := range live {
			if err := p.d.Keys.DestroyScope(ctx, account, scope); err != nil {
				return err
			}
			r.RoomsDestroyed++
		}
	}
	return nil
}

// clearKeys deletes the message keys of destroyed day keys in batches.
func (p *Purger) clearKeys(ctx context.Context, r *Report, progress Progress) error {
	t := time.Now()
	defer func() { r.MessageKeysSeconds += time.Since(t).Seconds() }()
	for {
		n, more, err := p.d.Keys.ClearDestroyed(ctx, p.d.Batch)
		if err != nil || !more {
			return err
		}
		r.MessageKeysCleared += n
		progress(*r)
		if err := p.pause(ctx); err != nil {
			return err
		}
	}
}

// sweepBlobs deletes the files of attachments whose keys are gone.
func (p *Purger) sweepBlobs(ctx context.Context, r *Report) error {
	if p.d.Blobs == nil {
		return nil
	}
	n, err := p.d.Blobs.Sweep(ctx, p.d.Batch)
	r.AttachmentsDeleted += n
	return err
}

func (p *Purger) pause(ctx context.Context) error {
	if p.d.Pause <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(p.d.Pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// record writes the run's audit record: a service event RetentionPurge whose response elements are
// the report (counts and account ids only, never content).
func (p *Purger) record(ctx context.Context, r Report) error {
	if p.d.Audit == nil {
		return nil
	}
	rec := audit.APICallRecorded{EventVersion: "1.08", EventTime: time.Now().UTC(), EventSource: "chime.amazonaws.com", EventName: "RetentionPurge",
		AWSRegion: p.d.Region, SourceIPAddress: p.d.Host, UserAgent: p.d.Via, UserIdentity: p.d.Operator, RequestID: uuid.NewString(),
		EventID: uuid.NewString(), EventType: "AwsServiceEvent", RecipientAccountID: p.d.AWSAccountID, HTTPStatus: 200}
	rec.RequestParameters, _ = json.Marshal(map[string]any{"dryRun": r.DryRun, "at": r.At})
	rec.ResponseElements, _ = json.Marshal(r)
	if len(r.Errors) > 0 {
		rec.ErrorCode, rec.ErrorMessage, rec.HTTPStatus = "PurgeIncomplete", fmt.Sprintf("%d errors; the next run resumes", len(r.Errors)), 500
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return p.d.Audit.Record(ctx, rec)
}

// Metrics are the purge's Prometheus metrics.
type Metrics struct {
	due, lastDuration prometheus.Gauge
	purgedTotal       prometheus.Counter
	errors            prometheus.Counter
	runs              *prometheus.CounterVec
	duration          prometheus.Histogram
}

// NewMetrics registers the purge's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		due: prometheus.NewGauge(prometheus.GaugeOpts{Name: "belfry_retention_purge_due_messages",
			Help: "Messages out of retention the last purge run found due."}),
		lastDuration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "belfry_retention_purge_last_duration_seconds",
			Help: "Duration of the last purge run."}),
		purgedTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_retention_purged_messages_total",
			Help: "Messages purged (keys destroyed, read-model rows deleted)."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_retention_purge_errors_total",
			Help: "Purge runs that ended with an error (the next run resumes)."}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_retention_purge_runs_total",
			Help: "Purge runs, by dry (true/false)."}, []string{"dry"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "belfry_retention_purge_duration_seconds",
			Help: "Duration of purge runs.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)}),
	}
	if reg != nil {
		reg.MustRegister(m.due, m.lastDuration, m.purgedTotal, m.errors, m.runs, m.duration)
	}
	return m
}

func (m *Metrics) purged(n int64) {
	if m != nil {
		m.purgedTotal.Add(float64(n))
	}
}

func (m *Metrics) observe(r Report) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(fmt.Sprint(r.DryRun)).Inc()
	m.due.Set(float64(r.Due))
	m.lastDuration.Set(r.DurationSeconds)
	m.duration.Observe(r.DurationSeconds)
	if len(r.Errors) > 0 {
		m.errors.Inc()
	}
}
