package meeting

import (
	"cmp"
	"time"

	"github.com/belfry/belfry/domain"
)

// Recording (guide §8.2 host controls: start/stop recording; §5.5: a meeting with at least one
// recording event makes its host's day a billable Pro day).
//
// Invariants:
//   - Only a moderator in the live roster of a started meeting starts or stops a recording (By); the
//     service itself stops one (By "", a Reason such as RecordingStoppedFailed) when its recorder
//     fails. At most one recording runs at a time; starting one while one runs, or stopping when
//     none runs, decides nothing.
//   - A recording never outlives its meeting: every decision that ends the meeting (End, the last
//     attendee leaving, a restart interrupting every attendee) stops the running recording first
//     (RecordingStopped, reason RecordingStoppedMeetingEnded), in the same append; a restart's
//     Interrupt stops one a previous run started even when the meeting goes on (reason
//     RecordingStoppedRestart).
//   - RecordingID names the recording's media files (chosen by the caller, unique). A meeting has at
//     most MaxRecordings recordings (each a directory of files): a moderator starting and stopping
//     in a loop cannot fill the recordings directory [derived: the guide gives no number].

// Recording event types.
const (
	TypeRecordingStarted = "chime.meeting.recording_started.v1"
	TypeRecordingStopped = "chime.meeting.recording_stopped.v1"
)

// MaxRecordings bounds the recordings of one meeting.
const MaxRecordings = 100

// ErrTooManyRecordings refuses a recording beyond MaxRecordings.
var ErrTooManyRecordings = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "the meeting has as many recordings as it may have"}

// Why a recording stopped.
const (
	RecordingStoppedByModerator  = "StoppedByModerator"
	RecordingStoppedMeetingEnded = "MeetingEnded"
	RecordingStoppedFailed       = "RecorderFailed"
	RecordingStoppedRestart      = "ServiceRestart"
)

// RecordingStarted records that a moderator started recording the meeting's media.
type RecordingStarted struct {
	RecordingID string    `json:"recordingId"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
}

// RecordingStopped records that the running recording stopped (By "" when the service stopped it).
type RecordingStopped struct {
	RecordingID string    `json:"recordingId"`
	By          string    `json:"by,omitempty"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

// EventType implements Event.
func (RecordingStarted) EventType() string { return TypeRecordingStarted }

// EventType implements Event.
func (RecordingStopped) EventType() string { return TypeRecordingStopped }

// Record starts (On, with a new RecordingID) or stops the meeting's recording. By is the moderator
// asking; "" is the service stopping it for Reason. A stop that names a RecordingID stops that
// recording only (nothing when another runs).
type Record struct {
	AccountID, By string
	On            bool
	RecordingID   string
	Reason        string
}

func (Record) isMeetingCommand() {}

func decideRecord(s State, c Record, at time.Time) ([]Event, error) {
	if c.By != "" || c.On {
		if err := moderator(s, c.By); err != nil {
			return nil, err
		}
	}
	switch {
	case c.On && s.Recording != "":
		return nil, nil
	case c.On:
		if c.RecordingID == "" {
			return nil, domain.Wrapf(ErrInvalid, "a recording needs a RecordingID")
		}
		if s.Recordings >= MaxRecordings {
			return nil, domain.Wrapf(ErrTooManyRecordings, "the meeting already had %d recordings, the most it may have", MaxRecordings)
		}
		return []Event{RecordingStarted{RecordingID: c.RecordingID, By: c.By, At: at}}, nil
	case s.Recording == "" || (c.RecordingID != "" && c.RecordingID != s.Recording):
		return nil, nil
	}
	reason := cmp.Or(c.Reason, RecordingStoppedByModerator)
	if c.By == "" && c.Reason == "" {
		return nil, domain.Wrapf(ErrInvalid, "the service stops a recording for a reason")
	}
	return []Event{RecordingStopped{RecordingID: s.Recording, By: c.By, Reason: reason, At: at}}, nil
}

// stopRecording is the stop of the running recording (none when none runs) as the meeting ends.
func stopRecording(s State, at time.Time) []Event {
	if s.Recording == "" {
		return nil
	}
	return []Event{RecordingStopped{RecordingID: s.Recording, Reason: RecordingStoppedMeetingEnded, At: at}}
}

// stopInterrupted is the stop of a recording a previous run of the service started (before): no
// process records it any more.
func stopInterrupted(s State, before, at time.Time) []Event {
	if s.Recording == "" || !s.RecordingAt.Before(before) {
		return nil
	}
	return []Event{RecordingStopped{RecordingID: s.Recording, Reason: RecordingStoppedRestart, At: at}}
}

func evolveRecording(s State, e Event) State {
	switch e := e.(type) {
	case RecordingStarted:
		s.Recording, s.RecordingAt = e.RecordingID, e.At
		s.Recordings++
		s.UpdatedAt = e.At
	case RecordingStopped:
		s.Recording = ""
		s.UpdatedAt = e.At
	}
	return s
}
