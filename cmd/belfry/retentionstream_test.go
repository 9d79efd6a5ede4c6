package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
	"github.com/coder/websocket"

	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/infra/datakeys"
)

// TestRetentionHidesFromTheStream: what retention hides (guide §4.8's grace: hidden from every API,
// not yet destroyed) is withheld from the live stream too, in a reconnecting client's replay and
// live, in conversations and rooms alike, and comes back when retention is turned off.
func TestRetentionHidesFromTheStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	outbox, dnsSrv, clk := t.TempDir(), startDNS(t), &clock{t: time.Now().UTC()}
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir, m.cfg.DNSResolver, m.Now = outbox, dnsSrv.addr, clk.Now })
	c := b.client
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Hushed Corp")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@hush.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@hush.example")
	b.claimDomain(t, dnsSrv, acct, "hush.example")
	r, err := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: &acct, Name: aws.String("quiet")})
	if err != nil {
		t.Fatal(err)
	}
	roomID := aws.ToString(r.Room.RoomId)
	for _, u := range []string{alice, bob} {
		if _, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: &roomID, MemberId: &u}); err != nil {
			t.Fatal(err)
		}
	}
	st, out := b.clientCall(t, "POST", "/client/v1/conversations", aliceTok, map[string]any{"MemberIds": []string{bob}})
	if st != 201 {
		t.Fatalf("conversation: %d %v", st, out)
	}
	convMsgs := "/client/v1/conversations/" + out["Conversation"].(map[string]any)["ConversationId"].(string) + "/messages"
	roomMsgs := "/client/v1/rooms/" + roomID + "/messages"
	post := func(path, text string) string {
		t.Helper()
		st, out := b.clientCall(t, "POST", path, aliceTok, map[string]string{"Content": text})
		if st != 201 {
			t.Fatalf("post %s: %d %v", path, st, out)
		}
		return out["Message"].(map[string]any)["MessageId"].(string)
	}
	ws := b.dialStream(t, bobTok, "", 0)
	cursor := ws.expect("Ready").Cursor
	_ = ws.ws.Close(websocket.StatusNormalClosure, "bye")
	oldConv, oldRoom := post(convMsgs, "old in the conversation"), post(roomMsgs, "old in the room")

	// Two days later both classes keep one day: the old messages are hidden, within the grace.
	clk.Add(48 * time.Hour)
	put := func(rs *types.RetentionSettings) {
		t.Helper()
		if _, err := c.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct, RetentionSettings: rs}); err != nil {
			t.Fatal(err)
		}
	}
	put(&types.RetentionSettings{RoomRetentionSettings: &types.RoomRetentionSettings{RetentionDays: aws.Int32(1)},
		ConversationRetentionSettings: &types.ConversationRetentionSettings{RetentionDays: aws.Int32(1)}})
	newConv, newRoom := post(convMsgs, "new in the conversation"), post(roomMsgs, "new in the room")
	if st, out := b.clientCall(t, "GET", convMsgs, bobTok, nil); st != 200 || len(out["Messages"].([]any)) != 1 {
		t.Fatalf("the conversation's messages: %d %v", st, out)
	}
	replayed := func() []string {
		t.Helper()
		var ids []string
		for _, f := range b.dialStream(t, bobTok, cursor, 0).until("Ready") {
			if f.Message != nil {
				ids = append(ids, f.Message.MessageId)
			}
		}
		return ids
	}
	if got := replayed(); !slices.Equal(got, []string{newConv, newRoom}) {
		t.Fatalf("replayed messages %v, want only the visible %v", got, []string{newConv, newRoom})
	}

	// Live: an edit of a hidden message is withheld; the next visible change is the next frame.
	ws = b.dialStream(t, bobTok, "", 0)
	ws.expect("Ready")
	if st, out := b.clientCall(t, "PUT", convMsgs+"/"+oldConv, aliceTok, map[string]string{"Content": "old, edited"}); st != 200 {
		t.Fatalf("edit: %d %v", st, out)
	}
	after := post(convMsgs, "after the edit")
	if f := ws.next(); f.Type != "MessagePosted" || f.Message.MessageId != after {
		t.Fatalf("live frame %+v, want the message posted after the hidden one's edit", f)
	}

	// Turning retention off within the grace restores them, on the stream too.
	put(&types.RetentionSettings{})
	if got := replayed(); !slices.Equal(got, []string{oldConv, oldRoom, newConv, newRoom, oldConv, after}) {
		t.Fatalf("replayed after restoring: %v", got)
	}
}

