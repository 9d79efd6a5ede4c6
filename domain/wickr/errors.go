package wickr

import (
	"errors"
	"fmt"

	"github.com/belfry/belfry/domain"
)

// ErrValidation is the sentinel of every FieldError: errors.Is(err, ErrValidation) tells that the
// request broke a constraint of the model or a rule of the guide about one of its members.
var ErrValidation = &domain.Error{Kind: domain.KindInvalid, Msg: "validation error"}

// FieldError is a rejected member of a request: the Wickr API answers it with ValidationError (422)
// and reasons[{field, reason}], or, inside a batch, as a failed item with that field and reason.
//
// Field is the member's wire path in the model's camelCase, with indexes and nesting where the member
// is inside a list or structure ("users[3].username", "securityGroupSettings.calling.canVideoCall");
// Reason is a sentence for the caller. A FieldError unwraps to a *domain.Error, so domain.KindOf
// reports its kind (KindInvalid unless built with another kind) and errors.Is matches its sentinel
// (ErrValidation unless built with another one).
type FieldError struct {
	Field  string
	Reason string
	err    *domain.Error
}

func (e *FieldError) Error() string { return e.err.Msg }

// Unwrap exposes the domain error (its kind and sentinel).
func (e *FieldError) Unwrap() error { return e.err }

// Invalid is a FieldError of kind KindInvalid about field.
func Invalid(field, format string, a ...any) error {
	return FieldErr(ErrValidation, field, format, a...)
}

// FieldErr is a FieldError about field that matches sentinel and has its kind (e.g. a limit that the
// API answers as ValidationError but callers test with errors.Is against the package's sentinel).
func FieldErr(sentinel error, field, format string, a ...any) error {
	reason := fmt.Sprintf(format, a...)
	return &FieldError{Field: field, Reason: reason,
		err: &domain.Error{Kind: domain.KindOf(sentinel), Msg: field + ": " + reason, Sentinel: sentinel}}
}

// Reason is one {field, reason} entry of a ValidationError.
type Reason struct{ Field, Reason string }

// Reasons lists the FieldErrors inside err (one, or several joined with errors.Join), in order.
func Reasons(err error) []Reason {
	var out []Reason
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, Reason{fe.Field, fe.Reason})
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// Prefix re-roots the FieldErrors of err under a parent member ("users[2]" + "username" gives
// "users[2].username"); other errors are returned as they are.
func Prefix(parent string, err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range j.Unwrap() {
			errs = append(errs, Prefix(parent, e))
		}
		return errors.Join(errs...)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		return err
	}
	field := parent + "." + fe.Field
	return &FieldError{Field: field, Reason: fe.Reason,
		err: &domain.Error{Kind: fe.err.Kind, Msg: field + ": " + fe.Reason, Sentinel: fe.err.Sentinel}}
}
