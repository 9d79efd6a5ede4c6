package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"

	"github.com/belfry/belfry/infra/botdelivery"
	"github.com/belfry/belfry/infra/datakeys"
)

// botInbox is a bot's HTTPS endpoint: it answers the verification challenge and records events.
type botInbox struct {
	mu       sync.Mutex
	events   []botDelivery
	failNext int // answer 500 to this many event deliveries first
}

type botDelivery struct {
	EventType, DiscussionID, SenderID, Timestamp, Signature string
	Body                                                    []byte
}

func (b *botInbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct {
		Challenge, EventType string
		Discussion           struct{ DiscussionId string }
		Sender               struct{ SenderId string }
	}
	_ = json.Unmarshal(body, &in)
	if in.EventType == "HTTPSEndpointVerification" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"Challenge": in.Challenge})
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, botDelivery{EventType: in.EventType, DiscussionID: in.Discussion.DiscussionId, SenderID: in.Sender.SenderId,
		Timestamp: r.Header.Get("Chime-Request-Timestamp"), Signature: r.Header.Get("Chime-Signature"), Body: body})
	if b.failNext > 0 {
		b.failNext--
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func (b *botInbox) wait(t *testing.T, n int) []botDelivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b.mu.Lock()
		got := append([]botDelivery(nil), b.events...)
		b.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRoomsMembershipsAndBotEvents(t *testing.T) {
	t.Parallel()
	dnsSrv := startDNS(t)
	inbox := &botInbox{failNext: 1}
	endpoint := httptest.NewTLSServer(inbox)
	defer endpoint.Close()
	var lmu sync.Mutex
	var lambdaCalls []http.Header
	var lambdaBodies [][]byte
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lmu.Lock()
		lambdaCalls = append(lambdaCalls, r.Header.Clone())
		lambdaBodies = append(lambdaBodies, body)
		lmu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer lambda.Close()
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.DNSResolver = dnsSrv.addr
		m.cfg.LambdaURL = lambda.URL
		m.BotHTTP = endpoint.Client()
	})
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Rooms Inc")})
	acct := a.Account.AccountId
	_, err := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: acct, Name: aws.String("Too early")})
	apiErr(t, err, "BadRequestException", 400) // rooms need an Enterprise account

	b.claimDomain(t, dnsSrv, aws.ToString(acct), "rooms.example")

	// Rooms: create (a replay with the same client request token finds the same room), get, list, rename.
	r1, err := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: acct, Name: aws.String("Ops"), ClientRequestToken: aws.String("req-1")})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: acct, Name: aws.String("Ops"), ClientRequestToken: aws.String("req-1")})
	if err != nil || aws.ToString(again.Room.RoomId) != aws.ToString(r1.Room.RoomId) {
		t.Fatalf("replayed CreateRoom: %v %v", again, err)
	}
	roomID := r1.Room.RoomId
	if aws.ToString(r1.Room.AccountId) != aws.ToString(acct) || aws.ToString(r1.Room.CreatedBy) == "" || r1.Room.CreatedTimestamp == nil {
		t.Fatalf("room: %+v", r1.Room)
	}
	_, err = c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: acct, Name: aws.String("  ")})
	apiErr(t, err, "BadRequestException", 400)
	if _, err := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: acct, Name: aws.String("Lounge")}); err != nil {
		t.Fatal(err)
	}
	up, err := c.UpdateRoom(ctx, &chime.UpdateRoomInput{AccountId: acct, RoomId: roomID, Name: aws.String("Operations")})
	if err != nil || aws.ToString(up.Room.Name) != "Operations" {
		t.Fatalf("UpdateRoom: %v %v", up, err)
	}
	got, err := c.GetRoom(ctx, &chime.GetRoomInput{AccountId: acct, RoomId: roomID})
	if err != nil || aws.ToString(got.Room.Name) != "Operations" {
		t.Fatalf("GetRoom: %v %v", got, err)
	}
	_, err = c.GetRoom(ctx, &chime.GetRoomInput{AccountId: acct, RoomId: aws.String("00000000-0000-0000-0000-000000000000")})
	apiErr(t, err, "NotFoundException", 404)
	list, _ := c.ListRooms(ctx, &chime.ListRoomsInput{AccountId: acct, MaxResults: aws.Int32(1)})
	if len(list.Rooms) != 1 || list.NextToken == nil {
		t.Fatalf("ListRooms page 1: %+v", list)
	}

	// Memberships.
	alice, _ := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: acct, Email: aws.String("alice@rooms.example")})
	bob, _ := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: acct, Email: aws.String("bob@rooms.example")})
	m, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: alice.User.UserId, Role: types.RoomMembershipRoleAdministrator})
	if err != nil || m.RoomMembership.Role != types.RoomMembershipRoleAdministrator || m.RoomMembership.Member.MemberType != types.MemberTypeUser ||
		aws.ToString(m.RoomMembership.Member.Email) != "alice@rooms.example" {
		t.Fatalf("CreateRoomMembership: %+v %v", m, err)
	}
	_, err = c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: alice.User.UserId})
	apiErr(t, err, "ConflictException", 409)
	_, err = c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: aws.String("nobody")})
	apiErr(t, err, "NotFoundException", 404)
	_, err = c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: bob.User.UserId, Role: "Owner"})
	apiErr(t, err, "BadRequestException", 400)
	batch, err := c.BatchCreateRoomMembership(ctx, &chime.BatchCreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MembershipItemList: []types.MembershipItem{
		{MemberId: bob.User.UserId}, {MemberId: aws.String("nobody")}, {MemberId: alice.User.UserId}}})
	if err != nil || len(batch.Errors) != 2 || batch.Errors[0].ErrorCode != types.ErrorCodeNotFound || batch.Errors[1].ErrorCode != types.ErrorCodeConflict {
		t.Fatalf("BatchCreateRoomMembership: %+v %v", batch, err)
	}
	_, err = c.BatchCreateRoomMembership(ctx, &chime.BatchCreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MembershipItemList: make([]types.MembershipItem, 51)})
	apiErr(t, err, "BadRequestException", 400)
	ms, _ := c.ListRoomMemberships(ctx, &chime.ListRoomMembershipsInput{AccountId: acct, RoomId: roomID, MaxResults: aws.Int32(1)})
	if len(ms.RoomMemberships) != 1 || ms.NextToken == nil {
		t.Fatalf("ListRoomMemberships page 1: %+v", ms)
	}
	ms2, _ := c.ListRoomMemberships(ctx, &chime.ListRoomMembershipsInput{AccountId: acct, RoomId: roomID, NextToken: ms.NextToken})
	if len(ms2.RoomMemberships) != 1 || ms2.NextToken != nil {
		t.Fatalf("ListRoomMemberships page 2: %+v", ms2)
	}
	bobs, _ := c.ListRooms(ctx, &chime.ListRoomsInput{AccountId: acct, MemberId: bob.User.UserId})
	if len(bobs.Rooms) != 1 || aws.ToString(bobs.Rooms[0].RoomId) != aws.ToString(roomID) {
		t.Fatalf("bob's rooms: %+v", bobs.Rooms)
	}
	um, err := c.UpdateRoomMembership(ctx, &chime.UpdateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: bob.User.UserId, Role: types.RoomMembershipRoleAdministrator})
	if err != nil || um.RoomMembership.Role != types.RoomMembershipRoleAdministrator {
		t.Fatalf("UpdateRoomMembership: %+v %v", um, err)
	}
	// Role is optional in UpdateRoomMembership: a call without it changes nothing (no demotion).
	um, err = c.UpdateRoomMembership(ctx, &chime.UpdateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: bob.User.UserId})
	if err != nil || um.RoomMembership.Role != types.RoomMembershipRoleAdministrator {
		t.Fatalf("UpdateRoomMembership without a Role: %+v %v", um, err)
	}

	// Bots: not before their events configuration; then Invite and Remove arrive, signed.
	bot, err := c.CreateBot(ctx, &chime.CreateBotInput{AccountId: acct, DisplayName: aws.String("helper"), Domain: aws.String("rooms.example")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: bot.Bot.BotId})
	apiErr(t, err, "BadRequestException", 400)
	if _, err := c.PutEventsConfiguration(ctx, &chime.PutEventsConfigurationInput{AccountId: acct, BotId: bot.Bot.BotId, OutboundEventsHTTPSEndpoint: aws.String(endpoint.URL)}); err != nil {
		t.Fatal(err)
	}
	bm, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: bot.Bot.BotId})
	if err != nil || bm.RoomMembership.Member.MemberType != types.MemberTypeBot || aws.ToString(bm.RoomMembership.Member.Email) != "helper-chimebot@rooms.example" {
		t.Fatalf("add the bot: %+v %v", bm, err)
	}
	token := aws.ToString(bot.Bot.SecurityToken)
	events := inbox.wait(t, 2) // the first attempt fails with a 500 and is retried
	if len(events) != 2 || events[1].EventType != "Invite" || events[1].DiscussionID != aws.ToString(roomID) {
		t.Fatalf("Invite deliveries: %+v", events)
	}
	for _, e := range events {
		if e.Signature != botdelivery.BotSignature(token, e.Timestamp, e.Body) {
			t.Fatalf("signature %q does not verify for %s|%s", e.Signature, e.Timestamp, e.Body)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", e.Timestamp); err != nil {
			t.Fatalf("Chime-Request-Timestamp %q: %v", e.Timestamp, err)
		}
	}
	if err := func() error {
		_, err := c.DeleteRoomMembership(ctx, &chime.DeleteRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: bot.Bot.BotId})
		return err
	}(); err != nil {
		t.Fatal(err)
	}
	if events = inbox.wait(t, 3); len(events) != 3 || events[2].EventType != "Remove" || events[2].Signature != botdelivery.BotSignature(token, events[2].Timestamp, events[2].Body) {
		t.Fatalf("Remove delivery: %+v", events)
	}
	// A disabled bot can be removed from rooms but not added.
	if _, err := c.UpdateBot(ctx, &chime.UpdateBotInput{AccountId: acct, BotId: bot.Bot.BotId, Disabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: bot.Bot.BotId})
	apiErr(t, err, "BadRequestException", 400)

	// A Lambda bot gets its event through the invoker, the signature in the client context.
	lb, _ := c.CreateBot(ctx, &chime.CreateBotInput{AccountId: acct, DisplayName: aws.String("lambdabot"), Domain: aws.String("rooms.example")})
	arn := "arn:aws:lambda:us-east-1:111122223333:function:lambdabot"
	if _, err := c.PutEventsConfiguration(ctx, &chime.PutEventsConfigurationInput{AccountId: acct, BotId: lb.Bot.BotId, LambdaFunctionArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: lb.Bot.BotId}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		lmu.Lock()
		n := len(lambdaCalls)
		lmu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	lmu.Lock()
	if len(lambdaCalls) != 2 || lambdaCalls[1].Get("X-Amz-Invocation-Type") != "Event" {
		t.Fatalf("lambda calls (dry run, then the Invite): %v", lambdaCalls)
	}
	raw, _ := base64.StdEncoding.DecodeString(lambdaCalls[1].Get("X-Amz-Client-Context"))
	var cc map[string]string
	_ = json.Unmarshal(raw, &cc)
	if cc["Chime-Signature"] != botdelivery.BotSignature(aws.ToString(lb.Bot.SecurityToken), cc["Chime-Request-Timestamp"], lambdaBodies[1]) {
		t.Fatalf("lambda client context %s does not verify", raw)
	}
	lmu.Unlock()

	// Deleting the room removes it and its memberships from every view.
	if _, err := c.DeleteRoom(ctx, &chime.DeleteRoomInput{AccountId: acct, RoomId: roomID}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRoom(ctx, &chime.GetRoomInput{AccountId: acct, RoomId: roomID})
	apiErr(t, err, "NotFoundException", 404)
	_, err = c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: acct, RoomId: roomID, MemberId: bob.User.UserId})
	apiErr(t, err, "NotFoundException", 404)
	if bobs, _ := c.ListRooms(ctx, &chime.ListRoomsInput{AccountId: acct, MemberId: bob.User.UserId}); len(bobs.Rooms) != 0 {
		t.Fatalf("bob's rooms after the deletion: %+v", bobs.Rooms)
	}
}

