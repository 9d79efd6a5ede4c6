package network

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// Bot statuses (model BotStatus) and bounds.
const (
	BotPending        = 1
	BotActive         = 2
	MaxBotUsername    = 64
	MaxBotDisplayName = 256
)

// ErrBotUsernameTaken is a bot username already used in the network.
var ErrBotUsernameTaken = &domain.Error{Kind: domain.KindInvalid, Msg: "bot username already used"}

// ErrBotSuspended is a suspended bot trying to sign in.
var ErrBotSuspended = &domain.Error{Kind: domain.KindForbidden, Msg: "the bot is suspended"}

// A bot's username ends in "bot" (model: "For bots, this must end in 'bot'") and holds letters,
// digits, periods, hyphens and underscores — never "@", so that it cannot be a user's e-mail address.
var botUsername = regexp.MustCompile(`^[a-z0-9._-]+bot$`)

// Bot is a bot account of the network.
type Bot struct {
	ID, Username, DisplayName, GroupID string
	Status                             int
	Suspended                          bool
	Challenge                          domain.Sealed
	LastLogin                          time.Time
}

// CreateBot creates a bot (CreateBot): pending until it signs in.
type CreateBot struct {
	NetworkID, BotID, Username, DisplayName, GroupID string
	Challenge                                        domain.Sealed
}

// UpdateBot changes what it sets (UpdateBot): nil members are unchanged.
type UpdateBot struct {
	NetworkID, BotID     string
	DisplayName, GroupID *string
	Challenge            *domain.Sealed
	Suspend              *bool
}

// DeleteBot deletes a bot.
type DeleteBot struct{ NetworkID, BotID string }

// ActivateBot records a bot's sign-in (the client API checked its challenge): pending bots become active.
type ActivateBot struct{ NetworkID, BotID string }

func (c CreateBot) target() string   { return c.NetworkID }
func (c UpdateBot) target() string   { return c.NetworkID }
func (c DeleteBot) target() string   { return c.NetworkID }
func (c ActivateBot) target() string { return c.NetworkID }

// NormalizeBotUsername validates a bot username and returns it lower-cased.
func NormalizeBotUsername(field, username string) (string, error) {
	u := strings.ToLower(strings.TrimSpace(username))
	switch {
	case u == "":
		return "", wickr.Invalid(field, "is required")
	case len(u) > MaxBotUsername:
		return "", wickr.Invalid(field, "must be at most %d characters", MaxBotUsername)
	case !botUsername.MatchString(u):
		return "", wickr.Invalid(field, "must end in \"bot\" and hold only letters, digits, periods, hyphens and underscores, got %q", username)
	}
	return u, nil
}

func validDisplayName(field, name string) error {
	if utf8.RuneCountInString(name) > MaxBotDisplayName {
		return wickr.Invalid(field, "must be at most %d characters", MaxBotDisplayName)
	}
	return nil
}

// Bot returns a bot of the network.
func (s State) Bot(id string) (*Bot, error) {
	b, ok := s.Bots[id]
	if !ok {
		return nil, domain.Wrapf(ErrBotNotFound, "Bot %s not found in network %s", id, s.ID)
	}
	return b, nil
}

