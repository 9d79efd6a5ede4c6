package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain/chime/room"
	"github.com/belfry/belfry/infra/datakeys"
)

// startOn runs Belfry on cfg (its own PostgreSQL cluster under cfg.DataDir) with clk; creds is nil
// on the first start (the first admin key is read from the output) and the first start's running
// on a restart. The caller closes it.
func startOn(t *testing.T, cfg Config, clk *clock, creds *running) *running {
	t.Helper()
	m := NewMain(cfg)
	var out bytes.Buffer
	m.Out, m.Now, m.Mail = &out, clk.Now, nil
	if err := m.Run(context.Background()); err != nil {
		_ = m.Close()
		t.Fatal(err)
	}
	r := &running{m: m, url: "http://" + m.HTTPAddr()}
	if creds == nil {
		r.keyID = regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+)`).FindStringSubmatch(out.String())[1]
		r.secret = regexp.MustCompile(`AWS_SECRET_ACCESS_KEY=(\S+)`).FindStringSubmatch(out.String())[1]
	} else {
		r.keyID, r.secret = creds.keyID, creds.secret
	}
	r.client = r.sdk(r.keyID, r.secret, "us-east-1")
	return r
}

func (r *running) signIn(t *testing.T, email string) string {
	t.Helper()
	st, s := r.clientCall(t, "POST", "/client/v1/sessions", "", map[string]string{"Email": email, "Password": "correct horse"})
	if st != 201 {
		t.Fatalf("sign in %s: %d %v", email, st, s)
	}
	return s["SessionToken"].(string)
}

// contents lists the contents of a room's messages a member reads, by message id.
func (r *running) contents(t *testing.T, token, roomID string) map[string]string {
	t.Helper()
	st, out := r.clientCall(t, "GET", "/client/v1/rooms/"+roomID+"/messages", token, nil)
	if st != 200 {
		t.Fatalf("list messages: %d %v", st, out)
	}
	got := map[string]string{}
	for _, m := range out["Messages"].([]any) {
		msg := m.(map[string]any)
		got[msg["MessageId"].(string)] = msg["Content"].(string)
	}
	return got
}

// dbPool connects to the private cluster of a running Belfry.
func dbPool(t *testing.T, r *running) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), r.m.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestRetentionPurgeLeavesNoTrace is the proof of issue 13's retention: messages carrying a unique
// sentinel fall out of retention (injected clock), are redacted, or are in a deleted room; after the
// purge and a restart on the same data directory every API answers them as gone, no live key opens
// their ciphertext in the log, the destroyed KEKs are in no file, and the sentinel is in no file
// under the data directory (PostgreSQL heap and WAL, event log, keyring, logs).
func TestRetentionPurgeLeavesNoTrace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir, outbox := t.TempDir(), t.TempDir()
	dnsSrv := startDNS(t)
	clk := &clock{t: time.Now().UTC()}
	cfg := Config{PasswordCost: testPasswordCost, DataDir: dataDir, EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1", MailDir: outbox,
		DNSResolver: dnsSrv.addr, Retention: RetentionConfig{PurgeEvery: "off"}}
	b := startOn(t, cfg, clk, nil)
	closed := false
	defer func() {
		if !closed {
			_ = b.m.Close()
		}
	}()
	c := b.client
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Forgetful Corp")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)
	alice, _ := b.registeredUser(t, outbox, acct, "alice@forget.example")
	b.claimDomain(t, dnsSrv, acct, "forget.example")
	_, err = c.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct,
		RetentionSettings: &types.RetentionSettings{RoomRetentionSettings: &types.RoomRetentionSettings{RetentionDays: aws.Int32(0)}}})
	apiErr(t, err, "BadRequestException", 400)
	newRoom := func(name string) string {
		r, err := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: &acct, Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(r.Room.RoomId)
		if _, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: &id, MemberId: &alice}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	kept, gone := newRoom("kept"), newRoom("deleted")
	sentinel := "sentinel-" + randomHex(t)
	token := b.signIn(t, "alice@forget.example")
	post := func(roomID, text string) string {
		t.Helper()
		st, out := b.clientCall(t, "POST", "/client/v1/rooms/"+roomID+"/messages", token, map[string]string{"Content": text})
		if st != 201 {
			t.Fatalf("post: %d %v", st, out)
		}
		return out["Message"].(map[string]any)["MessageId"].(string)
	}
	var old []string
	for i := range 3 {
		old = append(old, post(kept, sentinel+" old "+string(rune('a'+i))))
	}
	redacted := post(kept, sentinel+" redacted")
	post(gone, sentinel+" in a deleted room")
	keyring0 := readKeyring(t, dataDir)
	backup := backupKeys(t, dbPool(t, b)) // what a base backup (or old WAL, or a replica) holds of the keys

	// Redaction shreds the message's key; deleting a room destroys every key of it.
	if _, err := c.RedactRoomMessage(ctx, &chime.RedactRoomMessageInput{AccountId: &acct, RoomId: &kept, MessageId: &redacted}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteRoom(ctx, &chime.DeleteRoomInput{AccountId: &acct, RoomId: &gone}); err != nil {
		t.Fatal(err)
	}

	// Two days later the admin sets room retention to 1 day: the old messages are hidden at once.
	clk.Add(48 * time.Hour)
	token = b.signIn(t, "alice@forget.example")
	put, err := c.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct,
		RetentionSettings: &types.RetentionSettings{RoomRetentionSettings: &types.RoomRetentionSettings{RetentionDays: aws.Int32(1)}}})
	if err != nil || aws.ToInt32(put.RetentionSettings.RoomRetentionSettings.RetentionDays) != 1 ||
		!put.InitiateDeletionTimestamp.Equal(clk.Now().Add(30*24*time.Hour).Truncate(time.Millisecond)) {
		t.Fatalf("PutRetentionSettings: %+v %v", put, err)
	}
	if got := b.contents(t, token, kept); len(got) != 0 {
		t.Fatalf("messages out of retention are listed: %v", got)
	}
	_, err = c.RedactRoomMessage(ctx, &chime.RedactRoomMessageInput{AccountId: &acct, RoomId: &kept, MessageId: &old[0]})
	apiErr(t, err, "NotFoundException", 404)
	// Within the 30-day grace, turning retention off restores them; nothing is purged.
	if _, err := c.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct, RetentionSettings: &types.RetentionSettings{}}); err != nil {
		t.Fatal(err)
	}
	if got := b.contents(t, token, kept); got[old[0]] != sentinel+" old a" || got[redacted] != "" {
		t.Fatalf("after turning retention off: %v", got)
	}
	if r, err := b.m.purger.Run(ctx, false, nil); err != nil || r.Due != 0 || r.PeriodsDestroyed != 0 {
		t.Fatalf("a purge with retention off: %+v %v", r, err)
	}
	if _, err := c.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct,
		RetentionSettings: &types.RetentionSettings{RoomRetentionSettings: &types.RoomRetentionSettings{RetentionDays: aws.Int32(1)}}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(29 * 24 * time.Hour)
	if r, err := b.m.purger.Run(ctx, false, nil); err != nil || r.PeriodsDestroyed != 0 {
		t.Fatalf("a purge within the grace: %+v %v", r, err)
	}

	// After the grace: a dry run says what goes, the purge destroys it.
	clk.Add(2 * 24 * time.Hour)
	token = b.signIn(t, "alice@forget.example")
	fresh := post(kept, "still here")
	dry, err := b.m.purger.Run(ctx, true, nil)
	if err != nil || !dry.DryRun || dry.Due != 4 || len(dry.Accounts) != 1 || dry.Accounts[0].Periods != 1 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if got := b.contents(t, token, kept); len(got) != 1 || got[fresh] != "still here" {
		t.Fatalf("before the purge: %v", got)
	}
	rep, err := b.m.purger.Run(ctx, false, nil)
	if err != nil || rep.Purged != 4 || rep.PeriodsDestroyed != 1 {
		t.Fatalf("purge: %+v %v", rep, err)
	}
	if again, err := b.m.purger.Run(ctx, false, nil); err != nil || again.Due != 0 || again.Purged != 0 || again.RoomsDestroyed != 0 {
		t.Fatalf("a second purge: %+v %v", again, err)
	}
	// The live stream's rows about the purged messages went with them; the fresh message's stay.
	var feedLeft, freshRows int
	waitFor(t, func() bool {
		err := dbPool(t, b).QueryRow(ctx, `SELECT count(*) FILTER (WHERE message_id = ANY($2)), count(*) FILTER (WHERE message_id = $3)
			FROM rm.chime_chat_feed WHERE container_id = $1`, kept, append(old, redacted), fresh).Scan(&feedLeft, &freshRows)
		return err == nil && freshRows > 0
	})
	if feedLeft != 0 {
		t.Fatalf("%d feed rows about purged messages left", feedLeft)
	}
	var audits int
	if err := dbPool(t, b).QueryRow(ctx, `SELECT count(*) FROM eventlog.events WHERE position(convert_to('RetentionPurge', 'UTF8') IN data) > 0`).Scan(&audits); err != nil || audits < 4 {
		t.Fatalf("%d audit records of purge runs: %v", audits, err)
	}
	metrics := getMetrics(t, b)
	for _, m := range []string{"belfry_retention_purged_messages_total 4", "belfry_retention_purge_due_messages 0", "belfry_retention_purge_errors_total 0",
		"belfry_retention_purge_duration_seconds_count"} {
		if !strings.Contains(metrics, m) {
			t.Fatalf("metric %q missing", m)
		}
	}
	sealedInLog := loggedMessages(t, dbPool(t, b))
	keyring1 := readKeyring(t, dataDir)

	// Restart on the same data directory: every API answers the messages as gone.
	if err := b.m.Close(); err != nil {
		t.Fatal(err)
	}
	b = startOn(t, cfg, clk, b)
	c = b.client
	token = b.signIn(t, "alice@forget.example")
	if got := b.contents(t, token, kept); len(got) != 1 || got[fresh] != "still here" {
		t.Fatalf("after the restart: %v", got)
	}
	for _, id := range append(old, redacted) {
		_, err = c.RedactRoomMessage(ctx, &chime.RedactRoomMessageInput{AccountId: &acct, RoomId: &kept, MessageId: &id})
		apiErr(t, err, "NotFoundException", 404)
	}
	if st, _ := b.clientCall(t, "GET", "/client/v1/rooms/"+gone+"/messages", token, nil); st != 404 {
		t.Fatalf("the deleted room's messages: %d", st)
	}
	// Even with retention off again, what was destroyed stays destroyed.
	if _, err := c.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct, RetentionSettings: &types.RetentionSettings{}}); err != nil {
		t.Fatal(err)
	}
	if got := b.contents(t, token, kept); len(got) != 1 {
		t.Fatalf("after turning retention off: %v", got)
	}
	// No live key opens any sentinel message's ciphertext in the log.
	path, _ := cfg.keyringPath()
	ring, err := datakeys.OpenFileKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := datakeys.New(dbPool(t, b)).WithKeyring(ring)
	if len(sealedInLog) != 6 {
		t.Fatalf("%d messages in the log, want 6", len(sealedInLog))
	}
	for _, m := range sealedInLog {
		pt, err := keys.Open(ctx, m.KeyID, m.Sealed)
		switch {
		case m.MessageID == fresh && (err != nil || string(pt) != "still here"):
			t.Fatalf("the kept message: %q %v", pt, err)
		case m.MessageID != fresh && !errors.Is(err, datakeys.ErrDestroyed):
			t.Fatalf("message %s opens: %q %v", m.MessageID, pt, err)
		}
	}
	// Nor does the keyring open them from the backup taken before the redaction, deletion and purge.
	for _, m := range sealedInLog {
		pt, err := backup.open(ctx, ring, m.KeyID, m.Sealed)
		switch {
		case m.MessageID == fresh:
		case !errors.Is(err, datakeys.ErrDestroyed):
			t.Fatalf("the backup opens message %s: %q %v", m.MessageID, pt, err)
		}
	}
	// Compact what PostgreSQL keeps of deleted rows, then stop everything and look at every file.
	pool := dbPool(t, b)
	for _, q := range []string{"CHECKPOINT", "VACUUM FULL rm_chime_rooms_g1.chime_room_messages", "VACUUM FULL keys.message_keys", "VACUUM FULL keys.data_keys", "CHECKPOINT"} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	pool.Close()
	if err := b.m.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	var destroyed [][]byte // the KEKs the purge, the redaction and the room deletion erased
	for id, k := range keyring0 {
		if _, ok := keyring1[id]; !ok {
			destroyed = append(destroyed, []byte(base64.StdEncoding.EncodeToString(k)), k)
		}
	}
	if len(destroyed) < 6 { // the purged day's period KEK, the deleted room's and the replaced scope KEKs
		t.Fatalf("%d KEK encodings destroyed", len(destroyed))
	}
	files := 0
	err = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		files++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(sentinel)) {
			t.Errorf("the sentinel is in %s", p)
		}
		for _, k := range destroyed {
			if bytes.Contains(data, k) {
				t.Errorf("a destroyed KEK is in %s", p)
			}
		}
		return nil
	})
	if err != nil || files < 100 {
		t.Fatalf("walked %d files: %v", files, err)
	}
}

func getMetrics(t *testing.T, r *running) string {
	t.Helper()
	resp, err := http.Get(r.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func randomHex(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// readKeyring reads the keyring file: KEK id → key.
func readKeyring(t *testing.T, dataDir string) map[string][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dataDir, "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		id, enc, _ := strings.Cut(line, " ")
		k, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = k
	}
	return out
}

// keyBackup is a copy of the keys schema's rows.
type keyBackup struct {
	msg  map[string][2]string // message key id → day key id, wrapped message key
	days map[string][3]string // day key id → period KEK, scope KEK, wrapped day key
}

func backupKeys(t *testing.T, pool *pgxpool.Pool) keyBackup {
	t.Helper()
	b := keyBackup{msg: map[string][2]string{}, days: map[string][3]string{}}
	rows, _ := pool.Query(context.Background(), `SELECT key_id, data_key_id, wrapped FROM keys.message_keys`)
	for rows.Next() {
		var id, day string
		var w []byte
		if err := rows.Scan(&id, &day, &w); err != nil {
			t.Fatal(err)
		}
		b.msg[id] = [2]string{day, string(w)}
	}
	rows.Close()
	rows, _ = pool.Query(context.Background(), `SELECT key_id, period_kek, scope_kek, wrapped FROM keys.data_keys WHERE wrapped IS NOT NULL`)
	for rows.Next() {
		var id, p, sc string
		var w []byte
		if err := rows.Scan(&id, &p, &sc, &w); err != nil {
			t.Fatal(err)
		}
		b.days[id] = [3]string{p, sc, string(w)}
	}
	rows.Close()
	if len(b.msg) != 5 || len(b.days) != 2 {
		t.Fatalf("backup of %d message keys and %d day keys", len(b.msg), len(b.days))
	}
	return b
}

// open is what an attacker holding the backup and today's keyring can do.
func (b keyBackup) open(ctx context.Context, ring datakeys.Keyring, msgID string, sealed []byte) ([]byte, error) {
	m, ok := b.msg[msgID]
	if !ok {
		return nil, errors.New("not in the backup")
	}
	d := b.days[m[0]]
	inner, err := ring.Unwrap(ctx, d[0], []byte(d[2]), []byte(m[0]))
	if err != nil {
		return nil, err
	}
	dk, err := ring.Unwrap(ctx, d[1], inner, []byte(m[0]))
	if err != nil {
		return nil, err
	}
	mk, err := gcmOpen(dk, []byte(m[1]), "mk:"+msgID)
	if err != nil {
		return nil, err
	}
	return gcmOpen(mk, sealed, msgID)
}

func gcmOpen(key, sealed []byte, aad string) ([]byte, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g, _ := cipher.NewGCM(blk)
	return g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], []byte(aad))
}

// loggedMessages reads every posted room message from the event log.
func loggedMessages(t *testing.T, pool *pgxpool.Pool) []room.MessagePosted {
	t.Helper()
	rows, _ := pool.Query(context.Background(), `SELECT data FROM eventlog.events WHERE event_type = $1`, room.TypeMessagePosted)
	data, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	var out []room.MessagePosted
	for _, d := range data {
		e, err := room.Decode(room.TypeMessagePosted, d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.(room.MessagePosted))
	}
	return out
}

// TestRetentionPurgeCLI runs `belfry retention purge` beside a running server whose clock is 40 days
// behind: the dry run says what would go and changes nothing; the purge destroys it.
func TestRetentionPurgeCLI(t *testing.T) {
	ctx := context.Background()
	outbox, dnsSrv := t.TempDir(), startDNS(t)
	clk := &clock{t: time.Now().Add(-40 * 24 * time.Hour)}
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir, m.cfg.DNSResolver, m.Now = outbox, dnsSrv.addr, clk.Now })
	a, _ := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Old Corp")})
	acct := aws.ToString(a.Account.AccountId)
	alice, token := b.registeredUser(t, outbox, acct, "alice@old.example")
	b.claimDomain(t, dnsSrv, acct, "old.example")
	r, err := b.client.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: &acct, Name: aws.String("archive")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: r.Room.RoomId, MemberId: &alice}); err != nil {
		t.Fatal(err)
	}
	path := "/client/v1/rooms/" + aws.ToString(r.Room.RoomId) + "/messages"
	if st, _ := b.clientCall(t, "POST", path, token, map[string]string{"Content": "forty days old"}); st != 201 {
		t.Fatalf("post: %d", st)
	}
	if _, err := b.client.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct,
		RetentionSettings: &types.RetentionSettings{RoomRetentionSettings: &types.RoomRetentionSettings{RetentionDays: aws.Int32(1)}}}); err != nil {
		t.Fatal(err)
	}
	got, err := b.client.GetRetentionSettings(ctx, &chime.GetRetentionSettingsInput{AccountId: &acct})
	if err != nil || aws.ToInt32(got.RetentionSettings.RoomRetentionSettings.RetentionDays) != 1 || got.RetentionSettings.ConversationRetentionSettings.RetentionDays != nil {
		t.Fatalf("GetRetentionSettings: %+v %v", got, err)
	}
	t.Setenv("BELFRY_DATABASE_URL", b.m.cfg.DatabaseURL)
	t.Setenv("BELFRY_DATA_DIR", b.m.cfg.DataDir)
	t.Setenv("BELFRY_EVENTLOG_ADDR", b.m.esAddr)
	var rep struct {
		DryRun        bool
		Due, Purged   int64
		Accounts      []struct{ AccountID string }
		PeriodsDestr  int `json:"periodsDestroyed"`
		DayKeysDestr  int `json:"dayKeysDestroyed"`
		MessageKeysCl int `json:"messageKeysCleared"`
	}
	out := captureStdout(t, func() error { return run(ctx, []string{"retention", "purge", "--dry-run", "--json"}) })
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.DryRun || rep.Due != 1 || rep.Purged != 0 || len(rep.Accounts) != 1 || rep.Accounts[0].AccountID != acct {
		t.Fatalf("dry run %q: %v", out, err)
	}
	out = captureStdout(t, func() error { return run(ctx, []string{"retention", "purge", "--json"}) })
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.DryRun || rep.Purged != 1 || rep.PeriodsDestr != 1 || rep.DayKeysDestr != 1 || rep.MessageKeysCl != 1 {
		t.Fatalf("purge %q: %v", out, err)
	}
	time.Sleep(datakeys.CacheTTL) // the server is another process: it stops using the keys within the TTL
	if st, out := b.clientCall(t, "GET", path, token, nil); st != 200 || len(out["Messages"].([]any)) != 0 {
		t.Fatalf("after the purge: %d %v", st, out)
	}
}
