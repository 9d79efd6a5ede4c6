// Package iampolicy evaluates IAM-style identity policies for Belfry's admin APIs.
//
// Invariants (AWS policy evaluation, reduced to what Chime supports — guide §13.2: no resource ARNs,
// no resource policies, no service condition keys): a request is allowed only if some statement
// allows its action and no statement denies it; an explicit Deny always wins; with no matching
// statement the answer is the implicit deny. Action patterns are "service:Action" with '*' and '?'
// wildcards, matched case-insensitively. Resources must be "*" (Chime has no resource ARNs).
package iampolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement.
type Statement struct {
	Sid       string       `json:"Sid,omitempty"`
	Effect    string       `json:"Effect"`
	Action    StringOrList `json:"Action,omitempty"`
	NotAction StringOrList `json:"NotAction,omitempty"`
	Resource  StringOrList `json:"Resource,omitempty"`
}

// StringOrList accepts a JSON string or an array of strings.
type StringOrList []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *StringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be a string or a list of strings")
	}
	*s = many
	return nil
}

// Validate checks the document's shape.
func (d Document) Validate() error {
	var errs []error
	if d.Version != "2012-10-17" && d.Version != "2008-10-17" {
		errs = append(errs, fmt.Errorf("Version must be 2012-10-17, got %q", d.Version))
	}
	if len(d.Statement) == 0 {
		errs = append(errs, errors.New("Statement must not be empty"))
	}
	for i, s := range d.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			errs = append(errs, fmt.Errorf("Statement[%d].Effect must be Allow or Deny, got %q", i, s.Effect))
		}
		if (len(s.Action) == 0) == (len(s.NotAction) == 0) {
			errs = append(errs, fmt.Errorf("Statement[%d] needs exactly one of Action and NotAction", i))
		}
		for _, a := range append(append([]string{}, s.Action...), s.NotAction...) {
			if a != "*" && !strings.Contains(a, ":") {
				errs = append(errs, fmt.Errorf("Statement[%d]: action %q must be service:Action", i, a))
			}
		}
	}
	return errors.Join(errs...)
}

// Decision is the outcome of an evaluation.
type Decision int

// The three outcomes.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

// Evaluate decides whether action (e.g. "chime:CreateAccount") is allowed by the documents. Every
// action is authorised on resource "*": an Allow whose Resource names only other resources never
// applies, and a Deny of that kind applies whatever resource it names (fail closed: a document stored
// before such statements were refused must not leave allowed what it says is denied). A statement
// whose Effect is not "Allow" counts as a Deny (Parse refuses any other Effect than Allow and Deny;
// one taken over unvalidated must not allow).
func Evaluate(docs []Document, action string) Decision {
	allowed := false
	for _, d := range docs {
		for _, s := range d.Statement {
			deny := s.Effect != "Allow" // an Effect never validated (not Allow or Deny) fails closed
			if !s.matches(action) || !deny && !s.onAnyResource() {
				continue
			}
			if deny {
				return ExplicitDeny
			}
			allowed = true
		}
	}
	if allowed {
		return Allow
	}
	return ImplicitDeny
}

// onAnyResource reports whether the statement covers resource "*" (no Resource, or one matching it).
func (s Statement) onAnyResource() bool { return len(s.Resource) == 0 || matchAny(s.Resource, "*") }

// matches reports whether the statement's Action (or NotAction) covers action.
func (s Statement) matches(action string) bool {
	if len(s.NotAction) > 0 {
		return !matchAny(s.NotAction, action)
	}
	return matchAny(s.Action, action)
}

func matchAny(patterns []string, v string) bool {
	for _, p := range patterns {
		if Match(p, v) {
			return true
		}
	}
	return false
}

// Match reports whether v matches the wildcard pattern p ('*' any run, '?' one character), ignoring case.
func Match(p, v string) bool {
	p, v = strings.ToLower(p), strings.ToLower(v)
	// Iterative glob match with backtracking on the last '*'.
	pi, vi, star, mark := 0, 0, -1, 0
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == v[vi]):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			vi = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
