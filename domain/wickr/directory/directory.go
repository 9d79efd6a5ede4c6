// Package directory decides the uniqueness of names within a network: which owner (a user id) holds
// each username, on DirectoryShards streams "wickr.directory-<networkId>-<shard>" (see package wickr),
// and which network holds an SSO company id, on "wickr.companyid-<id>". A claim holds only the name
// and its owner, so a shard folds fast.
//
// Invariants: a name is held by at most one owner of a stream at a time; claiming a name again for
// its holder is a no-op (a replayed request completes), except for a company id claimed again at a
// newer generation of its network's SSO configuration, which records that generation; a released
// name may be claimed again.
//
// Generations order a company id's claims against the network's configurations, which live on
// another stream: a registration claims the id at the generation of the configuration it read
// (network.State.OIDCGeneration) and records its own configuration only if the network is still at
// that generation. A network that left the id at generation G releases it only if no claim of
// generation G or later holds it: such a claim belongs to a registration that read the network after
// it left the id and may be about to record it, while one of an older generation can no longer
// record anything.
package directory

import (
	"fmt"
	"strings"
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// Stream names and event types.
const (
	StreamPrefix   = "wickr.directory-"
	CompanyPrefix  = "wickr.companyid-"
	TypeReleased   = "wickr.directory.released.v1"
	TypeClaimsMade = "wickr.directory.claims_made.v1"
)

// ErrTaken is a name held by another owner; it names the field of the request.
var ErrTaken = &domain.Error{Kind: domain.KindInvalid, Msg: "name already taken"}

// StreamName is the directory shard of a normalized username in a network.
func StreamName(networkID, username string) string {
	return fmt.Sprintf("%s%s-%d", StreamPrefix, networkID, wickr.DirectoryShard(username))
}

// CompanyIDStream is the stream of an SSO company id (case-insensitive, unique across networks).
func CompanyIDStream(companyID string) string { return CompanyPrefix + strings.ToLower(companyID) }

// Event is the sealed set of directory events.
type Event interface{ EventType() string }

// Claim is one name and its owner.
type Claim struct {
	Name  string `json:"n"`
	Owner string `json:"o"`
}

// ClaimsMade records the claims of one batch (compact: a batch of users is one event per shard).
// Generation is a company id's: the generation of the network's SSO configuration the claim was made
// at (0 for usernames, and for claims stored before the field).
type ClaimsMade struct {
	Claims     []Claim   `json:"c"`
	Generation int       `json:"g,omitempty"`
	At         time.Time `json:"at"`
}

// Released records that an owner gave a name back.
type Released struct {
	Claim
	At time.Time `json:"at"`
}

// EventType implements Event.
func (ClaimsMade) EventType() string { return TypeClaimsMade }

// EventType implements Event.
func (Released) EventType() string { return TypeReleased }

// Events is the directory event table: every stored event type, listed once. Decode and the list of
// event-type names come from it.
var Events = domain.NewRegistry("directory",
	domain.Register[ClaimsMade, Event](TypeClaimsMade),
	domain.Register[Released, Event](TypeReleased),
)

// Decode turns a stored event back into an Event (Events.Decode).
func Decode(eventType string, data []byte) (Event, error) { return Events.Decode(eventType, data) }

// State maps the names of one stream to their owners, and the company ids to the generation they
// were claimed at (only those claimed with one).
type State struct {
	Owners      map[string]string
	Generations map[string]int
}

// Initial is an empty directory.
func Initial() State { return State{} }

// Command is the sealed set of directory commands.
type Command interface{ isDirectoryCommand() }

// ClaimNames claims names (normalized by the caller) for their owners; Fields names each claim's
// request member for the failure ("users[3].username"). Names held by others fail one by one.
// Generation, for a company id, is the generation of the owner's SSO configuration the claim is made
// at: a name its owner holds at an older generation is claimed again, at this one.
type ClaimNames struct {
	Claims     []Claim
	Fields     []string
	Generation int
}

// ReleaseNames gives names back; a name held by another owner (or by none) is left as it is, and so,
// when Before is set, is a company id claimed at generation Before or later (a registration made since
// the owner left it holds it).
type ReleaseNames struct {
	Claims []Claim
	Before int
}

func (ClaimNames) isDirectoryCommand()   {}
func (ReleaseNames) isDirectoryCommand() {}

// Failure is a claim that was refused.
type Failure struct {
	Claim Claim
	Err   error
}

// DecideClaims is Decide for ClaimNames with the refused claims: the event holds the claims made
// (and those its owner holds at an older generation, claimed again at c.Generation), and each refusal
// is a FieldError of sentinel ErrTaken.
func DecideClaims(s State, c ClaimNames, now time.Time) ([]Event, []Failure) {
	var made []Claim
	var failed []Failure
	seen := map[string]string{}
	for i, cl := range c.Claims {
		field := "name"
		if i < len(c.Fields) {
			field = c.Fields[i]
		}
		holder, held := s.Owners[cl.Name]
		if prev, dup := seen[cl.Name]; dup && prev != cl.Owner {
			held, holder = true, prev
		}
		switch {
		case held && holder != cl.Owner:
			failed = append(failed, Failure{cl, wickr.FieldErr(ErrTaken, field, "%s is already taken in this network", cl.Name)})
		case !held, holder == cl.Owner && c.Generation > s.Generations[cl.Name]:
			seen[cl.Name] = cl.Owner
			made = append(made, cl)
		}
	}
	if len(made) == 0 {
		return nil, failed
	}
	return []Event{ClaimsMade{Claims: made, Generation: c.Generation, At: now.UTC()}}, failed
}

// Decide applies a command; ClaimNames fails as a whole on its first refused claim (use DecideClaims
// for per-item outcomes).
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	switch c := c.(type) {
	case ClaimNames:
		evs, failed := DecideClaims(s, c, now)
		if len(failed) > 0 {
			return nil, failed[0].Err
		}
		return evs, nil
	case ReleaseNames:
		var evs []Event
		for _, cl := range c.Claims {
			if s.Owners[cl.Name] == cl.Owner && cl.Owner != "" && (c.Before == 0 || s.Generations[cl.Name] < c.Before) {
				evs = append(evs, Released{Claim: cl, At: now.UTC()})
			}
		}
		return evs, nil
	}
	return nil, fmt.Errorf("directory: unknown command %T", c)
}

// Evolve folds an event.
func Evolve(s State, e Event) State {
	if s.Owners == nil {
		s.Owners = map[string]string{}
	}
	switch e := e.(type) {
	case ClaimsMade:
		for _, c := range e.Claims {
			s.Owners[c.Name] = c.Owner
			switch {
			case e.Generation > 0 && s.Generations == nil:
				s.Generations = map[string]int{c.Name: e.Generation}
			case e.Generation > 0:
				s.Generations[c.Name] = e.Generation
			default:
				delete(s.Generations, c.Name)
			}
		}
	case Released:
		delete(s.Owners, e.Name)
		delete(s.Generations, e.Name)
	}
	return s
}
