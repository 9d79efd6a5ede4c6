package messaging

import (
	"context"

	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

// Expiry is the sweep of the messages that are gone (expired, burnt): their keys and files destroyed,
// then their destruction recorded.
type Expiry struct{ d Deps }

// Expiry returns the slice's sweep.
func (s *Service) Expiry() Expiry { return Expiry{d: s.d} }

// ExpireDue destroys the keys of the messages whose expiry or burn time has passed at the slice's
// clock and of their files (deleting the files' blobs), then records their destruction (at most
// limit per call); it returns how many it destroyed.
func (x Expiry) ExpireDue(ctx context.Context, limit int) (int, error) {
	due, err := x.d.Store.Due(ctx, x.d.Now(), limit)
	if err != nil {
		return 0, err
	}
	byConv := map[string][]string{}
	ids := make([]string, 0, len(due))
	for _, d := range due {
		if err := x.d.Keys.Destroy(ctx, d.KeyID); err != nil {
			return 0, err
		}
		byConv[d.ConversationID] = append(byConv[d.ConversationID], d.MessageID)
		ids = append(ids, d.MessageID)
	}
	if err := x.destroyFiles(ctx, ids); err != nil {
		return 0, err
	}
	n := 0
	for id, ids := range byConv {
		dec, _, err := x.d.Conversations.Execute(ctx, conversation.StreamName(id), conversation.Destroy{MessageIDs: ids})
		if err != nil {
			return n, wickr.Prefix("conversation "+id, err)
		}
		n += len(dec.Events)
	}
	return n, nil
}

// destroyFiles destroys the content keys of the files of messages that went and deletes their blobs
// and rows (each by itself: no scan of the store); called before their destruction is recorded, and
// idempotent, so a crash in between is finished by the next sweep.
func (x Expiry) destroyFiles(ctx context.Context, messageIDs []string) error {
	if x.d.Blobs == nil || len(messageIDs) == 0 {
		return nil
	}
	files, err := x.d.Blobs.ForMessages(ctx, messageIDs)
	if err != nil {
		return err
	}
	for _, list := range files {
		for _, a := range list {
			if a.Container != Container {
				continue
			}
			if err := x.d.Keys.Destroy(ctx, a.KeyID); err != nil {
				return err // the key first: no file is deleted while its key lives
			}
			if err := x.d.Blobs.Discard(ctx, a); err != nil {
				return err
			}
		}
	}
	return nil
}
