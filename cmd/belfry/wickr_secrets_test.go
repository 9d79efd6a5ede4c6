package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// test_secrets.py sets every Wickr secret through boto3; once it has run (the cleanup runs before
// Belfry closes), every event of $all (audit records included) and every row of the Wickr read
// models is searched for them, and for anything shaped like a bcrypt hash: none may be there.
func init() {
	boto3Setups["test_secrets"] = func(t *testing.T, b *running) map[string]string {
		env := botClientSetup(t, b)
		for k, v := range oidcProviderSetup(t, b) {
			env[k] = v
		}
		out := filepath.Join(t.TempDir(), "secrets")
		env["SECRETS_OUT"] = out
		t.Cleanup(func() { scanWickrSecrets(t, b, out) })
		return env
	}
}

func scanWickrSecrets(t *testing.T, b *running, out string) {
	generated, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the Python file wrote no generated secrets: %v", err)
	}
	lines := strings.Fields(string(generated))
	if len(lines) != 2 {
		t.Fatalf("want the challenge and the generated password, got %q", generated)
	}
	secrets := map[string]string{"bot password": "Bot-Secret-One", "new bot password": "Bot-Secret-Two", "OIDC secret": "Oidc-Secret-Value",
		"OpenTDF secret": "Tdf-Secret-Value", "retention challenge": lines[0], "retention password": lines[1]}
	assertNoSecret(t, b.readAll(t), secrets)
	pool, err := pgxpool.New(context.Background(), b.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rows, err := pool.Query(context.Background(), `SELECT table_name FROM information_schema.tables WHERE table_schema = 'rm' AND table_name LIKE 'wickr%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	if len(tables) == 0 {
		t.Fatal("no Wickr read model tables")
	}
	for _, tbl := range tables {
		var dump string
		if err := pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(t::text, E'\n'), '') FROM rm.`+tbl+` t`).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		if bcryptHash.MatchString(dump) {
			t.Errorf("a bcrypt hash in rm.%s", tbl)
		}
		for name, v := range secrets {
			if strings.Contains(dump, v) {
				t.Errorf("the %s in rm.%s", name, tbl)
			}
		}
	}
}
