package projections

import (
	"context"
	"regexp"
	"sync"
	"sync/atomic"
)

// snapshotKey carries the schema a request reads the read models from.
type snapshotKey struct{}

// WithSnapshot makes the stores answer the queries run under the returned context from schema (a
// ready snapshot's, see SnapshotSchema) instead of the live read models.
func WithSnapshot(ctx context.Context, schema string) context.Context {
	return context.WithValue(ctx, snapshotKey{}, schema)
}

// SnapshotOf is the schema WithSnapshot put in ctx ("" for the live read models).
func SnapshotOf(ctx context.Context) string {
	s, _ := ctx.Value(snapshotKey{}).(string)
	return s
}

// rmQualifier is the "rm." qualifier of a read-model table, not the tail of a longer identifier.
var rmQualifier = regexp.MustCompile(`(^|[^A-Za-z0-9_$."'])rm\.`)

type rewriteKey struct{ schema, query string }

var (
	rewritten      sync.Map // rewriteKey -> string
	rewrittenCount atomic.Int64
)

// maxRewritten bounds the cache of rewrites: stores build some queries from request members (filters,
// sorts), so the distinct texts are many though finite; past the bound a rewrite is simply redone.
const maxRewritten = 10_000

// SQL is query as the store must run it under ctx: unchanged for the live read models; with every
// "rm." qualifier replaced by the snapshot's schema when ctx carries one (WithSnapshot). Every
// store wraps its query strings in it, so a request that names a snapshot reads the read models as
// they were at the snapshot's instant. Rewrites are cached per (schema, query), at most maxRewritten.
func SQL(ctx context.Context, query string) string {
	schema := SnapshotOf(ctx)
	if schema == "" {
		return query
	}
	k := rewriteKey{schema, query}
	if q, ok := rewritten.Load(k); ok {
		return q.(string)
	}
	q := rmQualifier.ReplaceAllString(query, "${1}"+schema+".")
	if rewrittenCount.Add(1) <= maxRewritten {
		rewritten.Store(k, q)
	} else {
		rewrittenCount.Add(-1)
	}
	return q
}
