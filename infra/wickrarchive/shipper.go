// Package wickrarchive is the Wickr data-retention bot's archive (guide §8): it ships what each
// network's bot must keep (projections/wickrarchive: every message posted while the network's data
// retention is enabled in a conversation that holds one of its users, federated and guest
// conversations included) to a directory or an S3-compatible bucket (infra/objstore), as JSON lines
// in received-messages files rotated by size and by time, like the bot's WICKRIO_COMP_FILESIZE and
// WICKRIO_COMP_TIMEROTATE.
//
// Invariants:
//   - Every item is written once, in log order, to the file of its network: the shipment state
//     (wickrarchive.shipments: the last position shipped, the current file, when it started, its
//     size) is saved after the file is written, and a file written but not yet recorded is read back
//     on the next round, its lines past the recorded position skipping their items. A rotation is
//     recorded before the new file's first write. So a restart of Belfry loses and repeats nothing.
//   - Lines hold the decrypted text (as the bot writes it, §8.5) and the attachment's metadata. A
//     gone message's key waits for the archive (Holds, api/wickr/messaging Expiry) for at most
//     messaging.MaxArchiveHold; one whose key was destroyed before it was shipped is written with
//     "unavailable": true and no text; so is one whose content does not open or decode, with
//     "unreadable" saying why (a damaged item would fail every round and hold back the ones after it). With Config.Files a file's decrypted bytes go to
//     <networkId>/attachments/<messageId>/<name> under the same prefix (§8: messages and files
//     together; a name over 200 bytes shortened, its extension kept, so that it fits a directory
//     entry and an S3 key), streamed, written before the line that names it (file.path).
//   - A file holds at most FileSize bytes (a single larger line is a file of its own) and, with
//     Rotate, the lines of at most Rotate from its start; the one being written is the only one in
//     memory.
//   - Deleting a network or disabling retention never removes a file.
package wickrarchive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/infra/objstore"
	"github.com/belfry/belfry/projections/wickrarchive"
)

// Items reads the archive's read model (wickrarchive.Store implements it).
type Items interface {
	Pending(ctx context.Context) (map[string]int64, error)
	Items(ctx context.Context, networkID string, after int64, limit int) ([]wickrarchive.Item, error)
}

// Opener opens a message's sealed content (infra/datakeys implements it); a destroyed key answers
// an error matching domain.ErrShredded.
type Opener interface {
	Open(ctx context.Context, keyID string, sealed []byte) ([]byte, error)
}

// Config tunes the shipper.
type Config struct {
	// Prefix is the key prefix of every file ("" or ending in "/"); BaseName the files' base name
	// (default receivedMessages, WICKRIO_COMP_BASENAME).
	Prefix, BaseName string
	// FileSize bounds a file, in bytes (default 1 MiB); Rotate starts a new file that long after a
	// file's start (0: by size only).
	FileSize int64
	Rotate   time.Duration
	// Batch is how many items one round reads per network (default 500).
	Batch int
	// Files, when set, archives the bytes of messages' files too (on a target that is an
	// objstore.Streamer); without it lines hold files' metadata only.
	Files  Files
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics, when set, receives each round's progress.
	Metrics *Metrics
}

// Shipper ships the archive to one target.
type Shipper struct {
	items  Items
	keys   Opener
	target objstore.Target
	pool   *pgxpool.Pool
	cfg    Config
}

// New returns a shipper; Round ships what is pending, Run does it every interval.
func New(items Items, keys Opener, target objstore.Target, pool *pgxpool.Pool, cfg Config) *Shipper {
	if cfg.BaseName == "" {
		cfg.BaseName = "receivedMessages"
	}
	if cfg.FileSize <= 0 {
		cfg.FileSize = 1 << 20
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Shipper{items: items, keys: keys, target: target, pool: pool, cfg: cfg}
}

// state is a network's shipment.
type state struct {
	Shipped int64     `json:"shipped"`
	File    string    `json:"file,omitempty"`
	Started time.Time `json:"started"`
	Bytes   int64     `json:"bytes"`
}

// Line is one archived message as a JSON line.
type Line struct {
	Position       int64             `json:"position"`
	NetworkID      string            `json:"networkId"`
	ConversationID string            `json:"conversationId"`
	MessageID      string            `json:"messageId"`
	Sender         map[string]string `json:"sender"`
	Message        string            `json:"message,omitempty"`
	File           *LineFile         `json:"file,omitempty"`
	TTL            int64             `json:"ttl,omitempty"`
	BOR            int64             `json:"bor,omitempty"`
	Time           time.Time         `json:"time"`
	// Unavailable marks a message whose content is not in the line: its key was destroyed before it
	// was shipped, or its content does not decode (Unreadable says why: a message the archive cannot
	// read is archived as such, never left to hold back every message after it).
	Unavailable bool   `json:"unavailable,omitempty"`
	Unreadable  string `json:"unreadable,omitempty"`
}

// LineFile is an attachment in a line: its metadata, and where its bytes were archived (Path, under
// the same prefix as the messages), or Unavailable when its key was destroyed before it was shipped.
type LineFile struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	Path        string `json:"path,omitempty"`
	Unavailable bool   `json:"unavailable,omitempty"`
	Unreadable  string `json:"unreadable,omitempty"` // why an unavailable file's stored bytes did not open
}

