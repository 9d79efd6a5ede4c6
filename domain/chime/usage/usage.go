// Package usage models Chime's weekly usage reports (guide §1.1.1, §7.3): the sign-ins they read
// last_login from, the record of each report written, and (tally.go, report.go) the report itself —
// the week, the object key and the rows — computed from the log's events alone; activity.go says what
// each event adds to a week's counts (Contributes), for the Tally and the read model alike.
//
// Invariants:
//   - A client sign-in is one SignedIn event on the user's stream "chime.signin-<userId>".
//   - The reports of one week are recorded on the stream "chime.usagereports-<yyyymmdd>" (the week's
//     Sunday): at most one ReportGenerated per Chime account and week (recording it again changes
//     nothing), appended only after the object was written. It names the $all position the
//     account's directory was read up to (AsOf): a report regenerated with the same AsOf is the same
//     bytes.
//   - A week is Sunday 00:00:00 UTC to the next Sunday 00:00 UTC, exclusive (the guide's "Saturday
//     23:59"); a report is due from the Monday after it.
package usage

import (
	"fmt"
	"time"

	"github.com/belfry/belfry/domain"
)

// Stable names.
const (
	SignInStreamPrefix  = "chime.signin-"
	ReportsStreamPrefix = "chime.usagereports-"
	TypeSignedIn        = "chime.usage.signed_in.v1"
	TypeReportGenerated = "chime.usage.report_generated.v1"
)

// SignInStream is the sign-in stream of one user.
func SignInStream(userID string) string { return SignInStreamPrefix + userID }

// ReportsStream is the stream recording the reports of the week starting weekStart (a Sunday).
func ReportsStream(weekStart time.Time) string {
	return ReportsStreamPrefix + weekStart.UTC().Format("20060102")
}

// ErrInvalid is a report record that cannot be right.
var ErrInvalid = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid usage report"}

// Event is the sealed set of usage events.
type Event interface{ EventType() string }

// SignedIn records that a user signed in to the client.
type SignedIn struct {
	AccountID string    `json:"accountId"`
	UserID    string    `json:"userId"`
	At        time.Time `json:"at"`
}

// ReportGenerated records a weekly report written for a Chime account.
type ReportGenerated struct {
	AwsAccountID string    `json:"awsAccountId"`
	AccountID    string    `json:"accountId"`
	WeekStart    time.Time `json:"weekStart"`
	Bucket       string    `json:"bucket"`
	Key          string    `json:"key"`
	Rows         int       `json:"rows"`
	SHA256       string    `json:"sha256"`
	AsOf         uint64    `json:"asOfPosition"`
	At           time.Time `json:"at"`
}

// EventType implements Event.
func (SignedIn) EventType() string { return TypeSignedIn }

// EventType implements Event.
func (ReportGenerated) EventType() string { return TypeReportGenerated }

// State is a sign-in stream (LastSignIn) or a week's reports stream (Reports by Chime account id).
type State struct {
	LastSignIn time.Time
	Reports    map[string]ReportGenerated
}

// Initial is an empty stream.
func Initial() State { return State{} }

// Command is the sealed set of usage commands.
type Command interface{ isUsageCommand() }

// SignIn records a sign-in.
type SignIn struct{ AccountID, UserID string }

// Record records a written report (At is set by Decide).
type Record struct{ Report ReportGenerated }

func (SignIn) isUsageCommand() {}
func (Record) isUsageCommand() {}

// Decide applies a command at time now.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	switch c := c.(type) {
	case SignIn:
		if c.AccountID == "" || c.UserID == "" {
			return nil, domain.Wrapf(ErrInvalid, "a sign-in names its account and user")
		}
		return []Event{SignedIn{AccountID: c.AccountID, UserID: c.UserID, At: now.UTC()}}, nil
	case Record:
		r := c.Report
		switch {
		case r.AccountID == "" || r.Key == "":
			return nil, domain.Wrapf(ErrInvalid, "a report names its account and key")
		case !r.WeekStart.Equal(WeekStart(r.WeekStart)):
			return nil, domain.Wrapf(ErrInvalid, "week start %s is not a Sunday 00:00 UTC", r.WeekStart.Format(time.RFC3339))
		}
		if _, ok := s.Reports[r.AccountID]; ok {
			return nil, nil
		}
		r.At, r.WeekStart = now.UTC(), r.WeekStart.UTC()
		return []Event{r}, nil
	}
	return nil, fmt.Errorf("usage: unknown command %T", c)
}

// Evolve folds an event into the state.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case SignedIn:
		if e.At.After(s.LastSignIn) {
			s.LastSignIn = e.At
		}
	case ReportGenerated:
		m := make(map[string]ReportGenerated, len(s.Reports)+1)
		for k, v := range s.Reports {
			m[k] = v
		}
		m[e.AccountID] = e
		s.Reports = m
	}
	return s
}
