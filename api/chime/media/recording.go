package media

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/meeting"
)

// Recorder records a live meeting's media (cmd/belfry adapts infra/sfu and infra/recording):
// Start begins recording everything published in the meeting's room, Stop ends it and finishes the
// recording's files; Stop of a recording not running here finishes what a crash left of it, if
// anything (its manifest), and a Start after its Stop does nothing.
type Recorder interface {
	Start(meetingID, recordingID string) error
	Stop(meetingID, recordingID string) error
}

// ErrNoRecorder refuses a recording on a server that stores none.
var ErrNoRecorder = &domain.Error{Kind: domain.KindInvalid, Msg: "recording is not available on this server"}

// recordCommand is the command of a "record" or "stopRecording" message (nil for others): a start
// names a new recording.
func recordCommand(m message, accountID, by string) meeting.Command {
	switch m.Type {
	case "record":
		return meeting.Record{AccountID: accountID, By: by, On: true, RecordingID: uuid.NewString()}
	case "stopRecording":
		return meeting.Record{AccountID: accountID, By: by}
	}
	return nil
}

// applyRecording starts or stops this process's recorder for a recording event and returns the
// note every attendee gets; a recorder that cannot start is stopped in the log (reason
// RecorderFailed), so that no recording is recorded as running when nothing records it.
func (s *Service) applyRecording(accountID, meetingID string, e meeting.Event) (message, bool) {
	switch e := e.(type) {
	case meeting.RecordingStarted:
		if s.d.Recorder == nil {
			s.failRecording(accountID, meetingID, e.RecordingID, ErrNoRecorder)
			return message{}, false
		}
		if err := s.d.Recorder.Start(meetingID, e.RecordingID); err != nil {
			s.failRecording(accountID, meetingID, e.RecordingID, err)
			return message{}, false
		}
		return message{Type: "moderation", Action: "record", By: e.By}, true
	case meeting.RecordingStopped:
		if s.d.Recorder != nil {
			if err := s.d.Recorder.Stop(meetingID, e.RecordingID); err != nil {
				s.d.Logger.Warn("finishing a recording failed", "meeting", meetingID, "recording", e.RecordingID, "err", err)
			}
		}
		return message{Type: "moderation", Action: "stopRecording", By: e.By, Reason: e.Reason}, true
	}
	return message{}, false
}

// failRecording records that the recording stopped because its recorder failed.
func (s *Service) failRecording(accountID, meetingID, recordingID string, cause error) {
	s.d.Logger.Warn("a recording could not start; it is recorded as stopped", "meeting", meetingID, "recording", recordingID, "err", cause)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := s.d.Meetings.Execute(ctx, meeting.StreamName(meetingID), meeting.Record{AccountID: accountID, RecordingID: recordingID,
		Reason: meeting.RecordingStoppedFailed})
	if err != nil {
		s.d.Logger.Error("recording the failed recording's stop failed", "meeting", meetingID, "recording", recordingID, "err", err)
		return
	}
	s.apply(accountID, meetingID, d.Events)
}

// RecordingsStopped stops this process's recorder for the recordings events stopped, on paths
// outside this slice (a dial-out callee, the last one out, ends the meeting).
func (s *Service) RecordingsStopped(accountID, meetingID string, events []meeting.Event) {
	for _, e := range events {
		if _, ok := e.(meeting.RecordingStopped); ok {
			s.applyRecording(accountID, meetingID, e)
		}
	}
}
