// Package domain holds Belfry's business rules as pure deciders: Decide(state, command, now) returns
// events or an error, Evolve(state, event) folds an event into the state. Nothing in domain/ does I/O
// or reads the clock; time always arrives as an argument.
//
// Errors are a closed set of kinds (this file); each context declares sentinels that wrap a kind, and
// the API maps kinds to wire errors in exactly one table.
package domain
