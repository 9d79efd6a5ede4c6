package conversation

import (
	"slices"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr/network"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
)

// NetworkPolicy is what the rules need of one network: its region, its read-receipt setting (§6)
// and the guests it blocked (by username hash, §15.4).
type NetworkPolicy struct {
	Region        string
	ReadReceipts  string
	BlockedGuests map[string]bool
}

// Policy is the installation's state a command is decided on: the networks of the participants and
// the settings of each user participant's security group (by Participant.Key). A user absent from
// Groups is not a live user (deleted, suspended, unknown): it cannot be added, and posting skips it.
type Policy struct {
	Networks map[string]NetworkPolicy
	Groups   map[string]sg.Settings
}

// Known reports whether p can take part: a user of a live network with a group, or a guest.
func (p Policy) Known(x Participant) bool {
	if x.Guest() {
		return true
	}
	_, ok := p.Groups[x.Key()]
	_, net := p.Networks[x.NetworkID]
	return ok && net
}

// Reachable checks that a and b may talk (guide §3.4, §15): users of one network always; a guest
// and a user when the user's group enables guest federation and the user's network has not blocked
// the guest; users of two networks when both sides' groups federate with the other network; two
// guests within a conversation that holds users.
func (p Policy) Reachable(a, b Participant) error {
	switch {
	case a.Guest() && b.Guest():
		return nil
	case a.Guest():
		return p.guestReach(b, a)
	case b.Guest():
		return p.guestReach(a, b)
	case a.NetworkID == b.NetworkID:
		return nil
	}
	na, nb := p.Networks[a.NetworkID], p.Networks[b.NetworkID]
	if !federates(p.Groups[a.Key()], na.Region, nb.Region, b.NetworkID) || !federates(p.Groups[b.Key()], nb.Region, na.Region, a.NetworkID) {
		return domain.Wrapf(ErrNotFederated, "users of networks %s and %s may not talk: both security groups must federate with the other network", a.NetworkID, b.NetworkID)
	}
	return nil
}

func (p Policy) guestReach(user, guest Participant) error {
	if p.Networks[user.NetworkID].BlockedGuests[guest.GuestHash] {
		return domain.Wrapf(ErrBlockedGuest, "network %s blocked the guest user %s", user.NetworkID, guest.GuestHash)
	}
	if !p.Groups[user.Key()].EnableGuestFederation {
		return domain.Wrapf(ErrNotFederated, "the security group of user %s of network %s does not enable guest users", user.UserID, user.NetworkID)
	}
	return nil
}

// federates reports whether a group in region fromRegion lets its users talk to users of network
// other in region otherRegion: local federation (federationMode 1, or 2 with other permitted) in one
// region; global federation across regions, restricted to the permitted AWS networks when set.
func federates(g sg.Settings, fromRegion, otherRegion, other string) bool {
	if fromRegion == otherRegion {
		return g.FederationMode == sg.FederationAll || g.FederationMode == sg.FederationRestricted && slices.Contains(g.PermittedNetworks, other)
	}
	if !g.GlobalFederation {
		return false
	}
	return !g.EnableRestrictedGlobalFederation || slices.Contains(g.PermittedWickrAWSNetworks, sg.AWSNetwork{Region: otherRegion, NetworkID: other})
}

// receipt reports whether reader's read of sender's message in a direct message is told to the
// sender (§6): between users of networks whose settings are all not DISABLED; FORCE_ENABLED on the
// reader's network sends it whatever the reader's client asks (wanted).
func (p Policy) receipt(kind string, sender, reader Participant, wanted bool) bool {
	if kind != KindDirect || sender.Guest() || reader.Guest() {
		return false
	}
	rs, rr := p.Networks[sender.NetworkID].ReadReceipts, p.Networks[reader.NetworkID].ReadReceipts
	if rs == network.ReadReceiptsDisabled || rr == network.ReadReceiptsDisabled || rs == "" || rr == "" {
		return false
	}
	return rr == network.ReadReceiptsForceEnabled || wanted
}
