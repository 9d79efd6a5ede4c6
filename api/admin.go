package api

import (
	"net/http"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	auditrm "github.com/belfry/belfry/projections/audit"
)

// adminOps are Belfry's own admin operations (signing name "belfry").
func adminOps(rm AuditQueries) []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "LookupAuditRecords", Method: http.MethodGet, Path: "/belfry/v1/audit-records", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			q := auditrm.Query{AwsAccountID: k.AWSAccount(), EventName: k.Query("event-name"), RequestID: k.Query("request-id")}
			var err error
			if s := k.Query("since"); s != "" {
				if q.Since, err = time.Parse(time.RFC3339Nano, s); err != nil {
					return 0, nil, awsproto.BadRequest("since must be an RFC 3339 time")
				}
			}
			if s := k.Query("until"); s != "" {
				if q.Until, err = time.Parse(time.RFC3339Nano, s); err != nil {
					return 0, nil, awsproto.BadRequest("until must be an RFC 3339 time")
				}
			}
			if q.Limit, err = k.MaxResults(100, 1000); err != nil {
				return 0, nil, err
			}
			recs, err := rm.Lookup(k.Ctx, q)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"Records": recs}, nil
		}},
	}
}
