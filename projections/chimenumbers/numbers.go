// Package chimenumbers projects phone numbers and phone-number orders into rm.chime_phone_numbers,
// rm.chime_phone_number_orders and rm.chime_ordered_numbers, and answers their queries.
//
// Invariant: a number row belongs to the AWS account that last acquired it; the deletion queue's
// 7-day release is applied at read time from deleted_at, so no timer is needed.
package chimenumbers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/projections"
)

// Projection is the phone-number read model.
type Projection struct{}

// Name is stable.
func (Projection) Name() string { return "chime_numbers" }

// Version of the layout.
func (Projection) Version() int { return 3 }

// Tables exposed under rm.
func (Projection) Tables() []string {
	return []string{"chime_phone_numbers", "chime_phone_number_orders", "chime_ordered_numbers", "chime_port_in_orders"}
}

// Filter selects number and order streams.
func (Projection) Filter() *esdb.SubscriptionFilter {
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{phonenumber.StreamPrefix, phonenumber.OrderStreamPrefix, porting.StreamPrefix}}
}

// Setup creates the tables.
func (Projection) Setup(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %[1]s.chime_phone_numbers (
			e164            text PRIMARY KEY,
			aws_account_id  text NOT NULL,
			order_id        text NOT NULL,
			status          text NOT NULL,
			product_type    text NOT NULL,
			type            text NOT NULL,
			country         text NOT NULL,
			calling_name    text NOT NULL DEFAULT '',
			calling_name_at timestamptz,
			account_id      text,
			user_id         text,
			associated_at   timestamptz,
			deleted_at      timestamptz,
			created_at      timestamptz NOT NULL,
			updated_at      timestamptz NOT NULL
		);
		CREATE INDEX ON %[1]s.chime_phone_numbers (aws_account_id, e164);
		CREATE TABLE %[1]s.chime_phone_number_orders (
			order_id       text PRIMARY KEY,
			aws_account_id text NOT NULL,
			product_type   text NOT NULL,
			status         text NOT NULL,
			created_at     timestamptz NOT NULL,
			updated_at     timestamptz NOT NULL
		);
		CREATE INDEX ON %[1]s.chime_phone_number_orders (aws_account_id, order_id);
		CREATE INDEX ON %[1]s.chime_phone_number_orders (status) WHERE status = 'Processing';
		CREATE TABLE %[1]s.chime_ordered_numbers (
			order_id text NOT NULL,
			e164     text NOT NULL,
			status   text NOT NULL,
			PRIMARY KEY (order_id, e164)
		);
		CREATE TABLE %[1]s.chime_port_in_orders (
			order_id       text PRIMARY KEY,
			aws_account_id text NOT NULL,
			status         text NOT NULL,
			request        jsonb NOT NULL,
			foc_at         timestamptz,
			documents      text[] NOT NULL DEFAULT '{}',
			link_expires   timestamptz,
			created_at     timestamptz NOT NULL,
			updated_at     timestamptz NOT NULL
		);
		CREATE INDEX ON %[1]s.chime_port_in_orders (aws_account_id, order_id);`, schema))
	return err
}

// Apply queues one event's statements.
func (Projection) Apply(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	if strings.HasPrefix(ev.StreamID, porting.StreamPrefix) {
		return applyPortIn(b, schema, ev)
	}
	e, err := phonenumber.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	n := schema + ".chime_phone_numbers"
	num := ev.StreamID[len(phonenumber.StreamPrefix):]
	order := ""
	if len(ev.StreamID) > len(phonenumber.OrderStreamPrefix) && ev.StreamID[:len(phonenumber.OrderStreamPrefix)] == phonenumber.OrderStreamPrefix {
		order = ev.StreamID[len(phonenumber.OrderStreamPrefix):]
	}
	switch e := e.(type) {
	case phonenumber.Acquired:
		b.Queue(`INSERT INTO `+n+` (e164, aws_account_id, order_id, status, product_type, type, country, created_at, updated_at)
			VALUES ($1,$2,$3,'Unassigned',$4,$5,$6,$7,$7)
			ON CONFLICT (e164) DO UPDATE SET aws_account_id = $2, order_id = $3, status = 'Unassigned', product_type = $4, type = $5,
			country = $6, calling_name = '', calling_name_at = NULL, account_id = NULL, user_id = NULL, associated_at = NULL,
			deleted_at = NULL, created_at = $7, updated_at = $7`, num, e.AwsAccountID, e.OrderID, e.ProductType, e.Type, e.Country, e.At)
	case phonenumber.Updated:
		b.Queue(`UPDATE `+n+` SET product_type = $2, calling_name = $3, calling_name_at = $4, updated_at = $5 WHERE e164 = $1`,
			num, e.ProductType, e.CallingName, nullTime(e.CallingNameAt), e.At)
	case phonenumber.Associated:
		b.Queue(`UPDATE `+n+` SET status = 'Assigned', account_id = $2, user_id = $3, associated_at = $4, updated_at = $4 WHERE e164 = $1`,
			num, e.AccountID, e.UserID, e.At)
	case phonenumber.Disassociated:
		b.Queue(`UPDATE `+n+` SET status = 'Unassigned', account_id = NULL, user_id = NULL, associated_at = NULL, updated_at = $2 WHERE e164 = $1`, num, e.At)
	case phonenumber.Deleted:
		b.Queue(`UPDATE `+n+` SET status = 'DeleteInProgress', deleted_at = $2, updated_at = $2 WHERE e164 = $1`, num, e.At)
	case phonenumber.Restored:
		b.Queue(`UPDATE `+n+` SET status = 'Unassigned', deleted_at = NULL, updated_at = $2 WHERE e164 = $1`, num, e.At)
	case phonenumber.PortOutPINSet:
		// Only the PIN's hash is in the event; the read model does not need it.
	case phonenumber.PortedOut:
		b.Queue(`DELETE FROM `+n+` WHERE e164 = $1`, num)
	case phonenumber.OrderCreated:
		b.Queue(`INSERT INTO `+schema+`.chime_phone_number_orders (order_id, aws_account_id, product_type, status, created_at, updated_at)
			VALUES ($1,$2,$3,'Processing',$4,$4) ON CONFLICT DO NOTHING`, order, e.AwsAccountID, e.ProductType, e.At)
		b.Queue(`INSERT INTO `+schema+`.chime_ordered_numbers (order_id, e164, status) SELECT $1, x, 'Processing' FROM unnest($2::text[]) x
			ON CONFLICT DO NOTHING`, order, e.Numbers)
	case phonenumber.OrderNumberProcessed:
		st := phonenumber.NumberFailed
		if e.Acquired {
			st = phonenumber.NumberAcquired
		}
		b.Queue(`UPDATE `+schema+`.chime_ordered_numbers SET status = $3 WHERE order_id = $1 AND e164 = $2`, order, e.E164, st)
		b.Queue(`UPDATE `+schema+`.chime_phone_number_orders SET updated_at = $2 WHERE order_id = $1`, order, e.At)
	case phonenumber.OrderCompleted:
		b.Queue(`UPDATE `+schema+`.chime_phone_number_orders SET status = $2, updated_at = $3 WHERE order_id = $1`, order, e.Status, e.At)
	default:
		return fmt.Errorf("chimenumbers: unhandled event %s", ev.EventType)
	}
	return nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Number is one row of rm.chime_phone_numbers.
type Number struct {
	E164, AwsAccountID, Status, ProductType, Type, Country, CallingName string
	CallingNameAt, AssociatedAt, DeletedAt                              *time.Time
	AccountID, UserID                                                   *string
	CreatedAt, UpdatedAt                                                time.Time
}

// Store answers number and order queries.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const numberCols = `e164, aws_account_id, status, product_type, type, country, calling_name, calling_name_at, associated_at,
	deleted_at, account_id, user_id, created_at, updated_at`

// held is the SQL condition "the tenant still holds the number at $now" (the 7-day release).
const held = `(status <> 'DeleteInProgress' OR deleted_at + interval '7 days' > $2)`

func scanNumber(row pgx.Row) (Number, error) {
	var n Number
	err := row.Scan(&n.E164, &n.AwsAccountID, &n.Status, &n.ProductType, &n.Type, &n.Country, &n.CallingName, &n.CallingNameAt,
		&n.AssociatedAt, &n.DeletedAt, &n.AccountID, &n.UserID, &n.CreatedAt, &n.UpdatedAt)
	return n, err
}

// ErrNotFound is returned for a number outside the tenant's inventory.
var ErrNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "phone number not found"}

// Get returns a number the tenant holds at now.
func (s *Store) Get(ctx context.Context, awsAccountID, e164 string, now time.Time) (Number, error) {
	n, err := scanNumber(s.pool.QueryRow(ctx, projections.SQL(ctx, `SELECT `+numberCols+` FROM rm.chime_phone_numbers
		WHERE e164 = $1 AND `+held+` AND aws_account_id = $3`), e164, now, awsAccountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Number{}, domain.Wrapf(ErrNotFound, "phone number %s is not in your inventory", e164)
	}
	if err != nil {
		return Number{}, fmt.Errorf("chimenumbers: get: %w", err)
	}
	return n, nil
}

// Filter narrows List; empty fields do not filter. FilterName is AccountId or UserId.
type Filter struct {
	Status, ProductType, FilterName, FilterValue string
}

// List returns a page of the tenant's numbers.
func (s *Store) List(ctx context.Context, awsAccountID string, f Filter, token string, limit int, now time.Time) ([]Number, string, error) {
	after, err := projections.DecodeToken(token)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT `+numberCols+` FROM rm.chime_phone_numbers
		WHERE aws_account_id = $3 AND `+held+` AND e164 > $1 AND ($4 = '' OR status = $4) AND ($5 = '' OR product_type = $5)
		AND ($6 = '' OR ($6 = 'AccountId' AND account_id = $7) OR ($6 = 'UserId' AND user_id = $7))
		ORDER BY e164 LIMIT $8`), after, now, awsAccountID, f.Status, f.ProductType, f.FilterName, f.FilterValue, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("chimenumbers: list: %w", err)
	}
	defer rows.Close()
	var out []Number
	for rows.Next() {
		n, err := scanNumber(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := projections.Page(out, limit, func(n Number) string { return n.E164 })
	return out, next, nil
}

// Held returns the numbers of the given list that some tenant holds at now.
func (s *Store) Held(ctx context.Context, numbers []string, now time.Time) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT e164 FROM rm.chime_phone_numbers WHERE e164 = ANY($1) AND `+held), numbers, now)
	if err != nil {
		return nil, fmt.Errorf("chimenumbers: held: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// Order is an order with its numbers.
type Order struct {
	OrderID, AwsAccountID, ProductType, Status string
	Numbers                                    []OrderedNumber
	CreatedAt, UpdatedAt                       time.Time
}

// OrderedNumber is one number of an order.
type OrderedNumber struct{ E164, Status string }

// ErrOrderNotFound is returned for an order of another tenant or none.
var ErrOrderNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "phone number order not found"}

func (s *Store) orders(ctx context.Context, where string, args ...any) ([]Order, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT o.order_id, o.aws_account_id, o.product_type, o.status, o.created_at, o.updated_at,
		coalesce((SELECT array_agg(n.e164 || '=' || n.status ORDER BY n.e164) FROM rm.chime_ordered_numbers n WHERE n.order_id = o.order_id), '{}')
		FROM rm.chime_phone_number_orders o WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("chimenumbers: orders: %w", err)
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		var o Order
		var nums []string
		if err := rows.Scan(&o.OrderID, &o.AwsAccountID, &o.ProductType, &o.Status, &o.CreatedAt, &o.UpdatedAt, &nums); err != nil {
			return nil, err
		}
		for _, x := range nums {
			for i := len(x) - 1; i >= 0; i-- {
				if x[i] == '=' {
					o.Numbers = append(o.Numbers, OrderedNumber{E164: x[:i], Status: x[i+1:]})
					break
				}
			}
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// GetOrder returns one of the tenant's orders.
func (s *Store) GetOrder(ctx context.Context, awsAccountID, id string) (Order, error) {
	list, err := s.orders(ctx, `o.order_id = $1 AND o.aws_account_id = $2`, id, awsAccountID)
	if err != nil {
		return Order{}, err
	}
	if len(list) == 0 {
		return Order{}, domain.Wrapf(ErrOrderNotFound, "phone number order %s does not exist", id)
	}
	return list[0], nil
}

// ListOrders returns a page of the tenant's orders.
func (s *Store) ListOrders(ctx context.Context, awsAccountID, token string, limit int) ([]Order, string, error) {
	after, err := projections.DecodeToken(token)
	if err != nil {
		return nil, "", err
	}
	list, err := s.orders(ctx, `o.aws_account_id = $1 AND o.order_id > $2 ORDER BY o.order_id LIMIT $3`, awsAccountID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	list, next := projections.Page(list, limit, func(o Order) string { return o.OrderID })
	return list, next, nil
}

func applyPortIn(b *pgx.Batch, schema string, ev *esdb.RecordedEvent) error {
	e, err := porting.Decode(ev.EventType, ev.Data)
	if err != nil {
		return err
	}
	id := ev.StreamID[len(porting.StreamPrefix):]
	t := schema + ".chime_port_in_orders"
	switch e := e.(type) {
	case porting.OrderSubmitted:
		e.Request.LegacyServicePIN = "" // a PIN recorded in clear before sealing never reaches the read model
		req, _ := json.Marshal(e.Request)
		b.Queue(`INSERT INTO `+t+` (order_id, aws_account_id, status, request, created_at, updated_at) VALUES ($1,$2,'SUBMITTED',$3,$4,$4)
			ON CONFLICT DO NOTHING`, id, e.AwsAccountID, req, e.At)
	case porting.StatusChanged:
		b.Queue(`UPDATE `+t+` SET status = $2, foc_at = coalesce($3, foc_at), updated_at = $4 WHERE order_id = $1`, id, e.To, nullTime(e.FOCAt), e.At)
	case porting.DocumentsRequested:
		b.Queue(`UPDATE `+t+` SET status = 'PENDING_DOCUMENTS', link_expires = $2, updated_at = $3 WHERE order_id = $1`, id, e.ExpiresAt, e.At)
	case porting.DocumentUploaded:
		b.Queue(`UPDATE `+t+` SET documents = array_append(array_remove(documents, $2), $2), updated_at = $3 WHERE order_id = $1`, id, e.Name, e.At)
	default:
		return fmt.Errorf("chimenumbers: unhandled port-in event %s", ev.EventType)
	}
	return nil
}

// PortIn is one row of rm.chime_port_in_orders.
type PortIn struct {
	OrderID, Status string
	Request         porting.Request
	FOCAt           *time.Time
	Documents       []string
	LinkExpires     *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ErrPortInNotFound is returned for an order of another tenant or none.
var ErrPortInNotFound = &domain.Error{Kind: domain.KindNotFound, Msg: "port-in order not found"}

// PortIns returns the tenant's port-in orders (one when id is set).
func (s *Store) PortIns(ctx context.Context, awsAccountID, id string) ([]PortIn, error) {
	rows, err := s.pool.Query(ctx, projections.SQL(ctx, `SELECT order_id, status, request, foc_at, documents, link_expires, created_at, updated_at
		FROM rm.chime_port_in_orders WHERE aws_account_id = $1 AND ($2 = '' OR order_id = $2) ORDER BY created_at, order_id`), awsAccountID, id)
	if err != nil {
		return nil, fmt.Errorf("chimenumbers: port-in orders: %w", err)
	}
	defer rows.Close()
	var out []PortIn
	for rows.Next() {
		var p PortIn
		var req []byte
		if err := rows.Scan(&p.OrderID, &p.Status, &req, &p.FOCAt, &p.Documents, &p.LinkExpires, &p.CreatedAt, &p.UpdatedAt); err != nil {
			return nil, err
		}
		_ = json.Unmarshal(req, &p.Request)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if id != "" && len(out) == 0 {
		return nil, domain.Wrapf(ErrPortInNotFound, "port-in order %s does not exist", id)
	}
	return out, nil
}
