package conversations

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/projections/chimeaccounts"
	"github.com/belfry/belfry/projections/chimeconversations"
)

// KeyScope is the data-key scope of a conversation's messages (under the sender's account).
func KeyScope(id string) string { return "conversation/" + id }

// seal checks the text and encrypts it under the sender's account's key of the day (architecture §7).
func (s *Service) seal(ctx context.Context, u chimeaccounts.User, id, text string, day time.Time) (conversation.Content, error) {
	if err := conversation.CheckText(text); err != nil {
		return conversation.Content{}, err
	}
	keyID, sealed, err := s.d.Keys.Seal(ctx, u.AccountID, KeyScope(id), day, []byte(text))
	if err != nil {
		return conversation.Content{}, err
	}
	return conversation.Content{Text: text, KeyID: keyID, Sealed: sealed}, nil
}

// member refuses a user who is not a member of the conversation before anything is sealed: a
// message key, its day key and its scope's key-encryption key are created for a conversation on its
// first message, so a flood of posts to conversations of others (or to made-up ids) would otherwise
// fill the key tables and the keyring. The repository's cached state answers (no I/O when the
// conversation is cached); a refusal is confirmed on the stream's latest state, so a member added by
// another process is not refused. Decide checks membership again, on the state it appends to.
func (s *Service) member(ctx context.Context, u chimeaccounts.User, id string) error {
	stream := conversation.StreamName(id)
	in := func(st conversation.State) error {
		if _, ok := st.Members[u.UserID]; !ok {
			return domain.Wrapf(conversation.ErrNotFound, "Conversation %s does not exist or you are not a member", id)
		}
		return nil
	}
	err := s.d.Conversations.Repo.Inspect(ctx, stream, false, in)
	if errors.Is(err, conversation.ErrNotFound) {
		err = s.d.Conversations.Repo.Inspect(ctx, stream, true, in)
	}
	return err
}

// refused answers the refusal the conversation would decide for cmd (its content not sealed yet)
// before anything is sealed, for the refusals member does not see: an edit of another member's
// message, of one that is not there or was redacted would otherwise leave a message key behind. As
// member, the cached state answers and a refusal is confirmed on the latest; Decide decides again.
func (s *Service) refused(ctx context.Context, id string, cmd conversation.Command) error {
	stream := conversation.StreamName(id)
	check := func(st conversation.State) error {
		_, err := conversation.Decide(st, cmd, s.d.Now())
		return err
	}
	err := s.d.Conversations.Repo.Inspect(ctx, stream, false, check)
	if err != nil && domain.KindOf(err) != 0 {
		err = s.d.Conversations.Repo.Inspect(ctx, stream, true, check)
	}
	return err
}

// postedAt answers when a message of the conversation was posted, the day an edit of it is sealed
// under: retention measures a message from its posting and destroys that day's key, so an edit sealed
// under the day it was made would outlive the message (its ciphertext in the log opening under a
// live key). The repository's cached state answers, else the stream's latest (another process
// posted it); a message neither knows (Decide refuses the edit) answers now.
func (s *Service) postedAt(ctx context.Context, id, messageID string) time.Time {
	var at time.Time
	read := func(st conversation.State) error {
		if m, ok := st.Messages[messageID]; ok {
			at = m.PostedAt
		}
		return nil
	}
	_ = s.d.Conversations.Repo.Inspect(ctx, conversation.StreamName(id), false, read)
	if at.IsZero() { // not in the cached state: another process may have posted it
		_ = s.d.Conversations.Repo.Inspect(ctx, conversation.StreamName(id), true, read)
	}
	if at.IsZero() {
		return s.d.Now()
	}
	return at
}

// PostMessage posts the user's message to one of the user's conversations and answers with it.
func (s *Service) PostMessage(ctx context.Context, u chimeaccounts.User, id, text string) (chimeconversations.Message, error) {
	return s.PostAttachment(ctx, u, id, uuid.NewString(), text, nil)
}

