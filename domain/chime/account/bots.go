package account

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
)

// Bot limits and names (guide §11.2).
const (
	MaxBots              = 10
	MaxBotDisplayName    = 55
	BotEmailSuffix       = "-chimebot@"
	TypeBotCreated       = "chime.account.bot_created.v1"
	TypeBotUpdated       = "chime.account.bot_updated.v1"
	TypeBotTokenChanged  = "chime.account.bot_token_regenerated.v1"
	TypeBotEventsSet     = "chime.account.bot_events_configured.v1"
	TypeBotEventsDeleted = "chime.account.bot_events_configuration_deleted.v1"
	BotTypeChatBot       = "ChatBot"
	// MaxBotTarget bounds an events target (Lambda ARN or HTTPS endpoint, in bytes): an unbounded one
	// let the event exceed the event store's append limit (JSON escapes a '<' as six bytes), a 500.
	MaxBotTarget = 2048
)

// Bot sentinels.
var (
	ErrBotLimit      = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "bot limit reached"}
	ErrInvalidBot    = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid bot"}
	ErrBotNotFound   = &domain.Error{Kind: domain.KindNotFound, Msg: "bot not found"}
	ErrNoEventConfig = &domain.Error{Kind: domain.KindNotFound, Msg: "no events configuration"}
)

// Bot is a chat bot of an Enterprise account; it is never deleted, only disabled (its security token
// is shredded with the account).
type Bot struct {
	ID, UserID, DisplayName, Email string
	Disabled                       bool
	CreatedAt, UpdatedAt           time.Time
	LambdaARN, HTTPSEndpoint       string
	HasEvents                      bool
}

// BotCreated records a new bot; its name and e-mail never change. The security token (the HMAC key
// of its events) is sealed under the bot's key.
type BotCreated struct {
	BotID         string        `json:"botId"`
	UserID        string        `json:"userId"`
	DisplayName   string        `json:"displayName"`
	Email         string        `json:"email"`
	SecurityToken domain.Sealed `json:"sealedSecurityToken,omitzero"`
	// LegacySecurityToken is the plain token of events stored before tokens were sealed (decoded,
	// never written).
	LegacySecurityToken string    `json:"securityToken,omitempty"`
	At                  time.Time `json:"at"`
}

// BotUpdated records a bot being enabled or disabled.
type BotUpdated struct {
	BotID    string    `json:"botId"`
	Disabled bool      `json:"disabled"`
	At       time.Time `json:"at"`
}

// BotTokenRegenerated records a new HMAC key for the bot's events, sealed under the bot's key.
type BotTokenRegenerated struct {
	BotID         string        `json:"botId"`
	SecurityToken domain.Sealed `json:"sealedSecurityToken,omitzero"`
	// LegacySecurityToken is the plain token of events stored before tokens were sealed (decoded,
	// never written).
	LegacySecurityToken string    `json:"securityToken,omitempty"`
	At                  time.Time `json:"at"`
}

// BotEventsConfigured records a verified events configuration.
type BotEventsConfigured struct {
	BotID         string `json:"botId"`
	LambdaARN     string `json:"lambdaArn,omitempty"`
	HTTPSEndpoint string `json:"httpsEndpoint,omitempty"`
}

// BotEventsConfigurationDeleted records the removal of the events configuration.
type BotEventsConfigurationDeleted struct {
	BotID string `json:"botId"`
}

func (BotCreated) EventType() string                    { return TypeBotCreated }
func (BotUpdated) EventType() string                    { return TypeBotUpdated }
func (BotTokenRegenerated) EventType() string           { return TypeBotTokenChanged }
func (BotEventsConfigured) EventType() string           { return TypeBotEventsSet }
func (BotEventsConfigurationDeleted) EventType() string { return TypeBotEventsDeleted }

func (BotCreated) isAccountEvent()                    {}
func (BotUpdated) isAccountEvent()                    {}
func (BotTokenRegenerated) isAccountEvent()           {}
func (BotEventsConfigured) isAccountEvent()           {}
func (BotEventsConfigurationDeleted) isAccountEvent() {}

// CreateBot registers a bot; Domain empty means the account's first verified domain. SecurityToken
// is sealed under the bot's key.
type CreateBot struct {
	AccountID, BotID, UserID, DisplayName, Domain string
	SecurityToken                                 domain.Sealed
}

// UpdateBot enables or disables a bot.
type UpdateBot struct {
	AccountID, BotID string
	Disabled         bool
}

// RegenerateBotToken replaces the bot's security token (sealed under the bot's key).
type RegenerateBotToken struct {
	AccountID, BotID string
	SecurityToken    domain.Sealed
}

// PutBotEvents stores an events configuration that the service has verified (challenge or dry run).
type PutBotEvents struct{ AccountID, BotID, LambdaARN, HTTPSEndpoint string }

// DeleteBotEvents removes the events configuration.
type DeleteBotEvents struct{ AccountID, BotID string }

func (c CreateBot) Target() string          { return c.AccountID }
func (c UpdateBot) Target() string          { return c.AccountID }
func (c RegenerateBotToken) Target() string { return c.AccountID }
func (c PutBotEvents) Target() string       { return c.AccountID }
func (c DeleteBotEvents) Target() string    { return c.AccountID }

// ValidateBotName checks the display name: 1–55 letters, digits or symbols such as + - %, no spaces.
func ValidateBotName(name string) error {
	n := utf8.RuneCountInString(name)
	if n < 1 || n > MaxBotDisplayName {
		return domain.Wrapf(ErrInvalidBot, "DisplayName must be 1-%d characters, got %d", MaxBotDisplayName, n)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '@' || r == '"' || r == ',' || r == ';' || r == '<' || r == '>' {
			return domain.Wrapf(ErrInvalidBot, "DisplayName %q may contain only letters, digits and symbols such as + - %% (no spaces, '@', quotes, commas)", name)
		}
	}
	return nil
}

