package projectiontest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/projections"
)

// Build creates p's tables in a schema of their own, applies in one transaction what apply queues
// (given the schema) and returns every table's rows as text, table by table, each sorted: two ways
// of applying the same events leave the same tables when Build answers the same for both.
func Build(ctx context.Context, t testing.TB, pool *pgxpool.Pool, p projections.Projection, schema string,
	apply func(b *pgx.Batch, schema string) error) string {
	t.Helper()
	var out strings.Builder
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return err
		}
		if err := p.Setup(ctx, tx, schema); err != nil {
			return err
		}
		b := &pgx.Batch{}
		if err := apply(b, schema); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		for _, table := range p.Tables() {
			rows, err := tx.Query(ctx, `SELECT t::text FROM `+schema+`.`+table+` t ORDER BY 1`)
			if err != nil {
				return err
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			fmt.Fprintf(&out, "%s:\n%s\n", table, strings.Join(lines, "\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}
