// Package eventbridge delivers Belfry's meeting and call events to an HTTPS endpoint in the shape
// of Amazon EventBridge events (guide §15.4), through the watermill side-effect router.
//
// Invariants:
//   - Delivery is best-effort, as the guide says of Chime's own: a message is retried with backoff
//     while the endpoint fails (network errors, 408, 429, 5xx), then parked on the poison topic; an
//     endpoint that refuses an event (another 4xx) drops it, counted. Events may come twice: a
//     receiver dedupes on the envelope's id, which is the log event's id and never changes.
//   - The body is built from the stored event alone (and the owner's AWS account read from the log),
//     so a redelivery sends the same bytes.
//   - With a secret configured, every body is signed: X-Belfry-Signature-256: sha256=<hex HMAC-SHA256
//     of the body>. The secret never leaves the configuration.
package eventbridge

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/meeting"
)

// Event is the EventBridge envelope.
type Event struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     any      `json:"detail"`
}

// Detail types: meetings as the Chime SDK names them; Business Calling calls have no EventBridge
// events at AWS, so Belfry names its own in the same style.
const (
	DetailMeeting = "Chime Meeting State Change"
	DetailCall    = "Chime Business Calling Call State Change"
	Source        = "aws.chime"
)

// MeetingDetail is the detail of a meeting event (the Chime SDK's fields; externalUserId is the
// Belfry user id).
type MeetingDetail struct {
	Version        string `json:"version"`
	EventType      string `json:"eventType"`
	Timestamp      int64  `json:"timestamp"` // milliseconds since the epoch
	MeetingID      string `json:"meetingId"`
	AttendeeID     string `json:"attendeeId,omitempty"`
	ExternalUserID string `json:"externalUserId,omitempty"`
	MediaRegion    string `json:"mediaRegion"`
	Reason         string `json:"reason,omitempty"` // why an attendee left or the meeting ended (Belfry's)
}