// ValidateBotTarget checks the size of an events target (its verification is the caller's).
func ValidateBotTarget(lambdaARN, httpsEndpoint string) error {
	if len(lambdaARN) > MaxBotTarget || len(httpsEndpoint) > MaxBotTarget {
		return domain.Wrapf(ErrInvalidBot, "LambdaFunctionArn and OutboundEventsHTTPSEndpoint must be at most %d characters", MaxBotTarget)
	}
	return nil
}

func (s State) bot(id string) (*Bot, error) {
	b, ok := s.Bots[id]
	if !ok {
		return nil, domain.Wrapf(ErrBotNotFound, "bot %s does not exist in account %s", id, s.ID)
	}
	return b, nil
}

func (c CreateBot) decide(s State, now time.Time) ([]Event, error) {
	if s.Type == TypeTeam {
		return nil, domain.Wrapf(ErrWrongAccount, "bots are available in Enterprise accounts; account %s is a Team account (claim a domain first)", s.ID)
	}
	if len(s.Bots) >= MaxBots {
		return nil, domain.Wrapf(ErrBotLimit, "account %s already has %d bots, the most an Enterprise account may have", s.ID, MaxBots)
	}
	if err := ValidateBotName(c.DisplayName); err != nil {
		return nil, err
	}
	dom := strings.ToLower(c.Domain)
	verified := s.verifiedDomains()
	if dom == "" && len(verified) > 0 {
		dom = verified[0]
	}
	if !slices.Contains(verified, dom) {
		return nil, domain.Wrapf(ErrInvalidBot, "Domain %q is not a verified domain of account %s (verified: %s)", c.Domain, s.ID, strings.Join(verified, ", "))
	}
	email := c.DisplayName + BotEmailSuffix + dom
	for _, b := range s.Bots {
		if strings.EqualFold(b.Email, email) {
			return nil, domain.Wrapf(ErrInvalidBot, "a bot with the e-mail %s already exists", email)
		}
	}
	if err := checkSealed(s.ID, BotKeySubject(c.BotID), "SecurityToken", c.SecurityToken); err != nil {
		return nil, err
	}
	return []Event{BotCreated{BotID: c.BotID, UserID: c.UserID, DisplayName: c.DisplayName, Email: email, SecurityToken: c.SecurityToken, At: now.UTC()}}, nil
}

func (c UpdateBot) decide(s State, now time.Time) ([]Event, error) {
	b, err := s.bot(c.BotID)
	if err != nil || b.Disabled == c.Disabled {
		return nil, err
	}
	return []Event{BotUpdated{BotID: c.BotID, Disabled: c.Disabled, At: now.UTC()}}, nil
}

func (c RegenerateBotToken) decide(s State, now time.Time) ([]Event, error) {
	if _, err := s.bot(c.BotID); err != nil {
		return nil, err
	}
	if err := checkSealed(s.ID, BotKeySubject(c.BotID), "SecurityToken", c.SecurityToken); err != nil {
		return nil, err
	}
	return []Event{BotTokenRegenerated{BotID: c.BotID, SecurityToken: c.SecurityToken, At: now.UTC()}}, nil
}

func (c PutBotEvents) decide(s State, _ time.Time) ([]Event, error) {
	if _, err := s.bot(c.BotID); err != nil {
		return nil, err
	}
	if c.LambdaARN == "" && c.HTTPSEndpoint == "" {
		return nil, domain.Wrapf(ErrInvalidBot, "give LambdaFunctionArn or OutboundEventsHTTPSEndpoint")
	}
	if err := ValidateBotTarget(c.LambdaARN, c.HTTPSEndpoint); err != nil {
		return nil, err
	}
	return []Event{BotEventsConfigured{BotID: c.BotID, LambdaARN: c.LambdaARN, HTTPSEndpoint: c.HTTPSEndpoint}}, nil
}

func (c DeleteBotEvents) decide(s State, _ time.Time) ([]Event, error) {
	b, err := s.bot(c.BotID)
	if err != nil {
		return nil, err
	}
	if !b.HasEvents {
		return nil, nil
	}
	return []Event{BotEventsConfigurationDeleted{BotID: c.BotID}}, nil
}

func (s State) verifiedDomains() []string {
	var out []string
	for name, d := range s.Domains {
		if d.Status == DomainStatusVerified {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func evolveBots(s *State, e Event) {
	if s.Bots == nil {
		s.Bots = map[string]*Bot{}
	}
	switch e := e.(type) {
	case BotCreated:
		s.Bots[e.BotID] = &Bot{ID: e.BotID, UserID: e.UserID, DisplayName: e.DisplayName, Email: e.Email,
			CreatedAt: e.At, UpdatedAt: e.At}
	case BotUpdated:
		if b, ok := s.Bots[e.BotID]; ok {
			b.Disabled, b.UpdatedAt = e.Disabled, e.At
		}
	case BotTokenRegenerated:
		if b, ok := s.Bots[e.BotID]; ok {
			b.UpdatedAt = e.At
		}
	case BotEventsConfigured:
		if b, ok := s.Bots[e.BotID]; ok {
			b.LambdaARN, b.HTTPSEndpoint, b.HasEvents = e.LambdaARN, e.HTTPSEndpoint, true
		}
	case BotEventsConfigurationDeleted:
		if b, ok := s.Bots[e.BotID]; ok {
			b.LambdaARN, b.HTTPSEndpoint, b.HasEvents = "", "", false
		}
	}
}
