package retention

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/belfry/belfry/domain/chime/retention"
)

// conversationPage bounds the conversations the purge handles at once.
const conversationPage = 1000

// ConversationCutoff is the instant before which a conversation's content may be destroyed at now
// (ok false: none may), from the accounts of its members (guide §4.7.1, retention.Conversation): the
// conversation setting of their Enterprise account when they all belong to the same one (with its
// 30-day grace, Policy.DestroyBefore); the automatic 90 days when it spans accounts and one of them
// is an Enterprise account; none otherwise. The cutoff is the start of a UTC day: keys are per day.
func ConversationCutoff(accounts []string, enterprise map[string]bool, policies map[string]retention.Policy, now time.Time) (time.Time, bool) {
	members := make([]retention.Member, len(accounts))
	for i, a := range accounts {
		members[i] = retention.Member{AccountID: a, Enterprise: a != "" && enterprise[a]}
	}
	rule := retention.Conversation(members)
	switch {
	case !rule.Applies:
		return time.Time{}, false
	case rule.AccountID != "":
		before, ok := policies[rule.AccountID].DestroyBefore(retention.Conversations, now)
		return dayStart(before), ok
	}
	return dayStart(now.Add(-time.Duration(rule.FixedDays) * 24 * time.Hour)), true
}

// conversations purges, a page at a time, the conversations whose retention makes some of their
// days due: their day keys first (in every tenant that sealed in them), then their rows. Every
// conversation is considered, under its current members' accounts: it always has a member (the last
// one cannot leave), so none escapes its retention by being left. A conversation whose keys cannot
// be destroyed holds back no other: its error is recorded, its rows stay, and the purge goes on.
func (p *Purger) conversations(ctx context.Context, r *Report, policies map[string]retention.Policy, progress Progress) error {
	if p.d.Conversations == nil || p.d.Enterprise == nil {
		return nil
	}
	enterprise, err := p.d.Enterprise.EnterpriseAccounts(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for after := ""; ; {
		ids, accounts, err := p.d.Conversations.ConversationAccounts(ctx, after, conversationPage)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		var due, scopes []string
		var befores []time.Time
		for i, id := range ids {
			if before, ok := ConversationCutoff(accounts[i], enterprise, policies, r.At); ok {
				due, scopes, befores = append(due, id), append(scopes, string(retention.Conversations)+"/"+id), append(befores, before)
			}
		}
		if err := p.conversationPage(ctx, r, due, scopes, befores, progress); err != nil {
			if errs = append(errs, err); ctx.Err() != nil {
				return errors.Join(errs...)
			}
		}
		if len(ids) < conversationPage {
			return errors.Join(errs...)
		}
		after = ids[len(ids)-1]
	}
}

func (p *Purger) conversationPage(ctx context.Context, r *Report, ids, scopes []string, befores []time.Time, progress Progress) error {
	if len(ids) == 0 {
		return nil
	}
	n, convs, err := p.d.Conversations.CountMessagesBefore(ctx, ids, befores)
	if err != nil {
		return err
	}
	if n > 0 {
		r.Due, r.Conversations = r.Due+n, r.Conversations+convs
		progress(*r)
	}
	if r.DryRun {
		return nil
	}
	ids, befores, days, failed := p.destroyConversationKeys(ctx, r, ids, scopes, befores)
	if len(ids) == 0 || n == 0 && days == 0 {
		return failed
	}
	t := time.Now()
	defer func() { r.RowsSeconds += time.Since(t).Seconds() }()
	return errors.Join(failed, p.batches(ctx, r, progress, func(limit int) (int64, error) {
		return p.d.Conversations.DeleteMessagesBefore(ctx, ids, befores, limit)
	}))
}

// destroyConversationKeys destroys the due day keys of a page's conversations and returns those whose
// keys are destroyed (with their cutoffs) and how many day keys went. When the page's destruction
// fails, it is retried one conversation at a time (destroying again does nothing), so that one whose
// keys cannot be destroyed holds back none of the others; failed joins the errors of those. A damaged
// day key the destruction went past (it does not open, and is kept) is named in r.DamagedKeys: its
// conversation counts as done.
func (p *Purger) destroyConversationKeys(ctx context.Context, r *Report, ids, scopes []string, befores []time.Time) (done []string, cutoffs []time.Time, days int, failed error) {
	t := time.Now()
	defer func() { r.KeysSeconds += time.Since(t).Seconds() }()
	days, damaged, err := p.d.Keys.DestroyScopeDaysBefore(ctx, scopes, befores)
	r.DayKeysDestroyed += int64(days)
	r.damaged(damaged)
	if err == nil {
		return ids, befores, days, nil
	}
	if ctx.Err() != nil {
		return nil, nil, days, err
	}
	var errs []error
	for i, id := range ids {
		d, damaged, err := p.d.Keys.DestroyScopeDaysBefore(ctx, scopes[i:i+1], befores[i:i+1])
		days, r.DayKeysDestroyed = days+d, r.DayKeysDestroyed+int64(d)
		r.damaged(damaged)
		if err != nil {
			errs = append(errs, fmt.Errorf("conversation %s: %w", id, err))
			if ctx.Err() != nil {
				return nil, nil, days, errors.Join(errs...)
			}
			continue
		}
		done, cutoffs = append(done, id), append(cutoffs, befores[i])
	}
	return done, cutoffs, days, errors.Join(errs...)
}

// damaged adds the damaged keys a destruction went past to the report, each once (a page retried one
// conversation at a time meets them again).
func (r *Report) damaged(errs []error) {
	for _, err := range errs {
		if msg := err.Error(); !slices.Contains(r.DamagedKeys, msg) {
			r.DamagedKeys = append(r.DamagedKeys, msg)
		}
	}
}
