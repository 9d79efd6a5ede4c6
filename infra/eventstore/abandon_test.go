package eventstore_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/eventstore"
)

// TestAbandonedCommandIsNeverDecided: a command whose caller gave up (its context ended) while it
// waited behind another group is not decided afterwards: its decision function (a closure over the
// caller's variables) never runs once ExecuteFunc has returned, and it appends nothing.
func TestAbandonedCommandIsNeverDecided(t *testing.T) {
	repo := eventstore.NewRepository(client(t), counter, nil)
	stream := "test.counter-abandon-1"
	release := make(chan struct{})
	entered := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := repo.ExecuteFunc(context.Background(), stream, func(int, time.Time) ([]added, error) {
			close(entered)
			<-release
			return []added{{N: 1}}, nil
		})
		first <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	second := make(chan error, 1)
	go func() {
		_, err := repo.ExecuteFunc(ctx, stream, func(int, time.Time) ([]added, error) {
			ran.Store(true)
			return []added{{N: 100}}, nil
		})
		second <- err
	}()
	time.Sleep(50 * time.Millisecond) // the second command queues behind the first
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned command: %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	res, err := repo.Execute(context.Background(), stream, add{N: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ran.Load() || res.State != 3 {
		t.Fatalf("an abandoned command was decided after its caller returned (ran %v, state %d)", ran.Load(), res.State)
	}
}

// TestCallerReturnsOnlyAfterItsDecision: a caller that gives up while its decision runs (in the
// goroutine serving the group after the one it queued behind) returns only once the decision is over,
// so what the decision wrote into the caller's variables is settled (the race detector checks the
// read below).
func TestCallerReturnsOnlyAfterItsDecision(t *testing.T) {
	repo := eventstore.NewRepository(client(t), counter, nil)
	stream := "test.counter-abandon-2"
	release := make(chan struct{})
	entered := make(chan struct{})
	go func() {
		_, _ = repo.ExecuteFunc(context.Background(), stream, func(int, time.Time) ([]added, error) {
			close(entered)
			<-release
			return []added{{N: 1}}, nil
		})
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	deciding := make(chan struct{})
	go func() {
		time.Sleep(50 * time.Millisecond) // the second command queues behind the first
		close(release)
		<-deciding
		cancel()
	}()
	written := 0
	_, err := repo.ExecuteFunc(ctx, stream, func(int, time.Time) ([]added, error) {
		close(deciding)
		time.Sleep(100 * time.Millisecond)
		written = 1
		return nil, errInvalid
	})
	if written != 1 {
		t.Fatalf("the caller returned (%v) while its decision still ran", err)
	}
	// A command queued behind the abandoned one ends after its group did (the log stays open until then).
	if _, err := repo.Execute(context.Background(), stream, add{N: 2}); err != nil {
		t.Fatal(err)
	}
}
