package cloudtrail

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Errors of a range an export cannot cover; each message says what to do.
var (
	ErrNoRecords   = errors.New("cloudtrail: no audit records are stored yet")
	ErrBeforeFirst = errors.New("cloudtrail: the range starts before the first audit record")
	ErrAfterNow    = errors.New("cloudtrail: the range ends after now")
	ErrExpired     = errors.New("cloudtrail: the range starts before the audit retention horizon")
	ErrEmptyRange  = errors.New("cloudtrail: the range is empty")
)

// Range is what an export covers: from the hour From falls in to To (to the second, at most now); the
// last 5-minute window is cut at To unless To is a window boundary.
type Range struct{ From, To time.Time }

// CheckRange turns the requested [from, to) into the Range an export covers. A zero from means the
// first record (or the retention horizon, when later); a zero to means now. first is the event time
// of the oldest stored record (zero: none), retention the audit trail's retention (0: forever).
func CheckRange(from, to, first, now time.Time, retention time.Duration) (Range, error) {
	if first.IsZero() {
		return Range{}, fmt.Errorf("%w: make API calls first, then export", ErrNoRecords)
	}
	var horizon time.Time
	if retention > 0 {
		horizon = now.Add(-retention)
	}
	if from.IsZero() {
		from = first
		if from.Before(horizon) {
			from = horizon
		}
	}
	if to.IsZero() {
		to = now
	}
	from, to = from.UTC(), to.UTC()
	switch {
	case to.After(now):
		return Range{}, fmt.Errorf("%w: --to %s is after now (%s); give an earlier --to, or leave it out to export up to now",
			ErrAfterNow, to.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case !horizon.IsZero() && from.Before(horizon.Truncate(time.Hour)):
		return Range{}, fmt.Errorf("%w: records before %s are past the audit retention (%s) and are no longer exported; "+
			"give --from %s or later", ErrExpired, horizon.UTC().Format(time.RFC3339), retention, horizon.UTC().Format(time.RFC3339))
	case from.Before(first.Truncate(time.Hour)):
		return Range{}, fmt.Errorf("%w: --from %s is before the first record (%s); leave --from out, or give %s or later",
			ErrBeforeFirst, from.Format(time.RFC3339), first.UTC().Format(time.RFC3339), first.UTC().Truncate(time.Hour).Format(time.RFC3339))
	}
	r := Range{From: from.Truncate(time.Hour), To: to.Truncate(time.Second)}
	if !r.From.Before(r.To) {
		return Range{}, fmt.Errorf("%w: from %s to %s; give a --to after --from",
			ErrEmptyRange, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return r, nil
}

// Export writes the trail of r from the stored records: the log files of its windows and a digest
// chain per account and region starting at r.From (a starting digest) and ending at r.To (a final
// digest when r.To is not on the hour). Files already on the target with the same content are kept,
// so an interrupted export resumes where it stopped; the same records give byte-identical files.
func (t *Trail) Export(ctx context.Context, r Range) (Progress, error) {
	st := NewState(r.From, t.Account, t.Layout.HomeRegion)
	st.Position = math.MaxUint64
	p, err := t.Advance(ctx, st, r.To, math.MaxUint64, func(*State) error { return nil })
	if err != nil {
		return p, err
	}
	c, err := t.Close(ctx, st)
	p.DigestsWritten += c.DigestsWritten
	p.Digested += c.Digested
	return p, err
}
