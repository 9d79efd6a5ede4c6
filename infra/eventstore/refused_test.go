package eventstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/infra/eventstore"
)

// TestRefusalsOfTheLogAreInvalid: a stream name the event log refuses (over its 1,024 bytes, or
// holding a NUL) is the caller's input, not a failure of the service: loading it and appending to it
// are KindInvalid (400), never a kindless error (500), and nothing is appended.
func TestRefusalsOfTheLogAreInvalid(t *testing.T) {
	c := client(t)
	repo := eventstore.NewRepository(c, counter, nil)
	ctx := context.Background()
	for _, stream := range []string{"test.counter-" + strings.Repeat("x", 2000), "test.counter-\x00"} {
		if _, err := repo.Execute(ctx, stream, add{N: 1}); domain.KindOf(err) != domain.KindInvalid {
			t.Fatalf("append to %.20q...: %v (kind %v), want KindInvalid", stream, err, domain.KindOf(err))
		}
		if _, _, err := eventstore.NewRepository(c, counter, nil).Load(ctx, stream); domain.KindOf(err) != domain.KindInvalid {
			t.Fatalf("load %.20q...: %v (kind %v), want KindInvalid", stream, err, domain.KindOf(err))
		}
	}
}