func TestRoomMessagesAndRedaction(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	dnsSrv := startDNS(t)
	inbox := &botInbox{}
	endpoint := httptest.NewTLSServer(inbox)
	defer endpoint.Close()
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir = outbox
		m.cfg.DNSResolver = dnsSrv.addr
		m.BotHTTP = endpoint.Client()
	})
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Chatty Corp")})
	acct := aws.ToString(a.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@chat.example")
	bob, bobTok := b.registeredUser(t, outbox, acct, "bob@chat.example")
	_, carolTok := b.registeredUser(t, outbox, acct, "carol@chat.example")
	b.claimDomain(t, dnsSrv, acct, "chat.example")

	r, err := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: &acct, Name: aws.String("Ops")})
	if err != nil {
		t.Fatal(err)
	}
	room := aws.ToString(r.Room.RoomId)
	for _, id := range []string{alice, bob} {
		if _, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: &room, MemberId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	path := "/client/v1/rooms/" + room + "/messages"
	st, out := b.clientCall(t, "POST", path, aliceTok, map[string]string{"Content": "hello @All"})
	if st != 201 {
		t.Fatalf("post: %d %v", st, out)
	}
	msg := out["Message"].(map[string]any)
	msgID := msg["MessageId"].(string)
	if msg["SenderId"] != alice || msg["SenderType"] != "User" || msg["Content"] != "hello @All" {
		t.Fatalf("message: %v", msg)
	}
	if st, out := b.clientCall(t, "POST", path, carolTok, map[string]string{"Content": "let me in"}); st != 403 || out["Code"] != "Forbidden" {
		t.Fatalf("a non-member posts: %d %v", st, out)
	}
	if st, _ := b.clientCall(t, "GET", path, carolTok, nil); st != 403 {
		t.Fatalf("a non-member reads: %d", st)
	}
	if st, _ := b.clientCall(t, "POST", path, aliceTok, map[string]string{"Content": strings.Repeat("x", 4096)}); st != 400 {
		t.Fatalf("a 4 KB message: %d", st)
	}
	if st, _ := b.clientCall(t, "POST", path, "", map[string]string{"Content": "anonymous"}); st != 401 {
		t.Fatalf("no session: %d", st)
	}
	st, list := b.clientCall(t, "GET", path, bobTok, nil)
	if st != 200 || len(list["Messages"].([]any)) != 1 || list["Messages"].([]any)[0].(map[string]any)["Content"] != "hello @All" {
		t.Fatalf("bob reads: %d %v", st, list)
	}
	// Architecture §7: the event log and the read model hold ciphertext and key ids only.
	var plain int
	if err := pgxQueryRow(t, b, `SELECT (SELECT count(*) FROM eventlog.events WHERE position(convert_to('hello @All', 'UTF8') IN data) > 0)
		+ (SELECT count(*) FROM rm.chime_room_messages WHERE position(convert_to('hello @All', 'UTF8') IN sealed) > 0)`, &plain); err != nil {
		t.Fatal(err)
	}
	if plain != 0 {
		t.Fatalf("the message text is stored in the clear in %d places", plain)
	}

	// An administrator redacts the message: it stays listed, without its content.
	if _, err := c.RedactRoomMessage(ctx, &chime.RedactRoomMessageInput{AccountId: &acct, RoomId: &room, MessageId: aws.String(msgID)}); err != nil {
		t.Fatal(err)
	}
	_, list = b.clientCall(t, "GET", path, bobTok, nil)
	if got := list["Messages"].([]any)[0].(map[string]any); got["Redacted"] != true || got["Content"] != "" {
		t.Fatalf("after redaction: %v", got)
	}
	if _, err := c.RedactRoomMessage(ctx, &chime.RedactRoomMessageInput{AccountId: &acct, RoomId: &room, MessageId: aws.String(msgID)}); err != nil {
		t.Fatalf("redacting again changes nothing: %v", err)
	}
	_, err = c.RedactRoomMessage(ctx, &chime.RedactRoomMessageInput{AccountId: &acct, RoomId: &room, MessageId: aws.String("no-such-message")})
	apiErr(t, err, "NotFoundException", 404)

	// Incoming webhooks: room administrators manage them; posts follow the guide's error contract.
	if st, _ := b.clientCall(t, "POST", "/client/v1/rooms/"+room+"/webhooks", bobTok, map[string]string{"Name": "CI"}); st != 403 {
		t.Fatalf("a member who is not an administrator adds a webhook: %d", st)
	}
	if _, err := c.UpdateRoomMembership(ctx, &chime.UpdateRoomMembershipInput{AccountId: &acct, RoomId: &room, MemberId: aws.String(alice),
		Role: types.RoomMembershipRoleAdministrator}); err != nil {
		t.Fatal(err)
	}
	st, out = b.clientCall(t, "POST", "/client/v1/rooms/"+room+"/webhooks", aliceTok, map[string]string{"Name": "CI"})
	if st != 201 {
		t.Fatalf("create a webhook: %d %v", st, out)
	}
	hook := out["Webhook"].(map[string]any)
	hookURL := hook["Url"].(string)
	if !strings.HasPrefix(hookURL, b.url+"/incomingwebhooks/"+hook["WebhookId"].(string)+"?token=") {
		t.Fatalf("webhook URL %q", hookURL)
	}
	post := func(url, content string) int {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"Content": content})
		resp, err := http.Post(url, "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(hookURL, "build green :+1:"); st != 200 {
		t.Fatalf("post through the webhook: %d", st)
	}
	if st := post(hookURL, "again at once"); st != 429 {
		t.Fatalf("a second post within the second: %d", st)
	}
	if st := post(strings.Split(hookURL, "?")[0]+"?token=forged", "x"); st != 403 {
		t.Fatalf("a forged token: %d", st)
	}
	if st := post(b.url+"/incomingwebhooks/00000000-0000-0000-0000-000000000000?token=x", "x"); st != 403 {
		t.Fatalf("an unknown webhook: %d", st)
	}
	time.Sleep(1100 * time.Millisecond)
	if st := post(hookURL, strings.Repeat("x", 4096)); st != 413 {
		t.Fatalf("a 4 KB message: %d", st)
	}
	_, list = b.clientCall(t, "GET", path, bobTok, nil)
	if got := list["Messages"].([]any)[0].(map[string]any); got["SenderType"] != "Webhook" || got["SenderName"] != "CI (Webhook)" || got["Content"] != "build green :+1:" {
		t.Fatalf("the webhook's message: %v", got)
	}
	members, _ := c.ListRoomMemberships(ctx, &chime.ListRoomMembershipsInput{AccountId: &acct, RoomId: &room})
	webhookMembers := 0
	for _, m := range members.RoomMemberships {
		if m.Member.MemberType == types.MemberTypeWebhook {
			webhookMembers++
		}
	}
	if webhookMembers != 1 {
		t.Fatalf("the webhook in the member list: %+v", members.RoomMemberships)
	}
	st, out = b.clientCall(t, "POST", "/client/v1/rooms/"+room+"/webhooks/"+hook["WebhookId"].(string)+"/regenerate", aliceTok, nil)
	if st != 200 || out["Webhook"].(map[string]any)["Url"] == hookURL {
		t.Fatalf("regenerate: %d %v", st, out)
	}
	newURL := out["Webhook"].(map[string]any)["Url"].(string)
	time.Sleep(1100 * time.Millisecond)
	if st := post(hookURL, "old URL"); st != 404 {
		t.Fatalf("the regenerated (old) URL: %d", st)
	}
	time.Sleep(1100 * time.Millisecond)
	if st := post(newURL, "new URL"); st != 200 {
		t.Fatalf("the new URL: %d", st)
	}
	if st, _ := b.clientCall(t, "DELETE", "/client/v1/rooms/"+room+"/webhooks/"+hook["WebhookId"].(string), aliceTok, nil); st != 204 {
		t.Fatalf("delete the webhook: %d", st)
	}
	time.Sleep(1100 * time.Millisecond)
	if st := post(newURL, "after deletion"); st != 404 {
		t.Fatalf("a deleted webhook's URL: %d", st)
	}

	// A bot in the room: Invite brings a persistent reply URL, a @mention brings a Mention event with
	// the message and a short-lived reply URL; the bot answers through them.
	bot, err := c.CreateBot(ctx, &chime.CreateBotInput{AccountId: &acct, DisplayName: aws.String("helper"), Domain: aws.String("chat.example")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutEventsConfiguration(ctx, &chime.PutEventsConfigurationInput{AccountId: &acct, BotId: bot.Bot.BotId, OutboundEventsHTTPSEndpoint: aws.String(endpoint.URL)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: &room, MemberId: bot.Bot.BotId}); err != nil {
		t.Fatal(err)
	}
	type inbound struct {
		EventType, Message   string
		InboundHttpsEndpoint struct{ EndpointType, Url string }
		Sender               struct{ SenderId string }
	}
	parse := func(d botDelivery) inbound {
		var in inbound
		_ = json.Unmarshal(d.Body, &in)
		return in
	}
	got := inbox.wait(t, 1)
	if len(got) != 1 {
		t.Fatalf("%d bot deliveries, want the Invite", len(got))
	}
	invite := parse(got[0])
	if invite.EventType != "Invite" || invite.InboundHttpsEndpoint.EndpointType != "Persistent" || !strings.HasPrefix(invite.InboundHttpsEndpoint.Url, b.url+"/incomingwebhooks/") {
		t.Fatalf("Invite: %+v", invite)
	}
	if st := post(invite.InboundHttpsEndpoint.Url, "Hi, I am helper. Say @helper-chimebot@chat.example help"); st != 200 {
		t.Fatalf("the bot posts its help text: %d", st)
	}
	if st, out := b.clientCall(t, "POST", path, aliceTok, map[string]string{"Content": "@helper-chimebot@chat.example status?"}); st != 201 {
		t.Fatalf("mention the bot: %d %v", st, out)
	}
	if got = inbox.wait(t, 2); len(got) != 2 {
		t.Fatalf("%d bot deliveries, want Invite and Mention", len(got))
	}
	mention := parse(got[1])
	if mention.EventType != "Mention" || mention.Message != "@helper-chimebot@chat.example status?" || mention.Sender.SenderId != "alice@chat.example" ||
		mention.InboundHttpsEndpoint.EndpointType != "ShortLived" {
		t.Fatalf("Mention: %+v", mention)
	}
	time.Sleep(1100 * time.Millisecond)
	if st := post(mention.InboundHttpsEndpoint.Url, "all green"); st != 200 {
		t.Fatalf("the bot answers the mention: %d", st)
	}
	_, list = b.clientCall(t, "GET", path, bobTok, nil)
	if got := list["Messages"].([]any)[0].(map[string]any); got["SenderType"] != "Bot" || got["SenderId"] != aws.ToString(bot.Bot.BotId) || got["Content"] != "all green" {
		t.Fatalf("the bot's answer: %v", got)
	}
	if _, err := c.UpdateBot(ctx, &chime.UpdateBotInput{AccountId: &acct, BotId: bot.Bot.BotId, Disabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if st, out := b.clientCall(t, "POST", path, aliceTok, map[string]string{"Content": "@helper-chimebot@chat.example are you there?"}); st != 400 {
		t.Fatalf("mentioning a disabled bot: %d %v", st, out)
	}

	// Destroying the day's data key (what a retention purge does) makes every message of the day unreadable.
	krPath, _ := b.m.cfg.keyringPath()
	ring, err := datakeys.OpenFileKeyring(krPath) // the server's keyring, as another process opens it
	if err != nil {
		t.Fatal(err)
	}
	if err := datakeys.New(pgxPool(t, b)).WithKeyring(ring).Destroy(ctx, datakeys.KeyID(acct, "room/"+room, time.Now())); err != nil {
		t.Fatal(err)
	}
	time.Sleep(datakeys.CacheTTL) // the server is another store: it notices within the TTL
	_, list = b.clientCall(t, "GET", path, bobTok, nil)
	for _, m := range list["Messages"].([]any) {
		if got := m.(map[string]any); got["Content"] != "" || got["Redacted"] != true {
			t.Fatalf("a message whose key was destroyed: %v", got)
		}
	}

	// Deleting the room deletes its messages.
	if _, err := c.DeleteRoom(ctx, &chime.DeleteRoomInput{AccountId: &acct, RoomId: &room}); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.clientCall(t, "GET", path, bobTok, nil); st != 404 {
		t.Fatalf("messages of a deleted room: %d", st)
	}
}

// TestRefusedRoomPostsSealNothing: a room post the room refuses — a user of the account who is not a
// member, a forged, regenerated or deleted webhook URL, a message too large, a webhook past its rate
// — seals nothing: no message key (nor day key) is created for it, as for conversations.
func TestRefusedRoomPostsSealNothing(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	dnsSrv := startDNS(t)
	b := startBelfryWith(t, func(m *Main) { m.cfg.MailDir = outbox; m.cfg.DNSResolver = dnsSrv.addr })
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Sealed Corp")})
	acct := aws.ToString(a.Account.AccountId)
	alice, aliceTok := b.registeredUser(t, outbox, acct, "alice@sealed.example")
	_, carolTok := b.registeredUser(t, outbox, acct, "carol@sealed.example")
	b.claimDomain(t, dnsSrv, acct, "sealed.example")
	r, err := c.CreateRoom(ctx, &chime.CreateRoomInput{AccountId: &acct, Name: aws.String("Vault")})
	if err != nil {
		t.Fatal(err)
	}
	room := aws.ToString(r.Room.RoomId)
	if _, err := c.CreateRoomMembership(ctx, &chime.CreateRoomMembershipInput{AccountId: &acct, RoomId: &room, MemberId: aws.String(alice),
		Role: types.RoomMembershipRoleAdministrator}); err != nil {
		t.Fatal(err)
	}
	path := "/client/v1/rooms/" + room + "/messages"
	if st, out := b.clientCall(t, "POST", path, aliceTok, map[string]string{"Content": "first"}); st != 201 {
		t.Fatalf("post: %d %v", st, out)
	}
	st, out := b.clientCall(t, "POST", "/client/v1/rooms/"+room+"/webhooks", aliceTok, map[string]string{"Name": "CI"})
	if st != 201 {
		t.Fatalf("create a webhook: %d %v", st, out)
	}
	hookURL, hookID := out["Webhook"].(map[string]any)["Url"].(string), out["Webhook"].(map[string]any)["WebhookId"].(string)
	post := func(url, content string) int {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"Content": content})
		resp, err := http.Post(url, "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(hookURL, "through the webhook"); st != 200 {
		t.Fatalf("post through the webhook: %d", st)
	}
	pool := pgxPool(t, b)
	keyRows := func() (n int64) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM keys.message_keys) + (SELECT count(*) FROM keys.data_keys)
			+ (SELECT count(*) FROM keys.scopes) + (SELECT count(*) FROM keys.keks)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := keyRows()
	if st, out := b.clientCall(t, "POST", path, carolTok, map[string]string{"Content": "let me in"}); st != 403 {
		t.Fatalf("a non-member posts: %d %v", st, out)
	}
	if st, _ := b.clientCall(t, "POST", path, aliceTok, map[string]string{"Content": strings.Repeat("x", 4096)}); st != 400 {
		t.Fatalf("a 4 KB message: %d", st)
	}
	if st := post(hookURL, "again at once"); st != 429 {
		t.Fatalf("a second post within the second: %d", st)
	}
	if st := post(strings.Split(hookURL, "?")[0]+"?token=forged", "x"); st != 403 {
		t.Fatalf("a forged token: %d", st)
	}
	if after := keyRows(); after != before {
		t.Fatalf("refused posts created %d keys", after-before)
	}
	if st, out := b.clientCall(t, "POST", "/client/v1/rooms/"+room+"/webhooks/"+hookID+"/regenerate", aliceTok, nil); st != 200 {
		t.Fatalf("regenerate: %d %v", st, out)
	}
	time.Sleep(1100 * time.Millisecond)
	before = keyRows()
	if st := post(hookURL, "old URL"); st != 404 {
		t.Fatalf("the regenerated (old) URL: %d", st)
	}
	if after := keyRows(); after != before {
		t.Fatalf("a post to a regenerated URL created %d keys", after-before)
	}
	if st, _ := b.clientCall(t, "POST", path, aliceTok, map[string]string{"Content": "still works"}); st != 201 {
		t.Fatalf("a member's post after the refusals: %d", st)
	}
}
