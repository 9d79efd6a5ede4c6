// Package wickr holds what the AWS Wickr deciders share: identifiers and their model constraints,
// the FieldError that carries a rejected member's name to the API, and the stream layout below.
//
// # Aggregates and streams
//
// The Wickr system must hold 100,000 users in one network, take BatchCreateUser requests of 50 users
// at 20,000 users/s, and answer the first command after a restart quickly. Two measured facts of this
// event log decide the boundaries (README, `belfry bench eventstore`, 2 cores): single-event appends
// top out at ~7,300 appends/s with 32 writers, while 100-event appends carry ~45,000 events/s; and a
// stream of 100,000+ events takes ~1.7 s to fold (the Chime account). So a batch of 50 users must
// cost a few appends, not 50, and no stream that a command folds may hold every user's state.
//
//   - wickr.account-<awsAccountId> (package account): the AWS account's networks and its Premium free
//     trial (one trial network per account, ever; deleting a trial network ends network creation).
//     Small; touched by CreateNetwork, trial upgrades and deletions.
//   - wickr.network-<networkId> (package network): the network, its plan and trial, network settings,
//     security groups (with the default group), bots, the data-retention bot, SSO (OIDC) and OpenTDF
//     configuration, the guest block list, and the seat count (users holding a seat). Security groups
//     live here rather than on streams of their own: a network has few of them, their rules depend
//     on the plan and region (guest federation is not on the trial; its switch is in local
//     federation in us-east-1 and in global federation elsewhere), and plan changes must see every
//     group. Bots are few too, and their usernames (ending in "bot", never containing "@") cannot
//     collide with users' (e-mail addresses). The seat count is the reservation that enforces the
//     trial's user cap without a racy read-model count: BatchCreateUser takes its seats in one
//     append per batch, BatchDeleteUser releases them.
//   - wickr.directory-<networkId>-<shard> (package directory): which user id holds each username,
//     sharded by a hash of the lower-cased username into DirectoryShards streams. Uniqueness is
//     decided there; a claim holds only (username, user id), so a shard of a 100,000-user network
//     folds 12,500 small claims. A batch of 50 touches at most 8 shards, and the command path
//     coalesces concurrent batches on one shard into one append. The same decider claims SSO company
//     ids (wickr.companyid-<id>), unique across networks.
//   - wickr.roster-<networkId>-<block> (package roster): the users whose numeric ids fall in one
//     block of RosterBlockSize (1,000) ids — their whole lifecycle (invite, registration, profile,
//     group, suspension, deletion), devices, failed sign-ins and lockout. The API allocates the ids of
//     a batch consecutively inside one block, so a batch of 50 is one roster append of one event
//     (UsersInvited; earlier versions wrote a UserInvited per user, which still fold); a block folds
//     at most 1,000 users' events. Per-user streams were rejected: 50 single-event appends per batch
//     would cap creation near 7,000 users/s on this log.
//   - wickr.guest-<usernameHash> (package guest): a self-registered guest account (guide §15.5).
//
// A deleted security group's users move to the default group by a reactor that sends MoveGroup to
// each roster block of the network (GroupDeleted names the default group); its bots move in the same
// decision, on the network stream.
//
// So BatchCreateUser of 50 is: check the items against the network's groups and take the seats of
// the valid ones in one decision (1 append, coalesced with concurrent batches), while the slot of
// the ids is read; claim the usernames (≤ 8 appends, coalesced); record the users (1 append of one
// event); release the seats of items refused after the seats were taken. A crash between steps
// leaves a claim or seats without a user; the same request replayed (X-Client-Token, same ids)
// completes it, since claiming the same username for the same id and recording the same user again
// are no-ops.
//
// # Errors
//
// Every rule a decider checks about one member of a request fails with a FieldError (kind
// KindInvalid, sentinel ErrValidation unless a package's own sentinel is given): the API maps it to
// ValidationError 422 with reasons[{field, reason}] (Reasons lists them, errors.Join may hold several),
// and batch operations report it as a failed item with that field and reason. Errors about state
// (not found, already deleted, forbidden by the plan) are domain.Errors of the matching kind.
//
// Event types are "wickr.<aggregate>.<event>.v1"; secrets (passwords, client secrets, challenges)
// enter events only as domain.Sealed under their subject's key (domain.SubjectKeyID with the network
// id as tenant), checked by the deciders.
package wickr
