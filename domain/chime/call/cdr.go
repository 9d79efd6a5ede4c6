package call

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// CDR is a Business Calling call detail record in schema 2.0 (guide §7.2): every value a JSON string.
type CDR struct {
	SchemaVersion                   string
	CdrId                           string
	ServiceCode                     string
	ChimeAccountId                  string
	AwsAccountId                    string
	ConferenceId                    string
	ConferencePin                   string
	OrganizerUserId                 string
	OrganizerEmail                  string
	CallerPhoneNumber               string
	CallerCountry                   string
	DestinationPhoneNumber          string
	DestinationCountry              string
	ConferenceStartTimeEpochSeconds string
	ConferenceEndTimeEpochSeconds   string
	StartTimeEpochSeconds           string
	EndTimeEpochSeconds             string
	BillableDurationSeconds         string
	BillableDurationMinutes         string
	Direction                       string
}

// CDRPrefix is the fixed start of every CDR key.
const CDRPrefix = "Amazon-Chime-Business-Calling-CDRs/json/"

// maskedPIN is the conference PIN as every CDR shows it (guide §7.2: masked, 10 characters).
const maskedPIN = "XXXXXXXXXX"

// CDRID is a leg's CDR id: the leg id (a UUID), so a CDR regenerated from the log has the same id
// and the same key.
func CDRID(l LegState) string { return l.LegID }

// BillableSeconds is a leg's connected time rounded up to a whole second; 0 for a leg never answered.
func BillableSeconds(l LegState) int64 {
	if l.Connected.IsZero() || l.Ended.IsZero() {
		return 0
	}
	return int64(math.Ceil(l.Ended.Sub(l.Connected).Seconds()))
}

// BillableMinutes writes seconds as decimal minutes rounded half up to one decimal place, without a
// leading zero, as the guide's sample does (24 s → ".4", 90 s → "1.5", 0 s → "0").
func BillableMinutes(seconds int64) string {
	tenths := (seconds*10 + 30) / 60 // seconds/6, rounded half up
	s := strconv.FormatInt(tenths/10, 10) + "." + strconv.FormatInt(tenths%10, 10)
	s = strings.TrimSuffix(s, ".0")
	if strings.HasPrefix(s, "0.") {
		s = s[1:]
	}
	return s
}

// legStart is when a leg's call started for its CDR: connected, or placed when never answered.
func (s State) legStart(l LegState) time.Time {
	if l.Connected.IsZero() {
		return s.Started
	}
	return l.Connected
}

// CDRs returns one record per leg of an ended conference, in leg order, and nil before it ends.
func (s State) CDRs() []CDR {
	if s.Ended.IsZero() {
		return nil
	}
	out := make([]CDR, len(s.Legs))
	epoch := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	for i, l := range s.Legs {
		sec := BillableSeconds(l)
		out[i] = CDR{SchemaVersion: "2.0", CdrId: CDRID(l), ServiceCode: "AmazonChimeBusinessCalling", ChimeAccountId: s.Placed.AccountID,
			AwsAccountId: s.Placed.AwsAccountID, ConferenceId: s.Placed.ConferenceID, ConferencePin: maskedPIN,
			OrganizerUserId: s.Placed.OrganizerUserID, OrganizerEmail: s.Placed.OrganizerEmail,
			CallerPhoneNumber: l.From, CallerCountry: l.FromCountry, DestinationPhoneNumber: l.To, DestinationCountry: l.ToCountry,
			ConferenceStartTimeEpochSeconds: epoch(s.Started), ConferenceEndTimeEpochSeconds: epoch(s.Ended),
			StartTimeEpochSeconds: epoch(s.legStart(l)), EndTimeEpochSeconds: epoch(l.Ended),
			BillableDurationSeconds: strconv.FormatInt(sec, 10), BillableDurationMinutes: BillableMinutes(sec), Direction: l.Direction}
	}
	return out
}

// CDRKey is the object key of a leg's record, with the guide's example's separators (the pattern's
// "-" before the CDR id is the example's "_" here, guide §18.5 item 3) and no extension:
// Amazon-Chime-Business-Calling-CDRs/json/<awsAccountId>/<yyyy>/<mm>/<dd>/<conferenceId>_<yyyy-mm-dd>-<HH.MM.SS.mmm>_<cdrId>,
// the date and time being the leg's start in UTC.
func (s State) CDRKey(l LegState) string {
	t := s.legStart(l).UTC()
	return CDRPrefix + s.Placed.AwsAccountID + "/" + t.Format("2006/01/02") + "/" + s.Placed.ConferenceID + "_" +
		t.Format("2006-01-02-15.04.05.000") + "_" + CDRID(l)
}
