package conversation

import (
	"strings"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// MaxRead bounds the messages one MarkRead names.
const MaxRead = 100

func decidePost(s State, c Post, now time.Time) ([]Event, error) {
	if m, ok := s.Messages[c.MessageID]; ok && m.Sender == c.Sender {
		return nil, nil // a retried post
	}
	if c.MessageID == "" || s.Messages[c.MessageID] != nil {
		return nil, wickr.Invalid("MessageId", "must be a new message id")
	}
	if !strings.Contains(c.KeyID, "/"+KeyScope(s.ID, c.MessageID)+"/") {
		return nil, wickr.FieldErr(ErrKey, "Content", "must be sealed under the message's own key, got key %q", c.KeyID)
	}
	if len(c.Sealed) == 0 || len(c.Sealed) > MaxSealed {
		return nil, wickr.Invalid("Content", "sealed content must be 1 to %d bytes", MaxSealed)
	}
	ttl, err := checkTimers(c.Sender, c.TTL, c.BOR, c.Policy)
	if err != nil {
		return nil, err
	}
	if err := checkAttachment(s, c); err != nil {
		return nil, err
	}
	if err := checkForward(s, c, now); err != nil {
		return nil, err
	}
	members := make([]Participant, 0, len(s.Members))
	for _, m := range s.Members {
		members = append(members, m)
	}
	if err := checkReach(c.Policy, c.Sender, members); err != nil {
		return nil, err
	}
	return []Event{MessagePosted{MessageID: c.MessageID, Seq: s.Seq + 1, Sender: c.Sender, KeyID: c.KeyID, Sealed: c.Sealed,
		TTL: ttl, BOR: c.BOR, Attachment: c.Attachment, ForwardedFrom: c.ForwardedFrom, At: now}}, nil
}

// CheckForward refuses a forward by a sender whose security group has messageForwardingEnabled off
// (guide §3.3 Messaging: whether users may forward messages). The group that counts is the sender's
// at the time of the post — the one the post's Policy carries, read with the timers' limits —
// neither the source message's sender's nor a recipient's. A guest belongs to no group and forwards
// as the default settings allow (forwarding on).
func CheckForward(p Policy, sender Participant) error {
	if sender.Guest() {
		return nil
	}
	g, ok := p.Groups[sender.Key()]
	switch {
	case !ok:
		return domain.Wrapf(ErrUnknown, "the sender is not an active user")
	case !g.MessageForwardingEnabled:
		return wickr.FieldErr(ErrForwarding, "ForwardedFrom", "the sender's security group has messageForwardingEnabled off: its users may not forward messages")
	}
	return nil
}

// Readable checks that reader can read message messageID of conversation s at now: the conversation
// exists, reader is a member of it, and the message was posted and is not gone (expired, burnt or
// destroyed). Anything else is ErrMessageNotFound, whatever the reason: a message one cannot read
// is one one cannot see.
func Readable(s State, reader Participant, messageID string, now time.Time) error {
	if m := s.Messages[messageID]; s.Live() && s.Member(reader) && m != nil && !m.Gone(now) {
		return nil
	}
	return domain.Wrapf(ErrMessageNotFound, "message %s not found", messageID)
}

// checkForward checks a forward: both ids of its source, the sender's group (CheckForward) and, when
// the source is in this conversation, that the sender reads it now (Readable). A source in another
// conversation is not in this state: the caller checks it on that conversation's state first.
func checkForward(s State, c Post, now time.Time) error {
	f := c.ForwardedFrom
	switch {
	case f == nil:
		return nil
	case f.ConversationID == "":
		return wickr.Invalid("ForwardedFrom.ConversationId", "is required")
	case f.MessageID == "":
		return wickr.Invalid("ForwardedFrom.MessageId", "is required")
	}
	if err := CheckForward(c.Policy, c.Sender); err != nil {
		return err
	}
	if f.ConversationID == s.ID {
		return Readable(s, c.Sender, f.MessageID, now)
	}
	return nil
}

// CheckPost checks what Decide refuses of a post from the policy and the conversation's members
// alone — the timers (sender's group, MaxTimer), a file where the sender's group disallows files
// (withFile), a member the sender may not reach, a guest without a user — so that a caller refuses
// it before it seals anything or stores a file. Decide checks all of it again on its state.
func CheckPost(p Policy, sender Participant, members []Participant, ttl, bor int64, withFile bool) error {
	if _, err := checkTimers(sender, ttl, bor, p); err != nil {
		return err
	}
	if withFile {
		if err := checkFiles(p, sender); err != nil {
			return err
		}
	}
	return checkReach(p, sender, members)
}

// checkReach checks that the sender reaches every live member and that a guest's post reaches a user
// of a network (guests do not talk among themselves).
func checkReach(p Policy, sender Participant, members []Participant) error {
	users := 0
	for _, m := range members {
		if m == sender || !p.Known(m) {
			continue // no live user is reached there
		}
		if err := p.Reachable(sender, m); err != nil {
			return err
		}
		if !m.Guest() {
			users++
		}
	}
	if sender.Guest() && users == 0 {
		return domain.Wrapf(ErrNotFederated, "no user of a network is left in the conversation: guest users do not talk among themselves")
	}
	return nil
}

// checkTimers checks the timers against the sender's group (guide §3.3: maxTtl and maxBor are the
// most a user may set) and MaxTimer, and returns the expiration timer: the group's maxTtl (at most
// MaxTimer) when none is set.
func checkTimers(sender Participant, ttl, bor int64, p Policy) (int64, error) {
	switch {
	case ttl < 0:
		return 0, wickr.Invalid("Ttl", "must not be negative")
	case bor < 0:
		return 0, wickr.Invalid("Bor", "must not be negative")
	case ttl > MaxTimer:
		return 0, wickr.FieldErr(ErrTimer, "Ttl", "%d seconds is above this server's bound of %d seconds", ttl, MaxTimer)
	case bor > MaxTimer:
		return 0, wickr.FieldErr(ErrTimer, "Bor", "%d seconds is above this server's bound of %d seconds", bor, MaxTimer)
	case sender.Guest():
		return ttl, nil // guests belong to no security group
	}
	g, ok := p.Groups[sender.Key()]
	switch {
	case !ok:
		return 0, domain.Wrapf(ErrUnknown, "the sender is not an active user")
	case g.MaxTTL > 0 && ttl > g.MaxTTL:
		return 0, wickr.FieldErr(ErrTimer, "Ttl", "%d seconds is above the security group's maxTtl of %d seconds", ttl, g.MaxTTL)
	case g.MaxBor > 0 && bor > int64(g.MaxBor):
		return 0, wickr.FieldErr(ErrTimer, "Bor", "%d seconds is above the security group's maxBor of %d seconds", bor, g.MaxBor)
	case ttl == 0:
		return min(g.MaxTTL, MaxTimer), nil
	}
	return ttl, nil
}

// checkFiles refuses a file of a user whose group disallows files.
func checkFiles(p Policy, sender Participant) error {
	if !sender.Guest() && !p.Groups[sender.Key()].FilesEnabled {
		return wickr.FieldErr(ErrFiles, "Attachment", "the sender's security group does not allow files")
	}
	return nil
}

func checkAttachment(s State, c Post) error {
	a := c.Attachment
	if a == nil {
		return nil
	}
	switch {
	case a.AttachmentID == "":
		return wickr.Invalid("Attachment", "must name the uploaded file's bytes (upload them with the message)")
	case !strings.Contains(a.KeyID, "/"+KeyScope(s.ID, c.MessageID)+"/"):
		return wickr.FieldErr(ErrKey, "Attachment", "the file must be encrypted under a key of the message's own, got key %q", a.KeyID)
	case !blobAddress(a.Blob):
		return wickr.Invalid("Attachment", "the file's address must be the SHA-256 of its stored bytes")
	case a.Size <= 0 || a.Size > MaxFileSize:
		return wickr.Invalid("Attachment.Size", "must be 1 to %d bytes", MaxFileSize)
	case len(a.ContentType) > MaxContentType:
		return wickr.Invalid("Attachment.ContentType", "must be at most %d characters", MaxContentType)
	}
	return checkFiles(c.Policy, c.Sender)
}

func decideRead(s State, c MarkRead, now time.Time) ([]Event, error) {
	if len(c.MessageIDs) == 0 || len(c.MessageIDs) > MaxRead {
		return nil, wickr.Invalid("MessageIds", "must name 1 to %d messages", MaxRead)
	}
	var evs []Event
	seen := map[string]bool{}
	for _, id := range c.MessageIDs {
		m := s.Messages[id]
		if m == nil || m.Gone(now) {
			return nil, domain.Wrapf(ErrMessageNotFound, "message %s not found", id)
		}
		if seen[id] || m.Sender == c.Reader || m.Readers[c.Reader.Key()] {
			continue
		}
		seen[id] = true
		receipt := c.Policy.receipt(s.Kind, m.Sender, c.Reader, c.SendReceipt)
		burn := m.BOR > 0 && m.BurnStarted.IsZero()
		if receipt || burn {
			evs = append(evs, MessageRead{MessageID: id, Reader: c.Reader, Receipt: receipt, StartsBurn: burn, At: now})
		}
	}
	return evs, nil
}

func decideDestroy(s State, c Destroy, now time.Time) []Event {
	var evs []Event
	seen := map[string]bool{}
	for _, id := range c.MessageIDs {
		m := s.Messages[id]
		if m == nil || seen[id] || !m.Gone(now) {
			continue
		}
		seen[id] = true
		evs = append(evs, MessageDestroyed{MessageID: id, KeyID: m.KeyID, Reason: m.reason(), At: now})
	}
	return evs
}

// blobAddress reports whether b is a blob's address: 64 lowercase hexadecimal digits.
func blobAddress(b string) bool {
	if len(b) != 64 {
		return false
	}
	for _, r := range b {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
