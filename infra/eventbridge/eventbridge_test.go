package eventbridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/meeting"
	"github.com/belfry/belfry/infra/eventbridge"
	"github.com/belfry/belfry/infra/eventlog/eventlogtest"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestValidateEndpoint(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://events.example.com/chime": true, "http://127.0.0.1:9000/x": true, "http://localhost/x": true, "http://[::1]:80/": true,
		"http://events.example.com/": false, "ftp://127.0.0.1/": false, "/relative": false, "": false, "https://": false,
	} {
		if err := eventbridge.ValidateEndpoint(u); (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", u, err, ok)
		}
	}
}

type appender struct {
	t      *testing.T
	client *esdb.Client
}

func (a appender) append(stream string, e interface{ EventType() string }) eventbridge.SourceEvent {
	a.t.Helper()
	data, _ := json.Marshal(e)
	id := uuid.New()
	if _, err := a.client.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}},
		esdb.EventData{EventID: id, EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: data}); err != nil {
		a.t.Fatal(err)
	}
	return eventbridge.SourceEvent{Stream: stream, Type: e.EventType(), EventID: id.String(), Data: data}
}

// TestMeetingEventsReachTheEndpoint: a meeting's life reaches the endpoint as the Chime SDK's meeting
// events of the AWS account that owns the meeting's Chime account (read from the log): audio starting
// has no EventBridge event; a disconnected attendee is AttendeeDropped, a removed one AttendeeDeleted. A 5xx asks for a retry; a 4xx
// drops the event.
func TestMeetingEventsReachTheEndpoint(t *testing.T) {
	_, client := eventlogtest.Start(t)
	var mu sync.Mutex
	var got []eventbridge.Event
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		var ev eventbridge.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("body: %v", err)
		}
		if r.Header.Get(eventbridge.SignatureHeader) != "" {
			t.Error("a body signed without a secret")
		}
		got = append(got, ev)
	}))
	defer srv.Close()
	d, err := eventbridge.New(eventbridge.Config{Endpoint: srv.URL, Region: "eu-west-2"}, eventbridge.Log{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	a := appender{t, client}
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	a.append(account.StreamName("acct-1"), account.Created{AccountID: "acct-1", AwsAccountID: "210987654321", Name: "Acme", AccountType: "Team", CreatedAt: at})
	ms := meeting.StreamName("m-1")
	a.append(ms, meeting.Scheduled{AccountID: "acct-1", OrganizerID: "u-1", Title: "Weekly", StartsAt: at, At: at})
	srcs := []eventbridge.SourceEvent{
		a.append(ms, meeting.Started{By: "u-1", At: at.Add(time.Minute)}),
		a.append(ms, meeting.AttendeeJoined{AttendeeID: "att-1", UserID: "u-1", At: at.Add(2 * time.Minute)}),
		a.append(ms, meeting.MediaStarted{AttendeeID: "att-1", Kind: meeting.MediaAudio, At: at.Add(3 * time.Minute)}),
		a.append(ms, meeting.MediaStarted{AttendeeID: "att-1", Kind: meeting.MediaVideo, At: at.Add(4 * time.Minute)}),
		a.append(ms, meeting.MediaStarted{AttendeeID: "att-1", Kind: meeting.MediaContent, At: at.Add(4 * time.Minute)}),
		a.append(ms, meeting.AttendeeLeft{AttendeeID: "att-2", Reason: meeting.LeftRemoved, By: "att-1", At: at.Add(5 * time.Minute)}),
		a.append(ms, meeting.AttendeeLeft{AttendeeID: "att-1", Reason: meeting.LeftDisconnected, At: at.Add(5 * time.Minute)}),
		a.append(ms, meeting.Ended{Reason: meeting.EndReasonAllLeft, At: at.Add(6 * time.Minute)}),
	}
	ctx := context.Background()
	for _, s := range srcs {
		if err := d.Deliver(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"chime:MeetingStarted", "chime:AttendeeJoined", "chime:AttendeeVideoStarted", "chime:AttendeeContentVideoStarted",
		"chime:AttendeeDeleted", "chime:AttendeeDropped", "chime:MeetingEnded"}
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i, ev := range got {
		b, _ := json.Marshal(ev.Detail)
		var det eventbridge.MeetingDetail
		_ = json.Unmarshal(b, &det)
		if det.EventType != want[i] || det.MeetingID != "m-1" || det.MediaRegion != "eu-west-2" || ev.Account != "210987654321" ||
			ev.Region != "eu-west-2" || ev.Source != "aws.chime" || ev.DetailType != eventbridge.DetailMeeting {
			t.Fatalf("event %d: %+v %+v", i, ev, det)
		}
	}
	b, _ := json.Marshal(got[1].Detail)
	var joined eventbridge.MeetingDetail
	_ = json.Unmarshal(b, &joined)
	if joined != (eventbridge.MeetingDetail{Version: "0", EventType: "chime:AttendeeJoined", Timestamp: at.Add(2 * time.Minute).UnixMilli(),
		MeetingID: "m-1", AttendeeID: "att-1", ExternalUserID: "u-1", MediaRegion: "eu-west-2"}) {
		t.Fatalf("AttendeeJoined detail: %s", b)
	}
	if got[1].Time != "2026-11-03T10:02:00Z" || got[1].ID != srcs[1].EventID {
		t.Fatalf("envelope time/id: %+v", got[1])
	}
	mu.Lock()
	status = http.StatusServiceUnavailable
	mu.Unlock()
	if err := d.Deliver(ctx, srcs[0]); err == nil {
		t.Fatal("a 503 was not reported for a retry")
	}
	mu.Lock()
	status = http.StatusBadRequest
	mu.Unlock()
	if err := d.Deliver(ctx, srcs[0]); err != nil {
		t.Fatalf("a 400 should drop the event: %v", err)
	}
	if err := d.Deliver(ctx, eventbridge.SourceEvent{Stream: meeting.StreamName("no-such"), Type: meeting.TypeStarted, EventID: uuid.NewString(),
		Data: []byte(`{"by":"x","at":"2026-11-03T10:00:00Z"}`)}); err == nil {
		t.Fatal("an event of a meeting the log does not hold was delivered")
	}
}
