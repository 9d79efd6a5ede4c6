// Package account models an Amazon Chime account (a Team or Enterprise organisation under one AWS
// account) as a decider. The account stream ("chime.account-<id>") is the consistency boundary for
// everything that must be unique or counted within the account: its users, their e-mail addresses,
// invitations, primary numbers, domain claims, bots and sign-in delegate groups.
//
// Invariants:
//   - An account is created once (expected revision NoStream) and, once deleted, answers every command
//     with ErrNotFound. New accounts are Team accounts, Active, default licence Pro (guide §3.3–3.4);
//     the first verified domain makes a Team account EnterpriseLWA (guide §4.3).
//   - Name: 1–100 characters with at least one that is not white space. DefaultLicense and user
//     licences are among the account's SupportedLicenses (Basic, Pro).
//   - Deletion (guide §4.5): a Team account with users, or any account with domain claims, is refused
//     with ErrNotEmpty (UnprocessableEntity on the wire).
//   - Users: e-mail addresses are unique per account (case-insensitive); batch commands apply their
//     valid items and report the others (DecideBatch); Team accounts remove users where Enterprise LWA
//     accounts suspend them (guide §5.3.2); a user has at most one primary number.
//   - Bots: Enterprise accounts only, at most 10, names of 1–55 characters, never deleted.
//   - Credentials (password hashes, personal PINs, bot security tokens) enter events only sealed under
//     their subject's key (secrets.go): Decide refuses them in clear or under another key.
//   - Removing a verified domain suspends and signs out its users, unassigns their numbers, and lets
//     PurgeDomainUsers remove them once UserDeletionDelay (90 days) has passed; meanwhile
//     BatchUnsuspendUser refuses them (the removal cannot be reversed, guide §1.1.4).
//   - Every stored event type is listed once in Events (events.go), Decode's table; every command
//     decides itself (its decide method), so Decide routes each command exactly once.
//   - Evolve may update the maps and Indexes of a state in place: the command path serializes every use of a
//     stream's state, and callers read only value fields of a state they are handed.
package account
