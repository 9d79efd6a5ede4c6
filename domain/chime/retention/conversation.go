package retention

import "time"

// Member is what a conversation's retention depends on about one of its members: the Chime
// account, and whether it is an Enterprise account ("" AccountID: in no account).
type Member struct {
	AccountID  string
	Enterprise bool
}

// Rule is the effective retention of a conversation (guide §4.7.1).
type Rule struct {
	// Applies is false when no retention applies (no member is in an Enterprise account).
	Applies bool
	// AccountID, when set, is the Enterprise account whose conversation setting applies; otherwise
	// the period is FixedDays.
	AccountID string
	FixedDays int
}

// Conversation is the effective retention of a conversation between members: the conversation
// setting of their Enterprise account when they all belong to the same one; the automatic
// MixedConversationDays when at least one belongs to an Enterprise account and anyone does not
// belong to it; none otherwise.
func Conversation(members []Member) Rule {
	enterprise, same := "", true
	for _, m := range members {
		if m.Enterprise && enterprise == "" {
			enterprise = m.AccountID
		}
	}
	if enterprise == "" {
		return Rule{}
	}
	for _, m := range members {
		if !m.Enterprise || m.AccountID != enterprise {
			same = false
		}
	}
	if same {
		return Rule{Applies: true, AccountID: enterprise}
	}
	return Rule{Applies: true, FixedDays: MixedConversationDays}
}

// HideBefore is the instant before which a conversation's messages are hidden at now under the rule,
// p being the policy of the rule's account (ignored for a fixed period); ok is false when nothing is
// hidden.
func (r Rule) HideBefore(p Policy, now time.Time) (time.Time, bool) {
	switch {
	case !r.Applies:
		return time.Time{}, false
	case r.AccountID != "":
		return p.HideBefore(Conversations, now)
	}
	return now.Add(-time.Duration(r.FixedDays) * 24 * time.Hour), true
}
