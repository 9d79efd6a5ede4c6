package sideeffects

import (
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
)

// idleBackoff paces the topics' polling: every busy interval while messages flow, every idle
// interval once no topic has had one for idleAfter — an idle server does not query Postgres twenty
// times a second per topic (a chat load shares the machine with those polls), and a message after a
// quiet spell waits at most idle. Errors are the default manager's (a deadlock retries at once,
// anything else after the retry interval).
type idleBackoff struct {
	errs                  wsql.BackoffManager
	busy, idle, idleAfter time.Duration
	last                  atomic.Int64 // unix ns of the last poll that found a message
}

func newIdleBackoff(busy, idle, idleAfter, retry time.Duration) *idleBackoff {
	b := &idleBackoff{errs: wsql.NewDefaultBackoffManager(busy, retry), busy: busy, idle: idle, idleAfter: idleAfter}
	b.last.Store(time.Now().UnixNano()) // start busy: a restart may find messages waiting
	return b
}

// HandleError implements wsql.BackoffManager.
func (b *idleBackoff) HandleError(logger watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	switch {
	case err != nil:
		return b.errs.HandleError(logger, noMsg, err)
	case !noMsg:
		b.last.Store(time.Now().UnixNano())
		return 0
	case time.Since(time.Unix(0, b.last.Load())) < b.idleAfter:
		return b.busy
	}
	return b.idle
}
