// Package media is the slice of live meetings: a member of a meeting's account joins its media
// session over the signalling WebSocket GET /client/v1/meetings/{id}/signal, the SFU (infra/sfu,
// behind the SFU port) forwards everyone's audio and video, and the roster is recorded as meeting
// events (attendee joined/left, media started/stopped, meeting ended; domain/chime/meeting).
//
// # Signalling protocol (version belfry-signal-v1)
//
// Authentication: browsers cannot set headers on a WebSocket, so the session token travels as a
// second WebSocket subprotocol: new WebSocket(url, ["belfry-signal-v1", "bearer." + token]); the
// server selects "belfry-signal-v1". Other clients may send "Authorization: Bearer <token>" instead.
// The token is never accepted in the query string (URLs end up in logs and histories).
//
// Before the upgrade the meeting is checked and the attendee admitted; a refusal is a plain HTTP
// answer: 401 (no or a revoked session), 404 (no such meeting in the caller's account), 409 (the
// meeting ended, was cancelled or is disabled), 400 ResourceLimitExceeded (250 attendees already).
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
//	server → client  {"type":"bye","reason":…}                         then the socket closes (Left,
//	                                                                   Disconnected, ServiceRestart)
//	client → server  {"type":"answer","sdp":…}
//	client → server  {"type":"candidate","candidate":{RTCIceCandidateInit}}
//	client → server  {"type":"leave"}                                  or just close the socket
//
// The server is always the offerer: its first offer has one audio and one video transceiver the
// client may send on (attach local tracks before answering). Each remote track's stream id is the
// publishing attendee's id. A client that cannot keep up with its signalling messages (more than
// 256 queued) is disconnected.
package media
