package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// Draft is a message as the caller posts it: Ttl and Bor in seconds (0: none). ForwardedFrom names
// the message it forwards (nil: none); its Text is the client's, the source's content is never read.
type Draft struct {
	Text          string
	TTL, BOR      int64
	File          string // the attachment's name ("" without one)
	Attachment    *conversation.Attachment
	ForwardedFrom *conversation.MessageRef
}

// File is an attachment as one reader sees it (§12: the reader's own group decides).
type File struct {
	Name, ContentType    string
	Size                 int64
	Download             bool   // the reader's group allows downloading (else preview only)
	Preview              bool   // GET …/preview makes a rendition of it (an image of a supported type within the bounds)
	AutoDownload         bool   // within the reader's group's maxAutoDownloadSize
	Transfer             string // BestQuality or LowBandwidth, per the reader's group (a download's: which bytes it sends)
	AutoDownloadMaxBytes int64
	Sha256               string // the plaintext's SHA-256, where the answer knows it (a post, a download)
}

// Message is a message as the API answers it.
type Message struct {
	ConversationID, MessageID string
	Seq                       int64
	Sender                    conversation.Participant
	Text                      string
	TTL, BOR                  int64
	CreatedAt                 time.Time
	ExpiresAt, BurnAt         time.Time // zero: none (yet)
	File                      *File
	ReadBy                    []wickrconversations.Receipt // receipts, on the caller's own messages
	// Forwarded: it forwards another message. Readers are shown only that: the source's ids would
	// tell a reader of another network, or a guest, which conversations exist (a direct message's id
	// derives from its pair); the event keeps them, the read model does not.
	Forwarded bool
}

// Post seals and posts a message of the caller; the answer is the message as posted. A message
// carrying a file is posted by PostFile, with the file's bytes.
func (s *Service) Post(ctx context.Context, me Caller, id string, d Draft) (Message, error) {
	return s.post(ctx, me, id, newMessageID(), d)
}

func newMessageID() string { return uuid.NewString() }

// tenantOf is the tenant of the keys of the caller's content: its network, or the guest network.
func tenantOf(me Caller) string {
	if me.GuestHash != "" {
		return wickr.GuestTenant // a guest's messages are sealed under keys of the guest network
	}
	return me.NetworkID
}

// poster refuses a caller who is not a member of the conversation before anything is sealed (a
// message's key, and its day's and scope's, would otherwise be created for a non-member's or a
// made-up conversation's post): the repository's cached state answers, a refusal is confirmed on
// the stream's latest state; Decide checks membership again, on the state it appends to. It returns
// the conversation's members (the caller among them) in key order, from the state that answered.
func (s *Service) poster(ctx context.Context, me Caller, id string) ([]conversation.Participant, error) {
	stream := conversation.StreamName(id)
	var members []conversation.Participant
	in := func(st conversation.State) error {
		if !st.Member(me.Participant()) {
			return domain.Wrapf(conversation.ErrNotMember, "conversation not found") // as Decide answers a non-member
		}
		members = make([]conversation.Participant, 0, len(st.Members))
		for _, k := range slices.Sorted(maps.Keys(st.Members)) {
			members = append(members, st.Members[k])
		}
		return nil
	}
	err := s.d.Conversations.Repo.Inspect(ctx, stream, false, in)
	if errors.Is(err, conversation.ErrNotMember) {
		err = s.d.Conversations.Repo.Inspect(ctx, stream, true, in)
	}
	return members, err
}

// postPolicy refuses a caller who is not a member (poster), then reads the policy a post of the
// caller is decided on and refuses, on it and the conversation's members, what the decision would
// refuse whatever the state (a timer above the sender's group's maximum, a file where files are
// off, a member out of reach: conversation.CheckPost; a forward where the sender's group has
// messageForwardingEnabled off: conversation.CheckForward) — before a key is made or a file's byte
// is read; Decide checks it all again.
func (s *Service) postPolicy(ctx context.Context, me Caller, id string, d Draft, withFile bool) (conversation.Policy, error) {
	members, err := s.poster(ctx, me, id)
	if err != nil {
		return conversation.Policy{}, err
	}
	ps := append([]conversation.Participant{me.Participant()}, members...)
	p, err := s.policy(ctx, ps)
	if err != nil {
		return p, err
	}
	if err := conversation.CheckPost(p, me.Participant(), ps[1:], d.TTL, d.BOR, withFile); err != nil {
		return p, err
	}
	if d.ForwardedFrom != nil {
		return p, conversation.CheckForward(p, me.Participant())
	}
	return p, nil
}

