package migrations_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/infra/migrations"
	"github.com/belfry/belfry/infra/pgcluster/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestApplyIsOrderedOnceAndRefusesNewer(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	all, err := migrations.All()
	if err != nil || len(all) < 3 {
		t.Fatalf("embedded migrations: %d %v", len(all), err)
	}
	applied, err := migrations.Apply(ctx, pool)
	if err != nil || len(applied) != len(all) {
		t.Fatalf("first apply: %v %v", applied, err)
	}
	for i := 1; i < len(applied); i++ {
		if applied[i] <= applied[i-1] {
			t.Fatalf("out of order: %v", applied)
		}
	}
	again, err := migrations.Apply(ctx, pool)
	if err != nil || len(again) != 0 {
		t.Fatalf("second apply must do nothing: %v %v", again, err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO belfry_migrations (version, name) VALUES (9999, 'future')"); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Apply(ctx, pool); err == nil {
		t.Fatal("a database migrated by a newer binary must be refused")
	}
}