// Files opens messages' files (infra/blobstore.Store implements it).
type Files interface {
	ForMessages(ctx context.Context, messageIDs []string) (map[string][]attachment.Stored, error)
	Open(ctx context.Context, a attachment.Stored) (io.ReadCloser, error)
}

// file archives the bytes of an item's file to <prefix><networkId>/attachments/<messageId>/<name>,
// streamed, before the line naming it is written (a crash between the two writes it again, whole).
// A file whose key is gone, that has no bytes (metadata posted before files had bytes), or whose
// stored bytes do not open (damaged: Unreadable says so) is Unavailable.
func (s *Shipper) file(ctx context.Context, it wickrarchive.Item, f *LineFile) error {
	st, ok := s.target.(objstore.Streamer)
	if s.cfg.Files == nil || !ok {
		return nil
	}
	byMsg, err := s.cfg.Files.ForMessages(ctx, []string{it.MessageID})
	if err != nil {
		return err
	}
	var a *attachment.Stored
	for i, x := range byMsg[it.MessageID] {
		if x.ContainerID == it.ConversationID {
			a = &byMsg[it.MessageID][i]
		}
	}
	if a == nil {
		f.Unavailable = true
		return nil
	}
	r, err := s.cfg.Files.Open(ctx, *a)
	if err == nil {
		defer r.Close()
		key := fmt.Sprintf("%s%s/attachments/%s/%s", s.cfg.Prefix, it.NetworkID, it.MessageID, objectName(f.Name))
		if err = st.PutStream(ctx, key, r, a.Size); err == nil {
			f.Path = key
		}
	}
	switch {
	case errors.Is(err, attachment.ErrGone):
		f.Unavailable = true
	case errors.Is(err, domain.ErrUnreadable): // damaged: it would fail the same every round (nothing is written)
		f.Unavailable, f.Unreadable = true, "the file's stored bytes do not open under its key (damaged)"
	case err != nil:
		return err
	}
	return nil
}

// maxObjectName bounds the name a file is archived under (bytes): a directory entry holds 255, and
// an S3 key 1,024 bytes, the longest folder (512) and the network's and message's ids before it. The
// upload takes names of up to 1,020 bytes.
const maxObjectName = 200

// objectName is the name a file is archived under: its own ("file" for one that would not be a
// single path segment — the upload refuses these), shortened to maxObjectName bytes of whole
// characters, its extension kept, when longer (the line keeps the whole name).
func objectName(name string) string {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return "file"
	}
	if len(name) <= maxObjectName {
		return name
	}
	ext := path.Ext(name)
	if len(ext) > 32 {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)[:maxObjectName-len(ext)]
	for len(stem) > 0 && !utf8.ValidString(stem) {
		stem = stem[:len(stem)-1] // a character cut in two
	}
	return stem + ext
}

