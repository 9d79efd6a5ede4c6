package messaging

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// Expiry is the sweep of the messages that are gone (expired, burnt): their keys and files destroyed,
// then their destruction recorded.
//
// A gone message that a network's data-retention archive must keep (guide §8: the bot keeps every
// message of the network) and has not shipped yet keeps its key until it has, or until MaxArchiveHold
// after its deadline (the archive then records it as unavailable): it is gone from every API at its
// deadline all the same, only its key's destruction waits, so that an archive target that is down
// for a while (a bucket unreachable) loses no message that expired meanwhile. Held messages are
// passed over, not waited on: they hold back no other message's destruction. A sweep reads at most
// maxDuePages pages; when the held ones in them leave its batch short, the next sweep goes on after
// them, and one that reaches the last due message has the next start again from the oldest (whose
// holds may have ended since): however many are held, every due message is read within a bounded
// number of sweeps.
type Expiry struct {
	d    Deps
	from *dueFrom
}

// dueFrom is where a sweep's listing of due messages starts: the oldest (the zero cursor), or after
// the pages an earlier sweep read without filling its batch (held messages passed over).
type dueFrom struct {
	mu sync.Mutex
	at wickrconversations.DueCursor
}

func (f *dueFrom) get() wickrconversations.DueCursor {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.at
}

func (f *dueFrom) set(c wickrconversations.DueCursor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = c
}

// ArchiveHolds says which of the due messages the data-retention archive has yet to ship
// (infra/wickrarchive Holds implements it).
type ArchiveHolds interface {
	Held(ctx context.Context, due []wickrconversations.Due) (map[string]bool, error)
}

// MaxArchiveHold bounds how long after its deadline a gone message's key waits for the archive.
const MaxArchiveHold = 24 * time.Hour

// maxDuePages bounds the pages of due messages one sweep reads past held ones.
const maxDuePages = 20

// Expiry returns the slice's sweep.
func (s *Service) Expiry() Expiry { return Expiry{d: s.d, from: s.dueFrom} }

// maxFailures bounds the failed messages a sweep's error names.
const maxFailures = 10

// ExpireDue destroys the keys of the messages whose expiry or burn time has passed at the slice's
// clock and of their files (deleting the files' blobs), then records their destruction (at most
// limit per call, the oldest deadlines first, passing over those the archive holds); it returns how
// many it destroyed. A message whose
// destruction fails (its key store, or a file that cannot be removed) is left to a later call and
// holds back no other: the others of the batch are destroyed and recorded, and the errors joined;
// after a full batch with failures the next call goes on after it, so that failed messages, however
// many, never fill every batch.
func (x Expiry) ExpireDue(ctx context.Context, limit int) (int, error) {
	due, err := x.due(ctx, limit)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	files, err := x.files(ctx, due)
	if err != nil {
		return 0, err
	}
	var errs []error
	byConv := map[string][]string{}
	for _, d := range due {
		if err := x.destroy(ctx, d, files[d.MessageID]); err != nil {
			if errs = append(errs, fmt.Errorf("message %s: %w", d.MessageID, err)); len(errs) > maxFailures {
				errs = append(errs[:maxFailures-1], errors.New("and more messages whose destruction failed"))
			}
			continue
		}
		byConv[d.ConversationID] = append(byConv[d.ConversationID], d.MessageID)
	}
	if len(errs) > 0 && len(due) == limit {
		// A full batch of which some stays due: the next sweep goes on after it (one that reaches the
		// end starts again from the oldest), so failed messages, which stay at the head of the due
		// list, hold back no message due after them however many they are.
		x.from.set(due[len(due)-1].Next())
	}
	n := 0
	for id, ids := range byConv {
		dec, _, err := x.d.Conversations.Execute(ctx, conversation.StreamName(id), conversation.Destroy{MessageIDs: ids})
		if err != nil {
			errs = append(errs, wickr.Prefix("conversation "+id, err))
			continue
		}
		n += len(dec.Events)
	}
	return n, errors.Join(errs...)
}

// due lists at most limit gone messages whose keys may go now: the oldest deadlines first from
// where the sweeps are (dueFrom), passing over those the archive holds (reading at most maxDuePages
// pages).
func (x Expiry) due(ctx context.Context, limit int) ([]wickrconversations.Due, error) {
	now := x.d.Now()
	var out []wickrconversations.Due
	after := x.from.get()
	for range maxDuePages {
		page, err := x.d.Store.Due(ctx, now, after, limit)
		if err != nil {
			return out, err
		}
		if len(page) < limit {
			x.from.set(wickrconversations.DueCursor{}) // the end: the next sweep starts from the oldest
		}
		if len(page) == 0 {
			return out, nil
		}
		held := map[string]bool{}
		if x.d.Archive != nil {
			var fresh []wickrconversations.Due // past MaxArchiveHold, no message is held
			for _, d := range page {
				if now.Sub(d.Deadline) < MaxArchiveHold {
					fresh = append(fresh, d)
				}
			}
			if held, err = x.d.Archive.Held(ctx, fresh); err != nil {
				return out, err
			}
		}
		for _, d := range page {
			if !held[d.MessageID] {
				out = append(out, d)
			}
		}
		if len(out) >= limit || len(page) < limit {
			return out[:min(len(out), limit)], nil
		}
		after = page[len(page)-1].Next()
	}
	x.from.set(after) // the pages held too many: the next sweep goes on after them
	return out, nil
}

// files are the files of the due messages, by message (none without a blob store).
func (x Expiry) files(ctx context.Context, due []wickrconversations.Due) (map[string][]attachment.Stored, error) {
	if x.d.Blobs == nil {
		return nil, nil
	}
	ids := make([]string, len(due))
	for i, d := range due {
		ids[i] = d.MessageID
	}
	return x.d.Blobs.ForMessages(ctx, ids)
}

// destroy destroys one gone message's scope — its key and its files' content keys, which are of the
// message's own scope (conversation.KeyScope) — then deletes its files' blobs and rows (each by
// itself: no scan of the store); called before its destruction is recorded, and idempotent, so a
// crash in between is finished by the next sweep.
func (x Expiry) destroy(ctx context.Context, d wickrconversations.Due, files []attachment.Stored) error {
	if err := x.d.Keys.DestroyOwnScope(ctx, d.KeyID); err != nil {
		return err
	}
	for _, a := range files {
		if a.Container != Container {
			continue
		}
		if err := x.d.Keys.DestroyOwnScope(ctx, a.KeyID); err != nil {
			return err // the key first: no file is deleted while its key lives
		}
		if err := x.d.Blobs.Discard(ctx, a); err != nil {
			return err
		}
	}
	return nil
}
