package wickrnetworks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/projections"
)

// Bot is one live row of rm.wickr_bots. It holds no secret: HasChallenge only says a password is set.
type Bot struct {
	NetworkID, ID, Username, DisplayName, GroupID string
	Status                                        int
	Suspended, HasChallenge                       bool
	LastLogin                                     time.Time // zero before the first sign-in
	CreatedAt                                     time.Time
}

// BotSorts are ListBots' sortFields (the model's accepted values) and their columns. Bots have no
// first name: firstName sorts by the display name, the name a bot shows in its place.
var BotSorts = map[string]string{
	"username": "username", "firstName": "display_name", "displayName": "display_name",
	"status": "status::text", "groupId": "group_id",
}

// BotQuery is a ListBots request: filters (displayName and username match case-insensitively
// anywhere in the value, status and groupId exactly; zero values do not filter), sort fields (keys of
// BotSorts, in order), direction, nextToken and page size.
type BotQuery struct {
	DisplayName, Username, GroupID string
	Status                         int
	Sort                           []string
	Desc                           bool
	NextToken                      string
	Limit                          int
}

const botCols = `network_id, bot_id, username, display_name, group_id, status, suspended, has_challenge, last_login, created_at`

func scanBot(row pgx.Row) (Bot, error) {
	var b Bot
	var last *time.Time
	err := row.Scan(&b.NetworkID, &b.ID, &b.Username, &b.DisplayName, &b.GroupID, &b.Status, &b.Suspended, &b.HasChallenge, &last, &b.CreatedAt)
	if last != nil {
		b.LastLogin = *last
	}
	return b, err
}

// Bot returns a live bot of a network (the caller checked the network is the caller's).
func (s *Store) Bot(ctx context.Context, networkID, botID string) (Bot, error) {
	b, err := scanBot(s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+botCols+` FROM rm.wickr_bots
		WHERE network_id = $1 AND bot_id = $2 AND NOT deleted`), networkID, botID))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, domain.Wrapf(network.ErrBotNotFound, "Bot %s not found in network %s", botID, networkID)
	}
	if err != nil {
		return b, fmt.Errorf("wickrnetworks: bot: %w", err)
	}
	return b, nil
}

// like is a case-insensitive "contains" pattern for ILIKE with '\' as the escape.
func like(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// Bots lists a network's live bots: a keyset page over the sort fields then the bot id.
func (s *Store) Bots(ctx context.Context, networkID string, q BotQuery) ([]Bot, string, error) {
	cols := make([]string, len(q.Sort))
	for i, f := range q.Sort {
		c, ok := BotSorts[f]
		if !ok {
			return nil, "", wickr.Invalid("sortFields", "cannot sort by %q", f)
		}
		cols[i] = c
	}
	sort := strings.Join(q.Sort, "+") + map[bool]string{true: " DESC", false: " ASC"}[q.Desc]
	k, err := projections.DecodeKeyset(q.NextToken, sort)
	if err != nil {
		return nil, "", wickr.Invalid("nextToken", "%v", err)
	}
	conds, args := []string{"network_id = $1", "NOT deleted"}, []any{networkID}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if q.DisplayName != "" {
		add("display_name ILIKE ?", like(q.DisplayName))
	}
	if q.Username != "" {
		add("username ILIKE ?", like(q.Username))
	}
	if q.Status != 0 {
		add("status = ?", q.Status)
	}
	if q.GroupID != "" {
		add("group_id = ?", q.GroupID)
	}
	where, kargs, order := projections.KeysetQuery(k, cols, "bot_id", q.Desc, len(args)+1)
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+botCols+` FROM rm.wickr_bots WHERE `+strings.Join(conds, " AND ")+` AND `+where+
		` ORDER BY `+order+fmt.Sprintf(" LIMIT %d", q.Limit+1)), append(args, kargs...)...)
	if err != nil {
		return nil, "", fmt.Errorf("wickrnetworks: bots: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Bot, error) { return scanBot(r) })
	if err != nil {
		return nil, "", fmt.Errorf("wickrnetworks: bots: %w", err)
	}
	if len(out) <= q.Limit {
		return out, "", nil
	}
	out = out[:q.Limit]
	last := out[q.Limit-1]
	next := projections.Keyset{Sort: sort, ID: last.ID}
	for _, f := range q.Sort {
		next.Keys = append(next.Keys, last.sortValue(f))
	}
	return out, next.Token(), nil
}

// sortValue is the value of a sort field as its column compares it (text).
func (b Bot) sortValue(field string) string {
	switch field {
	case "username":
		return b.Username
	case "status":
		return fmt.Sprint(b.Status)
	case "groupId":
		return b.GroupID
	}
	return b.DisplayName
}

// BotsCount counts a network's live bots by status (model BotStatus: 1 pending, 2 active). A
// network has few bots: the partial index on (network_id, group_id) serves the count.
func (s *Store) BotsCount(ctx context.Context, networkID string) (pending, active int, err error) {
	err = s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT count(*) FILTER (WHERE status = 1), count(*) FILTER (WHERE status = 2)
		FROM rm.wickr_bots WHERE network_id = $1 AND NOT deleted`), networkID).Scan(&pending, &active)
	if err != nil {
		return 0, 0, fmt.Errorf("wickrnetworks: bots count: %w", err)
	}
	return pending, active, nil
}
