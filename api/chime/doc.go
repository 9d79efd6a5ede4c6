// Package chime groups the vertical slices of the Chime admin API, one package per bounded context:
// accounts, users (with invitations), bots, domains, numbers, porting, settings, rooms and meetings. Each slice holds
// the route table of its operations (ops.go, on api/awsproto's Operation) and the use cases they call
// (a Service), with a Deps struct holding only that context's collaborators, declared as small
// interfaces in the slice (ports) that cmd/belfry wires to the adapters in infra and the read models
// in projections.
//
// Why this shape: a newcomer finds everything about one context — wire shapes, validation, use cases,
// the answer when the read model is late — in one directory, and a new context (Wickr, meetings,
// calls) is a new directory, not more methods on one service. What every slice shares lives below
// them and knows no context: usecase (the execute-and-wait sequence, the own-account check, tokens)
// and wire (the User shape two slices answer with). api/awsproto holds the AWS-protocol machinery.
// A slice never imports another slice: where a use case needs another context (RemoveDomain releases
// numbers and disables meetings), it declares a port that the other slice implements, wired in
// cmd/belfry.
//
// The rooms and meetings slices also serve routes on the end-user client API (room messages and
// webhooks, meeting scheduling), and rooms the incoming-webhook URLs; clientapi is what such slices
// share (the Route, the bearer session check). The client-API context (registration, sign-in and
// sessions) still lives in infra/chime (see its package comment); it is the next slice to move.
package chime
