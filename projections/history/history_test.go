package history_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/belfry/belfry/projections/history"
)

func TestResources(t *testing.T) {
	got := history.Resources("chime.account-7f1c", []byte(`{"accountId":"7f1c","userId":"u-1","userIds":["u-2","u-3","u-1"],
		"e164":"+12065550100","name":"not an id","nested":{"botId":"ignored"},"count":3,"roomID":"r-9","bad":"\u0000"}`))
	slices.Sort(got)
	want := []string{"+12065550100", "7f1c", "r-9", "u-1", "u-2", "u-3"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := history.Resources("chime.domain-example.com", []byte(`not json`)); !slices.Equal(got, []string{"example.com"}) {
		t.Fatalf("stream id alone: %v", got)
	}
	many := `{"userIds":["` + strings.Repeat(`x","`, 100) + `y"],"longId":"` + strings.Repeat("z", 300) + `","nulId":"a\u0000b"}`
	if got := history.Resources("s", []byte(many)); len(got) > history.MaxResourcesPerEvent || slices.ContainsFunc(got, func(s string) bool { return len(s) > 256 || strings.ContainsRune(s, 0) }) {
		t.Fatalf("bounds: %d resources", len(got))
	}
	if history.ResourceID("arn:aws:chime::123456789012:meeting/abc-1") != "abc-1" || history.ResourceID("u-1") != "u-1" {
		t.Fatal("ResourceID")
	}
}
