package chime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/phonenumber"
	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/projections/chimenumbers"
)

// PortDecider is the port-in aggregate for the command path.
var PortDecider = eventstore.Decider[porting.Order, porting.Command, porting.Event]{
	Initial: porting.Initial, Evolve: porting.Evolve, Decide: porting.Decide, Decode: porting.Decode,
	Type: func(e porting.Event) string { return e.EventType() },
}

// SubmitPortIn places a port-in order (the guide's Support case, as a workflow).
func (s *Service) SubmitPortIn(ctx context.Context, awsAccountID string, r porting.Request) (chimenumbers.PortIn, error) {
	id := uuid.NewString()
	res, err := s.ports.Execute(ctx, porting.StreamName(id), porting.Submit{AwsAccountID: awsAccountID, Request: r})
	if err != nil {
		return chimenumbers.PortIn{}, err
	}
	if !s.waitRM(ctx, s.numbersRM, res.Position) {
		return portInFromState(id, res.State), nil
	}
	return s.GetPortIn(ctx, awsAccountID, id)
}

// portInFromState is the answer of a port-in command whose read model has not caught up.
func portInFromState(id string, o porting.Order) chimenumbers.PortIn {
	p := chimenumbers.PortIn{OrderID: id, Status: o.Status, Request: o.Request, Documents: slices.Clone(o.Documents),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if !o.FOCAt.IsZero() {
		p.FOCAt = &o.FOCAt
	}
	if !o.LinkExpiresAt.IsZero() {
		p.LinkExpires = &o.LinkExpiresAt
	}
	return p
}

// GetPortIn returns one port-in order.
func (s *Service) GetPortIn(ctx context.Context, awsAccountID, id string) (chimenumbers.PortIn, error) {
	list, err := s.numbersRead.PortIns(ctx, awsAccountID, id)
	if err != nil {
		return chimenumbers.PortIn{}, err
	}
	return list[0], nil
}

// ListPortIns returns the tenant's port-in orders.
func (s *Service) ListPortIns(ctx context.Context, awsAccountID string) ([]chimenumbers.PortIn, error) {
	return s.numbersRead.PortIns(ctx, awsAccountID, "")
}

// TransitionPortIn applies an operator's status change; COMPLETED brings the numbers into the
// inventory as Unassigned (numbers another tenant holds are reported and left out).
func (s *Service) TransitionPortIn(ctx context.Context, awsAccountID, id, to, note string, focAt time.Time) (chimenumbers.PortIn, []string, error) {
	res, err := s.ports.Execute(ctx, porting.StreamName(id), porting.Transition{AwsAccountID: awsAccountID, To: to, Note: note, FOCAt: focAt})
	if err != nil {
		return chimenumbers.PortIn{}, nil, err
	}
	last := res.Position
	var failed []string
	if to == porting.Completed && len(res.Events) > 0 {
		for _, n := range res.State.Request.PhoneNumbers {
			nr, err := s.numbers.Execute(ctx, phonenumber.StreamName(n), phonenumber.Acquire{E164: n, AwsAccountID: awsAccountID,
				OrderID: "portin-" + id, ProductType: res.State.Request.ProductType, Ported: true})
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", n, err))
				continue
			}
			last = max(last, nr.Position)
		}
	}
	if !s.waitRM(ctx, s.numbersRM, last) {
		return portInFromState(id, res.State), failed, nil
	}
	p, err := s.GetPortIn(ctx, awsAccountID, id)
	return p, failed, err
}

// RequestPortInDocuments issues a 10-day upload link; the token is returned once.
func (s *Service) RequestPortInDocuments(ctx context.Context, awsAccountID, id string) (token string, expires time.Time, err error) {
	raw, hash := newToken()
	res, err := s.ports.Execute(ctx, porting.StreamName(id), porting.RequestDocuments{AwsAccountID: awsAccountID, TokenHash: hash})
	if err != nil {
		return "", time.Time{}, err
	}
	s.waitRM(ctx, s.numbersRM, res.Position)
	return raw, res.State.LinkExpiresAt, nil
}

// UploadPortInDocument stores a document sent with a valid link token.
//
// The bytes and the event are two writes (Postgres and the event log), ordered so that a crash between
// them loses nothing that was acknowledged and leaves no event without its bytes:
//  1. the upload is decided on the order's current state first (a dry run), so that a refused upload
//     (wrong or expired link, bad name) stores nothing;
//  2. the bytes go into porting.document_blobs, content-addressed by the SHA-256 computed here (a
//     CHECK constraint proves the key): storing the same bytes again is a no-op, so a retried upload is
//     idempotent, and the row records the order the upload is for;
//  3. the event naming (document name, SHA-256, size) is appended, decided again by the command path;
//  4. the blob is marked referenced (a lost mark is recovered by the collector).
//
// A crash or refusal after step 2 leaves an unreferenced blob, which CollectPortInDocumentBlobs deletes
// once it is older than its grace period and no event of the orders it was uploaded for names it. The
// document is not put in the event itself: LOAs and identity documents may be large (an append is
// limited to 1 MiB) and hold personal data that must stay deletable, which an immutable log is not.
func (s *Service) UploadPortInDocument(ctx context.Context, awsAccountID, id, token, name string, content []byte) error {
	if len(content) == 0 {
		return domain.Errorf(domain.KindInvalid, "the document is empty")
	}
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])
	cmd := porting.UploadDocument{AwsAccountID: awsAccountID, TokenHash: hashToken(token), Name: name, SHA256: digest, Size: len(content)}
	st, _, err := s.ports.Load(ctx, porting.StreamName(id))
	if err != nil {
		return err
	}
	if _, err := porting.Decide(st, cmd, s.now()); err != nil {
		return err
	}
	if _, err := s.sessions.Exec(ctx, `INSERT INTO porting.document_blobs (sha256, content, order_ids) VALUES ($1, $2, ARRAY[$3::text])
		ON CONFLICT (sha256) DO UPDATE SET stored_at = now(),
			order_ids = CASE WHEN $3 = ANY(document_blobs.order_ids) THEN document_blobs.order_ids ELSE document_blobs.order_ids || $3 END`,
		digest, content, id); err != nil {
		return fmt.Errorf("chime: store document: %w", err)
	}
	res, err := s.ports.Execute(ctx, porting.StreamName(id), cmd)
	if err != nil {
		return err
	}
	// Best effort: the event is committed, so the call succeeds; an unmarked blob is checked (and kept)
	// by the collector.
	_, _ = s.sessions.Exec(ctx, `UPDATE porting.document_blobs SET referenced = true WHERE sha256 = $1 AND NOT referenced`, digest)
	s.waitRM(ctx, s.numbersRM, res.Position)
	return nil
}

