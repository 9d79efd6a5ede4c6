package usecase

import (
	"github.com/belfry/belfry/domain/wickr/directory"
	"github.com/belfry/belfry/domain/wickr/guest"
)

// The command paths of the users' aggregates besides the roster's (Rosters).
type (
	// Directories is the directory shards' (streams wickr.directory-<networkId>-<shard>).
	Directories = Aggregate[directory.State, directory.Command, directory.Event]
	// Guests is the guest accounts' (streams wickr.guest-<usernameHash>).
	Guests = Aggregate[guest.State, guest.Command, guest.Event]
)
