package cloudtrail

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/belfry/belfry/infra/objstore"
	auditrm "github.com/belfry/belfry/projections/audit"
)

// Source reads the stored audit records (projections/audit.Store).
type Source interface {
	TrailScan(ctx context.Context, q auditrm.TrailQuery, fn func(auditrm.TrailRow) error) error
}

// Trail writes log and digest files from a Source to a Target.
type Trail struct {
	Source Source
	Target objstore.Target
	Signer *Signer
	Layout Layout
	// Account is the installation's AWS account id: the account of records without a
	// recipientAccountId, and the account whose chain exists from the trail's first hour on.
	Account string
	// Progress, when set, is called after each hour.
	Progress func(Progress)
}

// Progress says how far a trail got.
type Progress struct {
	Through                  time.Time // windows before it are written
	Records                  int
	FilesWritten, FilesKept  int // kept: already present with the same content
	DigestsWritten, Digested int
}

// State is where a trail stands; it is what a continuous delivery checkpoints.
//
// Every record with event time in [Since, Next) and position at most Position has been written to a
// log file; the log files written since a chain's last digest are its Pending files.
type State struct {
	Since    time.Time `json:"since"`
	Next     time.Time `json:"next"`
	Position uint64    `json:"position"`
	Chains   []*Chain  `json:"chains"`
}

// Chain is the digest chain of one account and region.
type Chain struct {
	Account  string    `json:"account"`
	Region   string    `json:"region"`
	Start    time.Time `json:"start"` // start of its next digest
	PrevKey  string    `json:"prevKey,omitempty"`
	PrevHash string    `json:"prevHash,omitempty"`
	PrevSig  string    `json:"prevSig,omitempty"`
	Pending  []LogFile `json:"pending,omitempty"`
}

// NewState is the state of a trail that starts at since (rounded down to the hour) with the
// installation's chain in region.
func NewState(since time.Time, account, region string) *State {
	h := since.UTC().Truncate(time.Hour)
	return &State{Since: h, Next: h, Chains: []*Chain{{Account: account, Region: region, Start: h}}}
}

func (s *State) chain(account, region string, start time.Time) *Chain {
	for _, c := range s.Chains {
		if c.Account == account && c.Region == region {
			return c
		}
	}
	c := &Chain{Account: account, Region: region, Start: start}
	s.Chains = append(s.Chains, c)
	sort.Slice(s.Chains, func(i, j int) bool {
		a, b := s.Chains[i], s.Chains[j]
		return a.Account < b.Account || (a.Account == b.Account && a.Region < b.Region)
	})
	return c
}

// Advance writes the log files of the records up to position pos: first the late ones (event time
// before st.Next, position after st.Position), then those of the windows from st.Next to upTo (a
// window boundary, but for the end of an export, whose last window is then cut at upTo); each hour
// that ends on the way gets its digests. save is called whenever st
// changed in a way that must survive a restart; files are written before the state naming them is
// saved, and rewriting the same records yields the same files, so a restart neither loses nor
// duplicates.
func (t *Trail) Advance(ctx context.Context, st *State, upTo time.Time, pos uint64, save func(*State) error) (Progress, error) {
	var p Progress
	upTo = upTo.UTC()
	if pos > st.Position {
		if st.Next.After(st.Since) {
			open := st.Next.Truncate(time.Hour)
			q := auditrm.TrailQuery{From: st.Since, To: st.Next, AfterPosition: st.Position, UpToPosition: pos}
			if err := t.writeLogs(ctx, st, q, func(time.Time) time.Time { return open }, &p); err != nil {
				return p, err
			}
		}
		st.Position = pos
		if err := save(st); err != nil {
			return p, err
		}
	}
	for st.Next.Before(upTo) {
		end := st.Next.Truncate(time.Hour).Add(time.Hour)
		if upTo.Before(end) {
			end = upTo
		}
		q := auditrm.TrailQuery{From: st.Next, To: end, UpToPosition: st.Position}
		if err := t.writeLogs(ctx, st, q, func(w time.Time) time.Time { return w.Truncate(time.Hour) }, &p); err != nil {
			return p, err
		}
		st.Next = end
		if end.Equal(end.Truncate(time.Hour)) {
			if err := t.writeDigests(ctx, st, end, &p); err != nil {
				return p, err
			}
		}
		if err := save(st); err != nil {
			return p, err
		}
		p.Through = end
		if t.Progress != nil {
			t.Progress(p)
		}
	}
	return p, nil
}

