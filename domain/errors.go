package domain

import (
	"errors"
	"fmt"
	"time"
)

// Kind is the class of a domain error; the API maps each kind to one HTTP status and error type.
type Kind int

// The closed set of error kinds.
const (
	KindInvalid       Kind = iota + 1 // malformed or out-of-range input
	KindNotFound                      // the addressed thing does not exist
	KindConflict                      // the request conflicts with current state (e.g. concurrent change)
	KindForbidden                     // the caller may not do this
	KindUnprocessable                 // well-formed, but the state forbids it (e.g. delete a non-empty account)
	KindLimitExceeded                 // a quota of the guide would be exceeded
	KindThrottled                     // too many attempts: try again after Error.RetryAfter
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindForbidden:
		return "forbidden"
	case KindUnprocessable:
		return "unprocessable"
	case KindLimitExceeded:
		return "limit exceeded"
	case KindThrottled:
		return "throttled"
	}
	return "unknown"
}

// Error is a domain error: a kind and a message meant for the API caller.
type Error struct {
	Kind Kind
	Msg  string
	// Sentinel, when set, is the named error this one is an instance of (for errors.Is).
	Sentinel error
	// RetryAfter, for KindThrottled, is how long the caller must wait before trying again.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is match the sentinel.
func (e *Error) Unwrap() error { return e.Sentinel }

// Errorf builds an Error of kind k.
func Errorf(k Kind, format string, a ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, a...)}
}

// Wrapf builds an Error of the sentinel's kind with a specific message that still matches the sentinel.
func Wrapf(sentinel error, format string, a ...any) error {
	return &Error{Kind: KindOf(sentinel), Msg: fmt.Sprintf(format, a...), Sentinel: sentinel}
}

// RetryAfterOf returns how long a throttled caller must wait (0 when err is not throttled).
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) && e.Kind == KindThrottled {
		return e.RetryAfter
	}
	return 0
}

// KindOf returns the kind of err, or 0 when err is not a domain error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
