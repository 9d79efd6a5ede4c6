package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"

	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/carrier"
)

// TestCreateMeetingDialOut: through the official SDK, CreateMeetingDialOut calls a phone number from
// a number of the inventory; when the simulated far end answers it joins the meeting's roster as a
// phone attendee, and leaves it when it hangs up. Refused first: an account without dial-out
// (Forbidden), a meeting not in progress, an unknown meeting, a number outside the inventory,
// bad numbers and a malformed join token (BadRequest).
func TestCreateMeetingDialOut(t *testing.T) {
	t.Parallel()
	outbox := t.TempDir()
	b := startBelfryWith(t, func(m *Main) {
		m.cfg.MailDir = outbox
		m.Carrier = &carrier.Sim{Ring: 2 * time.Second, Talk: 20 * time.Second, Speed: 100}
	})
	ctx := context.Background()
	c := b.client
	a, _ := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Dial Corp")})
	acct := aws.ToString(a.Account.AccountId)
	_, aliceTok := b.registeredUser(t, outbox, acct, "alice@dial.example")
	st, out := b.clientCall(t, "POST", "/client/v1/meetings", aliceTok, map[string]string{"Title": "Standup", "StartsAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if st != 201 {
		t.Fatalf("schedule: %d %v", st, out)
	}
	id := out["Meeting"].(map[string]any)["MeetingId"].(string)
	found, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(1)})
	order, _ := c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling, E164PhoneNumbers: found.E164PhoneNumbers})
	waitOrder(t, c, order.PhoneNumberOrder.PhoneNumberOrderId)
	from, to := found.E164PhoneNumbers[0], "+13605550199"
	dial := func(meetingID, from, to, token string) (*chime.CreateMeetingDialOutOutput, error) {
		return c.CreateMeetingDialOut(ctx, &chime.CreateMeetingDialOutInput{MeetingId: aws.String(meetingID), FromPhoneNumber: aws.String(from),
			ToPhoneNumber: aws.String(to), JoinToken: aws.String(token)})
	}
	const token = "dGhlLWpvaW4tdG9rZW4"
	var forbidden *types.ForbiddenException
	if _, err := dial(id, from, to, token); !errors.As(err, &forbidden) {
		t.Fatalf("dial-out with EnableDialOut off: %v", err)
	}
	if _, err := c.UpdateAccountSettings(ctx, &chime.UpdateAccountSettingsInput{AccountId: &acct, AccountSettings: &types.AccountSettings{EnableDialOut: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	var bad *types.BadRequestException
	if _, err := dial(id, from, to, token); !errors.As(err, &bad) {
		t.Fatalf("dial-out into a meeting not started: %v", err)
	}
	if st, out := b.clientCall(t, "POST", "/client/v1/meetings/"+id+"/start", aliceTok, nil); st != 200 {
		t.Fatalf("start: %d %v", st, out)
	}
	for name, try := range map[string]func() error{
		"a number outside the inventory": func() error { _, err := dial(id, "+12065550123", to, token); return err },
		"a bad To number":                func() error { _, err := dial(id, from, "555-0199", token); return err },
		"a malformed join token":         func() error { _, err := dial(id, from, to, "not a token!"); return err },
		"an unknown meeting":             func() error { _, err := dial("6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f", from, to, token); return err },
	} {
		if err := try(); !errors.As(err, &bad) {
			t.Errorf("%s: %v, want BadRequestException", name, err)
		}
	}
	res, err := dial(id, from, to, token)
	if err != nil || aws.ToString(res.TransactionId) == "" {
		t.Fatalf("dial-out: %v %v", res, err)
	}
	// The join token is a credential: the audit record hides it.
	recs := b.audit(t, "CreateMeetingDialOut", 7)
	if len(recs) != 7 {
		t.Fatalf("%d audit records of CreateMeetingDialOut, want 7", len(recs))
	}
	for _, rec := range recs {
		if rp, _ := json.Marshal(rec.RequestParameters); strings.Contains(string(rp), token) {
			t.Fatalf("the join token is in an audit record: %s", rp)
		}
	}
	// The callee answers after 2 s (20 ms at 100x), joins as pstn:<number>, talks 20 s and hangs up.
	var joined, left bool
	waitFor(t, func() bool {
		joined, left = false, false
		for _, e := range b.meetingEvents(t, id) {
			switch e := e.(type) {
			case meeting.AttendeeJoined:
				joined = joined || e.UserID == "pstn:"+to
			case meeting.AttendeeLeft:
				left = left || (joined && e.Reason == meeting.LeftHungUp)
			}
		}
		return joined && left
	})
}

// TestPhoneAttendeesHungUpByModeration: a dial-out's callee whom the host removes, and one still on
// when the host ends the meeting, are hung up there and then: their legs end Completed and their
// conferences end (which writes their CDRs), not an hour later when the far end would have hung up.
func TestPhoneAttendeesHungUpByModeration(t *testing.T) {
	t.Parallel()
	b, id, aliceTok, _, _ := meetingWith(t, func(m *Main) {
		m.cfg.Media.Loopback = true
		m.Carrier = &carrier.Sim{Ring: 2 * time.Second, Talk: time.Hour, Speed: 100} // answers in 20 ms, talks 36 s
	})
	ctx := context.Background()
	c := b.client
	accts, err := c.ListAccounts(ctx, &chime.ListAccountsInput{Name: aws.String("Media Corp")})
	if err != nil || len(accts.Accounts) != 1 {
		t.Fatalf("ListAccounts: %v %v", accts, err)
	}
	if _, err := c.UpdateAccountSettings(ctx, &chime.UpdateAccountSettingsInput{AccountId: accts.Accounts[0].AccountId,
		AccountSettings: &types.AccountSettings{EnableDialOut: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	found, _ := c.SearchAvailablePhoneNumbers(ctx, &chime.SearchAvailablePhoneNumbersInput{AreaCode: aws.String("206"), MaxResults: aws.Int32(1)})
	order, _ := c.CreatePhoneNumberOrder(ctx, &chime.CreatePhoneNumberOrderInput{ProductType: types.PhoneNumberProductTypeBusinessCalling, E164PhoneNumbers: found.E164PhoneNumbers})
	waitOrder(t, c, order.PhoneNumberOrder.PhoneNumberOrderId)
	alice := b.join(t, id, aliceTok) // starts the meeting; the organiser moderates
	conf := map[string]string{}      // callee number → conference id
	for _, to := range []string{"+13605550101", "+13605550102"} {
		res, err := c.CreateMeetingDialOut(ctx, &chime.CreateMeetingDialOutInput{MeetingId: aws.String(id), FromPhoneNumber: aws.String(found.E164PhoneNumbers[0]),
			ToPhoneNumber: aws.String(to), JoinToken: aws.String("dGhlLWpvaW4tdG9rZW4")})
		if err != nil {
			t.Fatal(err)
		}
		conf[to] = aws.ToString(res.TransactionId)
	}
	phone := map[string]string{} // callee number → attendee id
	until(t, "both callees in the meeting", func() bool {
		for _, e := range b.meetingEvents(t, id) {
			if e, ok := e.(meeting.AttendeeJoined); ok && strings.HasPrefix(e.UserID, "pstn:") {
				phone[strings.TrimPrefix(e.UserID, "pstn:")] = e.AttendeeID
			}
		}
		return len(phone) == 2
	})
	ended := func(to string) *call.LegEnded {
		for _, e := range streamEvents(t, b, call.StreamName(conf[to]), call.Decode) {
			if e, ok := e.(call.LegEnded); ok {
				return &e
			}
		}
		return nil
	}
	alice.send(map[string]string{"type": "remove", "attendeeId": phone["+13605550101"]})
	until(t, "the removed callee's leg to end", func() bool { return ended("+13605550101") != nil })
	if ended("+13605550102") != nil {
		t.Fatal("the callee still in the meeting was hung up")
	}
	alice.send(map[string]string{"type": "end"})
	until(t, "the last callee's leg to end with the meeting", func() bool { return ended("+13605550102") != nil })
	for to, id := range conf {
		e := ended(to)
		if e.Reason != call.ReasonCompleted || time.Since(e.At) > time.Minute {
			t.Fatalf("%s's leg ended %+v, want Completed now (the far end would hang up an hour after answering)", to, e)
		}
		until(t, "the conference to end", func() bool {
			evs := streamEvents(t, b, call.StreamName(id), call.Decode)
			_, ok := evs[len(evs)-1].(call.ConferenceEnded)
			return ok
		})
	}
}
