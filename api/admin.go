package api

import (
	"net/http"
	"time"

	auditrm "github.com/belfry/belfry/projections/audit"
)

// adminOps are Belfry's own admin operations (signing name "belfry").
func adminOps(rm AuditQueries) []operation {
	return []operation{
		{Name: "LookupAuditRecords", Method: http.MethodGet, Path: "/belfry/v1/audit-records", ReadOnly: true, Fn: func(k *call) (int, any, error) {
			q := auditrm.Query{AwsAccountID: k.caller.AWSAccount(), EventName: k.query("event-name"), RequestID: k.query("request-id")}
			var err error
			if s := k.query("since"); s != "" {
				if q.Since, err = time.Parse(time.RFC3339Nano, s); err != nil {
					return 0, nil, BadRequest("since must be an RFC 3339 time")
				}
			}
			if s := k.query("until"); s != "" {
				if q.Until, err = time.Parse(time.RFC3339Nano, s); err != nil {
					return 0, nil, BadRequest("until must be an RFC 3339 time")
				}
			}
			if q.Limit, err = k.maxResults(100, 1000); err != nil {
				return 0, nil, err
			}
			recs, err := rm.Lookup(k.ctx, q)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"Records": recs}, nil
		}},
	}
}
