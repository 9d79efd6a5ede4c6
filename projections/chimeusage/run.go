package chimeusage

import (
	"time"

	"github.com/jackc/pgx/v5"
)

// userWeek is a counter row's key.
type userWeek struct {
	user string
	week time.Time
}

type join struct {
	userWeek
	meeting string
}

// counters are what a run adds to one user's week: posts, and the latest sign-in (0: none).
type counters struct {
	chat    int
	loginUS int64
	signed  bool
}

// run is a run of events whose statements commute: joins, posts, sign-ins and account ids, kept
// in the order first seen (so that the statements are the same for the same events).
type run struct {
	accounts []string
	seenAcc  map[string]bool
	joins    []join
	seenJoin map[join]bool
	keys     []userWeek
	counts   map[userWeek]*counters
}

func newRun() *run {
	return &run{seenAcc: map[string]bool{}, seenJoin: map[join]bool{}, counts: map[userWeek]*counters{}}
}

func (r *run) account(id string) {
	if !r.seenAcc[id] {
		r.seenAcc[id] = true
		r.accounts = append(r.accounts, id)
	}
}

func (r *run) join(user string, week time.Time, meeting string) {
	j := join{userWeek{user, week}, meeting}
	if !r.seenJoin[j] {
		r.seenJoin[j] = true
		r.joins = append(r.joins, j)
	}
}

func (r *run) counter(user string, week time.Time) *counters {
	k := userWeek{user, week}
	c := r.counts[k]
	if c == nil {
		c = &counters{}
		r.counts[k] = c
		r.keys = append(r.keys, k)
	}
	return c
}

func (r *run) post(user string, week time.Time) { r.counter(user, week).chat++ }

func (r *run) signIn(user string, week time.Time, us int64) {
	c := r.counter(user, week)
	if !c.signed || us > c.loginUS {
		c.loginUS, c.signed = us, true
	}
}

// flush queues the run's statements and empties it: the account ids; the joins, counting in each
// user's week the meetings not joined in it before; the posts and the latest sign-ins.
func (r *run) flush(b *pgx.Batch, schema string) {
	if len(r.accounts) > 0 {
		b.Queue(`INSERT INTO `+schema+`.chime_usage_accounts (account_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, r.accounts)
	}
	if len(r.joins) > 0 {
		users, weeks, meetings := make([]string, len(r.joins)), make([]time.Time, len(r.joins)), make([]string, len(r.joins))
		for i, j := range r.joins {
			users[i], weeks[i], meetings[i] = j.user, j.week, j.meeting
		}
		b.Queue(`WITH ins AS (INSERT INTO `+schema+`.chime_usage_joins (user_id, week, meeting_id)
				SELECT * FROM unnest($1::text[], $2::date[], $3::text[]) ON CONFLICT DO NOTHING RETURNING user_id, week)
			INSERT INTO `+schema+`.chime_usage_weeks AS w (user_id, week, attended)
			SELECT user_id, week, count(*)::int FROM ins GROUP BY user_id, week
			ON CONFLICT (user_id, week) DO UPDATE SET attended = w.attended + excluded.attended`, users, weeks, meetings)
	}
	if len(r.keys) > 0 {
		n := len(r.keys)
		users, weeks, chat, login := make([]string, n), make([]time.Time, n), make([]int64, n), make([]*int64, n)
		for i, k := range r.keys {
			c := r.counts[k]
			users[i], weeks[i], chat[i] = k.user, k.week, int64(c.chat)
			if c.signed {
				login[i] = &c.loginUS
			}
		}
		b.Queue(`INSERT INTO `+schema+`.chime_usage_weeks AS w (user_id, week, chat_sent, last_login_us)
			SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[], $4::bigint[])
			ON CONFLICT (user_id, week) DO UPDATE SET chat_sent = w.chat_sent + excluded.chat_sent,
				last_login_us = greatest(w.last_login_us, excluded.last_login_us)`, users, weeks, chat, login)
	}
	*r = *newRun()
}
