// Package awsproto is the AWS-protocol machinery every admin API of Belfry shares, and nothing else:
// an Operation table per signing name served by a Service (SigV4 verification, authorisation as
// "<service>:<Operation>", one audit record per call in the CloudTrail shape, sensitive members
// hidden), the restJson1 error shapes mapped from domain error kinds in one table (awserr.go), the
// input checks at the edge (input.go), pagination (MaxResults, Paged) and the routing of unknown
// paths by the signing name of their credential scope, and the choice of a snapshot of the read
// models (SnapshotHeader) by read-only operations.
//
// It knows no use case: the slices under api/chime declare their operations with it, and package api
// mounts them. It imports no slice, no infra and no projection.
//
// Invariants: every call with a valid signature — failed, denied and unrouted ones included —
// produces exactly one audit record (successful reads excepted under SkipReadAudit); that of a call
// other than a successful read is stored before the call is answered (a record that cannot be stored
// turns the answer into a 500 ServiceFailureException); a successful read's record is queued, never
// dropped for load; a call without a valid signature produces one record unless the audit writer's
// unauthenticated lane drops it; every response carries x-amzn-RequestId; every error carries
// X-Amzn-ErrorType and a {"Code","Message"} body, or the body of the service's own error table
// (ServiceConfig.Errors). A regional service (ServiceConfig.Regions) sees the credential scope's region
// in Call.Region and records it as the audit record's awsRegion when it accepts it (a refused call's
// record names no region: the scope is the caller's text).
// A call that names a snapshot answers from it when its operation is read-only and the snapshot is
// ready, and is refused otherwise (400 for a mutating operation, whatever the snapshot).
package awsproto