// CallDetail is the detail of a Business Calling call event.
type CallDetail struct {
	Version      string    `json:"version"`
	EventType    string    `json:"eventType"`
	Timestamp    int64     `json:"timestamp"`
	ConferenceID string    `json:"conferenceId"`
	LegID        string    `json:"legId,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Legs         []CallLeg `json:"legs,omitempty"`      // chime:CallPlaced only
	MeetingID    string    `json:"meetingId,omitempty"` // chime:CallPlaced of a dial-out
}

// CallLeg is one leg of a placed call.
type CallLeg struct {
	LegID      string `json:"legId"`
	Direction  string `json:"direction"`
	FromNumber string `json:"fromNumber"`
	ToNumber   string `json:"toNumber"`
}

// Source is one stored event to deliver, as the relay queues it.
type SourceEvent struct {
	Stream  string          `json:"stream"`
	Type    string          `json:"type"`
	EventID string          `json:"eventId"`
	Data    json.RawMessage `json:"data"`
}

// Mapped reports whether Belfry delivers events of this stream and type.
func Mapped(stream, eventType string) bool {
	switch {
	case strings.HasPrefix(stream, meeting.StreamPrefix):
		switch eventType {
		case meeting.TypeStarted, meeting.TypeEnded, meeting.TypeAttendeeJoined, meeting.TypeAttendeeLeft,
			meeting.TypeMediaStarted, meeting.TypeMediaStopped:
			return true
		}
	case strings.HasPrefix(stream, call.StreamPrefix):
		switch eventType {
		case call.TypeCallPlaced, call.TypeLegConnected, call.TypeLegEnded, call.TypeConferenceEnded:
			return true
		}
	}
	return false
}

// Build makes the envelope of src for the AWS account that owns it; false when the event is not
// delivered (a kind EventBridge has no event for, such as audio starting).
func Build(src SourceEvent, account, region string) (Event, bool, error) {
	var detailType string
	var detail any
	var at time.Time
	var ok bool
	var err error
	switch {
	case strings.HasPrefix(src.Stream, meeting.StreamPrefix):
		detailType = DetailMeeting
		detail, at, ok, err = meetingDetail(strings.TrimPrefix(src.Stream, meeting.StreamPrefix), src, region)
	case strings.HasPrefix(src.Stream, call.StreamPrefix):
		detailType = DetailCall
		detail, at, ok, err = callDetail(strings.TrimPrefix(src.Stream, call.StreamPrefix), src)
	}
	if err != nil || !ok {
		return Event{}, false, err
	}
	return Event{Version: "0", ID: src.EventID, DetailType: detailType, Source: Source, Account: account,
		Time: at.UTC().Format("2006-01-02T15:04:05Z"), Region: region, Resources: []string{}, Detail: detail}, true, nil
}

func meetingDetail(id string, src SourceEvent, region string) (MeetingDetail, time.Time, bool, error) {
	e, err := meeting.Decode(src.Type, src.Data)
	if err != nil {
		return MeetingDetail{}, time.Time{}, false, fmt.Errorf("eventbridge: %s: %w", src.Type, err)
	}
	d := MeetingDetail{Version: "0", MeetingID: id, MediaRegion: region}
	var at time.Time
	switch e := e.(type) {
	case meeting.Started:
		d.EventType, at = "chime:MeetingStarted", e.At
	case meeting.Ended:
		d.EventType, d.Reason, at = "chime:MeetingEnded", e.Reason, e.At
	case meeting.AttendeeJoined:
		d.EventType, d.AttendeeID, d.ExternalUserID, at = "chime:AttendeeJoined", e.AttendeeID, e.UserID, e.At
	case meeting.AttendeeLeft:
		d.EventType, d.AttendeeID, d.Reason, at = "chime:AttendeeLeft", e.AttendeeID, e.Reason, e.At
		switch e.Reason {
		case meeting.LeftDisconnected:
			d.EventType = "chime:AttendeeDropped"
		case meeting.LeftRemoved:
			d.EventType = "chime:AttendeeDeleted"
		}
	case meeting.MediaStarted:
		d.EventType, d.AttendeeID, at = mediaEvent[e.Kind][0], e.AttendeeID, e.At
	case meeting.MediaStopped:
		d.EventType, d.AttendeeID, at = mediaEvent[e.Kind][1], e.AttendeeID, e.At
	default:
		return d, at, false, nil
	}
	d.Timestamp = at.UnixMilli()
	return d, at, d.EventType != "", nil
}

// mediaEvent names the started and stopped events of a media kind (audio has none at AWS; a screen
// share is the attendee's content video).
var mediaEvent = map[string][2]string{
	meeting.MediaVideo:   {"chime:AttendeeVideoStarted", "chime:AttendeeVideoStopped"},
	meeting.MediaContent: {"chime:AttendeeContentVideoStarted", "chime:AttendeeContentVideoStopped"},
}

func callDetail(id string, src SourceEvent) (CallDetail, time.Time, bool, error) {
	e, err := call.Decode(src.Type, src.Data)
	if err != nil {
		return CallDetail{}, time.Time{}, false, fmt.Errorf("eventbridge: %s: %w", src.Type, err)
	}
	d := CallDetail{Version: "0", ConferenceID: id}
	var at time.Time
	switch e := e.(type) {
	case call.CallPlaced:
		d.EventType, d.MeetingID, at = "chime:CallPlaced", e.MeetingID, e.At
		for _, l := range e.Legs {
			d.Legs = append(d.Legs, CallLeg{LegID: l.LegID, Direction: l.Direction, FromNumber: l.From, ToNumber: l.To})
		}
	case call.LegConnected:
		d.EventType, d.LegID, at = "chime:CallLegConnected", e.LegID, e.At
	case call.LegEnded:
		d.EventType, d.LegID, d.Reason, at = "chime:CallLegEnded", e.LegID, e.Reason, e.At
	case call.ConferenceEnded:
		d.EventType, at = "chime:CallEnded", e.At
	default:
		return d, at, false, nil
	}
	d.Timestamp = at.UnixMilli()
	return d, at, true, nil
}
