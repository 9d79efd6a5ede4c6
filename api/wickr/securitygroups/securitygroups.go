// Package securitygroups is the slice of Wickr security groups: CreateSecurityGroup,
// GetSecurityGroup, ListSecurityGroups, UpdateSecurityGroup, DeleteSecurityGroup and
// ListSecurityGroupUsers, with the settings catalogue and its dependencies of guide §3.3 (package
// domain/wickr/securitygroup, decided on the network's stream).
//
// Deleting a group moves its users to the default group (guide §3.2): the network decides the
// deletion (and moves the group's bots), then each roster block that holds users of the group moves
// them (MoveGroup), found through the users read model; the reactor MoveOrphans, run on every
// sweep, moves those this missed.
// CreateSecurityGroup's X-Client-Token names the group, so a retried request creates it once and
// answers the same group; another request under the same token, or a retry once the group was
// deleted, is a BadRequestError (a group id is never reused).
package securitygroups

import (
	"context"
	"log/slog"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	"github.com/belfry/belfry/projections/wickrnetworks"
	"github.com/belfry/belfry/projections/wickrusers"
)

// Groups reads security groups from the networks read model (wickrnetworks.Store implements it).
type Groups interface {
	Group(ctx context.Context, networkID, groupID string) (wickrnetworks.Group, error)
	Groups(ctx context.Context, networkID string, p wickrnetworks.Page) ([]wickrnetworks.Group, string, error)
}

