// Package account models an Amazon Chime account (a Team or Enterprise organisation under one AWS
// account) as a decider.
//
// Invariants:
//   - An account is created once (stream "chime.account-<id>", expected revision NoStream) and, once
//     deleted, answers every command with ErrNotFound.
//   - Name: 1–100 characters with at least one that is not white space.
//   - DefaultLicense is one of the account's SupportedLicenses (Team: Basic, Pro).
//   - New accounts are Team accounts, Active, with default licence Pro (guide §3.3–3.4).
//   - Deletion guards (guide §4.5): a Team account with users, or an Enterprise account with claimed
//     domains, cannot be deleted (ErrNotEmpty, UnprocessableEntity on the wire).
package account
