// Package envelope is the metadata stored with every event (who, when, from where, in answer to what)
// and the context plumbing that carries it from an API request to the command path.
package envelope

import (
	"context"
	"encoding/json"
	"time"
)

// SchemaVersion is the version of the Envelope layout.
const SchemaVersion = 1

// Envelope is the metadata stored with every event.
type Envelope struct {
	EventID       string    `json:"eventId"`
	OccurredAt    time.Time `json:"occurredAt"`
	ActorType     string    `json:"actorType,omitempty"` // accessKey, user, system
	Actor         string    `json:"actor,omitempty"`     // the access key id, user id or component name
	PrincipalARN  string    `json:"principalArn,omitempty"`
	RequestID     string    `json:"requestId,omitempty"`
	SourceIP      string    `json:"sourceIp,omitempty"`
	UserAgent     string    `json:"userAgent,omitempty"`
	CorrelationID string    `json:"correlationId,omitempty"`
	CausationID   string    `json:"causationId,omitempty"`
	SchemaVersion int       `json:"schemaVersion"`
}

type envelopeKey struct{}

// With returns a context whose commands stamp their events with env (event id and time are
// filled per event).
func With(ctx context.Context, env Envelope) context.Context {
	return context.WithValue(ctx, envelopeKey{}, env)
}

// From returns the envelope set on ctx, or a system envelope.
func From(ctx context.Context) Envelope {
	if env, ok := ctx.Value(envelopeKey{}).(Envelope); ok {
		return env
	}
	return Envelope{ActorType: "system", Actor: "belfry"}
}

// Parse reads an event's metadata.
func Parse(b []byte) Envelope {
	var env Envelope
	_ = json.Unmarshal(b, &env)
	return env
}
