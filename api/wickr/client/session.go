package client

import (
	"context"
	"time"

	chimeusecase "github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/roster"
)

// Me is the signed-in user as the client API answers it.
type Me struct {
	NetworkID, UserID, Username, GroupID, AppID string
	SSO                                         bool
	// GuestHash is a guest's username hash (NetworkID, UserID and GroupID are then empty).
	GuestHash string
	// DataRetention: the user's network archives every message (the client shows the notice).
	DataRetention bool
}

// Authenticate checks a session token: the session exists, an SSO session is renewed at its
// provider when due (within the grace period after a failure), and the roster, read now, says it is
// still open (roster.CheckSession). A session found over is deleted.
func (s *Service) Authenticate(ctx context.Context, token string) (Me, error) {
	hash := chimeusecase.HashToken(token)
	sess, err := s.d.Sessions.Lookup(ctx, hash)
	if domain.KindOf(err) == domain.KindNotFound {
		return Me{}, domain.Wrapf(roster.ErrSessionEnded, "the session is not valid: sign in")
	}
	if err != nil {
		return Me{}, err
	}
	if sess.GuestHash != "" {
		return guests{s}.authenticate(ctx, hash, sess)
	}
	p, err := s.policy(ctx, sess.NetworkID)
	if domain.KindOf(err) == domain.KindNotFound {
		_ = s.d.Sessions.Close(context.WithoutCancel(ctx), hash)
		return Me{}, domain.Wrapf(roster.ErrSessionEnded, "the network no longer exists")
	}
	if err != nil {
		return Me{}, err
	}
	if sess.SSO {
		if err := s.renew(ctx, hash, sess, p.OIDC); err != nil {
			return Me{}, err
		}
	}
	me, err := checkSession(ctx, s.d.Rosters, sess, p)
	if domain.KindOf(err) == domain.KindForbidden {
		_ = s.d.Sessions.Close(context.WithoutCancel(ctx), hash)
	}
	return me, err
}

// checkSession runs roster.CheckSession on a user's session against its roster block, read now
// through the command path, and answers the signed-in user. A session over is of kind Forbidden
// (roster.ErrSessionEnded), and only such: any other error is the check not made.
func checkSession(ctx context.Context, rosters usecase.Rosters, sess Session, p netPolicy) (Me, error) {
	var me Me
	_, err := rosters.Repo.ExecuteFunc(ctx, roster.StreamName(sess.NetworkID, sess.UserID), func(st roster.State, now time.Time) ([]roster.Event, error) {
		if err := roster.CheckSession(st, sess.Session, p.Policy, now); err != nil {
			return nil, err
		}
		u := st.Users[sess.UserID]
		me = Me{NetworkID: sess.NetworkID, UserID: u.ID, Username: u.Username, GroupID: u.GroupID, AppID: sess.AppID, SSO: sess.SSO,
			DataRetention: p.DataRetention}
		return nil, nil
	})
	if err != nil {
		return Me{}, err
	}
	return me, nil
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.d.Sessions.Close(ctx, chimeusecase.HashToken(token))
}
