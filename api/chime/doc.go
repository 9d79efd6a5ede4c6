// Package chime groups the vertical slices of the Chime APIs, one package per bounded context:
// accounts, users (with invitations), bots, domains, numbers, porting, settings, rooms, meetings and
// client. Each slice holds the route table of its admin operations (ops.go, on api/awsproto's
// Operation) and, where it has them, its routes on the end-user client API (clientapi.Route), the use
// cases they call (a Service; rooms splits its use cases in three types: the admin API's, the
// members' messages and webhooks, the delivery of bot events), and a Deps struct holding only that
// context's collaborators, declared as small interfaces in the slice (ports) that cmd/belfry wires to
// the adapters in infra and the read models in projections.
//
// The client-API contexts are slices like the others: client is registration, sign-in (with its
// back-off) and sessions, and the Authenticator of every client route; rooms serves the members'
// messages, room webhooks and the incoming-webhook URLs; meetings the scheduling. A route of the
// client API is an echo handler behind clientapi.WithSession, not an awsproto.Operation, because the
// client API is not SigV4 and is not audited as an AWS call.
//
// Why this shape: a newcomer finds everything about one context — wire shapes, validation, use cases,
// the answer when the read model is late — in one directory, and a new context (Wickr, calls) is a
// new directory, not more methods on one service. What every slice shares lives below them and knows
// no context: usecase (the execute-and-wait sequence, the own-account check, tokens), wire (the User
// shape two slices answer with) and clientapi (the client-API route and session check).
// api/awsproto holds the AWS-protocol machinery. A slice never imports another slice: where a use
// case needs another context (RemoveDomain releases numbers and disables meetings; the client routes
// of rooms and meetings need the client slice's sessions), it declares a port that the other slice
// implements, wired in cmd/belfry.
package chime
