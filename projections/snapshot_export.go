package projections

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/domain"
)

// ExportOptions shape an export of a snapshot.
type ExportOptions struct {
	// Format is "jsonl" (default: one JSON object per row, columns in table order, values as
	// PostgreSQL's row_to_json writes them, times in UTC) or "csv" (a header row, then each value
	// as PostgreSQL's text form in UTC; NULL is an empty field).
	Format string
	// Column and Value narrow the export to the rows whose Column equals Value (--account ID:
	// account_id; --network ID: network_id); tables without that column are left out.
	Column, Value string
}

// redactedColumns are credentials: never exported, sealed or not (legacy plain PINs, password
// hashes and bot tokens, their sealed forms, invitation token hashes, sealed access-key secrets
// and message contents).
var redactedColumns = map[string]bool{
	"personal_pin": true, "pin": true, "pin_sealed": true, "password_hash": true, "password_sealed": true,
	"security_token": true, "token_sealed": true, "token_hash": true, "secret": true, "sealed": true,
}

// Exported is one file an export wrote.
type Exported struct {
	Table string `json:"Table"`
	File  string `json:"File"`
	Rows  int64  `json:"Rows"`
}

// Export writes every table of ready snapshot name into dir, one file per table
// (<table>.jsonl or <table>.csv), rows in primary-key order (text keys in byte order), so that two
// snapshots of the same instant export byte-identical files. Credential columns are left out.
func (s *Snapshots) Export(ctx context.Context, name, dir string, o ExportOptions) ([]Exported, error) {
	if o.Format == "" {
		o.Format = "jsonl"
	}
	if o.Format != "jsonl" && o.Format != "csv" {
		return nil, domain.Wrapf(ErrBadSnapshot, "format %q: use jsonl or csv", o.Format)
	}
	if _, err := s.Serving(ctx, name); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("projections: export directory: %w", err)
	}
	var tables []string
	for _, p := range s.ps {
		tables = append(tables, p.Tables()...)
	}
	sort.Strings(tables)
	var out []Exported
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL TimeZone = 'UTC'; SET LOCAL bytea_output = 'hex'; SET LOCAL extra_float_digits = 1"); err != nil {
			return err
		}
		for _, t := range tables {
			e, ok, err := exportTable(ctx, tx, SnapshotSchema(name), t, dir, o)
			if err != nil {
				return fmt.Errorf("projections: export %s: %w", t, err)
			}
			if ok {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

type column struct {
	name string
	text bool
}

// tableColumns returns a table's exported columns in table order and its primary-key columns.
func tableColumns(ctx context.Context, tx pgx.Tx, schema, table string) (cols, key []column, err error) {
	rows, err := tx.Query(ctx, `SELECT a.attname, a.atttypid = 'text'::regtype,
		coalesce(array_position(i.indkey::int2[], a.attnum) - array_lower(i.indkey::int2[], 1) + 1, 0)
		FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
		WHERE a.attrelid = ($1 || '.' || $2)::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, schema, table)
	if err != nil {
		return nil, nil, err
	}
	keyAt := map[int]column{}
	for rows.Next() {
		var c column
		var k int
		if err := rows.Scan(&c.name, &c.text, &k); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if k > 0 {
			keyAt[k] = c
		}
		if !redactedColumns[c.name] {
			cols = append(cols, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	for i := 1; i <= len(keyAt); i++ {
		key = append(key, keyAt[i])
	}
	if len(key) == 0 {
		key = cols // no primary key: every column
	}
	return cols, key, nil
}

// exportTable writes one table; ok is false when the narrowing column is not one of its own.
func exportTable(ctx context.Context, tx pgx.Tx, schema, table, dir string, o ExportOptions) (Exported, bool, error) {
	cols, key, err := tableColumns(ctx, tx, schema, table)
	if err != nil {
		return Exported{}, false, err
	}
	var names, order []string
	where, args := "", []any{}
	for _, c := range cols {
		names = append(names, pgx.Identifier{c.name}.Sanitize())
	}
	for _, c := range key {
		k := "x." + pgx.Identifier{c.name}.Sanitize()
		if c.text {
			k += ` COLLATE "C"`
		}
		order = append(order, k)
	}
	if o.Column != "" {
		found := false
		for _, c := range cols {
			found = found || c.name == o.Column
		}
		if !found {
			return Exported{}, false, nil
		}
		where, args = " WHERE "+pgx.Identifier{o.Column}.Sanitize()+"::text = $1", []any{o.Value}
	}
	from := "(SELECT " + strings.Join(names, ", ") + " FROM " + schema + "." + table + where + ") x"
	q := "SELECT row_to_json(x)::text FROM " + from + " ORDER BY " + strings.Join(order, ", ")
	if o.Format == "csv" {
		var texts []string
		for _, n := range names {
			texts = append(texts, "x."+n+"::text")
		}
		q = "SELECT " + strings.Join(texts, ", ") + " FROM " + from + " ORDER BY " + strings.Join(order, ", ")
	}
	file := filepath.Join(dir, table+"."+o.Format)
	n, err := writeRows(ctx, tx, q, args, file, cols, o.Format)
	return Exported{Table: table, File: file, Rows: n}, true, err
}

// writeRows runs q and writes its rows to file.
func writeRows(ctx context.Context, tx pgx.Tx, q string, args []any, file string, cols []column, format string) (int64, error) {
	f, err := os.Create(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<16)
	cw := csv.NewWriter(w)
	if format == "csv" {
		header := make([]string, len(cols))
		for i, c := range cols {
			header[i] = c.name
		}
		if err := cw.Write(header); err != nil {
			return 0, err
		}
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	vals := make([]*string, len(cols))
	rec := make([]string, len(cols))
	for rows.Next() {
		n++
		if format == "jsonl" {
			var line string
			if err := rows.Scan(&line); err != nil {
				return n, err
			}
			w.WriteString(line)
			w.WriteByte('\n')
			continue
		}
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		for i, v := range vals {
			rec[i] = ""
			if v != nil {
				rec[i] = *v
			}
		}
		if err := cw.Write(rec); err != nil {
			return n, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	if err := w.Flush(); err != nil {
		return n, err
	}
	return n, f.Close()
}