// TestAnEditGoesWithItsMessage: retention measures a message from its posting, so the purge that
// destroys a message destroys its edits too, though an edit made within the retention period is
// younger than the cutoff: no version of the message opens from the log afterwards.
func TestAnEditGoesWithItsMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	outbox, dnsSrv, clk := t.TempDir(), startDNS(t), &clock{t: time.Now().UTC()}
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir, m.cfg.DNSResolver, m.Now = outbox, dnsSrv.addr, clk.Now })
	a, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Edited Corp")})
	if err != nil {
		t.Fatal(err)
	}
	acct := aws.ToString(a.Account.AccountId)
	b.registeredUser(t, outbox, acct, "alice@edit.example")
	bob, _ := b.registeredUser(t, outbox, acct, "bob@edit.example")
	b.claimDomain(t, dnsSrv, acct, "edit.example")
	if _, err := b.client.PutRetentionSettings(ctx, &chime.PutRetentionSettingsInput{AccountId: &acct, RetentionSettings: &types.RetentionSettings{
		ConversationRetentionSettings: &types.ConversationRetentionSettings{RetentionDays: aws.Int32(10)}}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(31 * 24 * time.Hour) // past the grace of the switch-on
	aliceTok := b.signIn(t, "alice@edit.example")
	st, out := b.clientCall(t, "POST", "/client/v1/conversations", aliceTok, map[string]any{"MemberIds": []string{bob}})
	if st != 201 {
		t.Fatalf("conversation: %d %v", st, out)
	}
	conv := out["Conversation"].(map[string]any)["ConversationId"].(string)
	msgs := "/client/v1/conversations/" + conv + "/messages"
	st, out = b.clientCall(t, "POST", msgs, aliceTok, map[string]string{"Content": "sentinel original"})
	if st != 201 {
		t.Fatalf("post: %d %v", st, out)
	}
	msg := out["Message"].(map[string]any)["MessageId"].(string)
	clk.Add(9 * 24 * time.Hour)
	aliceTok = b.signIn(t, "alice@edit.example")
	if st, out := b.clientCall(t, "PUT", msgs+"/"+msg, aliceTok, map[string]string{"Content": "sentinel edited"}); st != 200 {
		t.Fatalf("edit: %d %v", st, out)
	}
	clk.Add(2 * 24 * time.Hour) // the message is 11 days old, its edit 2 days
	if rep, err := b.m.purger.Run(ctx, false, nil); err != nil || rep.DayKeysDestroyed == 0 {
		t.Fatalf("purge: %+v %v", rep, err)
	}
	assertVersionsShredded(t, b, conv, msg, 2)
	// An edit of the purged message is refused as of a message that is not there (its day's key is
	// destroyed: nothing can be sealed under it), never a 500.
	aliceTok = b.signIn(t, "alice@edit.example")
	if st, out := b.clientCall(t, "PUT", msgs+"/"+msg, aliceTok, map[string]string{"Content": "too late"}); st != 404 {
		t.Fatalf("an edit of a purged message: %d %v", st, out)
	}
}

// assertVersionsShredded checks that the log holds want sealed versions of a conversation's message
// and that none of them opens with the live keys (the keyring and the key tables).
func assertVersionsShredded(t *testing.T, b *running, conv, msg string, want int) {
	t.Helper()
	krPath, _ := b.m.cfg.keyringPath()
	ring, err := datakeys.OpenFileKeyring(krPath)
	if err != nil {
		t.Fatal(err)
	}
	keys := datakeys.New(pgxPool(t, b)).WithKeyring(ring)
	versions := 0
	for _, e := range b.readAll(t) {
		var v struct {
			MessageID, KeyID string
			Sealed           []byte
		}
		if e.stream != conversation.StreamName(conv) || json.Unmarshal(e.data, &v) != nil || v.MessageID != msg || v.KeyID == "" {
			continue
		}
		versions++
		if pt, err := keys.Open(context.Background(), v.KeyID, v.Sealed); !errors.Is(err, datakeys.ErrDestroyed) {
			t.Fatalf("a version of message %s still opens: %q %v", msg, pt, err)
		}
	}
	if versions != want {
		t.Fatalf("found %d versions of message %s in the log, want %d", versions, msg, want)
	}
}
