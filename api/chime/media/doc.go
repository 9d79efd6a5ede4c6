// Package media is the slice of live meetings: a member of a meeting's account joins its media
// session over the signalling WebSocket GET /client/v1/meetings/{id}/signal, or any signed-in user
// joins with the meeting's PIN over GET /client/v1/meetings/by-pin/signal; the SFU (infra/sfu, behind
// the SFU port) forwards everyone's audio, video and screen share, the roster is recorded as meeting
// events (attendee joined/left, media started/stopped, moderation, meeting ended;
// domain/chime/meeting), and a moderator's controls are enforced on the live transports.
//
// # Signalling protocol (version belfry-signal-v1)
//
// The session machinery is api/mediasignal, shared with Wickr calls (api/wickr/calls: the same
// protocol with a "joined" {callId, participantId, video, tcpOnly} and no moderation).
//
// Authentication: browsers cannot set headers on a WebSocket, so the session token travels as a
// second WebSocket subprotocol: new WebSocket(url, ["belfry-signal-v1", "bearer." + token]); the
// server selects "belfry-signal-v1". Other clients may send "Authorization: Bearer <token>" instead.
// The token is never accepted in the query string (URLs end up in logs and histories).
//
// Joining by PIN: the PIN (10 digits, guide §5.4) rides as another subprotocol, "pin.<PIN>" (or a
// Belfry-Meeting-PIN header). It opens the organiser's started meeting with that PIN, else the
// scheduled one starting soonest; a PIN reset since opens nothing. Wrong PINs are throttled: 5 per
// user or 20 per source address in 15 minutes answer 429 with Retry-After (1 minute, doubling).
//
// Simulcast: the query parameter simulcast=1 (0 or absent: off; anything else: 400 naming it) asks
// the SFU's first offer to receive the camera (its second m-line) in three layers, rids q, h and f
// lowest first (a=rid… recv, a=simulcast:recv q;h;f). A browser gets them by leaving its camera off
// the connection until that offer is applied, then putting it on the transceiver the offer created
// for mid "1" (direction sendrecv, sender.replaceTrack, sender.setStreams): that transceiver took
// the offered layers, and the answer says a=simulcast:send q;h;f. A camera added with addTrack
// before the offer keeps one encoding, and Chromium then puts it on another m-line; the web client
// (/client/v1/meet?simulcast=1) does it the first way. Each receiver gets one layer (infra/sfu).
//
// Before the upgrade the request is checked to be a valid WebSocket handshake (else 400, and no
// attendee is recorded), then the meeting is checked and the attendee admitted; a refusal is a plain
// HTTP answer: 401 (no or a revoked session), 400 (a malformed PIN), 404 (no such meeting in the caller's
// account, no open meeting with the PIN), 409 (the meeting ended, was cancelled or is disabled, or is
// locked, or moderated with no moderator in yet), 403 (a moderator removed the caller, or a wrong
// moderator passcode), 400 ResourceLimitExceeded (250 attendees already, or 10 of the caller's own
// devices), 429 (too many wrong PINs or passcodes).
//
// Then every message is one JSON object with a "type" (at most 64 KiB):
//
//	server → client  {"type":"joined","meetingId":…,"attendeeId":…}   first message; your attendee id
//	server → client  {"type":"offer","sdp":…}                          answer it; new ones come when others
//	                                                                   publish or leave (renegotiation)
//	server → client  {"type":"candidate","candidate":{RTCIceCandidateInit}}
//	server → client  {"type":"error","code":…,"message":…}             InvalidSDP, InvalidCandidate,
//	                                                                   BadMessage, ResourceLimitExceeded
//	                                                                   (a 26th video), …; the session stays
//	server → client  {"type":"moderation","action":…,"attendeeId":…,   to everyone: mute, muteAll
//	                  "attendeeIds":[…],"by":…,"reason":…}             (attendeeIds), unmute, remove,
//	                                                                   lock, unlock, record,
//	                                                                   stopRecording (reason), end
//	server → client  {"type":"chat","meetingId":…,"messageId":…,       to everyone: a meeting chat
//	                  "userId":…,"content":…,"sentAt":…}                message posted (POST …/chat);
//	                                                                   missed ones: GET …/chat
//	server → client  {"type":"bye","reason":…}                         then the socket closes (Left,
//	                                                                   Disconnected, ServiceRestart,
//	                                                                   RemovedByModerator, MeetingEnded)
//	client → server  {"type":"answer","sdp":…}
//	client → server  {"type":"candidate","candidate":{RTCIceCandidateInit}}
//	client → server  {"type":"unmute"}                                 unmute yourself after a mute
//	client → server  {"type":"leave"}                                  or just close the socket
//	moderator → server {"type":"mute","attendeeId":…} {"type":"muteAll"} {"type":"remove","attendeeId":…}
//	                   {"type":"lock"} {"type":"unlock"} {"type":"record"} {"type":"stopRecording"}
//	                   {"type":"end"}
//
// Moderators (guide §8.2) are the attendees who joined as the meeting's host, its organiser, and in a
// moderated meeting those who gave its moderator passcode as a further subprotocol
// "moderator.<passcode>" (or a Belfry-Moderator-Passcode header; a wrong one is 403, and wrong
// passcodes are throttled with wrong PINs); in a moderated meeting no one else joins before a
// moderator (409). A moderation message from anyone else is answered
// {"type":"error","code":"Forbidden"} and changes nothing. A muted attendee's audio is no longer forwarded; a removed attendee's transport closes and
// its user cannot join again; a locked meeting admits only its host; a recording writes every
// published track to files until it is stopped or the meeting ends (recording.go; README); an
// ended meeting closes every transport.
//
// The server is always the offerer: its first offer has one audio and two video transceivers the
// client may send on (attach local tracks before answering): camera, then screen share (counted apart
// from the 25 video tiles, one share at a time). Each remote track's stream id is the publishing
// attendee's id and its track id "<attendee id>-<audio|video|content>". ICE runs over UDP and, when
// BELFRY_MEDIA_TCP_PORT is set, over TCP on that port; at most 64 of a client's candidates are taken,
// the others answered InvalidCandidate (so is a malformed one), and the a=candidate lines of its
// answers count with them (an answer beyond that is InvalidSDP). A client that cannot keep up with its signalling messages
// (more than 256 queued) is disconnected.
//
// The caller's session is checked again every 30 s (Deps.SessionRecheck) while it is in: once it
// ended (signed out everywhere, revoked, its user suspended or removed) the client gets
// {"type":"error","code":"Unauthorized"}, then bye Disconnected, and the socket closes with code
// 4401 (CloseSessionEnded, as the chat stream's): sign in again.
package media