func (s State) botIDs() []string {
	ids := make([]string, 0, len(s.Bots))
	for id := range s.Bots {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func decideBots(s State, c Command, now time.Time) ([]Event, bool, error) {
	switch c := c.(type) {
	case CreateBot:
		evs, err := decideCreateBot(s, c, now)
		return evs, true, err
	case UpdateBot:
		evs, err := decideUpdateBot(s, c, now)
		return evs, true, err
	case DeleteBot:
		if _, err := s.Bot(c.BotID); err != nil {
			return nil, true, err
		}
		return []Event{BotDeleted{BotID: c.BotID, At: now}}, true, nil
	case ActivateBot:
		b, err := s.Bot(c.BotID)
		if err != nil {
			return nil, true, err
		}
		if b.Suspended {
			return nil, true, domain.Wrapf(ErrBotSuspended, "bot %s is suspended", b.ID)
		}
		return []Event{BotSignedIn{BotID: b.ID, At: now}}, true, nil
	}
	return nil, false, nil
}

func decideCreateBot(s State, c CreateBot, now time.Time) ([]Event, error) {
	if err := wickr.ValidNumericID("botId", c.BotID); err != nil {
		return nil, err
	}
	username, err := NormalizeBotUsername("username", c.Username)
	if err != nil {
		return nil, err
	}
	if err := validDisplayName("displayName", c.DisplayName); err != nil {
		return nil, err
	}
	if _, ok := s.Groups[c.GroupID]; !ok {
		return nil, wickr.Invalid("groupId", "security group %q does not exist in network %s", c.GroupID, s.ID)
	}
	if err := wickr.CheckSealed(s.ID, wickr.BotSubject(c.BotID), "challenge", c.Challenge); err != nil {
		return nil, err
	}
	if b, ok := s.Bots[c.BotID]; ok {
		if b.Username == username {
			return nil, nil // the same request again
		}
		return nil, domain.Errorf(domain.KindConflict, "bot %s already exists", c.BotID)
	}
	for _, b := range s.Bots {
		if b.Username == username {
			return nil, wickr.FieldErr(ErrBotUsernameTaken, "username", "bot username %s is already used in network %s", username, s.ID)
		}
	}
	return []Event{BotCreated{BotID: c.BotID, Username: username, DisplayName: c.DisplayName, GroupID: c.GroupID, Challenge: c.Challenge, At: now}}, nil
}

func decideUpdateBot(s State, c UpdateBot, now time.Time) ([]Event, error) {
	b, err := s.Bot(c.BotID)
	if err != nil {
		return nil, err
	}
	display, group := b.DisplayName, b.GroupID
	if c.DisplayName != nil {
		if err := validDisplayName("displayName", *c.DisplayName); err != nil {
			return nil, err
		}
		display = *c.DisplayName
	}
	if c.GroupID != nil {
		if _, ok := s.Groups[*c.GroupID]; !ok {
			return nil, wickr.Invalid("groupId", "security group %q does not exist in network %s", *c.GroupID, s.ID)
		}
		group = *c.GroupID
	}
	var evs []Event
	if display != b.DisplayName || group != b.GroupID {
		evs = append(evs, BotUpdated{BotID: b.ID, DisplayName: display, GroupID: group, At: now})
	}
	if c.Challenge != nil {
		if err := wickr.CheckSealed(s.ID, wickr.BotSubject(b.ID), "challenge", *c.Challenge); err != nil {
			return nil, err
		}
		evs = append(evs, BotChallengeChanged{BotID: b.ID, Challenge: *c.Challenge, At: now})
	}
	if c.Suspend != nil && *c.Suspend != b.Suspended {
		if *c.Suspend {
			evs = append(evs, BotSuspended{BotID: b.ID, At: now})
		} else {
			evs = append(evs, BotUnsuspended{BotID: b.ID, At: now})
		}
	}
	return evs, nil
}

func evolveBots(s *State, e Event) bool {
	switch e := e.(type) {
	case BotCreated:
		s.Bots[e.BotID] = &Bot{ID: e.BotID, Username: e.Username, DisplayName: e.DisplayName, GroupID: e.GroupID, Status: BotPending, Challenge: e.Challenge}
	case BotUpdated:
		b := s.Bots[e.BotID]
		b.DisplayName, b.GroupID = e.DisplayName, e.GroupID
	case BotChallengeChanged:
		s.Bots[e.BotID].Challenge = e.Challenge
	case BotSuspended:
		s.Bots[e.BotID].Suspended = true
	case BotUnsuspended:
		s.Bots[e.BotID].Suspended = false
	case BotSignedIn:
		b := s.Bots[e.BotID]
		b.Status, b.LastLogin = BotActive, e.At
	case BotDeleted:
		delete(s.Bots, e.BotID)
	default:
		return false
	}
	return true
}