// forwardable refuses the forward of a message the caller cannot read now (conversation.Readable:
// not a member of the source conversation, the message expired, burnt, destroyed or never posted,
// the conversation made up — all 404, like any message the caller cannot see). The post is decided
// on the target conversation's stream, which does not hold the source's state, so the source is
// checked first through its own command path: a decision without events on its freshly read state,
// at the command path's clock. A source message that goes, or a caller that leaves its
// conversation, between this check and the post still counts as readable at the check: the forward
// is recorded.
func forwardable(ctx context.Context, convs Conversations, me Caller, f *conversation.MessageRef) error {
	if f == nil {
		return nil
	}
	_, err := convs.Repo.ExecuteFunc(ctx, conversation.StreamName(f.ConversationID),
		func(st conversation.State, now time.Time) ([]conversation.Event, error) {
			return nil, conversation.Readable(st, me.Participant(), f.MessageID, now)
		})
	return err
}

// CheckReach refuses a caller whom the conversation's policy no longer lets reach one of its live
// members — a federation changed (§3.4), guest federation turned off, a guest blocked (§15.4) — on
// the policy a post is decided on: what refuses the caller's next message refuses it a call too.
func (s *Service) CheckReach(ctx context.Context, me Caller, id string) error {
	_, err := s.postPolicy(ctx, me, id, Draft{}, false)
	return err
}

func (s *Service) post(ctx context.Context, me Caller, id, mid string, d Draft) (Message, error) {
	p, err := s.postPolicy(ctx, me, id, d, d.Attachment != nil)
	if err != nil {
		return Message{}, err
	}
	if err := forwardable(ctx, s.d.Conversations, me, d.ForwardedFrom); err != nil {
		return Message{}, err
	}
	plain, _ := json.Marshal(conversation.Content{Text: d.Text, File: d.File})
	keyID, sealed, err := s.d.Keys.SealNew(ctx, tenantOf(me), conversation.KeyScope(id, mid), s.d.Now(), plain)
	if err != nil {
		return Message{}, err
	}
	cmd := conversation.Post{MessageID: mid, Sender: me.Participant(), KeyID: keyID, Sealed: sealed, TTL: d.TTL, BOR: d.BOR, Attachment: d.Attachment,
		ForwardedFrom: d.ForwardedFrom, Policy: p}
	m, err := usecase.Run(ctx, s.d.Conversations.Command(conversation.StreamName(id), cmd), nil,
		func(dec usecase.Decided[conversation.State, conversation.Event]) (Message, error) {
			if len(dec.Events) == 0 {
				return Message{}, errors.New("messaging: the post was not recorded")
			}
			e := dec.Events[0].(conversation.MessagePosted)
			m := Message{ConversationID: id, MessageID: mid, Seq: e.Seq, Sender: e.Sender, Text: d.Text, TTL: e.TTL, BOR: e.BOR, CreatedAt: e.At,
				Forwarded: e.ForwardedFrom != nil}
			if e.TTL > 0 {
				m.ExpiresAt = e.At.Add(conversation.Timer(e.TTL))
			}
			if d.Attachment != nil {
				m.File = &File{Name: d.File, ContentType: d.Attachment.ContentType, Size: d.Attachment.Size, Preview: d.Attachment.Preview}
			}
			return m, nil
		})
	if err != nil && domain.KindOf(err) != 0 {
		_ = s.d.Keys.Destroy(context.WithoutCancel(ctx), keyID) // a refused post's key seals nothing stored
	}
	return m, err
}