// PostAttachment posts the user's message with the id messageID and an attachment (nil: none).
func (s *Service) PostAttachment(ctx context.Context, u chimeaccounts.User, id, messageID, text string, att *conversation.Attachment) (chimeconversations.Message, error) {
	if _, err := uuid.Parse(id); err != nil {
		return chimeconversations.Message{}, domain.Wrapf(conversation.ErrNotFound, "Conversation %s does not exist or you are not a member", id)
	}
	if err := s.member(ctx, u, id); err != nil {
		return chimeconversations.Message{}, err
	}
	content, err := s.seal(ctx, u, id, text, s.d.Now())
	if err != nil {
		return chimeconversations.Message{}, err
	}
	c := s.d.Conversations.Command(conversation.StreamName(id), conversation.PostMessage{MessageID: messageID, SenderID: u.UserID, Content: content,
		Attachment: att})
	return usecase.Run(ctx, c, nil, func(d Decided) (chimeconversations.Message, error) {
		e := d.Events[0].(conversation.MessagePosted)
		return chimeconversations.Message{ConversationID: id, MessageID: e.MessageID, SenderID: e.SenderID, SenderAccountID: e.SenderAccountID,
			SenderName: e.SenderName, Content: text, KeyID: e.KeyID, CreatedAt: e.At}, nil
	})
}

// EditMessage replaces the text of the user's own message.
func (s *Service) EditMessage(ctx context.Context, u chimeaccounts.User, id, messageID, text string) (chimeconversations.Message, error) {
	if _, err := uuid.Parse(id); err != nil {
		return chimeconversations.Message{}, domain.Wrapf(conversation.ErrNotFound, "Conversation %s does not exist or you are not a member", id)
	}
	if err := s.member(ctx, u, id); err != nil {
		return chimeconversations.Message{}, err
	}
	if err := s.refused(ctx, id, conversation.EditMessage{MessageID: messageID, By: u.UserID, Content: conversation.Content{Text: text}}); err != nil {
		return chimeconversations.Message{}, err
	}
	content, err := s.seal(ctx, u, id, text, s.postedAt(ctx, id, messageID))
	if err != nil {
		return chimeconversations.Message{}, err
	}
	c := s.d.Conversations.Command(conversation.StreamName(id), conversation.EditMessage{MessageID: messageID, By: u.UserID, Content: content})
	return usecase.Run(ctx, c, nil, func(d Decided) (chimeconversations.Message, error) {
		e := d.Events[0].(conversation.MessageEdited)
		m := d.State.Members[u.UserID]
		return chimeconversations.Message{ConversationID: id, MessageID: messageID, SenderID: u.UserID, SenderAccountID: u.AccountID,
			SenderName: m.Name(), Content: text, KeyID: e.KeyID, EditedAt: &e.At}, nil
	})
}

// DeleteMessage is refused for end users (guide §4.9); a non-member learns nothing (404).
func (s *Service) DeleteMessage(ctx context.Context, u chimeaccounts.User, id, messageID string) error {
	return s.exec(ctx, id, conversation.DeleteMessage{MessageID: messageID, By: u.UserID})
}

// ListMessages returns a page of a conversation's messages, newest first, to one of its members.
func (s *Service) ListMessages(ctx context.Context, u chimeaccounts.User, id, token string, limit int) ([]chimeconversations.Message, string, error) {
	c, err := s.d.Store.GetConversation(ctx, id, u.UserID)
	if err != nil {
		return nil, "", err
	}
	hide, err := s.HideBefore(ctx, c)
	if err != nil {
		return nil, "", err
	}
	list, next, err := s.d.Store.ListMessages(ctx, id, token, limit)
	if err != nil {
		return nil, "", err
	}
	// Newest first: from the first message out of retention on, every one is hidden.
	if i := slices.IndexFunc(list, func(m chimeconversations.Message) bool { return m.CreatedAt.Before(hide) }); i >= 0 {
		list, next = list[:i], ""
	}
	for i := range list {
		if list[i].Sealed == nil {
			list[i].Redacted = true
			continue
		}
		pt, err := s.d.Keys.Open(ctx, list[i].KeyID, list[i].Sealed)
		switch {
		case errors.Is(err, domain.ErrShredded):
			list[i].Redacted = true // its key was destroyed (retention): the content is gone
		case err != nil:
			return nil, "", err
		default:
			list[i].Content = string(pt)
		}
		list[i].Sealed = nil
	}
	return list, next, nil
}
