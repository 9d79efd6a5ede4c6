// Package domain holds Belfry's business rules as pure deciders: Decide(state, command, now) returns
// events or an error, Evolve(state, event) folds an event into the state. Nothing in domain/ does I/O
// or reads the clock; time always arrives as an argument.
//
// Errors are a closed set of kinds (errors.go); each context declares sentinels that wrap a kind, and
// the API maps kinds to wire errors in exactly one table.
//
// Stored events: each context lists every event type it stores once, in one table (Registry, built
// with Register), from which its Decode and the list of event-type names come. Each context's test
// runs domain/internal/eventtest.Check, which fails when a type with an EventType method is missing
// from the table, and which decodes and re-encodes the committed example of every registered type
// (testdata/golden/<event type>.json) byte for byte, so that an event's stored shape cannot change
// without a new event version.
package domain
