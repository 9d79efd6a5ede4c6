// Package wickrproto is the protocol of the Wickr Admin API (botocore wickr 2024-02-01, restJson1,
// SigV4 signing name "wickr") that every Wickr slice shares, and nothing else: the error table, the
// regions, and the checks of request members at the edge (camelCase query members, the X-Client-Token
// idempotency header, typed JSON bodies).
//
// Invariants:
//   - Every error of a Wickr call reaches the wire through ToWire, the one table: a rejected member
//     (a wickr.FieldError, alone or joined) is ValidationError 422 with reasons[{field, reason}];
//     otherwise the domain kind, or the status of a protocol error, picks BadRequestError 400,
//     UnauthorizedError 401, ForbiddenError 403, ResourceNotFoundError 404, RateLimitError 429 or
//     InternalServerError 500. Bodies are the model's error shapes ({"message"} and, for
//     ValidationError, "reasons"), and X-Amzn-ErrorType names the shape.
//   - Wickr is regional: the credential scope's region is the region of the networks the call sees,
//     and a region without Wickr (wickr.Regions, guide §0.2) is refused before any operation runs.
//   - A member the model constrains (required, length, pattern, range, enum) is checked here or by
//     the deciders and refused with its wire name as the field, before anything changes.
package wickrproto
