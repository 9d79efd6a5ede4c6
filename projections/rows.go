package projections

import (
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// maxRowsPerInsert bounds the rows of one multi-row INSERT queueRows sends (and so the statement
// texts per table: one per power of two up to it).
const maxRowsPerInsert = 64

// insertTexts caches the INSERT statement of (table, columns, rows).
var insertTexts sync.Map

// queueRows queues rows into table as INSERT … ON CONFLICT DO NOTHING statements of a power of two
// rows each (64, 32, … 1), so a batch of any size is a handful of statements whose texts repeat and
// are prepared once. Each row holds one value per column, in cols' order.
func queueRows(b *pgx.Batch, table string, cols []string, rows [][]any) {
	chunk := maxRowsPerInsert
	for chunk > 1 && chunk*len(cols) > 65535 {
		chunk /= 2
	}
	for len(rows) > 0 {
		n := chunk
		for n > len(rows) {
			n /= 2
		}
		args := make([]any, 0, n*len(cols))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		b.Queue(insertText(table, cols, n), args...)
		rows = rows[n:]
	}
}

func insertText(table string, cols []string, n int) string {
	key := table + "\x00" + strings.Join(cols, ",") + "\x00" + strconv.Itoa(n)
	if s, ok := insertTexts.Load(key); ok {
		return s.(string)
	}
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	p := 1
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for j := range cols {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(p))
			p++
		}
		sb.WriteByte(')')
	}
	sb.WriteString(" ON CONFLICT DO NOTHING")
	s, _ := insertTexts.LoadOrStore(key, sb.String())
	return s.(string)
}
