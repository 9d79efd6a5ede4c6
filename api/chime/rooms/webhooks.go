package rooms

import (
	"sync"
	"time"
)

// webhookLimiter allows one post per webhook per second (in this process).
type webhookLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// ready reports whether a post now would be allowed, without spending the rate (a post is checked
// before its content is sealed; allow spends it when the room accepts the post).
func (l *webhookLimiter) ready(id string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.last[id]
	return !ok || now.Sub(t) >= time.Second
}

func (l *webhookLimiter) allow(id string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	if t, ok := l.last[id]; ok && now.Sub(t) < time.Second {
		return false
	}
	if len(l.last) >= 10_000 {
		// Entries older than a second decide nothing any more (short-lived reply URLs come and go).
		for k, t := range l.last {
			if now.Sub(t) >= time.Second {
				delete(l.last, k)
			}
		}
	}
	l.last[id] = now
	return true
}
