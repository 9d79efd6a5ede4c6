package messaging_test

import (
	"strings"
	"testing"

	"github.com/belfry/belfry/api/wickr/messaging"
	"github.com/belfry/belfry/domain/wickr"
)

// TestCheckUploadNamesTheField: hostile names and media types are refused naming the member; good
// ones come back normalised.
func TestCheckUploadNamesTheField(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		u     messaging.Upload
		field string
	}{
		{messaging.Upload{Name: "", ContentType: "text/plain"}, "Name"},
		{messaging.Upload{Name: "a\x00b.txt", ContentType: "text/plain"}, "Name"},
		{messaging.Upload{Name: "\xff\xfe.txt", ContentType: "text/plain"}, "Name"},
		{messaging.Upload{Name: "../etc/passwd", ContentType: "text/plain"}, "Name"},
		{messaging.Upload{Name: `a\b.txt`, ContentType: "text/plain"}, "Name"},
		{messaging.Upload{Name: "a\r\nb.txt", ContentType: "text/plain"}, "Name"},
		{messaging.Upload{Name: "..", ContentType: "text/plain"}, "Name"},
		{messaging.Upload{Name: strings.Repeat("é", 511), ContentType: "text/plain"}, "Name"},
		{messaging.Upload{Name: strings.Repeat("a", messaging.MaxFileName+1), ContentType: "text/plain"}, "Name"}, // MaxFileName is characters
		{messaging.Upload{Name: strings.Repeat("é", messaging.MaxFileName+1), ContentType: "text/plain"}, "Name"},
		{messaging.Upload{Name: "a.txt", ContentType: ""}, "Content-Type"},
		{messaging.Upload{Name: "a.txt", ContentType: "text/*"}, "Content-Type"},
		{messaging.Upload{Name: "a.txt", ContentType: "text"}, "Content-Type"},
		{messaging.Upload{Name: "a.txt", ContentType: "text/html; boundary=x"}, "Content-Type"},
	} {
		_, err := messaging.CheckUpload(c.u)
		if r := wickr.Reasons(err); len(r) != 1 || r[0].Field != c.field {
			t.Errorf("%q %q: %v, want a reason naming %s", c.u.Name, c.u.ContentType, err, c.field)
		}
	}
	if _, err := messaging.CheckUpload(messaging.Upload{Name: strings.Repeat("é", messaging.MaxFileName), ContentType: "text/plain"}); err != nil {
		t.Fatalf("a name of MaxFileName characters: %v", err)
	}
	u, err := messaging.CheckUpload(messaging.Upload{Name: "résumé 2026.pdf", ContentType: "Text/Plain; Charset=UTF-8"})
	if err != nil || u.ContentType != "text/plain; charset=UTF-8" || u.Name != "résumé 2026.pdf" {
		t.Fatalf("a good upload: %+v %v", u, err)
	}
}