// Close writes the digests of the hour st.Next falls in, ending at st.Next (CloudTrail's final digest
// when logging stops); an export ends with it.
func (t *Trail) Close(ctx context.Context, st *State) (Progress, error) {
	var p Progress
	err := t.writeDigests(ctx, st, st.Next, &p)
	return p, err
}

// writeLogs writes the records of q to log files; chainStart gives the start of a new chain for a
// file of window w.
func (t *Trail) writeLogs(ctx context.Context, st *State, q auditrm.TrailQuery, chainStart func(w time.Time) time.Time, p *Progress) error {
	q.Account, q.Region = t.Account, t.Layout.HomeRegion
	var f fileBuilder
	flush := func() error {
		if len(f.records) == 0 {
			return nil
		}
		lf, written, err := t.writeLog(ctx, &f)
		if err != nil {
			return err
		}
		c := st.chain(f.account, f.region, chainStart(f.window))
		c.Pending = append(c.Pending, lf)
		if written {
			p.FilesWritten++
		} else {
			p.FilesKept++
		}
		f.reset()
		return nil
	}
	err := t.Source.TrailScan(ctx, q, func(r auditrm.TrailRow) error {
		if !f.fits(r) {
			if err := flush(); err != nil {
				return err
			}
		}
		f.add(r)
		p.Records++
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// fileBuilder gathers the records of one log file.
type fileBuilder struct {
	window          time.Time
	account, region string
	records         []Record
	bytes           int
}

func (f *fileBuilder) fits(r auditrm.TrailRow) bool {
	return len(f.records) == 0 || (r.Window.Equal(f.window) && r.Account == f.account && r.Region == f.region &&
		len(f.records) < MaxFileRecords && f.bytes < MaxFileBytes)
}

func (f *fileBuilder) add(r auditrm.TrailRow) {
	f.window, f.account, f.region = r.Window, r.Account, r.Region
	f.records = append(f.records, FromAudit(r.Record, r.Account, r.Region))
	f.bytes += 1024 + len(r.Record.RequestParameters) + len(r.Record.ResponseElements)
}

func (f *fileBuilder) reset() { f.records, f.bytes = f.records[:0], 0 }

func (t *Trail) writeLog(ctx context.Context, f *fileBuilder) (LogFile, bool, error) {
	content, err := logFileJSON(f.records)
	if err != nil {
		return LogFile{}, false, err
	}
	key := t.Layout.LogKey(f.account, f.region, f.window, unique(content))
	oldest, newest := f.records[0].EventTime, f.records[0].EventTime
	for _, r := range f.records {
		oldest, newest = min(oldest, r.EventTime), max(newest, r.EventTime)
	}
	lf := LogFile{S3Bucket: t.Target.Bucket(), S3Object: key, HashValue: sha256Hex(content), HashAlgorithm: HashAlgorithm,
		NewestEventTime: newest, OldestEventTime: oldest}
	written, err := t.put(ctx, key, gzipBytes(content), nil)
	return lf, written, err
}

// put writes body at key unless it is already there; it reports whether it wrote.
func (t *Trail) put(ctx context.Context, key string, body []byte, meta map[string]string) (bool, error) {
	if same, err := t.Target.Same(ctx, key, body, meta); err == nil && same {
		return false, nil
	} // a target that cannot tell is written to: its error, if any, comes from Put
	if err := t.Target.Put(ctx, key, body, meta); err != nil {
		return false, fmt.Errorf("%w (%s)", err, hintRefused)
	}
	return true, nil
}

// hintRefused is what to do when a target refuses a write.
const hintRefused = "check that the target exists and accepts writes (the bucket, its endpoint and the credentials " +
	"in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or the directory's permissions), then run again: files already " +
	"written are kept; nothing stored in Belfry changed"
