package calls

import (
	"context"
	"sync"
	"time"
)

// phoneLegs are the answered dial-out legs of this process, by meeting and attendee (the leg id is
// the phone attendee's id): the carrier runs in this process, so a leg lives only here, and a leg
// left by a restart is ended by the start's sweep (EndInterrupted).
type phoneLegs struct {
	mu        sync.Mutex
	byMeeting map[string]map[string]string // meeting id → leg id → conference id
}

func (p *phoneLegs) add(meetingID, legID, conferenceID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byMeeting == nil {
		p.byMeeting = map[string]map[string]string{}
	}
	m := p.byMeeting[meetingID]
	if m == nil {
		m = map[string]string{}
		p.byMeeting[meetingID] = m
	}
	m[legID] = conferenceID
}

// take removes a leg and answers its conference ("" when the leg is not an answered dial-out of
// this process, or was taken already: each leg is dropped once).
func (p *phoneLegs) take(meetingID, legID string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.byMeeting[meetingID]
	conf, ok := m[legID]
	if !ok {
		return ""
	}
	delete(m, legID)
	if len(m) == 0 {
		delete(p.byMeeting, meetingID)
	}
	return conf
}

// PhoneAttendeeLeft hangs up the carrier leg of a phone attendee (a dial-out's callee) who left the
// meeting other than by hanging up: a moderator removed them or the meeting ended. The leg ends
// (Completed, now), so its billing and CDR stop there, and the carrier is told to drop it. Any
// other attendee is not a phone leg of this process, and nothing happens.
func (s *Service) PhoneAttendeeLeft(meetingID, attendeeID string) {
	conf := s.legs.take(meetingID, attendeeID)
	if conf == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.dropLeg(ctx, conf, attendeeID)
}
