// Package devices is the slice of users' devices (guide §14.2–14.3): ListDevicesForUser and
// BatchResetDevicesForUser.
//
// A device is registered when its user registers or signs in from it (domain/wickr/roster); an admin
// may reset it, and a reset device must sign in again, which makes it Active again. Device
// suspension was removed from the console (December 2025): suspend is always false. Reads come from
// the users read model's devices table (projections/wickrusers); a user has few devices, so a page
// is cut from the user's whole list, sorted here.
package devices

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/roster"
	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/wickrusers"
)

// Store reads users and their devices (wickrusers.Store implements it).
type Store interface {
	User(ctx context.Context, networkID, userID string) (wickrusers.User, error)
	Devices(ctx context.Context, networkID, userID string) ([]wickrusers.Device, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Networks usecase.Networks
	Rosters  usecase.Rosters
	Store    Store
}

// Service runs the devices' use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service { return &Service{d: d} }

// Page is a page request over a user's devices: sort fields (lastlogin, type, suspend, created),
// direction, nextToken, size.
type Page struct {
	Sort      []string
	Desc      bool
	NextToken string
	Limit     int
}

// Sorts are the devices' sort fields (the model's sortFields values).
var Sorts = []string{"lastlogin", "type", "suspend", "created"}

func compareBy(field string, a, b wickrusers.Device) int {
	switch field {
	case "type":
		return strings.Compare(a.Type, b.Type)
	case "created":
		return a.Created.Compare(b.Created)
	case "suspend":
		return 0 // no device is suspended
	}
	return a.LastLogin.Compare(b.LastLogin)
}

// ListDevicesForUser returns a page of a user's devices.
func (s *Service) ListDevicesForUser(ctx context.Context, awsAccountID, region, networkID, userID string, p Page) ([]wickrusers.Device, string, error) {
	if err := s.ownUser(ctx, awsAccountID, region, networkID, userID); err != nil {
		return nil, "", err
	}
	sort := strings.Join(p.Sort, "+") + map[bool]string{true: " DESC", false: " ASC"}[p.Desc]
	k, err := projections.DecodeKeyset(p.NextToken, sort)
	if err != nil {
		return nil, "", wickr.Invalid("nextToken", "%v", err)
	}
	all, err := s.d.Store.Devices(ctx, networkID, userID)
	if err != nil {
		return nil, "", err
	}
	return pageOf(all, p, sort, k)
}

// pageOf cuts one page from a user's whole device list. The token carries the last row's sort values
// and app id, and the page holds the devices strictly after that position in the order, so a device
// added, removed, reset or signed in between two pages is neither skipped nor repeated (a row whose
// sort value changed moves, as in any keyset list; the others keep their places). A token whose
// values do not parse is refused.
func pageOf(all []wickrusers.Device, p Page, sort string, k *projections.Keyset) ([]wickrusers.Device, string, error) {
	order := func(a, b wickrusers.Device) int {
		c := 0
		for _, f := range p.Sort {
			if c = compareBy(f, a, b); c != 0 {
				break
			}
		}
		c = cmp.Or(c, strings.Compare(a.AppID, b.AppID))
		if p.Desc {
			return -c
		}
		return c
	}
	slices.SortFunc(all, order)
	if k != nil {
		after, err := cursorOf(p.Sort, k)
		if err != nil {
			return nil, "", err
		}
		all = slices.DeleteFunc(all, func(d wickrusers.Device) bool { return order(d, after) <= 0 })
	}
	if len(all) <= p.Limit {
		return all, "", nil
	}
	last := all[p.Limit-1]
	keys := make([]string, len(p.Sort))
	for i, f := range p.Sort {
		keys[i] = keyOf(f, last)
	}
	return all[:p.Limit], projections.Keyset{Sort: sort, Keys: keys, ID: last.AppID}.Token(), nil
}

// keyOf is a device's value of one sort field as a token carries it.
func keyOf(field string, d wickrusers.Device) string {
	switch field {
	case "type":
		return d.Type
	case "created":
		return d.Created.UTC().Format(time.RFC3339Nano)
	case "suspend":
		return "false"
	}
	return d.LastLogin.UTC().Format(time.RFC3339Nano)
}

// cursorOf is the device a token points after: its sort values and app id.
func cursorOf(fields []string, k *projections.Keyset) (wickrusers.Device, error) {
	d := wickrusers.Device{AppID: k.ID}
	if len(k.Keys) != len(fields) {
		return d, wickr.Invalid("nextToken", "nextToken was not issued by this list")
	}
	for i, f := range fields {
		var err error
		switch f {
		case "type":
			d.Type = k.Keys[i]
		case "created":
			d.Created, err = time.Parse(time.RFC3339Nano, k.Keys[i])
		case "suspend":
		default:
			d.LastLogin, err = time.Parse(time.RFC3339Nano, k.Keys[i])
		}
		if err != nil {
			return d, wickr.Invalid("nextToken", "nextToken was not issued by this list")
		}
	}
	return d, nil
}

// ownUser checks that the network is the caller's and holds the (not deleted) user.
func (s *Service) ownUser(ctx context.Context, awsAccountID, region, networkID, userID string) error {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return err
	}
	if err := wickr.ValidNumericID("userId", userID); err != nil {
		return err
	}
	_, err := s.d.Store.User(ctx, networkID, userID)
	return err
}

// Failure is a device the reset refused: its app id, the field and the reason.
type Failure struct {
	AppID, Field, Reason string
	pos                  int // in the request
}

// BatchResetDevicesForUser resets devices (1–50) of a user: each must sign in again. A device
// already reset is reset (nothing changes).
func (s *Service) BatchResetDevicesForUser(ctx context.Context, awsAccountID, region, networkID, userID string, appIDs []string) ([]string, []Failure, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return nil, nil, err
	}
	if err := wickr.ValidNumericID("userId", userID); err != nil {
		return nil, nil, err
	}
	var out []Failure
	var unique []string
	for i, a := range appIDs {
		if slices.Contains(unique, a) {
			out = append(out, Failure{AppID: a, Field: fmt.Sprintf("appIds[%d]", i), Reason: a + " appears twice in the batch", pos: i})
			continue
		}
		unique = append(unique, a)
	}
	if len(appIDs) == 0 {
		unique = nil // the roster refuses the empty batch
	}
	cmd := roster.ResetDevices{NetworkID: networkID, UserID: userID, AppIDs: unique}
	if len(appIDs) > roster.MaxBatch {
		cmd.AppIDs = appIDs // and the one too long
	}
	var failed []roster.ItemFailure
	decide := func(st roster.State, now time.Time) ([]roster.Event, error) {
		evs, f, err := roster.DecideBatch(st, cmd, now)
		failed = f
		return evs, err
	}
	if _, _, err := s.d.Rosters.Decision(roster.StreamName(networkID, userID), decide).Do(ctx); err != nil {
		return nil, nil, err
	}
	var ok []string
	refused := map[string]bool{}
	for _, f := range failed {
		refused[f.ID] = true
		i := slices.Index(appIDs, f.ID)
		field := cmp.Or(f.Field, "appIds")
		if field == "appIds" && i >= 0 {
			field = fmt.Sprintf("appIds[%d]", i)
		}
		out = append(out, Failure{AppID: f.ID, Field: field, Reason: f.Reason, pos: i})
	}
	for _, a := range unique {
		if !refused[a] {
			ok = append(ok, a)
		}
	}
	slices.SortStableFunc(out, func(a, b Failure) int { return cmp.Compare(a.pos, b.pos) })
	return ok, out, nil
}