// Run ships every interval until ctx ends.
func (s *Shipper) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Round(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("Wickr data-retention archive interrupted; it resumes on the next round", "target", s.target.String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round ships every network's pending items and answers how many lines it wrote. A network whose
// shipping fails (its key store or target unreachable) stops there, to go on from the same item next
// round; the other networks are shipped all the same, and the errors are joined.
func (s *Shipper) Round(ctx context.Context) (int, error) {
	pending, err := s.items.Pending(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for id, last := range pending {
		k, err := s.shipNetwork(ctx, id, last)
		n += k
		if err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", id, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	s.cfg.Metrics.round(n, len(errs))
	return n, errors.Join(errs...)
}

// shipNetwork ships one network's items up to last.
func (s *Shipper) shipNetwork(ctx context.Context, id string, last int64) (int, error) {
	st, err := s.load(ctx, id)
	if err != nil {
		return 0, err
	}
	n := 0
	for st.Shipped < last {
		k, more, err := s.network(ctx, id, &st)
		n += k
		if err != nil || !more {
			return n, err
		}
	}
	return n, nil
}

// stateKey names the shipment in wickrarchive.shipments: the target and the prefix, so an archive
// moved to another bucket or folder starts from the first item there.
func (s *Shipper) stateKey() string {
	if s.cfg.Prefix == "" {
		return s.target.String()
	}
	return s.target.String() + "/" + s.cfg.Prefix
}

func (s *Shipper) load(ctx context.Context, networkID string) (state, error) {
	var st state
	err := s.pool.QueryRow(ctx, `SELECT state FROM wickrarchive.shipments WHERE target = $1 AND network_id = $2`, s.stateKey(), networkID).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return state{}, nil
	}
	return st, err
}

func (s *Shipper) save(ctx context.Context, networkID string, st state) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO wickrarchive.shipments (target, network_id, state) VALUES ($1,$2,$3)
		ON CONFLICT (target, network_id) DO UPDATE SET state = excluded.state, updated_at = now()`, s.stateKey(), networkID, st)
	return err
}

// network ships one batch of a network's items into its current file (rotating as needed): the
// lines written, and whether there were items.
func (s *Shipper) network(ctx context.Context, networkID string, st *state) (int, bool, error) {
	items, err := s.items.Items(ctx, networkID, st.Shipped, s.cfg.Batch)
	if err != nil || len(items) == 0 {
		return 0, false, err
	}
	body, err := s.current(ctx, *st)
	if err != nil {
		return 0, false, err
	}
	written := lastPosition(body)
	n := 0
	for _, it := range items {
		if it.Seq <= written {
			st.Shipped = it.Seq // written before a crash, not yet recorded
			continue
		}
		line, err := s.line(ctx, it)
		if err != nil {
			return n, true, err
		}
		if st.File == "" || s.rotate(*st, len(body), len(line)) {
			if len(body) > 0 {
				if err := s.target.Put(ctx, st.File, body, nil); err != nil {
					return n, true, err
				}
			}
			now := s.cfg.Now().UTC()
			*st = state{Shipped: st.Shipped, Started: now,
				File: fmt.Sprintf("%s%s/messages/%s_%s_%d.jsonl", s.cfg.Prefix, networkID, s.cfg.BaseName, now.Format("20060102T150405Z"), it.Seq)}
			if err := s.save(ctx, networkID, *st); err != nil { // the rotation, before the new file's first write
				return n, true, err
			}
			body = nil
		}
		body = append(body, line...)
		st.Shipped, st.Bytes = it.Seq, int64(len(body))
		n++
	}
	if n > 0 {
		if err := s.target.Put(ctx, st.File, body, nil); err != nil {
			return n, true, err
		}
	}
	return n, true, s.save(ctx, networkID, *st)
}

// rotate reports whether the current file is full for a line of size next, or old enough.
func (s *Shipper) rotate(st state, size, next int) bool {
	if size == 0 {
		return false
	}
	return int64(size+next) > s.cfg.FileSize || s.cfg.Rotate > 0 && s.cfg.Now().Sub(st.Started) >= s.cfg.Rotate
}

// current reads back the file being written (empty when none yet).
func (s *Shipper) current(ctx context.Context, st state) ([]byte, error) {
	if st.File == "" {
		return nil, nil
	}
	body, _, err := s.target.Get(ctx, st.File)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, nil
	}
	return body, err
}

// lastPosition is the position of a file's last line (0: none).
func lastPosition(body []byte) int64 {
	body = bytes.TrimRight(body, "\n")
	if i := bytes.LastIndexByte(body, '\n'); i >= 0 {
		body = body[i+1:]
	}
	var l struct {
		Position int64 `json:"position"`
	}
	_ = json.Unmarshal(body, &l)
	return l.Position
}

// line encodes one item, opening its content.
func (s *Shipper) line(ctx context.Context, it wickrarchive.Item) ([]byte, error) {
	l := Line{Position: it.Seq, NetworkID: it.NetworkID, ConversationID: it.ConversationID, MessageID: it.MessageID,
		Sender: participant(it.SenderKey), TTL: it.TTL, BOR: it.BOR, Time: it.At.UTC()}
	pt, err := s.keys.Open(ctx, it.KeyID, it.Sealed)
	switch {
	case errors.Is(err, domain.ErrShredded):
		l.Unavailable = true
	case errors.Is(err, domain.ErrUnreadable): // damaged: it would fail the same every round
		l.Unavailable, l.Unreadable = true, "the message's sealed content does not open under its key (damaged)"
	case err != nil:
		return nil, err
	default:
		var c conversation.Content
		if err := json.Unmarshal(pt, &c); err != nil {
			l.Unavailable, l.Unreadable = true, fmt.Sprintf("the message's content does not decode: %v", err)
			break
		}
		l.Message = c.Text
		if it.Size > 0 {
			l.File = &LineFile{Name: c.File, ContentType: it.ContentType, Size: it.Size}
			if err := s.file(ctx, it, l.File); err != nil {
				return nil, err
			}
		}
	}
	b, err := json.Marshal(l)
	return append(b, '\n'), err
}

// participant names a participant key ("u:<network>:<user>" or "g:<hash>") as JSON.
func participant(key string) map[string]string {
	if h, ok := strings.CutPrefix(key, "g:"); ok {
		return map[string]string{"guestHash": h}
	}
	net, user, _ := strings.Cut(strings.TrimPrefix(key, "u:"), ":")
	return map[string]string{"networkId": net, "userId": user}
}