// CollectPortInDocumentBlobs deletes the document blobs that no event references and that were stored
// (or last uploaded again) more than grace ago; it returns how many it deleted. Blobs an event names
// are marked referenced and kept for good. grace must exceed the longest upload call (a blob is stored
// before its event is appended): an upload of the same bytes refreshes stored_at first, so the delete,
// which re-checks stored_at, never removes a blob an upload in flight is about to reference.
func (s *Service) CollectPortInDocumentBlobs(ctx context.Context, grace time.Duration) (int, error) {
	// stored_at is the database's clock, so the cutoff is too.
	const old = `NOT referenced AND stored_at < now() - make_interval(secs => $1)`
	rows, err := s.sessions.Query(ctx, `SELECT sha256, order_ids FROM porting.document_blobs WHERE `+old, grace.Seconds())
	if err != nil {
		return 0, fmt.Errorf("chime: find unreferenced documents: %w", err)
	}
	orders := map[string][]string{}
	for rows.Next() {
		var sha string
		var ids []string
		if err := rows.Scan(&sha, &ids); err != nil {
			rows.Close()
			return 0, fmt.Errorf("chime: find unreferenced documents: %w", err)
		}
		orders[sha] = ids
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("chime: find unreferenced documents: %w", err)
	}
	deleted := 0
	for sha, ids := range orders {
		named, err := s.documentNamed(ctx, sha, ids)
		if err != nil {
			return deleted, err
		}
		if named {
			if _, err := s.sessions.Exec(ctx, `UPDATE porting.document_blobs SET referenced = true WHERE sha256 = $1`, sha); err != nil {
				return deleted, fmt.Errorf("chime: mark document %s referenced: %w", sha, err)
			}
			continue
		}
		tag, err := s.sessions.Exec(ctx, `DELETE FROM porting.document_blobs WHERE sha256 = $2 AND `+old, grace.Seconds(), sha)
		if err != nil {
			return deleted, fmt.Errorf("chime: delete document %s: %w", sha, err)
		}
		deleted += int(tag.RowsAffected())
	}
	return deleted, nil
}

// documentNamed reports whether a DocumentUploaded event of one of the orders names sha.
func (s *Service) documentNamed(ctx context.Context, sha string, orders []string) (bool, error) {
	for _, id := range orders {
		rs, err := s.client.ReadStream(ctx, porting.StreamName(id), esdb.ReadStreamOptions{From: esdb.Start{}}, ^uint64(0))
		if err != nil {
			return false, fmt.Errorf("chime: read %s: %w", porting.StreamName(id), err)
		}
		found, err := namesDocument(rs, sha)
		rs.Close()
		if err != nil || found {
			return found, err
		}
	}
	return false, nil
}

func namesDocument(rs *esdb.ReadStream, sha string) (bool, error) {
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) || eventstore.IsCode(err, esdb.ErrorCodeResourceNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("chime: read port-in order: %w", err)
		}
		if ev.Event.EventType != porting.TypeDocUploaded {
			continue
		}
		e, err := porting.Decode(ev.Event.EventType, ev.Event.Data)
		if err != nil {
			return false, err
		}
		if d, ok := e.(porting.DocumentUploaded); ok && d.SHA256 == sha {
			return true, nil
		}
	}
}

// SetPortOutPIN sets the PIN a gaining carrier must present for a number.
func (s *Service) SetPortOutPIN(ctx context.Context, awsAccountID, e164, pin string) error {
	_, err := s.execNumber(ctx, awsAccountID, e164, phonenumber.SetPortOutPIN{E164: e164, AwsAccountID: awsAccountID, PIN: pin})
	return err
}

// PortOut validates a gaining carrier's port-out request (AWS account id and PIN, as the carrier gives
// them); an accepted request takes the number out of the inventory at once.
func (s *Service) PortOut(ctx context.Context, e164, claimedAwsAccountID, pin string) error {
	if err := phonenumber.ValidateE164(e164); err != nil {
		return err
	}
	res, err := s.numbers.Execute(ctx, phonenumber.StreamName(e164), phonenumber.PortOut{E164: e164, ClaimedAwsAccountID: claimedAwsAccountID, PIN: pin})
	if err != nil {
		return err
	}
	s.waitRM(ctx, s.numbersRM, res.Position)
	return nil
}
