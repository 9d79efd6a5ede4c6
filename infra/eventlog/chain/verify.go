package chain

import (
	"cmp"
	"crypto/ed25519"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"
)

// Problem kinds.
const (
	Altered        = "altered"         // the event's content does not match its digest
	Removed        = "removed"         // a position is missing
	Inserted       = "inserted"        // the row does not link to the chain before it
	Unchained      = "unchained"       // the row has no digest or chain
	BadCheckpoint  = "bad-checkpoint"  // a checkpoint's signature does not verify
	ChainRewritten = "chain-rewritten" // the chain at a checkpoint differs from the signed one
	MissingEvents  = "missing-events"  // a checkpoint names a position the log does not reach
)

// Problem is one finding of a verification.
type Problem struct {
	Kind     string `json:"kind"`
	Position uint64 `json:"position"`
	// To is the last position of a range (Removed: the removed positions are Position..To).
	To     uint64 `json:"to,omitempty"`
	Detail string `json:"detail"`
}

func (p Problem) String() string {
	if p.To > p.Position {
		return fmt.Sprintf("%s at positions %d-%d: %s", p.Kind, p.Position, p.To, p.Detail)
	}
	return fmt.Sprintf("%s at position %d: %s", p.Kind, p.Position, p.Detail)
}

// Row is one stored event with the digest and chain stored beside it (nil when absent).
type Row struct {
	Event
	Digest, Chain []byte
}

// DefaultMaxProblems is how many findings a verification lists by default.
const DefaultMaxProblems = 1000

// Verifier checks rows fed in position order. It starts after position From-1, whose chain is given
// (the zero hash for position 1).
type Verifier struct {
	pub         ed25519.PublicKey
	store       uuid.UUID
	checkpoints map[uint64]Checkpoint
	base        Hash
	last        uint64
	rows        uint64
	signedUpTo  uint64
	unlinked    bool      // the previous row had no chain
	bad         []Problem // the bad checkpoints not reported yet, in position order
	problems    []Problem
	// MaxProblems bounds the findings kept (DefaultMaxProblems); the count goes on.
	MaxProblems int
	Dropped     int
}

// NewVerifier returns a verifier whose first row is expected at position after+1 with the chain
// base before it: after is 0 (base the zero hash) or the position of a valid checkpoint whose signed
// chain is base, so the signed part of the log reaches at least after. Checkpoints whose signature
// does not verify are reported in position order among the rows' findings (see Feed), so that the
// findings kept under MaxProblems are always the lowest by position.
func NewVerifier(pub ed25519.PublicKey, store uuid.UUID, after uint64, base Hash, cps []Checkpoint) *Verifier {
	v := &Verifier{pub: pub, store: store, checkpoints: map[uint64]Checkpoint{}, base: base, last: after, signedUpTo: after,
		MaxProblems: DefaultMaxProblems}
	for _, cp := range cps {
		if !cp.Valid(pub, store) {
			v.bad = append(v.bad, Problem{Kind: BadCheckpoint, Position: cp.Position, Detail: "the checkpoint's signature does not verify with key " + KeyID(pub)})
			continue
		}
		v.checkpoints[cp.Position] = cp
	}
	slices.SortStableFunc(v.bad, func(a, b Problem) int { return cmp.Compare(a.Position, b.Position) })
	return v
}

// reportBad reports the bad checkpoints not reported yet whose position is below pos.
func (v *Verifier) reportBad(pos uint64) {
	for len(v.bad) > 0 && v.bad[0].Position < pos {
		v.report(v.bad[0])
		v.bad = v.bad[1:]
	}
}

func (v *Verifier) report(p Problem) {
	if len(v.problems) >= v.MaxProblems {
		v.Dropped++
		return
	}
	v.problems = append(v.problems, p)
}

// Feed checks the next row. A row right after missing positions (or after an unchained row) is
// checked for its content only:
// its link names the removed event, which the Removed finding already reports. A row that does not
// link to the chain before it is reported as Inserted (whatever its digest says: the writer wrote no
// such row); one that links but whose content does not match its digest, as Altered. A row whose
// position is not after the last one fed (a duplicate, or a row moved back: lines of an export) is
// reported as Inserted, its finding out of position order, and otherwise ignored: the rows after it
// are checked against the rows before it.
func (v *Verifier) Feed(r *Row) {
	v.rows++
	if r.Position <= v.last {
		v.report(Problem{Kind: Inserted, Position: r.Position, Detail: fmt.Sprintf("a row at position %d follows position %d: "+
			"positions only grow, so the writer wrote no such row here (a duplicate, or a row moved)", r.Position, v.last)})
		return
	}
	v.reportBad(v.last + 1)
	gap := r.Position > v.last+1
	if gap {
		v.report(Problem{Kind: Removed, Position: v.last + 1, To: r.Position - 1,
			Detail: fmt.Sprintf("%d event(s) missing between positions %d and %d", r.Position-v.last-1, v.last, r.Position)})
	}
	v.reportBad(r.Position)
	v.last = r.Position
	if len(r.Digest) != 32 || len(r.Chain) != 32 {
		v.report(Problem{Kind: Unchained, Position: r.Position, Detail: "the row has no digest or chain: it was not written by the log's writer"})
		v.unlinked = true // the next row's link cannot be checked
		return
	}
	gap = gap || v.unlinked
	v.unlinked = false
	stored, chained := Hash(r.Digest), Hash(r.Chain)
	switch {
	case !gap && Link(v.base, stored) != chained:
		v.report(Problem{Kind: Inserted, Position: r.Position, Detail: "the row does not link to the chain of the event before it (inserted, or its chain was rewritten)"})
	case Digest(&r.Event) != stored:
		v.report(Problem{Kind: Altered, Position: r.Position, Detail: fmt.Sprintf("stream %q revision %d: the stored content does not match its digest", r.Stream, r.Revision)})
	}
	v.base = chained
	if cp, ok := v.checkpoints[r.Position]; ok {
		v.signedUpTo = r.Position
		if cp.Chain != chained {
			v.report(Problem{Kind: ChainRewritten, Position: r.Position, Detail: "the chain here differs from the signed checkpoint: events at or before this position were rewritten with recomputed digests"})
		}
	}
}

