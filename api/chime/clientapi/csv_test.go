package clientapi_test

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/chime/clientapi"
)

// TestCSVDefusesFormulasAndKeepsNumbers: cells a spreadsheet would evaluate are written with a
// leading apostrophe, phone numbers and plain text as they are, and the file name survives any
// characters.
func TestCSVDefusesFormulasAndKeepsNumbers(t *testing.T) {
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
	cells := []string{`=HYPERLINK("http://evil.example","x")`, "+12065550100", "-42", "+1+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "plain, \"quoted\"", ""}
	if err := clientapi.CSV(c, `a"b;c/ü.csv`, []string{"v"}, [][]string{cells}); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(rec.Body.String()))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%v %q", err, rec.Body.String())
	}
	want := []string{`'=HYPERLINK("http://evil.example","x")`, "+12065550100", "-42", "'+1+cmd|' /C calc'!A0", "'@SUM(A1)", "'\tx", "plain, \"quoted\"", ""}
	for i, w := range want {
		if rows[1][i] != w {
			t.Errorf("cell %d: %q, want %q", i, rows[1][i], w)
		}
	}
	if d := rec.Header().Get("Content-Disposition"); d != `attachment; filename=a_b_c__.csv; filename*=UTF-8''a%22b%3Bc%2F%C3%BC.csv` {
		t.Fatalf("Content-Disposition %q", d)
	}
}
