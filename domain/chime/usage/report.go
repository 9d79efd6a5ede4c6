package usage

import (
	"fmt"
	"net/url"
	"time"
)

// KeyPrefix is the folder of every usage report.
const KeyPrefix = "Amazon-Chime-User-Activity-Reports/csv/"

// Header is the report's header row (guide §1.1.1, the 10 columns of its sample, in its order).
var Header = []string{"account_name", "week_start", "display_name", "email", "registration_status", "account_creation_date",
	"last_login", "meetings_attended", "meetings_hosted", "chat_sent"}

// Week is the Sunday 00:00 UTC a week starts on and the next Sunday (exclusive).
const Week = 7 * 24 * time.Hour

// WeekStart is the Sunday 00:00 UTC that starts the week holding t.
func WeekStart(t time.Time) time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	return d.AddDate(0, 0, -int(d.Weekday()))
}

// LatestDue is the start of the latest week whose report is due at now: reports are available from
// the Monday after the week (guide §7.3), so on a Sunday it is the week before last.
func LatestDue(now time.Time) time.Time { return WeekStart(now.Add(-24 * time.Hour)).Add(-Week) }

// Key is the object key of an account's report for the week starting weekStart (guide §1.1.1):
// Amazon-Chime-User-Activity-Reports/csv/<AWSaccountID>/<yyyy>/<mm>/<dd>/<AccountName>_<AccountId>_<yyyymmdd>.csv.
// The folder date and the file date are both the week's Sunday; the account name is escaped as a
// URL query value (a space is '+', as in the guide's second example; '/' and '_' never split the key).
func Key(awsAccountID, accountName, accountID string, weekStart time.Time) string {
	w := weekStart.UTC()
	return fmt.Sprintf("%s%s/%s/%s_%s_%s.csv", KeyPrefix, awsAccountID, w.Format("2006/01/02"),
		url.QueryEscape(accountName), accountID, w.Format("20060102"))
}

// Row is one user of a report.
type Row struct {
	DisplayName, Email, Registration string
	Created, LastLogin               time.Time // zero LastLogin: never signed in by the week's end
	Attended, Hosted, ChatSent       int
}

// Cells formats a row as the report's columns.
func (r Row) Cells(accountName string, weekStart time.Time) []string {
	last := ""
	if !r.LastLogin.IsZero() {
		last = r.LastLogin.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	created := ""
	if !r.Created.IsZero() {
		created = r.Created.UTC().Format("20060102")
	}
	return []string{accountName, weekStart.UTC().Format("20060102"), r.DisplayName, r.Email, r.Registration, created, last,
		fmt.Sprint(r.Attended), fmt.Sprint(r.Hosted), fmt.Sprint(r.ChatSent)}
}