// Users reads the groups' users from the users read model (wickrusers.Store implements it).
type Users interface {
	GroupMembers(ctx context.Context, networkID string, groupIDs []string) (map[string]int, error)
	GroupUsers(ctx context.Context, networkID, groupID string, p wickrusers.UserPage) ([]wickrusers.User, string, error)
	GroupBlocks(ctx context.Context, networkID, groupID string) ([]string, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Networks usecase.Networks
	Rosters  usecase.Rosters
	Groups   Groups
	Users    Users
	Orphans  Orphans
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service runs the security group use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// Group is a security group as the API answers it: the read model's row and its users.
type Group struct {
	wickrnetworks.Group
	ActiveMembers int
}

// Caller is who calls, where: the AWS account and the region of the call.
type Caller struct{ AwsAccountID, Region string }

func (s *Service) own(ctx context.Context, c Caller, networkID string) error {
	return usecase.OwnNetwork(ctx, s.d.Networks.Repo, c.AwsAccountID, c.Region, networkID)
}

func (s *Service) command(c Caller, networkID string, cmd network.Command) usecase.Command[network.State, network.Event] {
	return s.d.Networks.Command(network.StreamName(networkID), cmd).After(usecase.Owner(s.d.Networks.Repo, c.AwsAccountID, c.Region, networkID))
}

// withMembers adds the user counts to groups read from the read model.
func (s *Service) withMembers(ctx context.Context, networkID string, groups ...wickrnetworks.Group) ([]Group, error) {
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = g.ID
	}
	members, err := s.d.Users.GroupMembers(ctx, networkID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Group, len(groups))
	for i, g := range groups {
		out[i] = Group{Group: g, ActiveMembers: members[g.ID]}
	}
	return out, nil
}

// answer reads a group back once the read model applied the command, or builds it from the decided
// event (with the members the read model knows) when it is late.
func (s *Service) answer(networkID, groupID string) (func(context.Context) (Group, error), func(usecase.Decided[network.State, network.Event]) (Group, error)) {
	fromRM := func(ctx context.Context) (Group, error) { return s.GetGroup(ctx, networkID, groupID) }
	fromDecided := func(d usecase.Decided[network.State, network.Event]) (Group, error) {
		g := wickrnetworks.Group{NetworkID: networkID, ID: groupID}
		for _, e := range d.Events {
			switch e := e.(type) {
			case network.GroupCreated:
				g.Name, g.IsDefault, g.Settings, g.Modified = e.Name, e.IsDefault, e.Settings, e.At
			case network.GroupUpdated:
				g.Name, g.Settings, g.Modified = e.Name, e.Settings, e.At
			}
		}
		if g.Name == "" { // nothing changed: the read model has it
			return fromRM(context.Background())
		}
		out, err := s.withMembers(context.Background(), networkID, g)
		if err != nil {
			return Group{}, err
		}
		return out[0], nil
	}
	return fromRM, fromDecided
}

// GetGroup reads a group and its members (the caller checked the network).
func (s *Service) GetGroup(ctx context.Context, networkID, groupID string) (Group, error) {
	g, err := s.d.Groups.Group(ctx, networkID, groupID)
	if err != nil {
		return Group{}, err
	}
	out, err := s.withMembers(ctx, networkID, g)
	if err != nil {
		return Group{}, err
	}
	return out[0], nil
}

// CreateGroup creates a security group: the defaults of a new group updated by settings. With a
// client token, the group's id comes from it, and a retry answers the group the first request made;
// another request under the same token (another name or other settings), or one whose group was
// deleted since, is refused (network.ErrGroupToken).
func (s *Service) CreateGroup(ctx context.Context, c Caller, networkID, name string, settings sg.Patch, clientToken string) (Group, error) {
	id := usecase.NewGroupID(networkID, clientToken)
	cmd := network.CreateGroup{NetworkID: networkID, GroupID: id, Name: name, Settings: settings, Retry: clientToken != ""}
	fromRM, fromDecided := s.answer(networkID, id)
	return usecase.Run(ctx, s.command(c, networkID, cmd), fromRM, fromDecided)
}

// Get returns one group of a network of the caller.
func (s *Service) Get(ctx context.Context, c Caller, networkID, groupID string) (Group, error) {
	if err := s.own(ctx, c, networkID); err != nil {
		return Group{}, err
	}
	return s.GetGroup(ctx, networkID, groupID)
}

// List returns a page of a network's groups.
func (s *Service) List(ctx context.Context, c Caller, networkID string, p wickrnetworks.Page) ([]Group, string, error) {
	if err := s.own(ctx, c, networkID); err != nil {
		return nil, "", err
	}
	groups, next, err := s.d.Groups.Groups(ctx, networkID, p)
	if err != nil {
		return nil, "", err
	}
	out, err := s.withMembers(ctx, networkID, groups...)
	return out, next, err
}

// Update renames a group and/or updates its settings (nil: unchanged).
func (s *Service) Update(ctx context.Context, c Caller, networkID, groupID string, name *string, settings *sg.Patch) (Group, error) {
	cmd := network.UpdateGroup{NetworkID: networkID, GroupID: groupID, Name: name, Settings: settings}
	fromRM, fromDecided := s.answer(networkID, groupID)
	return usecase.Run(ctx, s.command(c, networkID, cmd), fromRM, fromDecided)
}

// Delete deletes a group that is not the default one and moves its users to the default group.
func (s *Service) Delete(ctx context.Context, c Caller, networkID, groupID string) error {
	d, _, err := s.command(c, networkID, network.DeleteGroup{NetworkID: networkID, GroupID: groupID}).Do(ctx)
	if err != nil {
		return err
	}
	var movedTo string
	for _, e := range d.Events {
		if e, ok := e.(network.GroupDeleted); ok {
			movedTo = e.MovedTo
		}
	}
	_, err = s.moveUsers(ctx, networkID, groupID, movedTo)
	return err
}

// Users returns a page of a group's users.
func (s *Service) Users(ctx context.Context, c Caller, networkID, groupID string, p wickrusers.UserPage) ([]wickrusers.User, string, error) {
	if err := s.own(ctx, c, networkID); err != nil {
		return nil, "", err
	}
	if _, err := s.d.Groups.Group(ctx, networkID, groupID); err != nil {
		return nil, "", err
	}
	return s.d.Users.GroupUsers(ctx, networkID, groupID, p)
}
