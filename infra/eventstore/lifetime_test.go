package eventstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/eventstore"
)

// TestCloseWaitsForWorkInFlight: a command whose caller gave up is still decided and appended on a
// goroutine of the repository's; closing the client waits for it (EventStore-Client-Go's Close is not
// safe with a call in flight), and work that would start after the close began fails with ErrClosing.
func TestCloseWaitsForWorkInFlight(t *testing.T) {
	c := client(t)
	repo := eventstore.NewRepository(c, counter, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := repo.ExecuteFunc(ctx, "test.counter-close-1", func(int, time.Time) ([]added, error) {
			close(entered)
			<-release
			return []added{{N: 1}}, nil
		})
		gaveUp <- err
	}()
	<-entered
	cancel() // the caller gives up; its command is decided all the same
	closed := make(chan error, 1)
	go func() { closed <- eventstore.Close(c, 10*time.Second) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned while a command was in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	<-gaveUp
	if _, err := repo.Execute(context.Background(), "test.counter-close-2", add{N: 1}); !errors.Is(err, eventstore.ErrClosing) {
		t.Fatalf("a command after Close: %v, want ErrClosing", err)
	}
}