// Messages returns a page of a conversation's messages to one of its members, newest first, before
// the sequence number before (0: from the newest); the cursor of the next page is the last one's.
func (s *Service) Messages(ctx context.Context, me Caller, id string, before int64, limit int) ([]Message, int64, error) {
	if _, err := s.member(ctx, me, id); err != nil {
		return nil, 0, err
	}
	group, err := s.readerGroup(ctx, me)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.d.Store.Messages(ctx, id, s.d.Now(), before, limit)
	if err != nil {
		return nil, 0, err
	}
	var own []string
	out := make([]Message, 0, len(rows))
	for _, r := range rows {
		m, ok, err := s.open(ctx, r, group)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			continue // its key is destroyed: the message is gone
		}
		if r.SenderKey == me.Participant().Key() {
			own = append(own, r.MessageID)
		}
		out = append(out, m)
	}
	if err := s.receipts(ctx, id, own, out); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(rows) == limit {
		next = rows[len(rows)-1].Seq
	}
	return out, next, nil
}

func (s *Service) receipts(ctx context.Context, id string, own []string, out []Message) error {
	if len(own) == 0 {
		return nil
	}
	rs, err := s.d.Store.Receipts(ctx, id, own)
	for i := range out {
		out[i].ReadBy = rs[out[i].MessageID]
	}
	return err
}

// open decrypts one row for a reader of group g; false when its key is destroyed.
func (s *Service) open(ctx context.Context, r wickrconversations.Message, g sg.Settings) (Message, bool, error) {
	pt, err := s.d.Keys.Open(ctx, r.KeyID, r.Sealed)
	if errors.Is(err, domain.ErrShredded) {
		return Message{}, false, nil
	}
	if err != nil {
		return Message{}, false, err
	}
	var c conversation.Content
	if err := json.Unmarshal(pt, &c); err != nil {
		return Message{}, false, err
	}
	m := Message{ConversationID: r.ConversationID, MessageID: r.MessageID, Seq: r.Seq, Sender: ParseKey(r.SenderKey), Text: c.Text,
		TTL: r.TTL, BOR: r.BOR, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, BurnAt: r.BurnAt, Forwarded: r.Forwarded}
	if r.Size > 0 {
		m.File = fileFor(c.File, r.ContentType, r.Size, g)
		m.File.Preview = r.Preview
	}
	return m, true, nil
}

// fileFor is what a reader of group g may do with a file (§3.3 Media and links, §12).
func fileFor(name, ctype string, size int64, g sg.Settings) *File {
	f := &File{Name: name, ContentType: ctype, Size: size, Download: g.EnableFileDownload, Transfer: TransferBest}
	if g.EnableFileDownload {
		f.AutoDownloadMaxBytes = g.MaxAutoDownloadSize
		f.AutoDownload = size <= g.MaxAutoDownloadSize
		if g.MaxAutoDownloadSize == sg.DownloadLowQuality {
			f.Transfer = TransferLow
		}
	}
	return f
}

// readerGroup is the settings of the caller's security group (a guest's: the defaults).
func (s *Service) readerGroup(ctx context.Context, me Caller) (sg.Settings, error) {
	g := sg.Defaults()
	if me.GuestHash != "" {
		return g, nil
	}
	_, err := s.d.Networks.Repo.ExecuteFunc(ctx, network.StreamName(me.NetworkID), func(st network.State, _ time.Time) ([]network.Event, error) {
		if gr, ok := st.Groups[me.GroupID]; ok {
			g = gr.Settings
		}
		return nil, nil
	})
	return g, err
}

// MarkRead records the caller's read of messages: a receipt where the networks allow it (§6), and
// the start of their burn-on-read timers.
func (s *Service) MarkRead(ctx context.Context, me Caller, id string, messageIDs []string, sendReceipt bool) error {
	members, err := s.d.Store.Members(ctx, id)
	if err != nil {
		return err
	}
	ps := []conversation.Participant{me.Participant()}
	for _, m := range members {
		ps = append(ps, m.Participant())
	}
	p, err := s.policy(ctx, ps)
	if err != nil {
		return err
	}
	cmd := conversation.MarkRead{Reader: me.Participant(), MessageIDs: messageIDs, SendReceipt: sendReceipt, Policy: p}
	return usecase.Exec(ctx, s.d.Conversations.Command(conversation.StreamName(id), cmd))
}
