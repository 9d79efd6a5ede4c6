package messaging_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/api/internal/memrepo"
	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/guest"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections/wickrconversations"
)

// convStore answers the read model's questions from the conversations' states.
type convStore struct {
	repo *memrepo.Repo[conversation.State, conversation.Command, conversation.Event]
}

func (c convStore) get(id string) conversation.State {
	return c.repo.State(conversation.StreamName(id))
}

func (c convStore) Conversation(_ context.Context, id string) (wickrconversations.Conversation, error) {
	st := c.get(id)
	if !st.Live() {
		return wickrconversations.Conversation{}, domain.Wrapf(conversation.ErrNotFound, "conversation %s not found", id)
	}
	return wickrconversations.Conversation{ID: st.ID, Kind: st.Kind, Title: st.Title, CreatedBy: st.CreatedBy.Key()}, nil
}

func (c convStore) IsMember(_ context.Context, id, key string) (bool, error) {
	_, ok := c.get(id).Members[key]
	return ok, nil
}

func (c convStore) Members(_ context.Context, id string) ([]wickrconversations.Member, error) {
	var out []wickrconversations.Member
	st := c.get(id)
	for k, m := range st.Members {
		out = append(out, wickrconversations.Member{Key: k, NetworkID: m.NetworkID, UserID: m.UserID, GuestHash: m.GuestHash, Moderator: st.Moderators[k]})
	}
	return out, nil
}

func (convStore) ForMember(context.Context, string, string, int) ([]wickrconversations.Conversation, error) {
	return nil, nil
}

func (convStore) Messages(context.Context, string, time.Time, int64, int) ([]wickrconversations.Message, error) {
	return nil, nil
}

func (convStore) Receipts(context.Context, string, []string) (map[string][]wickrconversations.Receipt, error) {
	return nil, nil
}

func (convStore) Due(context.Context, time.Time, wickrconversations.DueCursor, int) ([]wickrconversations.Due, error) {
	return nil, nil
}

func (convStore) Message(context.Context, string, string, time.Time) (wickrconversations.Message, error) {
	return wickrconversations.Message{}, domain.Wrapf(conversation.ErrMessageNotFound, "no message")
}

// countingKeys seals in clear and counts the keys it made and destroyed.
type countingKeys struct {
	mu              sync.Mutex
	made, destroyed int
}

func (k *countingKeys) SealNew(_ context.Context, tenant, scope string, _ time.Time, plaintext []byte) (string, []byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.made++
	return tenant + "/" + scope + "/day/" + string(rune('a'+k.made)), append([]byte(nil), plaintext...), nil
}

func (k *countingKeys) Open(_ context.Context, _ string, sealed []byte) ([]byte, error) {
	return sealed, nil
}

func (k *countingKeys) Destroy(context.Context, string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.destroyed++
	return nil
}

func (k *countingKeys) DestroyOwnScope(ctx context.Context, id string) error {
	return k.Destroy(ctx, id)
}

func (k *countingKeys) count() (made, destroyed int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.made, k.destroyed
}

// countingBlobs stores files in memory and counts what it was given.
type countingBlobs struct {
	mu        sync.Mutex
	puts      int
	bytesRead int64
}

func (b *countingBlobs) Put(_ context.Context, r io.Reader, u attachment.Upload) (attachment.Stored, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, u.Max+1))
	b.mu.Lock()
	b.puts++
	b.bytesRead += n
	b.mu.Unlock()
	if err != nil {
		return attachment.Stored{}, err
	}
	return attachment.Stored{AttachmentID: "att-1", KeyID: u.Tenant + "/" + u.Scope + "/file", Blob: string(bytes.Repeat([]byte("a"), 64)), Size: n}, nil
}

func (b *countingBlobs) Record(context.Context, attachment.Stored) error  { return nil }
func (b *countingBlobs) Discard(context.Context, attachment.Stored) error { return nil }
func (b *countingBlobs) ForMessages(context.Context, []string) (map[string][]attachment.Stored, error) {
	return nil, nil
}
func (b *countingBlobs) Meta(context.Context, attachment.Stored) (attachment.Meta, error) {
	return attachment.Meta{}, errors.New("no meta")
}
func (b *countingBlobs) Open(context.Context, attachment.Stored) (io.ReadCloser, error) {
	return nil, errors.New("no bytes")
}

func (b *countingBlobs) count() (puts int, read int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.puts, b.bytesRead
}

// world is a messaging slice over memory: one network (nid) with one group (gid) of settings g,
// its users, guests and a conversations' repository.
type world struct {
	svc      *messaging.Service
	keys     *countingKeys
	blobs    *countingBlobs
	networks *memrepo.Repo[network.State, network.Command, network.Event]
	convs    *memrepo.Repo[conversation.State, conversation.Command, conversation.Event]
	deps     messaging.Deps // what svc was built on (a test builds another service over the same world)
}

const nid, gid = "11111111", "G1"

func newWorld(t *testing.T, g sg.Settings, users []string, guests []string) *world {
	t.Helper()
	nets := memrepo.New(network.Initial, network.Evolve, network.Decide)
	nets.Put(network.StreamName(nid), network.State{ID: nid, Status: network.StatusActive, Region: "us-east-1",
		Settings: network.DefaultSettings(), Groups: map[string]*network.Group{gid: {ID: gid, Settings: g}}, BlockedGuests: map[string]network.BlockedGuest{}})
	rosters := memrepo.New(roster.Initial, roster.Evolve, roster.Decide)
	for _, u := range users {
		stream := roster.StreamName(nid, u)
		st := rosters.State(stream)
		if st.Users == nil {
			st = roster.State{NetworkID: nid, Users: map[string]*roster.User{}}
		}
		st.Users[u] = &roster.User{ID: u, Username: u + "@a.example", GroupID: gid, Status: roster.StatusActive}
		rosters.Put(stream, st)
	}
	gs := memrepo.New(guest.Initial, guest.Evolve, guest.Decide)
	for _, h := range guests {
		gs.Put(guest.StreamPrefix+h, guest.State{UsernameHash: h, Live: true})
	}
	convs := memrepo.New(conversation.Initial, conversation.Evolve, conversation.Decide)
	w := &world{keys: &countingKeys{}, blobs: &countingBlobs{}, networks: nets, convs: convs}
	w.deps = messaging.Deps{Conversations: messaging.Conversations{Repo: convs}, Networks: usecase.Networks{Repo: nets},
		Rosters: usecase.Rosters{Repo: rosters}, Guests: usecase.Guests{Repo: gs}, Store: convStore{convs}, Keys: w.keys, Blobs: w.blobs,
		MaxFileBytes: 1 << 20}
	w.svc = messaging.New(w.deps)
	return w
}

func user(id string) messaging.Caller {
	return messaging.Caller{NetworkID: nid, UserID: id, GroupID: gid}
}

func guestOf(email string) messaging.Caller {
	return messaging.Caller{GuestHash: wickr.UsernameHash(email)}
}
