package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	chimeusecase "github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/guest"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// Guests (guide §15): a person who registers with the client without an invitation gets a guest
// account in the guest network (§15.5) and signs in to it; a guest has no security group, so its
// password follows the default group's requirements. Whom a guest may reach is messaging's rule
// (conversation.Policy: only users whose group enables guest federation, in networks that have not
// blocked the guest); a guest session ends when the guest account is deleted.

// GuestPasswordRequirements are what a guest's password must meet (the default group's).
var GuestPasswordRequirements = sg.Defaults().PasswordRequirements

// guests are the guest use cases, over the slice's collaborators.
type guests struct{ s *Service }

// register creates the guest account of an e-mail address (guest.SelfRegister: one per
// address) and signs the device in.
func (g guests) register(ctx context.Context, email, password string, dev Device) (SignedIn, error) {
	username, err := wickr.NormalizeUsername("Email", email)
	if err != nil {
		return SignedIn{}, err
	}
	if err := roster.CheckPassword("Password", Shape(password), GuestPasswordRequirements); err != nil {
		return SignedIn{}, err
	}
	hash, err := usecase.HashPassword(password, g.s.d.PasswordCost)
	if err != nil {
		return SignedIn{}, err
	}
	uh := wickr.UsernameHash(username)
	sealed, err := g.s.d.Keys.SealFor(ctx, wickr.GuestTenant, wickr.GuestSubject(uh), hash)
	if err != nil {
		return SignedIn{}, err
	}
	d, _, err := g.s.d.Guests.Command(guest.StreamName(username), guest.SelfRegister{Username: username, Password: sealed}).Do(ctx)
	if err != nil {
		return SignedIn{}, err
	}
	for _, e := range d.Events {
		if e, ok := e.(guest.Registered); ok {
			return g.open(ctx, uh, dev, e.At)
		}
	}
	return SignedIn{}, fmt.Errorf("wickr client: the guest registration of %s decided no Registered", uh)
}

// signIn signs a guest in by e-mail address and password, with the same throttling and the
// same bcrypt work for an unknown address as a user's sign-in.
func (g guests) signIn(ctx context.Context, email, password string, dev Device, sourceIP string) (SignedIn, error) {
	now := g.s.d.Now()
	key := "guest\x00" + strings.ToLower(strings.TrimSpace(email))
	end, err := g.s.guard.begin(key, sourceIP, now)
	if err != nil {
		return SignedIn{}, err
	}
	failed := false
	defer func() { end(failed) }()
	var hash []byte
	uh := ""
	if username, err := wickr.NormalizeUsername("Email", email); err == nil {
		st, _, err := g.s.d.Guests.Repo.Load(ctx, guest.StreamName(username))
		if err != nil && domain.KindOf(err) != domain.KindNotFound {
			return SignedIn{}, err
		}
		if st.Live {
			h, err := g.s.d.Keys.OpenSealed(ctx, st.Password)
			if err != nil && !errors.Is(err, domain.ErrShredded) {
				return SignedIn{}, err
			}
			hash, uh = h, st.UsernameHash
		}
	}
	against := "user"
	if hash == nil {
		hash, against = g.s.guard.dummy(), "dummy"
	}
	g.s.guard.checks.WithLabelValues(against).Inc()
	if !usecase.CheckPassword(hash, password) || against == "dummy" {
		failed = true
		return SignedIn{}, domain.Wrapf(ErrSignIn, "the e-mail address or the password is wrong")
	}
	g.s.guard.byEmail.Reset(key)
	return g.open(ctx, uh, dev, now)
}

func (g guests) open(ctx context.Context, usernameHash string, dev Device, at time.Time) (SignedIn, error) {
	raw, hash := chimeusecase.NewToken()
	sess := Session{Session: roster.Session{AppID: dev.AppID, IssuedAt: at}, GuestHash: usernameHash}
	if err := g.s.d.Sessions.Open(ctx, hash, sess, MaxSessionsPerDevice); err != nil {
		return SignedIn{}, err
	}
	return SignedIn{Token: raw, GuestHash: usernameHash}, nil
}

// account reads the guest account of a session, read now from the log: its state is not Live when
// it no longer exists (or never did); an error only when it could not be read.
func (g guests) account(ctx context.Context, usernameHash string) (guest.State, error) {
	st, _, err := g.s.d.Guests.Repo.Load(ctx, guest.StreamPrefix+usernameHash)
	if domain.KindOf(err) == domain.KindNotFound {
		return guest.State{}, nil
	}
	return st, err
}

// authenticate checks a guest session: the guest account still exists.
func (g guests) authenticate(ctx context.Context, hash string, sess Session) (Me, error) {
	st, err := g.account(ctx, sess.GuestHash)
	if err != nil {
		return Me{}, err
	}
	if !st.Live {
		_ = g.s.d.Sessions.Close(context.WithoutCancel(ctx), hash)
		return Me{}, domain.Wrapf(roster.ErrSessionEnded, "the guest account no longer exists")
	}
	return Me{GuestHash: st.UsernameHash, Username: st.Username, AppID: sess.AppID}, nil
}
