package usagereports

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain/chime/settings"
	"github.com/belfry/belfry/domain/chime/usage"
)

// Operations are the slice's Belfry admin operations (signing name "belfry"), on the caller's AWS
// account (the console's Global settings → Usage reporting, which the Chime API does not have):
//
//	GET /belfry/v1/chime/usage-reporting           {"Bucket", "Enabled", "Since"}
//	PUT /belfry/v1/chime/usage-reporting           {"Bucket": "name"} turns reporting on; "" or null off
//	GET /belfry/v1/chime/usage-reports?week=DATE   the reports recorded for the week starting DATE (a Sunday)
func (s *Service) Operations() []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "GetUsageReporting", Method: http.MethodGet, Path: "/belfry/v1/chime/usage-reporting", ReadOnly: true, Fn: s.getReporting},
		{Name: "PutUsageReporting", Method: http.MethodPut, Path: "/belfry/v1/chime/usage-reporting", Fn: s.putReporting},
		{Name: "ListUsageReports", Method: http.MethodGet, Path: "/belfry/v1/chime/usage-reports", ReadOnly: true, Fn: s.listReports},
	}
}

func reporting(st settings.State) map[string]any {
	out := map[string]any{"Bucket": st.UsageReportBucket, "Enabled": st.UsageReportBucket != ""}
	if !st.UsageReportingSince.IsZero() {
		out["Since"] = awsproto.Timestamp(st.UsageReportingSince)
	}
	return out
}

func (s *Service) getReporting(k *awsproto.Call) (int, any, error) {
	st, _, err := s.d.Settings.Load(k.Ctx, settings.StreamName(k.AWSAccount()))
	return http.StatusOK, reporting(st), err
}

func (s *Service) putReporting(k *awsproto.Call) (int, any, error) {
	var in struct{ Bucket *string }
	if err := k.Decode(&in); err != nil {
		return 0, nil, err
	}
	res, err := s.d.Settings.Execute(k.Ctx, settings.StreamName(k.AWSAccount()), settings.UpdateUsageReporting{Bucket: awsproto.Deref(in.Bucket)})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, reporting(res.State), nil
}

func (s *Service) listReports(k *awsproto.Call) (int, any, error) {
	v := k.Query("week")
	week, err := time.Parse("2006-01-02", v)
	if err != nil || !usage.WeekStart(week).Equal(week) {
		return 0, nil, awsproto.BadRequest("week must be the Sunday a week starts on (YYYY-MM-DD), got " + v)
	}
	recs, _, err := s.d.Reports.Load(k.Ctx, usage.ReportsStream(week))
	if err != nil {
		return 0, nil, err
	}
	out := []map[string]any{}
	for _, r := range recs.Reports {
		if r.AwsAccountID == k.AWSAccount() {
			out = append(out, map[string]any{"AccountId": r.AccountID, "Bucket": r.Bucket, "Key": r.Key, "Rows": r.Rows, "Sha256": r.SHA256,
				"GeneratedTimestamp": awsproto.Timestamp(r.At)})
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["Key"].(string), b["Key"].(string)) })
	return http.StatusOK, map[string]any{"WeekStart": week.Format("2006-01-02"), "Reports": out}, nil
}
