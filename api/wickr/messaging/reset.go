package messaging

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

// ResetWait bounds how long LeaveRooms waits for the conversations read model to reach the reset.
const ResetWait = 10 * time.Second

// Resets carry out the room side of a Wickr password reset (guide §21.6: a reset removes the user
// from every room; it must be re-invited), a saga over the rooms' streams that the side-effect router
// runs for each roster PasswordReset.
//
// Choices: the reset itself is recorded first, on the roster, and stands whatever happens here. Each
// room is left by a command of its own (conversation.RemoveAfterReset: one MemberLeft on that room,
// only for a membership that began by the reset, none when it is gone already), so a run can be
// repeated and resumed at will. A room that fails does not stop the others; LeaveRooms then fails
// naming them, and the router delivers the message again (with backoff; once poisoned, it is
// re-driven later, for an hour and more: infra/sideeffects redrive.go), which redoes only what is
// left.
type Resets struct{ s *Service }

// PasswordResets returns the slice's password-reset saga.
func PasswordResets(s *Service) Resets { return Resets{s} }

// LeaveRooms takes the user (networkID, userID) out of every room it joined by resetAt, the time of
// its PasswordReset, which the event log holds at position: it first waits (at most ResetWait) until
// the conversations read model has applied that position, so that every room joined before the reset
// is listed, then leaves them one at a time. Direct messages and groups keep the user.
func (r Resets) LeaveRooms(ctx context.Context, networkID, userID string, resetAt time.Time, position uint64) error {
	if w := r.s.d.Conversations.RM; w != nil && position > 0 {
		wctx, cancel := context.WithTimeout(ctx, ResetWait)
		err := w.WaitFor(wctx, position)
		cancel()
		if err != nil {
			return fmt.Errorf("wickr password reset of user %s: the conversations read model is behind: %w", userID, err)
		}
	}
	me := conversation.Participant{NetworkID: networkID, UserID: userID}
	var failed []error
	after := ""
	for {
		page, err := r.s.d.Store.ForMember(ctx, me.Key(), after, MaxList)
		if err != nil {
			return errors.Join(append(failed, err)...)
		}
		for _, c := range page {
			if c.Kind == conversation.KindRoom {
				if err := r.leave(ctx, c.ID, me, resetAt); err != nil {
					failed = append(failed, fmt.Errorf("room %s: %w", c.ID, err))
				}
			}
		}
		if len(page) < MaxList {
			return errors.Join(failed...)
		}
		after = page[len(page)-1].ID
	}
}

// leave takes the user out of one room; a room that no longer exists is left already.
func (r Resets) leave(ctx context.Context, id string, me conversation.Participant, resetAt time.Time) error {
	_, err := r.s.d.Conversations.Repo.Execute(ctx, conversation.StreamName(id), conversation.RemoveAfterReset{Member: me, ResetAt: resetAt})
	if domain.KindOf(err) == domain.KindNotFound {
		return nil
	}
	return err
}
