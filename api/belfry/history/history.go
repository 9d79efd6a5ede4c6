// Package history is the Belfry admin API's resource history (signing name "belfry"):
// GET /belfry/v1/history?resource=<ARN or id> lists, oldest first, every event that touched a user,
// account, room, number, network or security group, with who did it (the event envelope's actor,
// principal, source IP and request id) and the audit record of the call it answered.
//
// Invariants: the resource is required, valid UTF-8 without NUL, at most 2048 bytes; an ARN is
// reduced to the id it ends with; NextToken is the position of the last event of the page (an
// opaque decimal to the caller; one beyond 2^63-1 is refused with 400) and a page holds at most
// max-results (1-1000, default 100) events.
package history

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/belfry/belfry/api/awsproto"
	rm "github.com/belfry/belfry/projections/history"
)

// Lookup answers history queries (projections/history.Store).
type Lookup interface {
	Lookup(ctx context.Context, resource string, after uint64, limit int) ([]rm.Entry, error)
}

// MaxResourceBytes bounds the resource parameter.
const MaxResourceBytes = 2048

// Operations are the history operations of the Belfry admin API.
func Operations(l Lookup) []awsproto.Operation {
	return []awsproto.Operation{{Name: "GetResourceHistory", Method: http.MethodGet, Path: "/belfry/v1/history", ReadOnly: true,
		Fn: func(k *awsproto.Call) (int, any, error) { return get(k, l) }}}
}

func get(k *awsproto.Call, l Lookup) (int, any, error) {
	resource := k.Query("resource")
	switch {
	case resource == "":
		return 0, nil, awsproto.BadRequest("resource is required: an ARN or the id of a user, account, room, number, network or security group")
	case len(resource) > MaxResourceBytes || !utf8.ValidString(resource) || strings.ContainsRune(resource, 0):
		return 0, nil, awsproto.BadRequest("resource must be valid UTF-8 without NUL, at most 2048 bytes")
	}
	limit, err := k.MaxResults(100, 1000)
	if err != nil {
		return 0, nil, err
	}
	var after uint64
	if tok := k.Query("next-token"); tok != "" {
		// Positions are bigints in the read model: a larger decimal is no token this API returned.
		if after, err = strconv.ParseUint(tok, 10, 63); err != nil {
			return 0, nil, awsproto.BadRequest("next-token is not a token this API returned")
		}
	}
	entries, err := l.Lookup(k.Ctx, resource, after, limit+1)
	if err != nil {
		return 0, nil, err
	}
	next := ""
	if len(entries) > limit {
		entries = entries[:limit]
		next = strconv.FormatUint(entries[limit-1].Position, 10)
	}
	if entries == nil {
		entries = []rm.Entry{}
	}
	return http.StatusOK, awsproto.Paged(map[string]any{"Resource": rm.ResourceID(resource), "Events": entries}, next), nil
}