// Stray reports, as Inserted, a row stored at position pos below 1, which the writer never assigns
// (positions start at 1): no read of $all reaches it, but reads of its stream do. Problems name
// positions from 0, so the finding is at position 0 and its detail names pos. Call it for every
// such row before the first Feed, so that the findings stay in position order.
func (v *Verifier) Stray(pos int64, stream string, revision uint64) {
	v.rows++
	v.report(Problem{Kind: Inserted, Position: 0, Detail: fmt.Sprintf("a row stored at position %d (stream %q revision %d): "+
		"the log's positions start at 1, so the writer wrote no such row, yet reads of its stream return it", pos, stream, revision)})
}

// Prime sets the verifier's state to follow r without checking r or counting it: the verifier of a
// later range of the log, primed with the last row before its range, then checks each of its rows
// exactly as one verifier fed the whole log would (the link from r's stored chain, a gap after r).
func (v *Verifier) Prime(r *Row) {
	v.last = r.Position
	v.unlinked = len(r.Digest) != 32 || len(r.Chain) != 32
	if !v.unlinked {
		v.base = Hash(r.Chain)
	}
}

// Result is the outcome of a verification.
type Result struct {
	Rows       uint64    `json:"rows"`
	Last       uint64    `json:"lastPosition"`
	SignedUpTo uint64    `json:"signedUpTo"` // the last position a valid checkpoint covers
	Unsigned   uint64    `json:"unsignedTail"`
	Problems   []Problem `json:"problems"`
	Dropped    int       `json:"problemsNotListed,omitempty"`
}

// OK reports whether nothing was found.
func (r Result) OK() bool { return len(r.Problems) == 0 && r.Dropped == 0 }

// Finish reports checkpoints beyond the last row (events removed from the end) and returns the result.
func (v *Verifier) Finish(to uint64) Result {
	for _, pos := range slices.Sorted(maps.Keys(v.checkpoints)) {
		if pos > v.last && (to == 0 || pos <= to) {
			v.reportBad(pos + 1)
			v.report(Problem{Kind: MissingEvents, Position: pos, Detail: fmt.Sprintf("a signed checkpoint covers position %d but the log ends at %d: events were removed from its end", pos, v.last)})
		}
	}
	return v.Partial()
}

// ExpectEnd reports, as Removed, the positions after the last row fed up to last: where the end of
// the log is known (an export names its last position), rows missing from the end are removed
// events even when no checkpoint covers them. Call it after the last Feed, before Finish.
func (v *Verifier) ExpectEnd(last uint64) {
	if last <= v.last {
		return
	}
	v.reportBad(v.last + 1)
	v.report(Problem{Kind: Removed, Position: v.last + 1, To: last,
		Detail: fmt.Sprintf("%d event(s) missing after position %d: the log ends at %d", last-v.last, v.last, last)})
}

// Partial returns what the verifier found in its rows (and the bad checkpoints it was given),
// without Finish's look past the last row: the result of a range of the log that later rows follow.
func (v *Verifier) Partial() Result {
	v.reportBad(^uint64(0))
	return Result{Rows: v.rows, Last: v.last, SignedUpTo: v.signedUpTo, Unsigned: v.last - min(v.last, v.signedUpTo),
		Problems: v.problems, Dropped: v.Dropped}
}

// Merge combines the results of consecutive ranges of the log, verified apart with the checkpoints
// of their own positions: each part's findings are in position order, the lowest kept, so the
// parts' findings in turn, cut to maxProblems (the rest counted), are what one verifier of the
// whole would list.
func Merge(parts []Result, maxProblems int) Result {
	var out Result
	for _, p := range parts {
		out.Rows += p.Rows
		out.Last = max(out.Last, p.Last)
		out.SignedUpTo = max(out.SignedUpTo, p.SignedUpTo)
		out.Problems = append(out.Problems, p.Problems...)
		out.Dropped += p.Dropped
	}
	out.Unsigned = out.Last - min(out.Last, out.SignedUpTo)
	if len(out.Problems) > maxProblems {
		out.Dropped += len(out.Problems) - maxProblems
		out.Problems = out.Problems[:maxProblems]
	}
	return out
}
