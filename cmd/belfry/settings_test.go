package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
)

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestSettingsThroughSDK(t *testing.T) {
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) { m.Now = clk.Now })
	ctx := context.Background()
	c := b.client

	// Global settings: the CDR buckets, with the S3 name rules.
	g, err := c.GetGlobalSettings(ctx, &chime.GetGlobalSettingsInput{})
	if err != nil || g.BusinessCalling == nil || g.BusinessCalling.CdrBucket != nil {
		t.Fatalf("initial global settings: %+v %v", g, err)
	}
	if _, err := c.UpdateGlobalSettings(ctx, &chime.UpdateGlobalSettingsInput{BusinessCalling: &types.BusinessCallingSettings{CdrBucket: aws.String("acme-cdrs")}}); err != nil {
		t.Fatal(err)
	}
	g, _ = c.GetGlobalSettings(ctx, &chime.GetGlobalSettingsInput{})
	if aws.ToString(g.BusinessCalling.CdrBucket) != "acme-cdrs" || g.VoiceConnector.CdrBucket != nil {
		t.Fatalf("after update: %+v", g)
	}
	for _, bad := range []string{"ab", "Acme", "acme..cdrs", "192.168.1.1", "acme-"} {
		_, err := c.UpdateGlobalSettings(ctx, &chime.UpdateGlobalSettingsInput{VoiceConnector: &types.VoiceConnectorSettings{CdrBucket: aws.String(bad)}})
		apiErr(t, err, "BadRequestException", 400)
	}

	// Default outbound calling name: at most 15 characters, once every 7 days.
	if _, err := c.UpdatePhoneNumberSettings(ctx, &chime.UpdatePhoneNumberSettingsInput{CallingName: aws.String("Department 5")}); err != nil {
		t.Fatal(err)
	}
	ps, err := c.GetPhoneNumberSettings(ctx, &chime.GetPhoneNumberSettingsInput{})
	if err != nil || aws.ToString(ps.CallingName) != "Department 5" || ps.CallingNameUpdatedTimestamp == nil {
		t.Fatalf("phone-number settings: %+v %v", ps, err)
	}
	_, err = c.UpdatePhoneNumberSettings(ctx, &chime.UpdatePhoneNumberSettingsInput{CallingName: aws.String("Too soon")})
	apiErr(t, err, "BadRequestException", 400)
	clk.Add(7*24*time.Hour + time.Minute)
	if _, err := c.UpdatePhoneNumberSettings(ctx, &chime.UpdatePhoneNumberSettingsInput{CallingName: aws.String("Sales")}); err != nil {
		t.Fatalf("after 7 days: %v", err)
	}
	clk.Add(8 * 24 * time.Hour)
	_, err = c.UpdatePhoneNumberSettings(ctx, &chime.UpdatePhoneNumberSettingsInput{CallingName: aws.String(strings.Repeat("x", 16))})
	apiErr(t, err, "BadRequestException", 400)
	// The model's CallingName pattern (^$|…) takes an empty name: it clears the default calling name.
	if _, err := c.UpdatePhoneNumberSettings(ctx, &chime.UpdatePhoneNumberSettingsInput{CallingName: aws.String("")}); err != nil {
		t.Fatalf("clearing the calling name: %v", err)
	}
	if ps, err = c.GetPhoneNumberSettings(ctx, &chime.GetPhoneNumberSettingsInput{}); err != nil || ps.CallingName != nil {
		t.Fatalf("phone-number settings after clearing: %+v %v", ps, err)
	}

	// User settings: telephony permissions.
	a, err := c.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Callers")})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.CreateUser(ctx, &chime.CreateUserInput{AccountId: a.Account.AccountId, Email: aws.String("caller@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	us, err := c.GetUserSettings(ctx, &chime.GetUserSettingsInput{AccountId: a.Account.AccountId, UserId: u.User.UserId})
	if err != nil || aws.ToBool(us.UserSettings.Telephony.InboundCalling) {
		t.Fatalf("initial user settings: %+v %v", us, err)
	}
	_, err = c.UpdateUserSettings(ctx, &chime.UpdateUserSettingsInput{AccountId: a.Account.AccountId, UserId: u.User.UserId,
		UserSettings: &types.UserSettings{Telephony: &types.TelephonySettings{InboundCalling: aws.Bool(true), OutboundCalling: aws.Bool(true), SMS: aws.Bool(false)}}})
	if err != nil {
		t.Fatal(err)
	}
	us, _ = c.GetUserSettings(ctx, &chime.GetUserSettingsInput{AccountId: a.Account.AccountId, UserId: u.User.UserId})
	tp := us.UserSettings.Telephony
	if !aws.ToBool(tp.InboundCalling) || !aws.ToBool(tp.OutboundCalling) || aws.ToBool(tp.SMS) {
		t.Fatalf("user settings after update: %+v", tp)
	}
	_, err = c.GetUserSettings(ctx, &chime.GetUserSettingsInput{AccountId: a.Account.AccountId, UserId: aws.String("ghost")})
	apiErr(t, err, "NotFoundException", 404)
}
