package pgcluster_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/infra/pgcluster"
)

// TestStartAttachStop starts a cluster, attaches a second handle to the running server (as the CLI
// does beside `belfry serve`), checks that only the owner stops it, and restarts it with its data.
func TestStartAttachStop(t *testing.T) {
	dir, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	c, err := pgcluster.Start(ctx, pgcluster.Config{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if !c.Owned() {
		t.Fatal("first Start should own the server")
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept(x int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	c2, err := pgcluster.Start(ctx, pgcluster.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Owned() || c2.URL("postgres") != c.URL("postgres") {
		t.Fatalf("second Start should attach: owned=%v url=%s", c2.Owned(), c2.URL("postgres"))
	}
	if err := c2.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	c3, err := pgcluster.Start(ctx, pgcluster.Config{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Stop()
	conn, err = pgx.Connect(ctx, c3.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var x int
	if err := conn.QueryRow(ctx, "SELECT x FROM kept").Scan(&x); err != nil || x != 42 {
		t.Fatalf("data lost across restart: x=%d err=%v", x, err)
	}
}

func TestValidate(t *testing.T) {
	err := pgcluster.Config{Port: -1}.Validate()
	if err == nil {
		t.Fatal("want errors for empty Dir and bad port")
	}
}
