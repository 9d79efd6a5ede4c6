package wickrnetworks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections"
)

// Network is one row of rm.wickr_networks.
type Network struct {
	ID, AwsAccountID, Region, Name, AccessLevel, EncryptionKeyArn, Status string
	Trial                                                                 bool
	TrialExpiresAt                                                        time.Time // zero when not on the trial
	Seats                                                                 int
	Settings                                                              network.Settings
	CreatedAt, UpdatedAt                                                  time.Time
}

// Group is one row of rm.wickr_security_groups with its bots counted.
type Group struct {
	NetworkID, ID, Name string
	IsDefault           bool
	Settings            sg.Settings
	Modified            time.Time
	BotMembers          int
}

// Store answers the queries of the networks read model.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const networkCols = `network_id, aws_account_id, region, name, access_level, encryption_key_arn, status, trial, trial_expires_at,
	seats, client_metrics, read_receipt_status, data_retention, trusted_data_format, consent_popup, created_at, updated_at`

func scanNetwork(row pgx.Row) (Network, error) {
	var n Network
	var expires *time.Time
	var popup []byte
	err := row.Scan(&n.ID, &n.AwsAccountID, &n.Region, &n.Name, &n.AccessLevel, &n.EncryptionKeyArn, &n.Status, &n.Trial, &expires,
		&n.Seats, &n.Settings.EnableClientMetrics, &n.Settings.ReadReceiptStatus, &n.Settings.DataRetention, &n.Settings.EnableTrustedDataFormat,
		&popup, &n.CreatedAt, &n.UpdatedAt)
	if err != nil {
		return n, err
	}
	if expires != nil {
		n.TrialExpiresAt = *expires
	}
	return n, json.Unmarshal(popup, &n.Settings.ConsentPopup)
}

// Network returns a live network of the AWS account in region; any other is network.ErrNotFound.
func (s *Store) Network(ctx context.Context, awsAccountID, region, id string) (Network, error) {
	n, err := scanNetwork(s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+networkCols+` FROM rm.wickr_networks
		WHERE network_id = $1 AND aws_account_id = $2 AND region = $3 AND status = 'Active'`), id, awsAccountID, region))
	if errors.Is(err, pgx.ErrNoRows) {
		return n, domain.Wrapf(network.ErrNotFound, "Network %s not found", id)
	}
	if err != nil {
		return n, fmt.Errorf("wickrnetworks: network: %w", err)
	}
	return n, nil
}

// Sort columns of the lists (the model's sortFields values).
var (
	networkSorts = map[string]string{"networkId": "network_id", "networkName": "name"}
	groupSorts   = map[string]string{"id": "g.group_id", "name": "g.name"}
)

// Page is a list request: a sort field of the list, its direction, the nextToken and the page size.
type Page struct {
	Sort      string
	Desc      bool
	NextToken string
	Limit     int
}

func (p Page) keyset(sorts map[string]string, idCol string, firstArg int) (where string, args []any, order string, err error) {
	col, ok := sorts[p.Sort]
	if !ok {
		return "", nil, "", wickr.Invalid("sortFields", "cannot sort by %q", p.Sort)
	}
	sort := p.Sort + map[bool]string{true: " DESC", false: " ASC"}[p.Desc]
	k, err := projections.DecodeKeyset(p.NextToken, sort)
	if err != nil {
		return "", nil, "", wickr.Invalid("nextToken", "%v", err)
	}
	cols := []string{col}
	if col == idCol {
		cols = nil
	}
	where, args, order = projections.KeysetQuery(k, cols, idCol, p.Desc, firstArg)
	return where, args, order, nil
}

// next is the nextToken after rows fetched with Limit+1: "" when there is no further page.
func next[T any](p Page, rows []T, key func(T) (sortValue, id string), sortIsID bool) ([]T, string) {
	if len(rows) <= p.Limit {
		return rows, ""
	}
	rows = rows[:p.Limit]
	v, id := key(rows[p.Limit-1])
	k := projections.Keyset{Sort: p.Sort + map[bool]string{true: " DESC", false: " ASC"}[p.Desc], ID: id}
	if !sortIsID {
		k.Keys = []string{v}
	}
	return rows, k.Token()
}

// Networks lists the live networks of the AWS account in region (sorts: networkId, networkName).
func (s *Store) Networks(ctx context.Context, awsAccountID, region string, p Page) ([]Network, string, error) {
	where, args, order, err := p.keyset(networkSorts, "network_id", 4)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+networkCols+` FROM rm.wickr_networks
		WHERE aws_account_id = $1 AND region = $2 AND status = 'Active' AND `+where+` ORDER BY `+order+` LIMIT $3`),
		append([]any{awsAccountID, region, p.Limit + 1}, args...)...)
	if err != nil {
		return nil, "", fmt.Errorf("wickrnetworks: networks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Network, error) { return scanNetwork(r) })
	if err != nil {
		return nil, "", fmt.Errorf("wickrnetworks: networks: %w", err)
	}
	list, token := next(p, out, func(n Network) (string, string) { return n.Name, n.ID }, p.Sort == "networkId")
	return list, token, nil
}

const groupCols = `g.network_id, g.group_id, g.name, g.is_default, g.settings, g.modified,
	(SELECT count(*) FROM rm.wickr_bots b WHERE b.network_id = g.network_id AND b.group_id = g.group_id AND NOT b.deleted)`

func scanGroup(row pgx.Row) (Group, error) {
	var g Group
	var st []byte
	if err := row.Scan(&g.NetworkID, &g.ID, &g.Name, &g.IsDefault, &st, &g.Modified, &g.BotMembers); err != nil {
		return g, err
	}
	return g, json.Unmarshal(st, &g.Settings)
}

// Group returns a security group of a network (the caller checked the network is the caller's).
func (s *Store) Group(ctx context.Context, networkID, groupID string) (Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+groupCols+` FROM rm.wickr_security_groups g
		WHERE g.network_id = $1 AND g.group_id = $2`), networkID, groupID))
	if errors.Is(err, pgx.ErrNoRows) {
		return g, domain.Wrapf(network.ErrGroupNotFound, "Security group %s not found in network %s", groupID, networkID)
	}
	if err != nil {
		return g, fmt.Errorf("wickrnetworks: group: %w", err)
	}
	return g, nil
}

// Groups lists a network's security groups (sorts: id, name).
func (s *Store) Groups(ctx context.Context, networkID string, p Page) ([]Group, string, error) {
	where, args, order, err := p.keyset(groupSorts, "g.group_id", 3)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+groupCols+` FROM rm.wickr_security_groups g
		WHERE g.network_id = $1 AND `+where+` ORDER BY `+order+` LIMIT $2`), append([]any{networkID, p.Limit + 1}, args...)...)
	if err != nil {
		return nil, "", fmt.Errorf("wickrnetworks: groups: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Group, error) { return scanGroup(r) })
	if err != nil {
		return nil, "", fmt.Errorf("wickrnetworks: groups: %w", err)
	}
	list, token := next(p, out, func(g Group) (string, string) { return g.Name, g.ID }, p.Sort == "id")
	return list, token, nil
}
