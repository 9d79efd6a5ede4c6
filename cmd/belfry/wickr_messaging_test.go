package main

import (
	"bytes"
	"context"
	"errors"
	"github.com/google/uuid"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/conversation"
	"github.com/belfry/belfry/domain/wickr/guest"
	"github.com/belfry/belfry/infra/datakeys"
	"github.com/belfry/belfry/infra/eventstore"
)

// wickrMsgUsers registers emails of a new network (group "Strict", see wickrClientNetwork) and
// returns the network, the group and each user's session token.
func wickrMsgUsers(t *testing.T, b *running, outbox string, emails ...string) (nid, gid string, sessions map[string]string) {
	t.Helper()
	nid, gid, _ = wickrClientNetwork(t, b, emails...)
	sessions = map[string]string{}
	for _, e := range emails {
		tok := wickrInviteTokens(t, outbox, e, 1)[0]
		st, out := b.wickrClient(t, "POST", "/client/v1/wickr/registrations", "", `{"Token":"`+tok+`","Password":"Correct-Horse-42","AppId":"app","DeviceType":"Linux"}`)
		if st != 201 {
			t.Fatalf("register %s: %d %v", e, st, out)
		}
		sessions[e] = str(out["SessionToken"])
	}
	return nid, gid, sessions
}

func (r *running) wickrGroup(t *testing.T, nid, gid, settings string) {
	t.Helper()
	if st, out := r.wickrAdmin(t, "PATCH", "/networks/"+nid+"/security-groups/"+gid, `{"securityGroupSettings":`+settings+`}`); st != 200 {
		t.Fatalf("UpdateSecurityGroup %s: %d %v", settings, st, out)
	}
}

// messagesOf lists a conversation's messages as a user sees them, by content.
func messagesOf(t *testing.T, b *running, session, conv string) map[string]map[string]any {
	t.Helper()
	st, out := b.wickrClient(t, "GET", "/client/v1/wickr/conversations/"+conv+"/messages", session, "")
	if st != 200 {
		t.Fatalf("list messages: %d %v", st, out)
	}
	byContent := map[string]map[string]any{}
	for _, m := range out["Messages"].([]any) {
		byContent[str(m.(map[string]any)["Content"])] = m.(map[string]any)
	}
	return byContent
}

// postedSealed reads the conversation's stream through EventStore-Client-Go: the key id and the
// sealed bytes of a message as the event log holds them.
func postedSealed(t *testing.T, client *esdb.Client, conv, messageID string) (string, []byte) {
	t.Helper()
	rs, err := client.ReadStream(context.Background(), conversation.StreamName(conv), esdb.ReadStreamOptions{From: esdb.Start{}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			t.Fatalf("no MessagePosted %s in the log", messageID)
		}
		if err != nil {
			t.Fatal(err)
		}
		if e, err := conversation.Decode(ev.Event.EventType, ev.Event.Data); err == nil {
			if p, ok := e.(conversation.MessagePosted); ok && p.MessageID == messageID {
				return p.KeyID, p.Sealed
			}
		}
	}
}

