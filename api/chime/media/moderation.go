package media

import (
	"context"
	"sync"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
)

// liveSessions are the signalling sessions of this process by meeting and attendee: moderation
// reaches the attendees' transports through them.
type liveSessions struct {
	mu   sync.Mutex
	byID map[string]map[string]*session
}

func newLiveSessions() *liveSessions { return &liveSessions{byID: map[string]map[string]*session{}} }

func (l *liveSessions) add(x *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.byID[x.meetingID]
	if m == nil {
		m = map[string]*session{}
		l.byID[x.meetingID] = m
	}
	m[x.attendeeID] = x
}

func (l *liveSessions) remove(x *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m := l.byID[x.meetingID]; m[x.attendeeID] == x {
		delete(m, x.attendeeID)
		if len(m) == 0 {
			delete(l.byID, x.meetingID)
		}
	}
}

// of returns one attendee's session (nil when not in this process) or, with attendeeID "", all of
// the meeting's.
func (l *liveSessions) of(meetingID, attendeeID string) []*session {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.byID[meetingID]
	if attendeeID != "" {
		if x := m[attendeeID]; x != nil {
			return []*session{x}
		}
		return nil
	}
	out := make([]*session, 0, len(m))
	for _, x := range m {
		out = append(out, x)
	}
	return out
}

// moderationCommand is the meeting command of a moderation message sent by attendee by (nil for a
// message that is not moderation).
func moderationCommand(m message, accountID, by string) meeting.Command {
	switch m.Type {
	case "mute":
		return meeting.Mute{AccountID: accountID, By: by, AttendeeID: m.AttendeeID}
	case "muteAll":
		return meeting.MuteAll{AccountID: accountID, By: by}
	case "unmute":
		return meeting.Unmute{AccountID: accountID, AttendeeID: by}
	case "remove":
		return meeting.Remove{AccountID: accountID, By: by, AttendeeID: m.AttendeeID}
	case "lock", "unlock":
		return meeting.Lock{AccountID: accountID, By: by, On: m.Type == "lock"}
	case "end":
		return meeting.End{AccountID: accountID, By: by}
	}
	return recordCommand(m, accountID, by)
}

// Moderate runs a moderation command of an attendee of a live meeting and applies what it decided
// to the live transports (apply). A refusal (not a moderator, no such attendee) changes nothing.
func (s *Service) Moderate(ctx context.Context, accountID, meetingID string, cmd meeting.Command) error {
	if r, ok := cmd.(meeting.Record); ok && r.On && s.d.Recorder == nil {
		return s.noRecorder(ctx, meetingID, r)
	}
	d, err := s.d.Meetings.Execute(ctx, meeting.StreamName(meetingID), cmd)
	if err != nil {
		return err
	}
	s.apply(accountID, meetingID, d.Events)
	return nil
}

// noRecorder refuses a recording on a server without a recorder, after the meeting's own refusal
// if it has one (a non-moderator's is Forbidden): the decision runs and appends nothing.
func (s *Service) noRecorder(ctx context.Context, meetingID string, r meeting.Record) error {
	_, err := s.d.Meetings.ExecuteFunc(ctx, meeting.StreamName(meetingID), func(m meeting.State, now time.Time) ([]meeting.Event, error) {
		if _, err := meeting.Decide(m, r, now); err != nil {
			return nil, err
		}
		return nil, domain.Wrapf(ErrNoRecorder, "recording is not available on this server (no recordings directory)")
	})
	return err
}

// apply enforces moderation events on this process's transports and tells every attendee: a muted
// attendee's audio stops, a removed one's transport closes (bye RemovedByModerator) or, for a phone
// attendee, its call is hung up (as every phone attendee's when the meeting ends), a recording
// starts or stops this process's recorder (recording.go), an ended meeting closes everyone's (bye
// MeetingEnded).
func (s *Service) apply(accountID, meetingID string, events []meeting.Event) {
	mute := func(id string, on bool) {
		for _, x := range s.live.of(meetingID, id) {
			x.setMuted(on)
		}
	}
	for _, e := range events {
		note := message{Type: "moderation"}
		switch e := e.(type) {
		case meeting.AttendeeMuted:
			mute(e.AttendeeID, true)
			note.Action, note.AttendeeID, note.By = "mute", e.AttendeeID, e.By
		case meeting.AllMuted:
			for _, id := range e.AttendeeIDs {
				mute(id, true)
			}
			note.Action, note.AttendeeIDs, note.By = "muteAll", e.AttendeeIDs, e.By
		case meeting.AttendeeUnmuted:
			mute(e.AttendeeID, false)
			note.Action, note.AttendeeID = "unmute", e.AttendeeID
		case meeting.Locked:
			note.Action, note.By = "lock", e.By
		case meeting.Unlocked:
			note.Action, note.By = "unlock", e.By
		case meeting.AttendeeLeft:
			if s.d.Phones != nil && (e.Reason == meeting.LeftRemoved || e.Reason == meeting.LeftMeetingEnded) {
				s.d.Phones.PhoneAttendeeLeft(meetingID, e.AttendeeID)
			}
			if e.Reason != meeting.LeftRemoved {
				continue
			}
			note.Action, note.AttendeeID, note.By = "remove", e.AttendeeID, e.By
			s.broadcast(meetingID, note)
			for _, x := range s.live.of(meetingID, e.AttendeeID) {
				x.closeParticipant(meeting.LeftRemoved)
			}
			continue
		case meeting.RecordingStarted, meeting.RecordingStopped:
			var ok bool
			if note, ok = s.applyRecording(accountID, meetingID, e); !ok {
				continue
			}
		case meeting.Ended:
			note.Action, note.By = "end", e.By
			s.broadcast(meetingID, note)
			for _, x := range s.live.of(meetingID, "") {
				x.closeParticipant(meeting.LeftMeetingEnded)
			}
			continue
		default:
			continue
		}
		s.broadcast(meetingID, note)
	}
}

func (s *Service) broadcast(meetingID string, m message) {
	for _, x := range s.live.of(meetingID, "") {
		x.send(m)
	}
}

// moderate handles a moderation message of the session's attendee; a refusal is an error message
// and the session goes on.
func (x *session) moderate(cmd meeting.Command) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := x.svc.Moderate(ctx, x.accountID, x.meetingID, cmd); err != nil {
		w := awsproto.ToWire(err)
		x.fail(w.Code, w.Msg)
	}
}
