// Package wickr groups the vertical slices of the AWS Wickr Admin API (botocore wickr 2024-02-01,
// restJson1, SigV4 signing name "wickr"), one package per bounded context, in the shape of the Chime
// slices (api/chime): each slice holds the route table of its operations (ops.go, on api/awsproto's
// Operation), the use cases they call (a Service) and a Deps struct of small ports that cmd/belfry
// (wickrapp.go) wires to the event store's repositories and the read models.
//
// The slices: networks (CreateNetwork, GetNetwork, ListNetworks, UpdateNetwork, DeleteNetwork,
// Get/UpdateNetworkSettings), securitygroups (Create/Get/List/Update/DeleteSecurityGroup,
// ListSecurityGroupUsers), users (BatchCreateUser, GetUser, ListUsers, UpdateUser, BatchDeleteUser,
// BatchToggleUserSuspendStatus, BatchReinviteUser, BatchLookupUserUname, GetUsersCount), devices
// (ListDevicesForUser, BatchResetDevicesForUser), guests (ListGuestUsers, GetGuestUserHistoryCount,
// ListBlockedGuestUsers, UpdateGuestUser), bots (Create/Get/List/Update/DeleteBot, GetBotsCount),
// retention (the data-retention bot), sso (RegisterOidcConfigTest, RegisterOidcConfig, GetOidcInfo)
// and opentdf (Register/GetOpentdfConfig).
//
// What the slices share lives below them and knows no context: wickrproto (the protocol: the one
// error table, the regions, the checks of request members, X-Client-Token) and usecase (the Wickr
// aggregates' command paths over api/chime/usecase's execute-and-wait, the own-network check, the
// generated ids). A slice never imports another slice.
//
// The service is regional, served on the same port as Chime: api.New mounts these operations on an
// awsproto.Service for signing name "wickr" whose credential scopes may name any Wickr region
// (wickrproto.CheckRegion); an unrouted path is answered by the API its credential scope names. A
// network belongs to the AWS account and the region of the call that created it, and every call sees
// only the networks of its own account and region. Every call is authorised as "wickr:<Operation>"
// (the managed policy AWSWickrFullAccess allows wickr:*) and audited with eventSource
// "wickr.amazonaws.com" and the scope's region as awsRegion.
//
// Read-your-writes: a mutation answers once the read model that serves its reads has applied its
// events (bounded, see api/chime/usecase), and from the decided events when that wait runs out.
package wickr