// TestWickrMessaging drives Wickr messaging through the client API of a running Belfry as its users
// would, and the Admin API as their administrators: direct messages and rooms, timers bounded by the
// security group, expiry and burn-on-read at the injected clock (gone from the API, the read model
// and, with their keys, from the event log), read receipts per the network setting, federation
// between two networks, a blocked guest, attachments per the reader's group, files (testWickrFiles),
// hostile input.
func TestWickrMessaging(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir, m.Now, m.SweepEvery, m.cfg.WickrMaxFileBytes = outbox, clk.Now, 50*time.Millisecond, 1<<20
	})
	const alice, carol, bob = "alice@a.example", "carol@a.example", "bob@b.example"
	nidA, gidA, sA := wickrMsgUsers(t, b, outbox, alice, carol)
	nidB, gidB, sB := wickrMsgUsers(t, b, outbox, bob)
	b.wickrGroup(t, nidA, gidA, `{"maxTtl":3600,"maxBor":60}`)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, b.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	krPath, _ := b.m.cfg.keyringPath()
	ring, err := datakeys.OpenFileKeyring(krPath) // the server's keyring, as another process opens it
	if err != nil {
		t.Fatal(err)
	}
	keys := datakeys.New(pool).WithKeyring(ring)
	es, err := eventstore.Connect(b.m.esURL)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	call := func(method, path, session, body string) (int, map[string]any) {
		return b.wickrClient(t, method, "/client/v1/wickr/conversations"+path, session, body)
	}
	userOf := func(session string) string {
		_, out := b.wickrClient(t, "GET", "/client/v1/wickr/me", session, "")
		return str(out["User"].(map[string]any)["UserId"])
	}
	member := func(nid, session string) string {
		return `{"NetworkId":"` + nid + `","UserId":"` + userOf(session) + `"}`
	}
	post := func(session, conv, body string) (int, map[string]any) {
		return call("POST", "/"+conv+"/messages", session, body)
	}

	// A direct message: one per pair, whoever starts it.
	st, out := call("POST", "", sA[alice], `{"Kind":"DM","Members":[`+member(nidA, sA[carol])+`]}`)
	if st != 201 {
		t.Fatalf("create DM: %d %v", st, out)
	}
	dm := str(out["Conversation"].(map[string]any)["ConversationId"])
	if st, out := call("POST", "", sA[carol], `{"Kind":"DM","Members":[`+member(nidA, sA[alice])+`]}`); st != 201 || str(out["Conversation"].(map[string]any)["ConversationId"]) != dm {
		t.Fatalf("the pair's DM again: %d %v", st, out)
	}

	// Timers above the group's maximum are refused, naming the field; none gets the group's maxTtl.
	for body, field := range map[string]string{`{"Content":"x","Ttl":3601}`: "Ttl", `{"Content":"x","Bor":61}`: "Bor", `{"Content":"x","Ttl":-1}`: "Ttl"} {
		if st, out := post(sA[alice], dm, body); st != 400 || str(out["Field"]) != field {
			t.Fatalf("%s: %d %v, want 400 naming %s", body, st, out, field)
		}
	}
	st, out = post(sA[alice], dm, `{"Content":"hello carol"}`)
	if st != 201 || out["Message"].(map[string]any)["Ttl"].(float64) != 3600 {
		t.Fatalf("post: %d %v", st, out)
	}
	if m := messagesOf(t, b, sA[carol], dm)["hello carol"]; m == nil || str(m["ExpiresAt"]) == "" {
		t.Fatalf("carol does not read it: %v", messagesOf(t, b, sA[carol], dm))
	}

	// Hostile input: 400 naming the member, nothing stored.
	for body, field := range map[string]string{`{"Content":"a\u0000b"}`: "Content", `{"Content":"\ud800"}`: "Content",
		`{"Content":"` + strings.Repeat("x", 10_001) + `"}`: "Content", `{"Attachment":{"Name":"a.pdf","ContentType":"application/pdf","Size":0}}`: "Attachment"} {
		st, out := post(sA[alice], dm, body)
		if st != 400 || str(out["Field"]) != field && !strings.Contains(str(out["Message"]), `"`+field+`"`) {
			t.Fatalf("%.60s: %d %v, want 400 naming %s", body, st, out, field)
		}
	}
	if st, _ := post(sA[alice], dm, "{\"Content\":\"\xff\"}"); st != 400 {
		t.Fatalf("invalid UTF-8: %d", st)
	}
	if n := len(messagesOf(t, b, sA[alice], dm)); n != 1 {
		t.Fatalf("hostile posts stored something: %d messages", n)
	}

	// A non-member neither reads nor posts: to it the conversation does not exist (404, as a made-up
	// one: a direct message's id derives from its pair), and a post of theirs (or to a made-up
	// conversation) creates no key: nothing is sealed for them.
	keyRows := func() (n int64) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM keys.message_keys) + (SELECT count(*) FROM keys.data_keys)
			+ (SELECT count(*) FROM keys.scopes) + (SELECT count(*) FROM keys.keks)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := keyRows()
	if st, _ := call("GET", "/"+dm+"/messages", sB[bob], ""); st != 404 {
		t.Fatalf("a non-member reads: %d", st)
	}
	if st, _ := post(sB[bob], dm, `{"Content":"let me in"}`); st != 404 {
		t.Fatalf("a non-member posts: %d", st)
	}
	if st, _ := post(sB[bob], uuid.NewString(), `{"Content":"anyone?"}`); st != 404 {
		t.Fatalf("a post to a made-up conversation: %d", st)
	}
	if after := keyRows(); after != before {
		t.Fatalf("a non-member's posts created %d keys", after-before)
	}

	t.Run("read receipts as the network says", func(t *testing.T) {
		mid := str(messagesOf(t, b, sA[carol], dm)["hello carol"]["MessageId"])
		if st, out := call("POST", "/"+dm+"/read", sA[carol], `{"MessageIds":["`+mid+`"]}`); st != 204 {
			t.Fatalf("mark read: %d %v", st, out)
		}
		if r := messagesOf(t, b, sA[alice], dm)["hello carol"]["ReadBy"]; r != nil && len(r.([]any)) != 0 {
			t.Fatalf("a receipt with read receipts disabled: %v", r)
		}
		if st, out := b.wickrAdmin(t, "PATCH", "/networks/"+nidA+"/settings", `{"settings":{"readReceiptConfig":{"status":"ENABLED"}}}`); st != 200 {
			t.Fatalf("UpdateNetworkSettings: %d %v", st, out)
		}
		_, out := post(sA[alice], dm, `{"Content":"read me"}`)
		mid = str(out["Message"].(map[string]any)["MessageId"])
		if st, _ := call("POST", "/"+dm+"/read", sA[carol], `{"MessageIds":["`+mid+`"]}`); st != 204 {
			t.Fatal(st)
		}
		r, _ := messagesOf(t, b, sA[alice], dm)["read me"]["ReadBy"].([]any)
		if len(r) != 1 || str(r[0].(map[string]any)["Reader"].(map[string]any)["UserId"]) != userOf(sA[carol]) {
			t.Fatalf("receipts: %v", r)
		}
	})

	gone := func(t *testing.T, mid, keyID string, sealed []byte, content string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var rows int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM rm.wickr_messages WHERE message_id = $1`, mid).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the read model still holds the message")
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, s := range []string{sA[alice], sA[carol]} {
			if m := messagesOf(t, b, s, dm)[content]; m != nil {
				t.Fatalf("still answered: %v", m)
			}
		}
		// A fresh key store: the test's own one cached the key when it opened it before (CacheTTL).
		if _, err := datakeys.New(pool).WithKeyring(ring).Open(ctx, keyID, sealed); !errors.Is(err, domain.ErrShredded) {
			t.Fatalf("the sealed bytes in the event log still open: %v", err)
		}
	}

	t.Run("expiry destroys the message and its key", func(t *testing.T) {
		_, out := post(sA[alice], dm, `{"Content":"sentinel-expiring-7f3a","Ttl":60}`)
		mid := str(out["Message"].(map[string]any)["MessageId"])
		keyID, sealed := postedSealed(t, es, dm, mid)
		if pt, err := keys.Open(ctx, keyID, sealed); err != nil || !strings.Contains(string(pt), "sentinel-expiring-7f3a") {
			t.Fatalf("before expiry: %q %v", pt, err)
		}
		clk.Add(61 * time.Second)
		if m := messagesOf(t, b, sA[carol], dm)["sentinel-expiring-7f3a"]; m != nil {
			t.Fatal("answered after its expiry")
		}
		gone(t, mid, keyID, sealed, "sentinel-expiring-7f3a")
		if m := messagesOf(t, b, sA[carol], dm)["read me"]; m == nil {
			t.Fatal("an unexpired message went too")
		}
	})

	t.Run("burn-on-read after the recipient reads", func(t *testing.T) {
		_, out := post(sA[alice], dm, `{"Content":"sentinel-burning-91c2","Bor":30}`)
		mid := str(out["Message"].(map[string]any)["MessageId"])
		keyID, sealed := postedSealed(t, es, dm, mid)
		clk.Add(10 * time.Minute) // unread: the timer has not started
		if m := messagesOf(t, b, sA[carol], dm)["sentinel-burning-91c2"]; m == nil || str(m["BurnAt"]) != "" {
			t.Fatalf("unread: %v", m)
		}
		if st, _ := call("POST", "/"+dm+"/read", sA[carol], `{"MessageIds":["`+mid+`"]}`); st != 204 {
			t.Fatal(st)
		}
		if m := messagesOf(t, b, sA[alice], dm)["sentinel-burning-91c2"]; m == nil || str(m["BurnAt"]) == "" {
			t.Fatalf("read: %v", m)
		}
		clk.Add(31 * time.Second)
		gone(t, mid, keyID, sealed, "sentinel-burning-91c2")
	})

	t.Run("federation between networks", func(t *testing.T) {
		body := `{"Kind":"DM","Members":[` + member(nidB, sB[bob]) + `]}`
		if st, out := call("POST", "", sA[alice], body); st != 403 {
			t.Fatalf("without federation: %d %v", st, out)
		}
		b.wickrGroup(t, nidA, gidA, `{"federationMode":1}`)
		if st, _ := call("POST", "", sA[alice], body); st != 403 {
			t.Fatal("one side federating is enough")
		}
		b.wickrGroup(t, nidB, gidB, `{"federationMode":2,"permittedNetworks":["`+nidA+`"]}`)
		st, out := call("POST", "", sA[alice], body)
		if st != 201 {
			t.Fatalf("with federation: %d %v", st, out)
		}
		conv := str(out["Conversation"].(map[string]any)["ConversationId"])
		if st, out := post(sB[bob], conv, `{"Content":"hi from B"}`); st != 201 {
			t.Fatalf("federated post: %d %v", st, out)
		}
		if messagesOf(t, b, sA[alice], conv)["hi from B"] == nil {
			t.Fatal("alice does not read bob")
		}
		b.wickrGroup(t, nidB, gidB, `{"federationMode":0}`)
		if st, _ := post(sA[alice], conv, `{"Content":"still there?"}`); st != 403 {
			t.Fatalf("after federation was turned off: %d", st)
		}
		// Nor does a call reach across a federation turned off: refused before anything is recorded.
		if _, resp, err := b.dialWickrCall(ctx, "conversations/"+conv+"/call", sA[alice]); err == nil || resp == nil || resp.StatusCode != 403 {
			t.Fatalf("a call after federation was turned off: %v %v", resp, err)
		}
	})

	t.Run("a blocked guest is refused", func(t *testing.T) {
		const gus = "gus@guest.example"
		hash := wickr.UsernameHash(gus)
		sealed, err := keys.SealFor(ctx, wickr.GuestTenant, wickr.GuestSubject(hash), []byte("hash of a password"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eventstore.NewRepository(es, wickrGuestDecider, time.Now).Execute(ctx, guest.StreamName(gus), guest.SelfRegister{Username: gus, Password: sealed}); err != nil {
			t.Fatal(err)
		}
		body := `{"Kind":"DM","Members":[{"GuestUsername":"` + gus + `"}]}`
		if st, _ := call("POST", "", sA[alice], body); st != 403 {
			t.Fatalf("guests without guest federation: %d", st)
		}
		b.wickrGroup(t, nidA, gidA, `{"federationMode":1,"enableGuestFederation":true}`)
		st, out := call("POST", "", sA[alice], body)
		if st != 201 {
			t.Fatalf("DM with a guest: %d %v", st, out)
		}
		conv := str(out["Conversation"].(map[string]any)["ConversationId"])
		if st, out := post(sA[alice], conv, `{"Content":"welcome"}`); st != 201 {
			t.Fatalf("to the guest: %d %v", st, out)
		}
		if st, out := b.wickrAdmin(t, "PATCH", "/networks/"+nidA+"/guest-users/"+hash, `{"block":true}`); st != 200 {
			t.Fatalf("UpdateGuestUser: %d %v", st, out)
		}
		if st, out := post(sA[alice], conv, `{"Content":"are you there?"}`); st != 403 {
			t.Fatalf("to a blocked guest: %d %v", st, out)
		}
	})

	t.Run("rooms and attachments per the reader's group", func(t *testing.T) {
		st, out := call("POST", "", sA[alice], `{"Kind":"ROOM","Title":"Ops","Members":[`+member(nidA, sA[carol])+`]}`)
		if st != 201 {
			t.Fatalf("create room: %d %v", st, out)
		}
		room := str(out["Conversation"].(map[string]any)["ConversationId"])
		if st, _ := call("POST", "/"+room+"/members", sA[carol], `{"Members":[`+member(nidB, sB[bob])+`]}`); st != 403 {
			t.Fatalf("a member who is not the room's moderator adds members: %d", st)
		}
		// bob's group federates with network A while carol, made a moderator, adds him (A's group
		// federates since the federation subtest).
		b.wickrGroup(t, nidB, gidB, `{"federationMode":2,"permittedNetworks":["`+nidA+`"]}`)
		testWickrModerators(t, b, call, room, member(nidA, sA[alice]), member(nidA, sA[carol]), member(nidB, sB[bob]), sA[alice], sA[carol])
		b.wickrGroup(t, nidB, gidB, `{"federationMode":0}`)
		if st, out := b.wickrUpload(t, sA[alice], room, "Name=plan.pdf&Content=the+plan", "application/pdf", bytes.Repeat([]byte("%PDF"), 250_000)); st != 201 {
			t.Fatalf("attachment: %d %v", st, out)
		}
		a := messagesOf(t, b, sA[carol], room)["the plan"]["Attachment"].(map[string]any)
		if a["Name"] != "plan.pdf" || a["Download"] != true || a["AutoDownload"] != true || a["Transfer"] != "BestQuality" {
			t.Fatalf("best quality: %v", a)
		}
		b.wickrGroup(t, nidA, gidA, `{"maxAutoDownloadSize":512000}`)
		a = messagesOf(t, b, sA[carol], room)["the plan"]["Attachment"].(map[string]any)
		if a["AutoDownload"] != false || a["Transfer"] != "LowBandwidth" {
			t.Fatalf("low bandwidth: %v", a)
		}
		st, out = call("GET", "?MaxResults=1", sA[carol], "")
		if st != 200 || len(out["Conversations"].([]any)) != 1 || str(out["NextToken"]) == "" {
			t.Fatalf("list conversations: %d %v", st, out)
		}
	})

	t.Run("files: the bytes per the reader's group, gone at expiry", func(t *testing.T) {
		testWickrFiles(t, b, clk, nidA, gidA, dm, sA[alice], sA[carol], sB[bob])
	})
	t.Run("files: previews for every member, compressed images at low bandwidth", func(t *testing.T) {
		testWickrPreview(t, b, nidA, gidA, dm, sA[alice], sA[carol], sB[bob])
	})
}

// testWickrModerators: alice, the room's creator, makes carol a moderator (her devices are told
// live); carol then adds bob, and alice takes him out; carol, a member, is refused what only
// moderators do until then, and a guest is never one.
func testWickrModerators(t *testing.T, b *running, call func(method, path, session, body string) (int, map[string]any),
	room, alice, carol, bob, aliceS, carolS string) {
	t.Helper()
	ws := b.dialWickrStream(t, carolS, "")
	if st, out := call("POST", "/"+room+"/members/remove", carolS, `{"Member":`+alice+`}`); st != 403 {
		t.Fatalf("a member who is not a moderator takes the creator out: %d %v", st, out)
	}
	if st, out := call("POST", "/"+room+"/moderators", aliceS, `{"Member":{"GuestUsername":"gus@guests.example"}}`); st != 400 && st != 403 {
		t.Fatalf("a guest made a moderator: %d %v", st, out)
	}
	for _, body := range []string{`{"Member":{"NetworkId":"1234"}}`, `{"Member":{"NetworkId":"1234\u00005678","UserId":"1"}}`} {
		st, out := call("POST", "/"+room+"/moderators", aliceS, body) // the edge names a NUL's member in its message
		if st != 400 || str(out["Field"]) != "Member.NetworkId" && !strings.Contains(str(out["Message"]), `"Member.NetworkId"`) {
			t.Fatalf("a malformed member %s: %d %v", body, st, out)
		}
	}
	for _, body := range []string{`{}`, `{"Member":"x"}`, `{"Member":{"GuestUsername":"` + strings.Repeat("g", 300) + `@x.example"}}`} {
		if st, out := call("POST", "/"+room+"/members/remove", aliceS, body); st != 400 {
			t.Fatalf("a malformed removal %.60s: %d %v", body, st, out)
		}
	}
	st, out := call("POST", "/"+room+"/moderators", aliceS, `{"Member":`+carol+`}`)
	if st != 200 || len(out["Conversation"].(map[string]any)["Moderators"].([]any)) != 2 {
		t.Fatalf("alice makes carol a moderator: %d %v", st, out)
	}
	if f := ws.untilFrame("ModeratorAdded"); f.ConversationId != room || len(f.Members) != 1 || f.Actor["UserId"] == f.Members[0]["UserId"] {
		t.Fatalf("carol's devices are told: %+v", f)
	}
	if st, out := call("POST", "/"+room+"/members", carolS, `{"Members":[`+bob+`]}`); st != 200 {
		t.Fatalf("carol, a moderator now, adds bob: %d %v", st, out)
	}
	st, out = call("POST", "/"+room+"/members/remove", aliceS, `{"Member":`+bob+`}`)
	if st != 200 || len(out["Conversation"].(map[string]any)["Members"].([]any)) != 2 {
		t.Fatalf("alice takes bob out: %d %v", st, out)
	}
	if f := ws.untilFrame("MemberLeft"); f.Reason != "removed" {
		t.Fatalf("bob taken out, as carol's devices see it: %+v", f)
	}
}
