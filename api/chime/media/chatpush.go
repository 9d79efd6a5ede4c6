package media

import "time"

// PushChat sends a meeting chat message to every attendee of the meeting connected to this process
// ({"type":"chat","meetingId","messageId","userId","content","sentAt"}). It queues and returns: an
// attendee whose queue is full is too slow and is disconnected (api/mediasignal), and one that
// connects later reads what it missed from GET /client/v1/meetings/{id}/chat. The senders are the
// signalling sessions, so only attendees in the live roster receive it, as only they may list it.
func (s *Service) PushChat(meetingID, messageID, userID, content string, sentAt time.Time) {
	at := sentAt.UTC()
	for _, x := range s.live.of(meetingID, "") {
		x.send(message{Type: "chat", MeetingID: meetingID, MessageID: messageID, UserID: userID, Content: content, SentAt: &at})
	}
}
