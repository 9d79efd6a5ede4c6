package chimedashboard

import (
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain/chime/conversation"
)

// ApplyBatch applies evs in order as Apply would, with each run of consecutive conversation posts in
// one statement (projections.BatchApplier): a run's posts change only the day rows of their senders'
// accounts and the active users, sums and a distinct set that do not depend on their order, and no
// registered-user level moves inside the run (only account events move it, and they end a run).
func (p Projection) ApplyBatch(b *pgx.Batch, schema string, evs []*esdb.RecordedEvent) error {
	var run chatRun
	for _, ev := range evs {
		if strings.HasPrefix(ev.StreamID, conversation.StreamPrefix) && ev.EventType == conversation.TypeMessagePosted {
			e, err := conversation.Decode(ev.EventType, ev.Data)
			if err != nil {
				return err
			}
			if m, ok := e.(conversation.MessagePosted); ok {
				run.add(m.SenderAccountID, m.SenderID, m.At)
			}
			continue
		}
		run.flush(b, schema)
		if err := p.Apply(b, schema, ev); err != nil {
			return err
		}
	}
	run.flush(b, schema)
	return nil
}

// chatRun is a run of posts: each one's account, day and sender.
type chatRun struct {
	accounts, users []string
	days            []time.Time
}

func (r *chatRun) add(accountID, userID string, at time.Time) {
	r.accounts = append(r.accounts, accountID)
	r.days = append(r.days, day(at))
	r.users = append(r.users, userID)
}

// flush queues the run's one statement: the active users it adds, and per account and day the posts
// it counts and the active users it added (a post of an account that is not known, "", counts nowhere,
// as in chat).
func (r *chatRun) flush(b *pgx.Batch, schema string) {
	if len(r.accounts) == 0 {
		return
	}
	b.Queue(`WITH m AS (SELECT * FROM unnest($1::text[], $2::date[], $3::text[]) AS m(account_id, day, user_id) WHERE account_id <> ''),
		ins AS (INSERT INTO `+schema+`.chime_dash_active (account_id, day, user_id) SELECT DISTINCT account_id, day, user_id FROM m
			ON CONFLICT DO NOTHING RETURNING account_id, day),
		n AS (SELECT account_id, day, count(*)::int AS sent FROM m GROUP BY account_id, day)
		INSERT INTO `+schema+`.chime_dash_days AS y (account_id, day, registered, chat_sent, active_users)
		SELECT n.account_id, n.day, coalesce((SELECT registered FROM `+schema+`.chime_dash_totals t WHERE t.account_id = n.account_id), 0),
			n.sent, (SELECT count(*) FROM ins WHERE ins.account_id = n.account_id AND ins.day = n.day)::int FROM n
		ON CONFLICT (account_id, day) DO UPDATE SET chat_sent = y.chat_sent + excluded.chat_sent,
			active_users = y.active_users + excluded.active_users`, r.accounts, r.days, r.users)
	*r = chatRun{}
}
