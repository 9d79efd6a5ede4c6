package eventstore

import (
	"errors"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// Closing a client. EventStore-Client-Go v4's Client.Close is not safe while a call is in flight on
// another goroutine: it closes a channel the call sends on (a data race, or a panic). A repository's
// group commits and reads ahead run on goroutines of their own that may outlive their callers (a
// caller that gives up leaves its command to be decided and appended), so they mark their calls in
// flight here, and Close marks the client closing — work that has not started yet fails with
// ErrClosing —, waits for the work in flight, then closes it.

// ErrClosing is the error of a repository's work that would start on a client being closed.
var ErrClosing = errors.New("eventstore: the event store client is closing")

// uses holds, per client, its repositories' work in flight (*clientUse by *esdb.Client); a closed
// client's entry stays (a few bytes for each client a process ever closed).
var uses sync.Map

type clientUse struct {
	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup
}

func useOf(c *esdb.Client) *clientUse {
	u, _ := uses.LoadOrStore(c, &clientUse{})
	return u.(*clientUse)
}

// acquire marks one piece of work in flight on c, until done is called; ok is false (and done nil)
// once c is closing.
func acquire(c *esdb.Client) (done func(), ok bool) {
	u := useOf(c)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closing {
		return nil, false
	}
	u.wg.Add(1)
	return u.wg.Done, true
}

// Close closes c once the repositories' work in flight on it has ended, waiting at most wait for it
// (then it closes c all the same). Work that would start from now on fails with ErrClosing.
func Close(c *esdb.Client, wait time.Duration) error {
	u := useOf(c)
	u.mu.Lock()
	u.closing = true
	u.mu.Unlock()
	idle := make(chan struct{})
	go func() { u.wg.Wait(); close(idle) }()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
	return c.Close() // its entry stays: work that would start later fails with ErrClosing

}
